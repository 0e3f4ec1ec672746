"""A real Teams meeting's own settings, judged against the rules (000 §6, §8; 001 §2.4)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from policy.school import SchoolPolicy
from policy.video_calls.plan import DEPUTY_HEAD, CallPlan, CallVerdict, Outcome, RuleId, RuleResult
from policy.video_calls.plan_rules import _overall, _passed, check_call

# ---------------------------------------------------------------------------------------------
# A real Teams meeting: its own settings
# ---------------------------------------------------------------------------------------------

#: Graph ``lobbyBypassSettings.scope`` under which everyone, guests included, skips the lobby.
LOBBY_EVERYONE = "everyone"
#: Graph ``allowedPresenters`` values that let pupils present: pupils are in the school's own
#: organisation, so "organization" lets them present as much as "everyone" does.
PUPILS_MAY_PRESENT: frozenset[str] = frozenset({"everyone", "organization"})

#: The exact Teams settings to change (the meeting > Meeting options), in the words Teams shows.
FIX_AUTO_RECORDING = 'In Meeting options, turn off "Record and transcribe automatically".'
FIX_ATTENDEE_RECORDING = (
    'In Meeting options, turn off "Allow recording" for attendees: set "Who can record and '
    'transcribe" to "Organisers and co-organisers".'
)
FIX_LOBBY = 'In Meeting options, set "Who can bypass the lobby?" to "People in my organisation".'
FIX_PRESENTERS = (
    'In Meeting options, set "Who can present?" to "Only me and co-organisers" or "Specific '
    'people" (staff only).'
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingSettings:
    """A Teams meeting's options, as Graph ``onlineMeeting`` gives them.

    Attributes:
        allow_recording: Recording is enabled for the meeting (``allowRecording``).
        record_automatically: Recording starts by itself (``recordAutomatically``).
        lobby_bypass: Who skips the lobby (``lobbyBypassSettings.scope``).
        allowed_presenters: Who may present (``allowedPresenters``).
        has_external_guests: Someone from outside the school is invited.
    """

    allow_recording: bool = True
    record_automatically: bool = False
    lobby_bypass: str = "organization"
    allowed_presenters: str = "everyone"
    has_external_guests: bool = False


def _auto_recording(settings: MeetingSettings, recording_permission: bool) -> RuleResult:
    """Automatic recording needs the Deputy Head (Academic)'s permission (000 §8)."""
    title, clause = "Automatic recording", "000 §8"
    if settings.record_automatically and not recording_permission:
        return RuleResult(
            RuleId.MEETING_AUTO_RECORDING,
            title,
            Outcome.NOT_ALLOWED,
            "This meeting records automatically, but the "
            f"{DEPUTY_HEAD} has not given permission to record it. {FIX_AUTO_RECORDING} "
            "Or ask for permission first: check this call in full, with recording on.",
            clause,
        )
    elif settings.record_automatically:
        return _passed(
            RuleId.MEETING_AUTO_RECORDING,
            title,
            f"Records automatically, with the {DEPUTY_HEAD}'s permission.",
            clause,
        )
    else:
        return _passed(
            RuleId.MEETING_AUTO_RECORDING, title, "Does not record automatically.", clause
        )


def _attendee_recording(
    settings: MeetingSettings, pupils_attending: bool, recording_permission: bool
) -> RuleResult:
    """Pupils must never record: attendees may not record while pupils attend (000 §6)."""
    title, clause = "No recording by pupils", "000 §6"
    if settings.allow_recording and pupils_attending and not recording_permission:
        return RuleResult(
            RuleId.MEETING_ATTENDEE_RECORDING,
            title,
            Outcome.NEEDS_ACTION,
            f"Pupils must never record, and this meeting allows recording. "
            f"{FIX_ATTENDEE_RECORDING}",
            clause,
        )
    elif settings.allow_recording and pupils_attending:
        return _passed(
            RuleId.MEETING_ATTENDEE_RECORDING,
            title,
            "Recording is allowed, with permission: make sure only you record. Pupils "
            "must never record.",
            clause,
        )
    else:
        return _passed(
            RuleId.MEETING_ATTENDEE_RECORDING,
            title,
            "No pupils attend." if not pupils_attending else "Recording is turned off.",
            clause,
        )


def _lobby(settings: MeetingSettings) -> RuleResult:
    """Nobody from outside the school walks straight in (001 §2.4)."""
    title, clause = "Lobby", "001 §2.4"
    if settings.has_external_guests and settings.lobby_bypass == LOBBY_EVERYONE:
        return RuleResult(
            RuleId.MEETING_LOBBY,
            title,
            Outcome.NEEDS_ACTION,
            "Guests from outside the school are invited and everyone skips the lobby, so "
            f"anyone with the link walks straight in. {FIX_LOBBY}",
            clause,
        )
    else:
        return _passed(
            RuleId.MEETING_LOBBY,
            title,
            "People from outside the school wait in the lobby until you let them in."
            if settings.lobby_bypass != LOBBY_EVERYONE
            else "No guests from outside the school are invited.",
            clause,
        )


def _presenters(settings: MeetingSettings, pupils_attending: bool) -> RuleResult:
    """Pupils may not present, which would let them share and record (000 §6)."""
    title, clause = "Who can present", "000 §6"
    if pupils_attending and settings.allowed_presenters in PUPILS_MAY_PRESENT:
        return RuleResult(
            RuleId.MEETING_PRESENTERS,
            title,
            Outcome.NEEDS_ACTION,
            "Pupils can present in this meeting, which lets them share their screen and "
            f"record. {FIX_PRESENTERS}",
            clause,
        )
    else:
        return _passed(
            RuleId.MEETING_PRESENTERS,
            title,
            "Pupils cannot present." if pupils_attending else "No pupils attend.",
            clause,
        )


def meeting_setting_rules(
    settings: MeetingSettings, *, pupils_attending: bool, recording_permission: bool
) -> list[RuleResult]:
    """Judge a Teams meeting's own settings (000 §6, §8; 001 §2.4).

    - Recording automatically without the Deputy Head (Academic)'s permission: not allowed
      (000 §8 "Staff should not record pupils when using Microsoft Teams … must seek
      permission from the Deputy Head (Academic)").
    - Attendees allowed to record while pupils attend: needs action, since pupils must never
      record (000 §6 "Recording or screen-shots … prohibited"). With permission to record,
      only the organiser records, so it passes with that reminder.
    - External guests and "everyone" bypasses the lobby: needs action, so that nobody joins
      unchecked (001 §2.4: events and the systems used to access them are safe and secure).
    - Pupils allowed to present (presenters can record and share): needs action (000 §6).

    Returns:
        One result per setting, in ``MEETING_RULES`` order of display.
    """
    return [
        _auto_recording(settings, recording_permission),
        _attendee_recording(settings, pupils_attending, recording_permission),
        _lobby(settings),
        _presenters(settings, pupils_attending),
    ]


def check_meeting(plan: CallPlan, settings: MeetingSettings, school: SchoolPolicy) -> CallVerdict:
    """Judge a real Teams meeting: every rule of ``check_call`` plus the meeting's settings.

    ``plan`` describes the meeting (its time, the pupils attending, withdrawn pupils, whether
    the Deputy Head (Academic) gave permission to record it). Whether it is recorded comes from
    ``settings.record_automatically``: without permission that is the meeting rule's blocker
    (000 §8), and the recording rules of ``check_call`` are then not repeated.

    Returns:
        Every rule's result (``CALL_RULES`` then ``MEETING_RULES``) and the overall verdict.
    """
    recorded = settings.record_automatically and plan.recording_permission_granted
    call = check_call(replace(plan, recording=recorded), school)
    settings_results = meeting_setting_rules(
        settings,
        pupils_attending=plan.involves_pupils,
        recording_permission=plan.recording_permission_granted,
    )
    return _overall([*call.results, *settings_results])


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingCheck:
    """One upcoming Teams meeting and how it was judged (for "Check my next lessons").

    Attributes:
        meeting_id: The calendar's id for the meeting.
        subject: The meeting's title as the calendar gives it (shown to its organiser only).
        plan: The plan built from the meeting.
        verdict: Every rule's result and the overall answer.
        pupils: How many pupils attend.
        staff: How many members of staff attend (the organiser included).
        others: How many attendees the school's directory does not know (guests).
        permission_ref: The approved recording request that covers it, if any.
    """

    meeting_id: str
    subject: str
    plan: CallPlan
    verdict: CallVerdict
    pupils: int = 0
    staff: int = 0
    others: int = 0
    permission_ref: str = ""
