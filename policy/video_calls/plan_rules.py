"""Video-conferencing rules: is a planned call allowed, and what must be done first?

The rules come from St John's policy (``000``) §6 "Remote teaching and learning", §8 "Safe use
of digital and video images" and §10 "Communications", and the KCC template (``001``) §2.4
"Official videoconferencing". Every number (days, hours, platforms, holidays) comes from the
school's configuration (``SchoolPolicy``), with the brief's values as shipped defaults.

Times are kept as aware datetimes; every rule about days and hours is judged in school time
(``SchoolPolicy.zone``, Europe/London by default, so BST and GMT are both handled). Durations are
added in UTC, so a call's end is its real end even on a day the clocks change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from policy.errors import InvalidSubmission, NotAllowed, PolicyError
from policy.roles import Person, Role
from policy.school import Hours, SchoolPolicy, Weekday
from policy.school_calendar import Closed, add_school_days, closed_because, is_school_day

DEPUTY_HEAD = "Deputy Head (Academic)"
#: The platform a Teams meeting is on (judged against the configured approved platforms).
TEAMS = "Microsoft Teams"

#: Weekday numbers (``date.weekday()``) of the configuration's day names.
_WEEKDAY_NUMBER: dict[Weekday, int] = {day: n for n, day in enumerate(Weekday)}
_DAY_NAMES: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)


class Audience(StrEnum):
    """Who a call is with."""

    CLASS = "class"
    NAMED_PUPILS = "named"
    STAFF_ONLY = "staff"


class Location(StrEnum):
    """Where the member of staff will be during the call (000 §6, "For staff")."""

    SCHOOL = "school"
    HOME = "home"
    BEDROOM = "bedroom"


class Outcome(StrEnum):
    """How one rule judged the plan."""

    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    NEEDS_ACTION = "needs_action"
    NOT_ALLOWED = "not_allowed"


class Verdict(StrEnum):
    """The overall answer: allowed, allowed once the listed things are done, or not allowed."""

    ALLOWED = "allowed"
    ALLOWED_ONCE = "allowed_once"
    NOT_ALLOWED = "not_allowed"


class RuleId(StrEnum):
    """Every rule ``check_call`` applies, in the order they are shown, then the settings of a
    real Teams meeting that ``check_meeting`` adds (``MEETING_RULES``)."""

    SCHOOL_DAY = "school_day"
    TEACHING_HOURS = "teaching_hours"
    CONTACT_HOURS = "contact_hours"
    PUPIL_TO_PUPIL = "pupil_to_pupil"
    PLATFORM = "platform"
    WITHDRAWN = "withdrawn"
    PARENTAL_CONSENT = "parental_consent"
    ONE_TO_ONE = "one_to_one"
    RECORDING_PERMISSION = "recording.permission"
    RECORDING_ONE_TO_ONE = "recording.one_to_one"
    RECORDING_CONSENT = "recording.consent"
    RECORDING_REASON = "recording.reason"
    RECORDING_ANNOUNCED = "recording.announced"
    PUPILS_NO_RECORDING = "pupils.no_recording"
    LOCATION_BEDROOM = "location.bedroom"
    LOCATION_HOUSEHOLD = "location.household"
    LOCATION_OTHERS = "location.others"
    LOCATION_LIGHT = "location.light"
    MEETING_AUTO_RECORDING = "meeting.record_automatically"
    MEETING_ATTENDEE_RECORDING = "meeting.allow_recording"
    MEETING_LOBBY = "meeting.lobby"
    MEETING_PRESENTERS = "meeting.presenters"


#: The rules about a Teams meeting's own settings (only ``check_meeting`` applies them).
MEETING_RULES: frozenset[RuleId] = frozenset(
    {
        RuleId.MEETING_AUTO_RECORDING,
        RuleId.MEETING_ATTENDEE_RECORDING,
        RuleId.MEETING_LOBBY,
        RuleId.MEETING_PRESENTERS,
    }
)
#: The rules every planned call is judged by (``check_call``).
CALL_RULES: frozenset[RuleId] = frozenset(RuleId) - MEETING_RULES


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPlan:
    """A planned video call, as the member of staff describes it.

    Defaults describe the ordinary case (a lesson with a class, from school, not recorded);
    parents' consent defaults to not given, so it is never assumed.

    Attributes:
        start: When the call starts: an aware datetime (see ``school_datetime``).
        duration: How long it lasts; must be positive.
        platform: The platform's name as the person gave it.
        audience: A class, named pupils, or staff only.
        pupils: The pupils named, if any.
        one_to_one_with_pupil: An additional call with one pupil (000 §6).
        pupil_to_pupil: Pupils calling each other (never allowed, 000 §6).
        contact_at_home: Contacting pupils at home rather than teaching a lesson (000 §10).
        recording: The call will be recorded.
        recording_reason: Why (001 §2.4).
        recording_permission_granted: The Deputy Head (Academic) has agreed (000 §8).
        consent_all_participants: Everyone taking part gave written permission (001 §2.4).
        announce_recording: Everyone will be told at the start (001 §2.4).
        location: Where the member of staff will be.
        nothing_identifying: Nothing in view identifies the household or where it is.
        others_in_room: Other members of the household will be in the room.
        well_lit: The room is well lit.
        parental_consent: Parents or carers agreed to their children taking part (001 §2.4).
        withdrawn_pupils: The pupils in ``pupils`` whom parents withdrew (see ``withdrawn_in``).
    """

    start: datetime
    duration: timedelta
    platform: str
    audience: Audience = Audience.CLASS
    pupils: tuple[str, ...] = ()
    one_to_one_with_pupil: bool = False
    pupil_to_pupil: bool = False
    contact_at_home: bool = False
    recording: bool = False
    recording_reason: str = ""
    recording_permission_granted: bool = False
    consent_all_participants: bool = False
    announce_recording: bool = False
    location: Location = Location.SCHOOL
    nothing_identifying: bool = True
    others_in_room: bool = False
    well_lit: bool = True
    parental_consent: bool = False
    withdrawn_pupils: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("a call's start must be timezone-aware (see school_datetime)")
        if self.duration <= timedelta(0):
            raise ValueError("a call's duration must be positive")

    @property
    def end(self) -> datetime:
        """When the call ends, in UTC (added in UTC so a clock change cannot shift it)."""
        return self.start.astimezone(UTC) + self.duration

    @property
    def involves_pupils(self) -> bool:
        """Whether any pupil takes part."""
        return (
            self.audience is not Audience.STAFF_ONLY
            or self.one_to_one_with_pupil
            or self.pupil_to_pupil
            or self.contact_at_home
        )


@dataclass(frozen=True, slots=True)
class RuleResult:
    """How one rule judged a plan, in plain words, with the clause it enforces."""

    rule_id: RuleId
    title: str
    outcome: Outcome
    reason: str
    clause: str


@dataclass(frozen=True, slots=True)
class CallVerdict:
    """Every rule's result and the overall answer."""

    verdict: Verdict
    results: tuple[RuleResult, ...]

    @property
    def to_do(self) -> tuple[RuleResult, ...]:
        """The rules that need something done before the call."""
        return tuple(r for r in self.results if r.outcome is Outcome.NEEDS_ACTION)

    @property
    def blockers(self) -> tuple[RuleResult, ...]:
        """The rules that make the call not allowed."""
        return tuple(r for r in self.results if r.outcome is Outcome.NOT_ALLOWED)

    def result(self, rule_id: RuleId) -> RuleResult:
        """The result of one rule (every rule is always present)."""
        return next(r for r in self.results if r.rule_id is rule_id)

    def summary(self) -> dict[str, str]:
        """Rule id -> outcome, as plain strings (for records; holds no names)."""
        return {r.rule_id.value: r.outcome.value for r in self.results}


# ---------------------------------------------------------------------------------------------
# Days and hours
# ---------------------------------------------------------------------------------------------


def school_datetime(day: date, at: time, school: SchoolPolicy) -> datetime:
    """The aware datetime of a date and wall-clock time in school time (DST via zoneinfo)."""
    return datetime.combine(day, at, tzinfo=school.zone)


def day_text(day: date) -> str:
    """A date as every card writes it: "Mon 23 Nov 2026" (the same as ``cards.common.school_day``;
    policy imports nothing of ours, so the tests keep the two the same)."""
    return f"{_DAY_NAMES[day.weekday()][:3]} {day.day} {day:%b %Y}"


def days_text(days: Iterable[Weekday]) -> str:
    """Configured days in words: "Monday to Friday", or "Monday, Wednesday and Friday"."""
    numbers = sorted({_WEEKDAY_NUMBER[d] for d in days})
    names = [_DAY_NAMES[n] for n in numbers]
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{names[0]} to {names[-1]}"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def hours_text(hours: Hours, *, joiner: str = " and ") -> str:
    """A daily window in words: "09:00 and 17:00" (or "09:00–17:00" with ``joiner="–"``)."""
    return f"{hours.start:%H:%M}{joiner}{hours.end:%H:%M}"


def _not_a_school_day_because(day: date, school: SchoolPolicy) -> str | None:
    """Why ``day`` is not a school day (000 §6), in words, or None when it is one."""
    reason = closed_because(day, school)
    if reason is Closed.NOT_A_TEACHING_DAY:
        return (
            f"{day_text(day)} is not a school day: video calls are only on "
            f"{days_text(school.video_calls.teaching_days)}."
        )
    if reason is Closed.BANK_HOLIDAY:
        return f"{day_text(day)} is a bank holiday, so it is not a school day."
    if reason is Closed.HOLIDAY:
        return f"{day_text(day)} is a school holiday, so it is not a school day."
    if reason is Closed.OUT_OF_TERM:
        return f"{day_text(day)} is outside term time, so it is not a school day."
    return None


def _window(day: date, hours: Hours, school: SchoolPolicy) -> tuple[datetime, datetime]:
    return school_datetime(day, hours.start, school), school_datetime(day, hours.end, school)


def teaching_window(day: date, school: SchoolPolicy) -> tuple[datetime, datetime] | None:
    """When video lessons may run on ``day``, in school time, or None if not a school day.

    000 §6: "only … from Monday to Friday between the hours of 09.00 and 17.00 (i.e. the
    School's normal teaching hours)"; the days and hours are the school's configuration.
    """
    if not is_school_day(day, school):
        return None
    return _window(day, school.video_calls.teaching_hours, school)


def _fits(plan: CallPlan, hours: Hours, school: SchoolPolicy) -> tuple[bool, str]:
    """Whether the whole call fits the window on its (school-time) start date, and the times."""
    local_start = plan.start.astimezone(school.zone)
    local_end = plan.end.astimezone(school.zone)
    opens, closes = _window(local_start.date(), hours, school)
    # Compared in UTC: aware datetimes sharing a tzinfo compare by wall clock.
    starts = plan.start.astimezone(UTC)
    fits = opens.astimezone(UTC) <= starts and plan.end <= closes.astimezone(UTC)
    shown = f"{local_start:%H:%M}–{local_end:%H:%M}"
    if local_end.date() != local_start.date():
        shown += " the next day"
    return fits, shown


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def withdrawn_in(pupils: Iterable[str], withdrawn: Iterable[str]) -> tuple[str, ...]:
    """The pupils (as written in the plan) whose names are on the withdrawn list.

    Names match ignoring case and extra spaces (000 §6: the Deputy Head (Academic) circulates
    the list of pupils withdrawn from video-conferencing by their parents).
    """
    keys = {_name_key(n) for n in withdrawn}
    found: dict[str, str] = {}
    for pupil in pupils:
        key = _name_key(pupil)
        if key in keys and key not in found:
            found[key] = " ".join(pupil.split())
    return tuple(found.values())


def _names_text(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def _platforms_text(school: SchoolPolicy) -> str:
    return _names_text(school.video_calls.approved_platforms)


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------


def _passed(rule_id: RuleId, title: str, reason: str, clause: str) -> RuleResult:
    return RuleResult(rule_id, title, Outcome.PASS, reason, clause)


def _school_day(plan: CallPlan, school: SchoolPolicy) -> RuleResult:
    """000 §6: only on school days (teaching days, not bank or school holidays, in term)."""
    title, clause = "School day", "000 §6"
    day = plan.start.astimezone(school.zone).date()
    problem = _not_a_school_day_because(day, school)
    if problem is not None:
        return RuleResult(RuleId.SCHOOL_DAY, title, Outcome.NOT_ALLOWED, problem, clause)
    return _passed(RuleId.SCHOOL_DAY, title, f"{day_text(day)} is a school day.", clause)


def _teaching_hours(plan: CallPlan, school: SchoolPolicy) -> RuleResult:
    """000 §6: the whole lesson must fit inside normal teaching hours, in school time."""
    title, clause = "Teaching hours", "000 §6"
    hours = school.video_calls.teaching_hours
    if plan.contact_at_home:
        return _passed(
            RuleId.TEACHING_HOURS,
            title,
            "Not a lesson: the hours for contacting pupils at home apply instead.",
            clause,
        )
    fits, shown = _fits(plan, hours, school)
    if not fits:
        return RuleResult(
            RuleId.TEACHING_HOURS,
            title,
            Outcome.NOT_ALLOWED,
            f"The call runs {shown} (school time), but video calls must start and finish "
            f"between {hours_text(hours)}.",
            clause,
        )
    return _passed(
        RuleId.TEACHING_HOURS,
        title,
        f"{shown} (school time) is within teaching hours, {hours_text(hours, joiner='–')}.",
        clause,
    )


def _contact_hours(plan: CallPlan, school: SchoolPolicy) -> RuleResult:
    """000 §10: contact pupils at home only if absolutely necessary, by school email or Teams,
    and only within the pupil contact hours."""
    title, clause = "Contacting pupils at home", "000 §10"
    if not plan.contact_at_home:
        return _passed(
            RuleId.CONTACT_HOURS, title, "Does not apply: this is not contact at home.", clause
        )
    hours = school.video_calls.pupil_contact_hours
    fits, shown = _fits(plan, hours, school)
    if not fits:
        return RuleResult(
            RuleId.CONTACT_HOURS,
            title,
            Outcome.NOT_ALLOWED,
            f"The call runs {shown} (school time), but pupils may only be contacted at home "
            f"between {hours_text(hours)}.",
            clause,
        )
    return _passed(
        RuleId.CONTACT_HOURS,
        title,
        f"{shown} (school time) is within {hours_text(hours, joiner='–')}. Contact pupils "
        "at home only if absolutely "
        "necessary, and only by school email or Teams.",
        clause,
    )


def _pupil_to_pupil(plan: CallPlan) -> RuleResult:
    """000 §6: school video-conferencing is for lessons and staff, never pupil-to-pupil."""
    title, clause = "Not pupil-to-pupil", "000 §6"
    if plan.pupil_to_pupil:
        return RuleResult(
            RuleId.PUPIL_TO_PUPIL,
            title,
            Outcome.NOT_ALLOWED,
            "School video calls are for lessons and staff communication, never for pupils "
            "calling each other.",
            clause,
        )
    return _passed(RuleId.PUPIL_TO_PUPIL, title, "For lessons or staff communication.", clause)


def _platform(plan: CallPlan, school: SchoolPolicy) -> RuleResult:
    """001 §2.4: only official, approved platforms (000 §10: school email or Teams)."""
    title, clause = "Approved platform", "001 §2.4"
    approved = {_name_key(p): p for p in school.video_calls.approved_platforms}
    match = approved.get(_name_key(plan.platform))
    if match is None:
        return RuleResult(
            RuleId.PLATFORM,
            title,
            Outcome.NOT_ALLOWED,
            f"{' '.join(plan.platform.split()) or 'That platform'} is not approved. Use "
            f"{_platforms_text(school)}.",
            clause,
        )
    return _passed(RuleId.PLATFORM, title, f"{match} is approved.", clause)


def _withdrawn(plan: CallPlan) -> RuleResult:
    """000 §6: pupils withdrawn from video-conferencing by their parents must not take part."""
    title, clause = "Withdrawn pupils", "000 §6"
    if plan.withdrawn_pupils:
        names = list(plan.withdrawn_pupils)
        verb = "is" if len(names) == 1 else "are"
        return RuleResult(
            RuleId.WITHDRAWN,
            title,
            Outcome.NOT_ALLOWED,
            f"{_names_text(names)} {verb} withdrawn from video calls by their parents, so "
            "must not take part.",
            clause,
        )
    if not plan.involves_pupils:
        return _passed(RuleId.WITHDRAWN, title, "No pupils take part.", clause)
    if plan.audience is Audience.CLASS and not plan.pupils:
        return _passed(
            RuleId.WITHDRAWN,
            title,
            f"Leave out any pupil on the {DEPUTY_HEAD}'s list of withdrawn pupils.",
            clause,
        )
    return _passed(RuleId.WITHDRAWN, title, "No pupil named is on the withdrawn list.", clause)


def _parental_consent(plan: CallPlan) -> RuleResult:
    """001 §2.4: parents' and carers' consent before children take part."""
    title, clause = "Parents' consent", "001 §2.4"
    if not plan.involves_pupils:
        return _passed(RuleId.PARENTAL_CONSENT, title, "No pupils take part.", clause)
    if not plan.parental_consent:
        return RuleResult(
            RuleId.PARENTAL_CONSENT,
            title,
            Outcome.NEEDS_ACTION,
            "Get parents' or carers' consent before the pupils take part.",
            clause,
        )
    return _passed(RuleId.PARENTAL_CONSENT, title, "Parents or carers have agreed.", clause)


def _one_to_one(plan: CallPlan) -> RuleResult:
    """000 §6: additional 1:1 calls with a pupil are logged to the Deputy Head (Academic) and
    head of department."""
    title, clause = "1:1 call log", "000 §6"
    if plan.one_to_one_with_pupil:
        return RuleResult(
            RuleId.ONE_TO_ONE,
            title,
            Outcome.NEEDS_ACTION,
            "Log it afterwards (names, date, time/duration, purpose, outcome) and send it to "
            f"the {DEPUTY_HEAD} and your head of department.",
            clause,
        )
    return _passed(RuleId.ONE_TO_ONE, title, "Not a 1:1 call with a pupil.", clause)


def _recording(plan: CallPlan) -> list[RuleResult]:
    """000 §8 and 001 §2.4: recording needs the Deputy Head (Academic)'s permission, written
    permission of everyone, a reason and an announcement; never a 1:1 with a pupil."""
    if not plan.recording:
        not_recorded = "Not recorded."
        return [
            _passed(RuleId.RECORDING_PERMISSION, "Permission to record", not_recorded, "000 §8"),
            _passed(RuleId.RECORDING_ONE_TO_ONE, "No recording 1:1", not_recorded, "000 §8"),
            _passed(
                RuleId.RECORDING_CONSENT, "Everyone's written permission", not_recorded, "001 §2.4"
            ),
            _passed(RuleId.RECORDING_REASON, "Reason for recording", not_recorded, "001 §2.4"),
            _passed(RuleId.RECORDING_ANNOUNCED, "Recording made clear", not_recorded, "001 §2.4"),
        ]
    results = [
        RuleResult(
            RuleId.RECORDING_PERMISSION,
            "Permission to record",
            Outcome.NEEDS_ACTION,
            f"Ask the {DEPUTY_HEAD} for permission to record it, before the call.",
            "000 §8",
        )
        if not plan.recording_permission_granted
        else _passed(
            RuleId.RECORDING_PERMISSION,
            "Permission to record",
            f"The {DEPUTY_HEAD} has agreed. Store the recording securely.",
            "000 §8",
        )
    ]
    if plan.one_to_one_with_pupil:
        results.append(
            RuleResult(
                RuleId.RECORDING_ONE_TO_ONE,
                "No recording 1:1",
                Outcome.NOT_ALLOWED,
                "Images must not be made during one-to-one situations, so a 1:1 call with a "
                "pupil must not be recorded.",
                "000 §8",
            )
        )
    else:
        results.append(
            _passed(RuleId.RECORDING_ONE_TO_ONE, "No recording 1:1", "Not a 1:1 call.", "000 §8")
        )
    results.append(
        _passed(
            RuleId.RECORDING_CONSENT,
            "Everyone's written permission",
            "Everyone taking part has given written permission.",
            "001 §2.4",
        )
        if plan.consent_all_participants
        else RuleResult(
            RuleId.RECORDING_CONSENT,
            "Everyone's written permission",
            Outcome.NEEDS_ACTION,
            "Get written permission to record from everyone taking part.",
            "001 §2.4",
        )
    )
    results.append(
        _passed(RuleId.RECORDING_REASON, "Reason for recording", "A reason is given.", "001 §2.4")
        if plan.recording_reason.strip()
        else RuleResult(
            RuleId.RECORDING_REASON,
            "Reason for recording",
            Outcome.NEEDS_ACTION,
            "Give the reason for recording.",
            "001 §2.4",
        )
    )
    results.append(
        _passed(
            RuleId.RECORDING_ANNOUNCED,
            "Recording made clear",
            "You will tell everyone at the start.",
            "001 §2.4",
        )
        if plan.announce_recording
        else RuleResult(
            RuleId.RECORDING_ANNOUNCED,
            "Recording made clear",
            Outcome.NEEDS_ACTION,
            "Tell everyone at the start that the call is being recorded.",
            "001 §2.4",
        )
    )
    return results


def _pupils_never_record(plan: CallPlan) -> RuleResult:
    """000 §6 "For pupils": no recording or screenshots, and a safe place to join from.

    A reminder: it always passes, and says what to tell the pupils.
    """
    title, clause = "Pupils never record", "000 §6"
    if not plan.involves_pupils:
        return _passed(RuleId.PUPILS_NO_RECORDING, title, "No pupils take part.", clause)
    return _passed(
        RuleId.PUPILS_NO_RECORDING,
        title,
        "Remind pupils: no recordings or screenshots of staff or pupils; join from a room that "
        "is not a bedroom, with nothing in view that identifies their home.",
        clause,
    )


def _location(plan: CallPlan) -> list[RuleResult]:
    """000 §6 "For staff": not a bedroom; well lit; nothing identifying the household; no other
    household members in the room."""
    clause = "000 §6"
    at_school = plan.location is Location.SCHOOL
    results = [
        RuleResult(
            RuleId.LOCATION_BEDROOM,
            "Not a bedroom",
            Outcome.NOT_ALLOWED,
            "Video calls must not be made from a bedroom. Choose another room.",
            clause,
        )
        if plan.location is Location.BEDROOM
        else _passed(RuleId.LOCATION_BEDROOM, "Not a bedroom", "Not from a bedroom.", clause)
    ]
    if at_school:
        results.append(
            _passed(RuleId.LOCATION_HOUSEHOLD, "Nothing identifies home", "At school.", clause)
        )
    elif plan.nothing_identifying:
        results.append(
            _passed(
                RuleId.LOCATION_HOUSEHOLD,
                "Nothing identifies home",
                "Nothing in view identifies your household or where it is.",
                clause,
            )
        )
    else:
        results.append(
            RuleResult(
                RuleId.LOCATION_HOUSEHOLD,
                "Nothing identifies home",
                Outcome.NEEDS_ACTION,
                "Check your background: nothing in view may identify your household or where "
                "it is.",
                clause,
            )
        )
    if plan.others_in_room and not at_school:
        results.append(
            RuleResult(
                RuleId.LOCATION_OTHERS,
                "No one else in the room",
                Outcome.NEEDS_ACTION,
                "Make sure no other member of your household is in the room during the call: "
                "they must not see or hear pupils.",
                clause,
            )
        )
    else:
        results.append(
            _passed(
                RuleId.LOCATION_OTHERS,
                "No one else in the room",
                "At school." if at_school else "No one else from your household is in the room.",
                clause,
            )
        )
    results.append(
        _passed(RuleId.LOCATION_LIGHT, "Well lit", "The room is well lit.", clause)
        if plan.well_lit
        else RuleResult(
            RuleId.LOCATION_LIGHT,
            "Well lit",
            Outcome.NEEDS_ACTION,
            "Make sure the room is well lit.",
            clause,
        )
    )
    return results


def check_call(plan: CallPlan, school: SchoolPolicy) -> CallVerdict:
    """Judge a planned call against every video-conferencing rule.

    Rules (each result names its clause): a school day and within teaching hours, the whole
    call (000 §6), or for contact at home within the pupil contact hours (000 §10); never
    pupil-to-pupil (000 §6); approved platforms only (001 §2.4); withdrawn pupils never take
    part (000 §6); parents' consent (001 §2.4); 1:1 calls logged (000 §6); recording needs the
    Deputy Head (Academic)'s permission (000 §8), everyone's written permission, a reason and
    an announcement (001 §2.4); pupils never record (000 §6); the staff member's location
    (000 §6).

    Returns:
        Every rule's result, and NOT_ALLOWED if any rule forbids the call, ALLOWED_ONCE if some
        need something done first (``CallVerdict.to_do``), otherwise ALLOWED.
    """
    results: list[RuleResult] = [
        _school_day(plan, school),
        _teaching_hours(plan, school),
        _contact_hours(plan, school),
        _pupil_to_pupil(plan),
        _platform(plan, school),
        _withdrawn(plan),
        _parental_consent(plan),
        _one_to_one(plan),
        *_recording(plan),
        _pupils_never_record(plan),
        *_location(plan),
    ]
    return _overall(results)


def _overall(results: Sequence[RuleResult]) -> CallVerdict:
    """NOT_ALLOWED if any rule forbids, ALLOWED_ONCE if any needs action, else ALLOWED."""
    outcomes = {r.outcome for r in results}
    if Outcome.NOT_ALLOWED in outcomes:
        verdict = Verdict.NOT_ALLOWED
    elif Outcome.NEEDS_ACTION in outcomes:
        verdict = Verdict.ALLOWED_ONCE
    else:
        verdict = Verdict.ALLOWED
    return CallVerdict(verdict, tuple(results))


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
    results: list[RuleResult] = []
    title, clause = "Automatic recording", "000 §8"
    if settings.record_automatically and not recording_permission:
        results.append(
            RuleResult(
                RuleId.MEETING_AUTO_RECORDING,
                title,
                Outcome.NOT_ALLOWED,
                "This meeting records automatically, but the "
                f"{DEPUTY_HEAD} has not given permission to record it. {FIX_AUTO_RECORDING} "
                "Or ask for permission first: check this call in full, with recording on.",
                clause,
            )
        )
    elif settings.record_automatically:
        results.append(
            _passed(
                RuleId.MEETING_AUTO_RECORDING,
                title,
                f"Records automatically, with the {DEPUTY_HEAD}'s permission.",
                clause,
            )
        )
    else:
        results.append(
            _passed(RuleId.MEETING_AUTO_RECORDING, title, "Does not record automatically.", clause)
        )

    title, clause = "No recording by pupils", "000 §6"
    if settings.allow_recording and pupils_attending and not recording_permission:
        results.append(
            RuleResult(
                RuleId.MEETING_ATTENDEE_RECORDING,
                title,
                Outcome.NEEDS_ACTION,
                f"Pupils must never record, and this meeting allows recording. "
                f"{FIX_ATTENDEE_RECORDING}",
                clause,
            )
        )
    elif settings.allow_recording and pupils_attending:
        results.append(
            _passed(
                RuleId.MEETING_ATTENDEE_RECORDING,
                title,
                "Recording is allowed, with permission: make sure only you record. Pupils "
                "must never record.",
                clause,
            )
        )
    else:
        results.append(
            _passed(
                RuleId.MEETING_ATTENDEE_RECORDING,
                title,
                "No pupils attend." if not pupils_attending else "Recording is turned off.",
                clause,
            )
        )

    title, clause = "Lobby", "001 §2.4"
    if settings.has_external_guests and settings.lobby_bypass == LOBBY_EVERYONE:
        results.append(
            RuleResult(
                RuleId.MEETING_LOBBY,
                title,
                Outcome.NEEDS_ACTION,
                "Guests from outside the school are invited and everyone skips the lobby, so "
                f"anyone with the link walks straight in. {FIX_LOBBY}",
                clause,
            )
        )
    else:
        results.append(
            _passed(
                RuleId.MEETING_LOBBY,
                title,
                "People from outside the school wait in the lobby until you let them in."
                if settings.lobby_bypass != LOBBY_EVERYONE
                else "No guests from outside the school are invited.",
                clause,
            )
        )

    title, clause = "Who can present", "000 §6"
    if pupils_attending and settings.allowed_presenters in PUPILS_MAY_PRESENT:
        results.append(
            RuleResult(
                RuleId.MEETING_PRESENTERS,
                title,
                Outcome.NEEDS_ACTION,
                "Pupils can present in this meeting, which lets them share their screen and "
                f"record. {FIX_PRESENTERS}",
                clause,
            )
        )
    else:
        results.append(
            _passed(
                RuleId.MEETING_PRESENTERS,
                title,
                "Pupils cannot present." if pupils_attending else "No pupils attend.",
                clause,
            )
        )
    return results


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


# ---------------------------------------------------------------------------------------------
# Permission to record (000 §8; 001 §2.4)
# ---------------------------------------------------------------------------------------------


class RequestStatus(StrEnum):
    """Where a recording request is."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class Decision(StrEnum):
    """What the Deputy Head (Academic) decided."""

    APPROVE = "approve"
    DECLINE = "decline"


#: Longest reason for declining.
MAX_DECISION_REASON = 500


class AlreadyDone(PolicyError):
    """The item is no longer waiting for this (already decided, already submitted)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingRequest:
    """A request to the Deputy Head (Academic) for permission to record an online lesson.

    000 §8: "staff wishing to record an online lesson must seek permission from the Deputy Head
    (Academic)". Holds what the decider needs (who, when, with whom, why), no pupil names.
    """

    ref: str
    requester_id: str
    requester_name: str
    start: datetime
    end: datetime
    audience: Audience
    pupil_count: int
    platform: str
    reason: str
    created_at: datetime
    call_check_id: str = ""
    meeting_id: str = ""
    status: RequestStatus = RequestStatus.PENDING
    decided_by_id: str = ""
    decided_by_name: str = ""
    decided_at: datetime | None = None
    decision_reason: str = ""

    def covers(self, start: datetime, meeting_id: str = "") -> bool:
        """Whether this request is for the call starting at ``start`` (or that meeting)."""
        if meeting_id and self.meeting_id == meeting_id:
            return True
        return self.start == start


def why_not_decider(person: Person, request: RecordingRequest) -> str | None:
    """Why ``person`` may not decide ``request``, or None when they may.

    Only the Deputy Head (Academic) gives permission (000 §8), and never for their own request:
    permission is a second person's check, so a Deputy Head (Academic) who wants to record
    needs another holder of the role.
    """
    if person.is_pupil or Role.DEPUTY_HEAD_ACADEMIC not in person.roles:
        return f"not the {DEPUTY_HEAD}"
    if person.id == request.requester_id:
        return "own request"
    return None


def decide_recording(
    request: RecordingRequest, by: Person, decision: Decision, reason: str, at: datetime
) -> RecordingRequest:
    """Approve or decline a pending recording request (000 §8).

    Raises:
        NotAllowed: ``by`` is not the Deputy Head (Academic), or asked for it themselves.
        AlreadyDone: it was already decided.
        InvalidSubmission: declined without a reason, or the reason is too long ("reason").
    """
    why_not = why_not_decider(by, request)
    if why_not is not None:
        raise NotAllowed("decide a recording request", why_not)
    if request.status is not RequestStatus.PENDING:
        raise AlreadyDone(f"{request.ref} was already {request.status.value}")
    reason = " ".join(reason.split())
    if decision is Decision.DECLINE and not reason:
        raise InvalidSubmission({"reason": "Give the reason for declining."})
    if len(reason) > MAX_DECISION_REASON:
        raise InvalidSubmission({"reason": f"Keep the reason to {MAX_DECISION_REASON} characters."})
    return replace(
        request,
        status=RequestStatus.APPROVED if decision is Decision.APPROVE else RequestStatus.DECLINED,
        decided_by_id=by.id,
        decided_by_name=by.name,
        decided_at=at,
        decision_reason=reason,
    )


def recording_conditions() -> tuple[str, ...]:
    """What a member of staff must still do once permission to record is given (001 §2.4)."""
    return (
        "Get written permission to record from everyone taking part (001 §2.4).",
        "Give everyone the reason for recording (001 §2.4).",
        "Make it clear to everyone at the start that the call is being recorded (001 §2.4).",
        "Store the recording securely, where only those authorised can see it (001 §2.4; 000 §8).",
        "Pupils must never record or take screenshots (000 §6).",
    )


# ---------------------------------------------------------------------------------------------
# Logging an additional 1:1 call with a pupil (000 §6)
# ---------------------------------------------------------------------------------------------


class LogStatus(StrEnum):
    """Where a 1:1 call log is."""

    PENDING = "pending"
    SUBMITTED = "submitted"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallLogEntry:
    """What the member of staff records about a 1:1 call (000 §6: "names, date,
    time/duration, purpose, outcome").

    Attributes:
        names: Who took part, as written.
        start: When the call started (aware).
        duration: How long it lasted.
        purpose: Why the call was made.
        outcome: What came of it.
        head_of_department_id: The head of department it goes to; "" for every one.
    """

    names: str
    start: datetime
    duration: timedelta
    purpose: str
    outcome: str
    head_of_department_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallLog:
    """The log owed after an additional 1:1 call with a pupil, submitted to the Deputy Head
    (Academic) and the head of department (000 §6)."""

    ref: str
    teacher_id: str
    teacher_name: str
    pupils: tuple[str, ...]
    planned_start: datetime
    planned_duration: timedelta
    created_at: datetime
    call_check_id: str = ""
    meeting_id: str = ""
    status: LogStatus = LogStatus.PENDING
    entry: CallLogEntry | None = None
    submitted_at: datetime | None = None

    @property
    def planned_end(self) -> datetime:
        """When the call was planned to end, in UTC."""
        return self.planned_start.astimezone(UTC) + self.planned_duration

    def covers(self, start: datetime, meeting_id: str = "") -> bool:
        """Whether this log is for the call starting at ``start`` (or that meeting)."""
        if meeting_id and self.meeting_id == meeting_id:
            return True
        return self.planned_start == start


def submit_call_log(log: CallLog, by: Person, entry: CallLogEntry, at: datetime) -> CallLog:
    """Record the submitted details of a 1:1 call (000 §6).

    Raises:
        NotAllowed: ``by`` is not the member of staff who made the call.
        AlreadyDone: the log was already submitted.
    """
    if by.id != log.teacher_id:
        raise NotAllowed("submit a call log", "not the member of staff who made the call")
    if log.status is not LogStatus.PENDING:
        raise AlreadyDone(f"{log.ref} was already submitted")
    return replace(log, status=LogStatus.SUBMITTED, entry=entry, submitted_at=at)


def next_log_reminder(after: datetime, school: SchoolPolicy) -> datetime:
    """When to remind about an unsubmitted log: the start of teaching hours on the next
    school day after ``after`` (school time), so a log is chased "the next school day"."""
    next_day = add_school_days(after, 1, school).astimezone(school.zone).date()
    return school_datetime(next_day, school.video_calls.teaching_hours.start, school)


# ---------------------------------------------------------------------------------------------
# Quick answers
# ---------------------------------------------------------------------------------------------


def recording_rule_text(school: SchoolPolicy) -> str:
    """The recording rule in plain words (000 §6, §8; 001 §2.4), from the configuration."""
    calls = school.video_calls
    return (
        f"You may record an online lesson only with permission from the {DEPUTY_HEAD} "
        "(000 §8). Everyone taking part must give written permission, you must give the "
        "reason, and you must make it clear to everyone at the start that the call is being "
        "recorded. Store the recording securely (001 §2.4). Never record a 1:1 call with a "
        "pupil (000 §8). Pupils must never record or take screenshots (000 §6). Use only "
        f"{_platforms_text(school)}, on {days_text(calls.teaching_days)} between "
        f"{hours_text(calls.teaching_hours)} (000 §6; 001 §2.4)."
    )


def pupil_contact_rule_text(school: SchoolPolicy) -> str:
    """When staff may call or contact pupils, in plain words (000 §6, §10), from the
    configuration."""
    calls = school.video_calls
    return (
        "Video lessons: only on school days "
        f"({days_text(calls.teaching_days)}, not bank or school holidays), between "
        f"{hours_text(calls.teaching_hours)}, on {_platforms_text(school)}, and never "
        "pupil-to-pupil (000 §6). Contacting pupils at home: only if absolutely necessary, "
        "only by school email or Microsoft Teams, and only between "
        f"{hours_text(calls.pupil_contact_hours)} (000 §10). After any extra 1:1 call with a "
        "pupil, log names, date, time/duration, purpose and outcome, and send it to the "
        f"{DEPUTY_HEAD} and your head of department (000 §6)."
    )
