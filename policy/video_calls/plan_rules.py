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

from collections.abc import Sequence

from policy.school import Hours, SchoolPolicy
from policy.video_calls.plan import (
    DEPUTY_HEAD,
    Audience,
    CallPlan,
    CallVerdict,
    Location,
    Outcome,
    RuleId,
    RuleResult,
    Verdict,
    _fits,
    _name_key,
    _names_text,
    _not_a_school_day_because,
    _platforms_text,
    day_text,
    days_text,
    hours_text,
    teaching_hours,
)

# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------


_LOCATION_CLAUSE = "000 §6"


def _passed(rule_id: RuleId, title: str, reason: str, clause: str) -> RuleResult:
    return RuleResult(rule_id, title, Outcome.PASS, reason, clause)


def _within_hours(
    plan: CallPlan,
    school: SchoolPolicy,
    hours: Hours,
    rule: tuple[RuleId, str, str],
    *,
    must: str,
    within: str,
) -> RuleResult:
    """Whether the whole call fits inside ``hours`` (school time). ``rule`` is the rule's id,
    title and clause; ``must`` says who must keep to the hours, ``within`` which hours they are
    (and anything a pass should add)."""
    rule_id, title, clause = rule
    fits, shown = _fits(plan, hours, school)
    if not fits:
        return RuleResult(
            rule_id,
            title,
            Outcome.NOT_ALLOWED,
            f"The call runs {shown} (school time), but {must} between {hours_text(hours)}.",
            clause,
        )
    return _passed(rule_id, title, f"{shown} (school time) is within {within}", clause)


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
    hours = teaching_hours(school)
    if plan.contact_at_home:
        return _passed(
            RuleId.TEACHING_HOURS,
            title,
            "Not a lesson: the hours for contacting pupils at home apply instead.",
            clause,
        )
    return _within_hours(
        plan,
        school,
        hours,
        (RuleId.TEACHING_HOURS, title, clause),
        must="video calls must start and finish",
        within=f"teaching hours, {hours_text(hours, joiner='–')}.",
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
    return _within_hours(
        plan,
        school,
        hours,
        (RuleId.CONTACT_HOURS, title, clause),
        must="pupils may only be contacted at home",
        within=f"{hours_text(hours, joiner='–')}. Contact pupils at home only if absolutely "
        "necessary, and only by school email or Teams.",
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


def _not_recorded() -> list[RuleResult]:
    """Every recording rule passes for a call that is not recorded."""
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


def _recording_permission(plan: CallPlan) -> RuleResult:
    """000 §8: a recording needs the Deputy Head (Academic)'s permission, before the call."""
    if not plan.recording_permission_granted:
        return RuleResult(
            RuleId.RECORDING_PERMISSION,
            "Permission to record",
            Outcome.NEEDS_ACTION,
            f"Ask the {DEPUTY_HEAD} for permission to record it, before the call.",
            "000 §8",
        )
    return _passed(
        RuleId.RECORDING_PERMISSION,
        "Permission to record",
        f"The {DEPUTY_HEAD} has agreed. Store the recording securely.",
        "000 §8",
    )


def _recording_one_to_one(plan: CallPlan) -> RuleResult:
    """000 §8: images must not be made during one-to-one situations."""
    if plan.one_to_one_with_pupil:
        return RuleResult(
            RuleId.RECORDING_ONE_TO_ONE,
            "No recording 1:1",
            Outcome.NOT_ALLOWED,
            "Images must not be made during one-to-one situations, so a 1:1 call with a "
            "pupil must not be recorded.",
            "000 §8",
        )
    return _passed(RuleId.RECORDING_ONE_TO_ONE, "No recording 1:1", "Not a 1:1 call.", "000 §8")


def _recording_consent(plan: CallPlan) -> RuleResult:
    """001 §2.4: everyone taking part gives written permission to record."""
    if plan.consent_all_participants:
        return _passed(
            RuleId.RECORDING_CONSENT,
            "Everyone's written permission",
            "Everyone taking part has given written permission.",
            "001 §2.4",
        )
    return RuleResult(
        RuleId.RECORDING_CONSENT,
        "Everyone's written permission",
        Outcome.NEEDS_ACTION,
        "Get written permission to record from everyone taking part.",
        "001 §2.4",
    )


def _recording_reason(plan: CallPlan) -> RuleResult:
    """001 §2.4: a recording has a reason."""
    if plan.recording_reason.strip():
        return _passed(
            RuleId.RECORDING_REASON, "Reason for recording", "A reason is given.", "001 §2.4"
        )
    return RuleResult(
        RuleId.RECORDING_REASON,
        "Reason for recording",
        Outcome.NEEDS_ACTION,
        "Give the reason for recording.",
        "001 §2.4",
    )


def _recording_announced(plan: CallPlan) -> RuleResult:
    """001 §2.4: everyone is told at the start that the call is recorded."""
    if plan.announce_recording:
        return _passed(
            RuleId.RECORDING_ANNOUNCED,
            "Recording made clear",
            "You will tell everyone at the start.",
            "001 §2.4",
        )
    return RuleResult(
        RuleId.RECORDING_ANNOUNCED,
        "Recording made clear",
        Outcome.NEEDS_ACTION,
        "Tell everyone at the start that the call is being recorded.",
        "001 §2.4",
    )


def _recording(plan: CallPlan) -> list[RuleResult]:
    """000 §8 and 001 §2.4: recording needs the Deputy Head (Academic)'s permission, written
    permission of everyone, a reason and an announcement; never a 1:1 with a pupil."""
    if not plan.recording:
        return _not_recorded()
    return [
        _recording_permission(plan),
        _recording_one_to_one(plan),
        _recording_consent(plan),
        _recording_reason(plan),
        _recording_announced(plan),
    ]


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


def _not_a_bedroom(plan: CallPlan) -> RuleResult:
    """000 §6: video calls are never made from a bedroom."""
    if plan.location is Location.BEDROOM:
        return RuleResult(
            RuleId.LOCATION_BEDROOM,
            "Not a bedroom",
            Outcome.NOT_ALLOWED,
            "Video calls must not be made from a bedroom. Choose another room.",
            _LOCATION_CLAUSE,
        )
    return _passed(
        RuleId.LOCATION_BEDROOM, "Not a bedroom", "Not from a bedroom.", _LOCATION_CLAUSE
    )


def _nothing_identifies_home(plan: CallPlan) -> RuleResult:
    """000 §6: nothing in view identifies the household or where it is."""
    title = "Nothing identifies home"
    if plan.location is Location.SCHOOL:
        return _passed(RuleId.LOCATION_HOUSEHOLD, title, "At school.", _LOCATION_CLAUSE)
    if plan.nothing_identifying:
        return _passed(
            RuleId.LOCATION_HOUSEHOLD,
            title,
            "Nothing in view identifies your household or where it is.",
            _LOCATION_CLAUSE,
        )
    return RuleResult(
        RuleId.LOCATION_HOUSEHOLD,
        title,
        Outcome.NEEDS_ACTION,
        "Check your background: nothing in view may identify your household or where it is.",
        _LOCATION_CLAUSE,
    )


def _no_one_else_in_room(plan: CallPlan) -> RuleResult:
    """000 §6: no other household member is in the room during the call."""
    title = "No one else in the room"
    at_school = plan.location is Location.SCHOOL
    if plan.others_in_room and not at_school:
        return RuleResult(
            RuleId.LOCATION_OTHERS,
            title,
            Outcome.NEEDS_ACTION,
            "Make sure no other member of your household is in the room during the call: "
            "they must not see or hear pupils.",
            _LOCATION_CLAUSE,
        )
    return _passed(
        RuleId.LOCATION_OTHERS,
        title,
        "At school." if at_school else "No one else from your household is in the room.",
        _LOCATION_CLAUSE,
    )


def _well_lit(plan: CallPlan) -> RuleResult:
    """000 §6: the room is well lit."""
    if plan.well_lit:
        return _passed(RuleId.LOCATION_LIGHT, "Well lit", "The room is well lit.", _LOCATION_CLAUSE)
    return RuleResult(
        RuleId.LOCATION_LIGHT,
        "Well lit",
        Outcome.NEEDS_ACTION,
        "Make sure the room is well lit.",
        _LOCATION_CLAUSE,
    )


def _location(plan: CallPlan) -> list[RuleResult]:
    """000 §6 "For staff": not a bedroom; well lit; nothing identifying the household; no other
    household members in the room."""
    return [
        _not_a_bedroom(plan),
        _nothing_identifies_home(plan),
        _no_one_else_in_room(plan),
        _well_lit(plan),
    ]


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
# Quick answers
# ---------------------------------------------------------------------------------------------


def pupil_contact_rule_text(school: SchoolPolicy) -> str:
    """When staff may call or contact pupils, in plain words (000 §6, §10), from the
    configuration."""
    calls = school.video_calls
    return (
        "Video lessons: only on school days "
        f"({days_text(calls.teaching_days)}, not bank or school holidays), between "
        f"{hours_text(teaching_hours(school))}, on {_platforms_text(school)}, and never "
        "pupil-to-pupil (000 §6). Contacting pupils at home: only if absolutely necessary, "
        "only by school email or Microsoft Teams, and only between "
        f"{hours_text(calls.pupil_contact_hours)} (000 §10). After any extra 1:1 call with a "
        "pupil, log names, date, time/duration, purpose and outcome, and send it to the "
        f"{DEPUTY_HEAD} and your head of department (000 §6)."
    )
