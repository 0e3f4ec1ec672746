"""The video-call rules engine (000 §6, §8, §10; 001 §2.4), case by case.

Every case names the rule it is about, that rule's outcome and the overall verdict. Times are
school time (Europe/London) unless a case gives a UTC instant on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from dialogs.feature import Deps
from dialogs.ports import Change, DirectoryUnavailable, FixedClock, Meeting, Record
from dialogs.router import ActionContext, Scope, Turn
from dialogs.video_call import PHRASES, VideoCallHandlers, parse_call_log, parse_call_plan
from policy.actions import Verb
from policy.audit import AuditEntry, AuditEvent
from policy.errors import InvalidSubmission, NotAllowed
from policy.roles import Person, Role
from policy.school import Channels, Hours, SchoolPolicy, Term, VideoCalls, Weekday
from policy.video_calls import (
    CALL_RULES,
    MEETING_RULES,
    AlreadyDone,
    Audience,
    CallLog,
    CallLogEntry,
    CallPlan,
    Decision,
    Location,
    LogStatus,
    MeetingSettings,
    Outcome,
    RecordingRequest,
    RequestStatus,
    RuleId,
    Verdict,
    check_call,
    check_meeting,
    days_text,
    decide_recording,
    is_school_day,
    meeting_setting_rules,
    next_log_reminder,
    pupil_contact_rule_text,
    recording_rule_text,
    school_datetime,
    submit_call_log,
    teaching_window,
    why_not_decider,
    withdrawn_in,
)
from store.memory import InMemoryStore
from tests.support import card_texts


def _guid(n: int) -> str:
    return f"5c400000-0000-4000-8000-{n:012d}"


def make_school(**changes: Any) -> SchoolPolicy:
    """A school with the shipped defaults (no terms, no extra holidays) plus ``changes``."""
    return SchoolPolicy(
        name="Rules test school",
        roles={
            Role.STAFF: (_guid(101),),
            Role.PUPIL: (_guid(102),),
            Role.DSL: (_guid(103),),
            Role.HEADTEACHER: (_guid(107),),
        },
        channels=Channels(
            team_id="19:team@thread.tacv2",
            dsl_channel_id="19:dsl@thread.tacv2",
            it_channel_id="19:it@thread.tacv2",
        ),
        **changes,
    )


DEFAULT = make_school()
LONDON = DEFAULT.zone
EARLY_SCHOOL = make_school(
    video_calls=VideoCalls(
        teaching_hours=Hours(time(8, 30), time(16, 0)),
        pupil_contact_hours=Hours(time(7, 0), time(20, 0)),
        approved_platforms=("Microsoft Teams", "Zoom for Education"),
    )
)
SATURDAY_SCHOOL = make_school(
    video_calls=VideoCalls(teaching_days=(*VideoCalls().teaching_days, Weekday.SAT))
)
HOLIDAY_SCHOOL = make_school(holidays=(date(2026, 11, 25),))
TERM_SCHOOL = make_school(terms=(Term("Autumn 2026", date(2026, 9, 2), date(2026, 12, 18)),))
TWO_TERMS = make_school(
    terms=(
        Term("Autumn 2026", date(2026, 9, 2), date(2026, 12, 18)),
        Term("Spring 2027", date(2027, 1, 5), date(2027, 3, 26)),
    )
)
SCHOOLS = {
    "default": DEFAULT,
    "early": EARLY_SCHOOL,
    "saturday": SATURDAY_SCHOOL,
    "holiday": HOLIDAY_SCHOOL,
    "term": TERM_SCHOOL,
}

MONDAY = date(2026, 11, 23)
SATURDAY = date(2026, 11, 28)
#: Monday after the clocks go back (Sunday 25 October 2026): GMT, school time = UTC.
GMT_MONDAY = date(2026, 10, 26)
#: Tuesday after the clocks go forward (Sunday 28 March 2027): BST, school time = UTC + 1.
#: (The Monday after, 29 March 2027, is Easter Monday, a bank holiday.)
BST_TUESDAY = date(2027, 3, 30)

RECORDED_PROPERLY: dict[str, Any] = {
    "recording": True,
    "recording_reason": "for pupils who are absent",
    "recording_permission_granted": True,
    "consent_all_participants": True,
    "announce_recording": True,
}


def plan(
    day: date = MONDAY,
    at: str = "10:00",
    minutes: int = 60,
    *,
    school: SchoolPolicy = DEFAULT,
    utc: datetime | None = None,
    **changes: Any,
) -> CallPlan:
    """An allowed class lesson on Teams (consent given, from school), changed by ``changes``."""
    hour, minute = (int(part) for part in at.split(":"))
    base = CallPlan(
        start=utc or school_datetime(day, time(hour, minute), school),
        duration=timedelta(minutes=minutes),
        platform="Microsoft Teams",
        audience=Audience.CLASS,
        parental_consent=True,
    )
    return replace(base, **changes)


@dataclass(frozen=True)
class Case:
    """One row of the table: a plan, the rule to look at, and what it and the verdict must be."""

    id: str
    plan: CallPlan
    rule: RuleId
    outcome: Outcome
    verdict: Verdict
    school: str = "default"
    says: tuple[str, ...] = field(default=())


CASES: list[Case] = [
    # --- Teaching hours: the whole call inside 09:00–17:00 school time (000 §6) ---
    Case("starts-08:59", plan(at="08:59", minutes=30), RuleId.TEACHING_HOURS,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("08:59–09:29", "09:00 and 17:00")),
    Case("starts-09:00", plan(at="09:00", minutes=30), RuleId.TEACHING_HOURS,
         Outcome.PASS, Verdict.ALLOWED),
    Case("16:59-for-1-minute", plan(at="16:59", minutes=1), RuleId.TEACHING_HOURS,
         Outcome.PASS, Verdict.ALLOWED),
    Case("starts-17:00", plan(at="17:00", minutes=1), RuleId.TEACHING_HOURS,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("17:00–17:01",)),
    Case("ends-exactly-17:00", plan(at="16:00", minutes=60), RuleId.TEACHING_HOURS,
         Outcome.PASS, Verdict.ALLOWED),
    Case("crosses-17:00", plan(at="16:30", minutes=60), RuleId.TEACHING_HOURS,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("16:30–17:30",)),
    # --- School days: teaching days, bank holidays, school holidays, terms (000 §6) ---
    Case("weekday", plan(), RuleId.SCHOOL_DAY, Outcome.PASS, Verdict.ALLOWED),
    Case("saturday", plan(SATURDAY), RuleId.SCHOOL_DAY, Outcome.NOT_ALLOWED,
         Verdict.NOT_ALLOWED, says=("Sat 28 Nov 2026", "Monday to Friday")),
    Case("sunday", plan(date(2026, 11, 29)), RuleId.SCHOOL_DAY, Outcome.NOT_ALLOWED,
         Verdict.NOT_ALLOWED, says=("Sun 29 Nov 2026",)),
    Case("bank-holiday-2026-12-28", plan(date(2026, 12, 28)), RuleId.SCHOOL_DAY,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("bank holiday",)),
    Case("bank-holiday-easter-monday-2027", plan(date(2027, 3, 29)), RuleId.SCHOOL_DAY,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("Mon 29 Mar 2027", "bank holiday")),
    Case("configured-holiday", plan(date(2026, 11, 25), school=HOLIDAY_SCHOOL),
         RuleId.SCHOOL_DAY, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, school="holiday",
         says=("school holiday",)),
    Case("day-after-configured-holiday", plan(date(2026, 11, 26), school=HOLIDAY_SCHOOL),
         RuleId.SCHOOL_DAY, Outcome.PASS, Verdict.ALLOWED, school="holiday"),
    Case("inside-term", plan(date(2026, 12, 18), school=TERM_SCHOOL), RuleId.SCHOOL_DAY,
         Outcome.PASS, Verdict.ALLOWED, school="term"),
    Case("outside-term", plan(date(2026, 12, 21), school=TERM_SCHOOL), RuleId.SCHOOL_DAY,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, school="term", says=("outside term",)),
    # --- Clock changes: judged in school time, whatever zone the start is given in ---
    Case("gmt-monday-16:30-school-time", plan(GMT_MONDAY, "16:30", 30), RuleId.TEACHING_HOURS,
         Outcome.PASS, Verdict.ALLOWED),
    Case("gmt-monday-utc-17:30-is-17:30-gmt",
         plan(utc=datetime(2026, 10, 26, 17, 30, tzinfo=UTC), minutes=30),
         RuleId.TEACHING_HOURS, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED,
         says=("17:30–18:00",)),
    Case("bst-tuesday-16:30-school-time", plan(BST_TUESDAY, "16:30", 30), RuleId.TEACHING_HOURS,
         Outcome.PASS, Verdict.ALLOWED),
    Case("bst-tuesday-utc-16:30-is-17:30-bst",
         plan(utc=datetime(2027, 3, 30, 16, 30, tzinfo=UTC), minutes=30),
         RuleId.TEACHING_HOURS, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED,
         says=("17:30–18:00",)),
    Case("bst-tuesday-utc-15:30-is-16:30-bst",
         plan(utc=datetime(2027, 3, 30, 15, 30, tzinfo=UTC), minutes=30),
         RuleId.TEACHING_HOURS, Outcome.PASS, Verdict.ALLOWED, says=("16:30–17:00",)),
    Case("bst-tuesday-08:59-school-time", plan(BST_TUESDAY, "08:59", 30), RuleId.TEACHING_HOURS,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("08:59–09:29",)),
    Case("bst-tuesday-utc-07:59-is-08:59-bst",
         plan(utc=datetime(2027, 3, 30, 7, 59, tzinfo=UTC), minutes=30),
         RuleId.TEACHING_HOURS, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED),
    Case("bst-tuesday-utc-08:00-is-09:00-bst",
         plan(utc=datetime(2027, 3, 30, 8, 0, tzinfo=UTC), minutes=30),
         RuleId.TEACHING_HOURS, Outcome.PASS, Verdict.ALLOWED, says=("09:00–09:30",)),
    Case("bst-tuesday-utc-08:30-is-09:30-bst",
         plan(utc=datetime(2027, 3, 30, 8, 30, tzinfo=UTC), minutes=30),
         RuleId.TEACHING_HOURS, Outcome.PASS, Verdict.ALLOWED),
    # --- Recording (000 §8; 001 §2.4) ---
    Case("recording-without-permission",
         plan(**{**RECORDED_PROPERLY, "recording_permission_granted": False}),
         RuleId.RECORDING_PERMISSION, Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE,
         says=("ask the deputy head (academic)",)),
    Case("recording-with-everything", plan(**RECORDED_PROPERLY), RuleId.RECORDING_PERMISSION,
         Outcome.PASS, Verdict.ALLOWED),
    Case("recording-without-everyones-written-permission",
         plan(**{**RECORDED_PROPERLY, "consent_all_participants": False}),
         RuleId.RECORDING_CONSENT, Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE,
         says=("written permission",)),
    Case("recording-without-reason", plan(**{**RECORDED_PROPERLY, "recording_reason": " "}),
         RuleId.RECORDING_REASON, Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE, says=("reason",)),
    Case("recording-not-announced",
         plan(**{**RECORDED_PROPERLY, "announce_recording": False}),
         RuleId.RECORDING_ANNOUNCED, Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE,
         says=("at the start",)),
    Case("recording-a-1:1-with-a-pupil",
         plan(**RECORDED_PROPERLY, audience=Audience.NAMED_PUPILS, pupils=("Ava Thompson",),
              one_to_one_with_pupil=True),
         RuleId.RECORDING_ONE_TO_ONE, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED,
         says=("one-to-one",)),
    Case("not-recorded", plan(), RuleId.RECORDING_PERMISSION, Outcome.PASS, Verdict.ALLOWED),
    Case("pupils-never-record-reminder", plan(), RuleId.PUPILS_NO_RECORDING, Outcome.PASS,
         Verdict.ALLOWED, says=("screenshots",)),
    # --- Who takes part (000 §6; 001 §2.4) ---
    Case("pupil-to-pupil", plan(pupil_to_pupil=True), RuleId.PUPIL_TO_PUPIL,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("never for pupils calling each other",)),
    Case("withdrawn-pupil",
         plan(audience=Audience.NAMED_PUPILS, pupils=("Ava Thompson", "Ben Ali"),
              withdrawn_pupils=("Ava Thompson",)),
         RuleId.WITHDRAWN, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("Ava Thompson",)),
    Case("no-withdrawn-pupil",
         plan(audience=Audience.NAMED_PUPILS, pupils=("Ben Ali",)),
         RuleId.WITHDRAWN, Outcome.PASS, Verdict.ALLOWED),
    Case("no-parental-consent", plan(parental_consent=False), RuleId.PARENTAL_CONSENT,
         Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE, says=("consent",)),
    Case("staff-only-needs-no-parental-consent",
         plan(audience=Audience.STAFF_ONLY, parental_consent=False), RuleId.PARENTAL_CONSENT,
         Outcome.PASS, Verdict.ALLOWED),
    Case("1:1-with-a-pupil",
         plan(audience=Audience.NAMED_PUPILS, pupils=("Ben Ali",), one_to_one_with_pupil=True),
         RuleId.ONE_TO_ONE, Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE,
         says=("log it afterwards", "purpose, outcome", "head of department")),
    # --- Platform (001 §2.4) ---
    Case("zoom-not-approved", plan(platform="Zoom"), RuleId.PLATFORM, Outcome.NOT_ALLOWED,
         Verdict.NOT_ALLOWED, says=("Zoom is not approved", "Microsoft Teams")),
    Case("approved-any-case", plan(platform="  microsoft   TEAMS "), RuleId.PLATFORM,
         Outcome.PASS, Verdict.ALLOWED),
    Case("configured-extra-platform", plan(platform="zoom for education", school=EARLY_SCHOOL),
         RuleId.PLATFORM, Outcome.PASS, Verdict.ALLOWED, school="early"),
    # --- Location of the member of staff (000 §6 "For staff") ---
    Case("bedroom", plan(location=Location.BEDROOM), RuleId.LOCATION_BEDROOM,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, says=("bedroom",)),
    Case("home-not-bedroom", plan(location=Location.HOME), RuleId.LOCATION_BEDROOM,
         Outcome.PASS, Verdict.ALLOWED),
    Case("home-identifiable", plan(location=Location.HOME, nothing_identifying=False),
         RuleId.LOCATION_HOUSEHOLD, Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE,
         says=("background",)),
    Case("home-others-in-room", plan(location=Location.HOME, others_in_room=True),
         RuleId.LOCATION_OTHERS, Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE,
         says=("household",)),
    Case("not-well-lit", plan(location=Location.HOME, well_lit=False), RuleId.LOCATION_LIGHT,
         Outcome.NEEDS_ACTION, Verdict.ALLOWED_ONCE, says=("well lit",)),
    Case("colleagues-in-a-school-room", plan(others_in_room=True), RuleId.LOCATION_OTHERS,
         Outcome.PASS, Verdict.ALLOWED),
    # --- Contacting pupils at home: 07:30–19:30, not the teaching hours (000 §10) ---
    Case("contact-at-home-07:29", plan(at="07:29", minutes=15, contact_at_home=True),
         RuleId.CONTACT_HOURS, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED,
         says=("07:30 and 19:30",)),
    Case("contact-at-home-07:30", plan(at="07:30", minutes=15, contact_at_home=True),
         RuleId.CONTACT_HOURS, Outcome.PASS, Verdict.ALLOWED, says=("absolutely necessary",)),
    Case("contact-at-home-07:30-teaching-hours-do-not-apply",
         plan(at="07:30", minutes=15, contact_at_home=True), RuleId.TEACHING_HOURS,
         Outcome.PASS, Verdict.ALLOWED),
    Case("contact-at-home-19:15-to-19:30", plan(at="19:15", minutes=15, contact_at_home=True),
         RuleId.CONTACT_HOURS, Outcome.PASS, Verdict.ALLOWED),
    Case("contact-at-home-19:30", plan(at="19:30", minutes=15, contact_at_home=True),
         RuleId.CONTACT_HOURS, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED),
    Case("contact-at-home-on-zoom", plan(at="18:00", contact_at_home=True, platform="Zoom"),
         RuleId.PLATFORM, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED),
    # --- Configurable hours and days: another school, another answer ---
    Case("default-school-08:45", plan(at="08:45", minutes=30), RuleId.TEACHING_HOURS,
         Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED),
    Case("early-school-08:45", plan(at="08:45", minutes=30, school=EARLY_SCHOOL),
         RuleId.TEACHING_HOURS, Outcome.PASS, Verdict.ALLOWED, school="early"),
    Case("default-school-16:00", plan(at="16:00", minutes=30), RuleId.TEACHING_HOURS,
         Outcome.PASS, Verdict.ALLOWED),
    Case("early-school-16:00", plan(at="16:00", minutes=30, school=EARLY_SCHOOL),
         RuleId.TEACHING_HOURS, Outcome.NOT_ALLOWED, Verdict.NOT_ALLOWED, school="early",
         says=("08:30 and 16:00",)),
    Case("early-school-contact-07:15", plan(at="07:15", minutes=10, contact_at_home=True,
                                            school=EARLY_SCHOOL),
         RuleId.CONTACT_HOURS, Outcome.PASS, Verdict.ALLOWED, school="early"),
    Case("saturday-school-saturday", plan(SATURDAY, school=SATURDAY_SCHOOL), RuleId.SCHOOL_DAY,
         Outcome.PASS, Verdict.ALLOWED, school="saturday"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_outcome_and_verdict(case: Case) -> None:
    verdict = check_call(case.plan, SCHOOLS[case.school])

    result = verdict.result(case.rule)
    assert (result.outcome, verdict.verdict) == (case.outcome, case.verdict), result.reason
    for words in case.says:
        assert words.lower() in result.reason.lower()
    assert result.clause.split()[0] in {"000", "001"}
    assert "§" in result.clause
    assert {r.rule_id for r in verdict.results} == CALL_RULES, "every rule, every time"


def test_a_withdrawn_pupil_is_named_and_nobody_else() -> None:
    pupils = ("Ben Ali", "ava  THOMPSON", "Chloe Wu")
    withdrawn = withdrawn_in(pupils, ["Ava Thompson", "Zara Khan"])
    call = plan(audience=Audience.NAMED_PUPILS, pupils=pupils, withdrawn_pupils=withdrawn)

    result = check_call(call, DEFAULT).result(RuleId.WITHDRAWN)

    assert withdrawn == ("ava THOMPSON",)
    assert result.outcome is Outcome.NOT_ALLOWED
    assert "ava THOMPSON is withdrawn" in result.reason
    for other in ("Ben Ali", "Chloe Wu", "Zara Khan"):
        assert other not in result.reason


def test_allowed_once_lists_what_to_do_and_not_allowed_lists_why() -> None:
    once = check_call(plan(one_to_one_with_pupil=True, parental_consent=False), DEFAULT)
    blocked = check_call(plan(SATURDAY, platform="Skype"), DEFAULT)

    assert once.verdict is Verdict.ALLOWED_ONCE
    assert [r.rule_id for r in once.to_do] == [RuleId.PARENTAL_CONSENT, RuleId.ONE_TO_ONE]
    assert once.blockers == ()
    assert [r.rule_id for r in blocked.blockers] == [RuleId.SCHOOL_DAY, RuleId.PLATFORM]
    assert blocked.summary()["school_day"] == "not_allowed"


def test_plan_times_are_school_time_and_durations_are_real_minutes() -> None:
    bst = plan(BST_TUESDAY, "16:30", 30)
    gmt = plan(GMT_MONDAY, "16:30", 30)

    assert bst.start.astimezone(UTC).time() == time(15, 30)
    assert gmt.start.astimezone(UTC).time() == time(16, 30)
    # A call across the clocks going back lasts its real length (01:00–02:00 happens twice).
    overnight = plan(date(2026, 10, 25), "00:30", 120)
    assert overnight.end.astimezone(LONDON).time() == time(1, 30)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": datetime(2026, 11, 23, 10, 0)}, "timezone-aware"),
        ({"duration": timedelta(0)}, "positive"),
    ],
    ids=["naive-start", "zero-duration"],
)
def test_a_plan_must_be_well_formed(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan(**changes)


@pytest.mark.parametrize(
    ("day", "school", "expected"),
    [
        (MONDAY, DEFAULT, True),
        (SATURDAY, DEFAULT, False),
        (date(2026, 12, 25), DEFAULT, False),
        (date(2026, 11, 25), HOLIDAY_SCHOOL, False),
        (date(2027, 1, 4), TERM_SCHOOL, False),
        (SATURDAY, SATURDAY_SCHOOL, True),
    ],
    ids=["monday", "saturday", "christmas", "configured-holiday", "no-term", "saturday-school"],
)
def test_is_school_day(day: date, school: SchoolPolicy, expected: bool) -> None:
    assert is_school_day(day, school) is expected


def test_teaching_window_is_in_school_time_and_none_on_other_days() -> None:
    window = teaching_window(BST_TUESDAY, DEFAULT)

    assert window is not None
    opens, closes = window
    assert (opens.astimezone(UTC).time(), closes.astimezone(UTC).time()) == (time(8), time(16))
    assert opens.tzinfo == LONDON
    assert teaching_window(SATURDAY, DEFAULT) is None
    early = teaching_window(MONDAY, EARLY_SCHOOL)
    assert early is not None
    assert (early[0].time(), early[1].time()) == (time(8, 30), time(16, 0))


def test_quick_answers_come_from_the_configuration() -> None:
    default_contact = pupil_contact_rule_text(DEFAULT)
    early_contact = pupil_contact_rule_text(EARLY_SCHOOL)

    assert "07:30 and 19:30" in default_contact
    assert "09:00 and 17:00" in default_contact
    assert "Monday to Friday" in default_contact
    assert "07:00 and 20:00" in early_contact
    assert "08:30 and 16:00" in early_contact
    assert "07:30" not in early_contact
    assert "Monday to Saturday" in pupil_contact_rule_text(SATURDAY_SCHOOL)
    recording = recording_rule_text(EARLY_SCHOOL)
    assert "Deputy Head (Academic)" in recording
    assert "written permission" in recording
    assert "Microsoft Teams and Zoom for Education" in recording
    assert "08:30 and 16:00" in recording


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ((Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI), "Monday to Friday"),
        ((Weekday.FRI, Weekday.MON, Weekday.WED), "Monday, Wednesday and Friday"),
        ((Weekday.MON, Weekday.TUE), "Monday and Tuesday"),
        ((Weekday.SUN,), "Sunday"),
    ],
    ids=["weekdays", "alternate", "two", "one"],
)
def test_days_text(days: tuple[Weekday, ...], expected: str) -> None:
    assert days_text(days) == expected


# --- The form's validation (dialogs.video_call.parse_call_plan) ---------------------------------

GOOD_FORM: dict[str, str] = {
    "date": "2026-11-23",
    "start": "10:00",
    "duration": "60",
    "platform": "Microsoft Teams",
    "purpose": "lesson",
    "who": "class",
    "pupils": "",
    "one_to_one": "false",
    "parental_consent": "true",
    "recorded": "false",
    "recording_reason": "",
    "where": "school",
    "well_lit": "true",
}


def test_a_good_form_becomes_a_plan_in_school_time() -> None:
    call = parse_call_plan({**GOOD_FORM, "date": "2027-03-30", "start": "16:30"}, DEFAULT)

    assert call.start.astimezone(UTC) == datetime(2027, 3, 30, 15, 30, tzinfo=UTC)
    assert call.duration == timedelta(minutes=60)
    assert check_call(call, DEFAULT).result(RuleId.TEACHING_HOURS).outcome is Outcome.NOT_ALLOWED


def test_the_form_marks_withdrawn_pupils_ignoring_case() -> None:
    call = parse_call_plan(
        {**GOOD_FORM, "who": "named", "pupils": "Ben Ali, ava thompson;\nBen Ali"},
        DEFAULT,
        withdrawn=["Ava Thompson"],
    )

    assert call.pupils == ("Ben Ali", "ava thompson")
    assert call.withdrawn_pupils == ("ava thompson",)


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"date": ""}, {"date"}),
        ({"date": "2026-02-30"}, {"date"}),
        ({"date": "23/11/2026"}, {"date"}),
        ({"start": "9am"}, {"start"}),
        ({"start": "24:00"}, {"start"}),
        ({"duration": "0"}, {"duration"}),
        ({"duration": "4"}, {"duration"}),
        ({"duration": "481"}, {"duration"}),
        ({"duration": "30.5"}, {"duration"}),
        ({"duration": "lots"}, {"duration"}),
        ({"platform": ""}, {"platform"}),
        ({"recorded": "true", "recording_reason": "  "}, {"recording_reason"}),
        ({"who": "named"}, {"pupils"}),
        ({"one_to_one": "true"}, {"pupils"}),
        ({"one_to_one": "true", "who": "staff", "pupils": "Ben Ali"}, {"who"}),
        ({"who": "everyone"}, {"who"}),
        ({"date": "", "duration": "0"}, {"date", "duration"}),
    ],
    ids=[
        "no-date",
        "not-a-real-date",
        "uk-date-format",
        "start-not-hh:mm",
        "start-24:00",
        "zero-minutes",
        "under-5-minutes",
        "over-480-minutes",
        "part-minutes",
        "not-a-number",
        "no-platform",
        "recorded-without-reason",
        "named-pupils-without-names",
        "1:1-without-a-name",
        "1:1-staff-only",
        "unknown-audience",
        "two-problems-at-once",
    ],
)
def test_bad_form_input_is_refused_with_every_problem(
    changes: dict[str, str], problems: set[str]
) -> None:
    with pytest.raises(InvalidSubmission) as caught:
        parse_call_plan({**GOOD_FORM, **changes}, DEFAULT)

    assert set(caught.value.problems) == problems


# --- Typed questions (dialogs.video_call.PHRASES) ----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "verb"),
    [
        ("can i record a lesson?", Verb.CALL_RULE_RECORDING),
        ("recording", Verb.CALL_RULE_RECORDING),
        ("may i record my teams call with year 9?", Verb.CALL_RULE_RECORDING),
        ("when can i call pupils?", Verb.CALL_RULE_CONTACT),
        ("contact pupils at home", Verb.CALL_RULE_CONTACT),
        ("check a video call", Verb.CHECK_VIDEO_CALL),
        ("withdrawn pupils", Verb.WITHDRAWN_PUPILS),
        ("check my next lessons", Verb.NEXT_LESSONS),
        ("my next lessons", Verb.NEXT_LESSONS),
        ("what are my next meetings?", Verb.NEXT_LESSONS),
        ("check my calendar", Verb.NEXT_LESSONS),
        # Someone telling us about an incident is not asking about the rules.
        ("a pupil recorded a video of me", None),
        ("pupil took screenshots of a teacher", None),
        ("a pupil contacted me at home and i am worried", None),
    ],
)
def test_typed_questions_run_the_right_verb(typed: str, verb: Verb | None) -> None:
    found = next((v for pattern, v in PHRASES if re.search(pattern, typed)), None)

    assert found is verb


# --- The withdrawn list under concurrent changes (in-memory fakes, no mocks) -------------------


class NoDirectory:
    """A directory that knows nobody (the withdrawn-list handler never asks it)."""

    async def person(self, object_id: str) -> Person | None:
        return None

    async def members(self, role: Role) -> tuple[Person, ...]:
        return ()


class RacingStore(InMemoryStore):
    """An in-memory store where another Deputy Head changes the list just before our commit."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        if self.races and any(r.kind == "withdrawn_pupils" for r in change.records):
            self.races -= 1
            stored = await self.get("withdrawn_pupils", "list")
            names = [*(stored.data["pupils"] if stored else []), f"Rival {self.races}"]
            rival = Record("withdrawn_pupils", "list", (stored.version if stored else 0) + 1,
                           {"pupils": names})  # fmt: skip
            event = AuditEvent("rival", "withdrawn.add", rival.ref, "ok", FixedClock().now())
            await super().commit(Change(records=(rival,), audit=(event,)))
        return await super().commit(change)


def _withdrawn_context(op: str, pupil: str) -> ActionContext:
    deputy = Person("deputy", "James Wright", frozenset({Role.DEPUTY_HEAD_ACADEMIC, Role.STAFF}))
    return ActionContext(
        deputy, Turn("deputy", Scope.PERSONAL, activity_id=f"{op}-{pupil}"),
        {"verb": "call.withdrawn", "v": 1, "op": op, "pupil": pupil},
    )  # fmt: skip


async def test_a_conflicting_change_to_the_withdrawn_list_is_retried_once() -> None:
    store = RacingStore(races=1)
    calls = VideoCallHandlers(Deps(DEFAULT, store, NoDirectory(), FixedClock()))

    reply = await calls.withdrawn_pupils(_withdrawn_context("add", "Ava Thompson"))

    stored = await store.get("withdrawn_pupils", "list")
    assert stored is not None
    assert (stored.version, stored.data["pupils"]) == (2, ["Ava Thompson", "Rival 0"])
    assert reply.card is not None
    assert "Added Ava Thompson to the list\\." in card_texts(dict(reply.card))
    log = await store.audit_log()
    assert [(e.actor, e.action, e.outcome) for e in log] == [
        ("rival", "withdrawn.add", "ok"),
        ("deputy", "withdrawn.add", "ok"),
    ]
    assert "Thompson" not in str([e.to_dict() for e in log])


async def test_a_second_conflict_gives_up_and_says_so_without_changing_anything() -> None:
    store = RacingStore(races=2)
    calls = VideoCallHandlers(Deps(DEFAULT, store, NoDirectory(), FixedClock()))

    reply = await calls.withdrawn_pupils(_withdrawn_context("add", "Ava Thompson"))

    stored = await store.get("withdrawn_pupils", "list")
    assert stored is not None
    assert stored.data["pupils"] == ["Rival 1", "Rival 0"]
    assert reply.card is not None
    assert any("Someone else changed the list" in t for t in card_texts(dict(reply.card)))
    assert [e.actor for e in await store.audit_log()] == ["rival", "rival"]


@pytest.mark.parametrize(
    ("op", "pupil", "says"),
    [
        ("add", "", "Enter the pupil's full name\\."),
        ("remove", "Nobody Here", "Nobody Here is not on the list\\."),
    ],
    ids=["no-name", "remove-someone-not-listed"],
)
async def test_withdrawn_list_changes_that_change_nothing_are_not_audited(
    op: str, pupil: str, says: str
) -> None:
    store = InMemoryStore()
    calls = VideoCallHandlers(Deps(DEFAULT, store, NoDirectory(), FixedClock()))

    reply = await calls.withdrawn_pupils(_withdrawn_context(op, pupil))

    assert reply.card is not None
    assert says in card_texts(dict(reply.card))
    assert await store.audit_log() == []


# --- A real Teams meeting's own settings (policy.video_calls.meeting_setting_rules) -------------


@dataclass(frozen=True)
class SettingCase:
    """One meeting configuration, the rule to look at, and what it must say."""

    id: str
    settings: MeetingSettings
    rule: RuleId
    outcome: Outcome
    pupils: bool = True
    permission: bool = False
    says: tuple[str, ...] = ()


SETTING_CASES: list[SettingCase] = [
    SettingCase("auto-recording-without-permission",
                MeetingSettings(record_automatically=True), RuleId.MEETING_AUTO_RECORDING,
                Outcome.NOT_ALLOWED, says=("Deputy Head (Academic)",
                                           '"Record and transcribe automatically"')),
    SettingCase("auto-recording-with-permission", MeetingSettings(record_automatically=True),
                RuleId.MEETING_AUTO_RECORDING, Outcome.PASS, permission=True),
    SettingCase("auto-recording-staff-only-still-needs-permission",
                MeetingSettings(record_automatically=True), RuleId.MEETING_AUTO_RECORDING,
                Outcome.NOT_ALLOWED, pupils=False),
    SettingCase("no-auto-recording", MeetingSettings(), RuleId.MEETING_AUTO_RECORDING,
                Outcome.PASS),
    SettingCase("attendees-may-record-with-pupils", MeetingSettings(allow_recording=True),
                RuleId.MEETING_ATTENDEE_RECORDING, Outcome.NEEDS_ACTION,
                says=('turn off "Allow recording" for attendees', "Organisers and co-organisers")),
    SettingCase("attendees-may-record-staff-only", MeetingSettings(allow_recording=True),
                RuleId.MEETING_ATTENDEE_RECORDING, Outcome.PASS, pupils=False),
    SettingCase("recording-off", MeetingSettings(allow_recording=False),
                RuleId.MEETING_ATTENDEE_RECORDING, Outcome.PASS),
    SettingCase("recording-on-with-permission", MeetingSettings(allow_recording=True),
                RuleId.MEETING_ATTENDEE_RECORDING, Outcome.PASS, permission=True,
                says=("only you record",)),
    SettingCase("guests-and-everyone-bypasses-the-lobby",
                MeetingSettings(has_external_guests=True, lobby_bypass="everyone"),
                RuleId.MEETING_LOBBY, Outcome.NEEDS_ACTION,
                says=('"Who can bypass the lobby?"', '"People in my organisation"')),
    SettingCase("guests-staff-only-meeting-too",
                MeetingSettings(has_external_guests=True, lobby_bypass="everyone"),
                RuleId.MEETING_LOBBY, Outcome.NEEDS_ACTION, pupils=False),
    SettingCase("everyone-bypasses-but-no-guests", MeetingSettings(lobby_bypass="everyone"),
                RuleId.MEETING_LOBBY, Outcome.PASS),
    SettingCase("guests-wait-in-the-lobby",
                MeetingSettings(has_external_guests=True, lobby_bypass="organization"),
                RuleId.MEETING_LOBBY, Outcome.PASS),
    SettingCase("pupils-may-present-everyone", MeetingSettings(allowed_presenters="everyone"),
                RuleId.MEETING_PRESENTERS, Outcome.NEEDS_ACTION,
                says=('"Who can present?"', '"Only me and co-organisers"', '"Specific people"')),
    SettingCase("pupils-are-in-the-organisation",
                MeetingSettings(allowed_presenters="organization"), RuleId.MEETING_PRESENTERS,
                Outcome.NEEDS_ACTION),
    SettingCase("only-the-organiser-presents", MeetingSettings(allowed_presenters="organizer"),
                RuleId.MEETING_PRESENTERS, Outcome.PASS),
    SettingCase("chosen-presenters", MeetingSettings(allowed_presenters="roleIsPresenter"),
                RuleId.MEETING_PRESENTERS, Outcome.PASS),
    SettingCase("staff-only-everyone-presents", MeetingSettings(allowed_presenters="everyone"),
                RuleId.MEETING_PRESENTERS, Outcome.PASS, pupils=False),
]  # fmt: skip


@pytest.mark.parametrize("case", SETTING_CASES, ids=[c.id for c in SETTING_CASES])
def test_meeting_setting_rules(case: SettingCase) -> None:
    results = meeting_setting_rules(
        case.settings, pupils_attending=case.pupils, recording_permission=case.permission
    )

    assert {r.rule_id for r in results} == MEETING_RULES
    result = next(r for r in results if r.rule_id is case.rule)
    assert result.outcome is case.outcome, result.reason
    for words in case.says:
        assert words in result.reason
    assert result.clause in {"000 §6", "000 §8", "001 §2.4"}


CLEAN_MEETING = MeetingSettings(
    allow_recording=False, lobby_bypass="organization", allowed_presenters="organizer"
)


def test_a_meeting_is_judged_by_every_rule_and_its_settings() -> None:
    lesson = plan(audience=Audience.NAMED_PUPILS, pupils=("Ben Ali", "Chloe Wu"))

    verdict = check_meeting(lesson, CLEAN_MEETING, DEFAULT)

    assert {r.rule_id for r in verdict.results} == set(RuleId)
    assert verdict.verdict is Verdict.ALLOWED
    staff = plan(audience=Audience.STAFF_ONLY, parental_consent=False)
    assert check_meeting(staff, MeetingSettings(), DEFAULT).verdict is Verdict.ALLOWED


def test_automatic_recording_without_permission_is_the_one_blocker_not_four_to_dos() -> None:
    lesson = plan(audience=Audience.NAMED_PUPILS, pupils=("Ben Ali",), recording=True)
    settings = replace(CLEAN_MEETING, record_automatically=True)

    verdict = check_meeting(lesson, settings, DEFAULT)

    assert verdict.verdict is Verdict.NOT_ALLOWED
    assert [r.rule_id for r in verdict.blockers] == [RuleId.MEETING_AUTO_RECORDING]
    assert verdict.to_do == ()
    assert verdict.result(RuleId.RECORDING_PERMISSION).reason == "Not recorded."


def test_automatic_recording_with_permission_brings_the_recording_conditions() -> None:
    lesson = plan(
        audience=Audience.NAMED_PUPILS,
        pupils=("Ben Ali", "Chloe Wu"),
        recording_permission_granted=True,
        recording_reason="for pupils who are absent",
    )
    settings = replace(CLEAN_MEETING, record_automatically=True, allow_recording=True)

    verdict = check_meeting(lesson, settings, DEFAULT)

    assert verdict.verdict is Verdict.ALLOWED_ONCE
    assert {r.rule_id for r in verdict.to_do} == {
        RuleId.RECORDING_CONSENT,
        RuleId.RECORDING_ANNOUNCED,
    }
    one_to_one = replace(lesson, pupils=("Ben Ali",), one_to_one_with_pupil=True)
    blocked = check_meeting(one_to_one, settings, DEFAULT)
    assert RuleId.RECORDING_ONE_TO_ONE in {r.rule_id for r in blocked.blockers}


def test_a_pupil_only_meeting_and_a_late_meeting_are_not_allowed() -> None:
    pupils_only = plan(audience=Audience.NAMED_PUPILS, pupils=("Ben Ali",), pupil_to_pupil=True)
    late = plan(at="16:30", minutes=60, audience=Audience.STAFF_ONLY)

    assert [r.rule_id for r in check_meeting(pupils_only, CLEAN_MEETING, DEFAULT).blockers] == [
        RuleId.PUPIL_TO_PUPIL
    ]
    assert [r.rule_id for r in check_meeting(late, CLEAN_MEETING, DEFAULT).blockers] == [
        RuleId.TEACHING_HOURS
    ]


# --- Permission to record and the 1:1 call log (pure transitions) ------------------------------

TEACHER_PERSON = Person(_guid(2), "Daniel Okafor", frozenset({Role.STAFF}))
DEPUTY = Person(_guid(5), "James Wright", frozenset({Role.STAFF, Role.DEPUTY_HEAD_ACADEMIC}))
OTHER_DEPUTY = Person(_guid(11), "Sam Lee", frozenset({Role.STAFF, Role.DEPUTY_HEAD_ACADEMIC}))
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def a_request(**changes: Any) -> RecordingRequest:
    base = RecordingRequest(
        ref="REC-2026-0001",
        requester_id=TEACHER_PERSON.id,
        requester_name=TEACHER_PERSON.name,
        start=school_datetime(MONDAY, time(14), DEFAULT),
        end=school_datetime(MONDAY, time(15), DEFAULT),
        audience=Audience.CLASS,
        pupil_count=0,
        platform="Microsoft Teams",
        reason="for pupils who are absent",
        created_at=NOW,
    )
    return replace(base, **changes)


def test_the_deputy_head_approves_or_declines_with_a_reason() -> None:
    approved = decide_recording(a_request(), DEPUTY, Decision.APPROVE, "", NOW)
    declined = decide_recording(a_request(), DEPUTY, Decision.DECLINE, "  not  needed ", NOW)

    assert (approved.status, approved.decided_by_id, approved.decided_at) == (
        RequestStatus.APPROVED,
        DEPUTY.id,
        NOW,
    )
    assert (declined.status, declined.decision_reason) == (RequestStatus.DECLINED, "not needed")


@pytest.mark.parametrize(
    ("request_changes", "by", "decision", "reason", "error"),
    [
        ({}, TEACHER_PERSON, Decision.APPROVE, "", NotAllowed),
        ({}, Person("p", "Pupil", frozenset({Role.PUPIL})), Decision.APPROVE, "", NotAllowed),
        ({"requester_id": DEPUTY.id}, DEPUTY, Decision.APPROVE, "", NotAllowed),
        ({"status": RequestStatus.APPROVED}, DEPUTY, Decision.DECLINE, "late", AlreadyDone),
        ({}, DEPUTY, Decision.DECLINE, "   ", InvalidSubmission),
        ({}, DEPUTY, Decision.DECLINE, "x" * 501, InvalidSubmission),
    ],
    ids=["teacher", "pupil", "own-request", "already-decided", "no-reason", "reason-too-long"],
)
def test_who_may_decide_and_when(
    request_changes: dict[str, Any], by: Person, decision: Decision, reason: str, error: type
) -> None:
    with pytest.raises(error):
        decide_recording(a_request(**request_changes), by, decision, reason, NOW)


def test_another_deputy_head_may_decide_a_deputy_heads_request() -> None:
    own = a_request(requester_id=DEPUTY.id, requester_name=DEPUTY.name)

    assert why_not_decider(DEPUTY, own) == "own request"
    assert why_not_decider(OTHER_DEPUTY, own) is None


def a_log(**changes: Any) -> CallLog:
    base = CallLog(
        ref="LOG-2026-0001",
        teacher_id=TEACHER_PERSON.id,
        teacher_name=TEACHER_PERSON.name,
        pupils=("Ben Ali",),
        planned_start=school_datetime(MONDAY, time(14), DEFAULT),
        planned_duration=timedelta(minutes=30),
        created_at=NOW,
    )
    return replace(base, **changes)


def test_only_the_member_of_staff_sends_their_log_and_only_once() -> None:
    entry = CallLogEntry(
        names="Daniel Okafor, Ben Ali",
        start=school_datetime(MONDAY, time(14), DEFAULT),
        duration=timedelta(minutes=25),
        purpose="Reading plan",
        outcome="Agreed",
    )

    sent = submit_call_log(a_log(), TEACHER_PERSON, entry, NOW)

    assert (sent.status, sent.entry, sent.submitted_at) == (LogStatus.SUBMITTED, entry, NOW)
    assert a_log().planned_end == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    with pytest.raises(NotAllowed):
        submit_call_log(a_log(), DEPUTY, entry, NOW)
    with pytest.raises(AlreadyDone):
        submit_call_log(sent, TEACHER_PERSON, entry, NOW)


@pytest.mark.parametrize(
    ("after", "school", "expected"),
    [
        (datetime(2026, 11, 23, 14, 30, tzinfo=UTC), DEFAULT, datetime(2026, 11, 24, 9, 0)),
        (datetime(2026, 11, 27, 15, 30, tzinfo=UTC), DEFAULT, datetime(2026, 11, 30, 9, 0)),
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), HOLIDAY_SCHOOL, datetime(2026, 11, 26, 9, 0)),
        (datetime(2027, 3, 26, 16, 0, tzinfo=UTC), DEFAULT, datetime(2027, 3, 30, 9, 0)),
        (datetime(2026, 11, 23, 17, 0, tzinfo=UTC), EARLY_SCHOOL, datetime(2026, 11, 24, 8, 30)),
        (datetime(2026, 12, 18, 16, 0, tzinfo=UTC), TWO_TERMS, datetime(2027, 1, 5, 9, 0)),
    ],
    ids=["next-day", "over-a-weekend", "over-a-holiday", "into-bst-after-easter", "early-school",
         "into-the-next-term"],
)  # fmt: skip
def test_an_unsent_log_is_reminded_at_the_start_of_the_next_school_day(
    after: datetime, school: SchoolPolicy, expected: datetime
) -> None:
    due = next_log_reminder(after, school)

    assert due.astimezone(school.zone).replace(tzinfo=None) == expected


# --- The log card's validation (dialogs.video_call.parse_call_log) ------------------------------

GOOD_LOG: dict[str, str] = {
    "names": "Daniel Okafor, Ben Ali",
    "date": "2026-11-23",
    "start": "14:00",
    "duration": "25",
    "purpose": "Reading plan",
    "outcome": "Agreed two chapters a week",
    "hod": "all",
}
HEADS = [_guid(3)]


def test_a_good_log_becomes_an_entry_in_school_time() -> None:
    entry = parse_call_log({**GOOD_LOG, "hod": _guid(3)}, DEFAULT, today=MONDAY, heads=HEADS)

    assert entry.start == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert entry.duration == timedelta(minutes=25)
    assert entry.head_of_department_id == _guid(3)
    every = parse_call_log(GOOD_LOG, DEFAULT, today=MONDAY, heads=HEADS)
    assert every.head_of_department_id == ""


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"names": " "}, {"names"}),
        ({"names": "x" * 1001}, {"names"}),
        ({"date": "2026-11-24"}, {"date"}),
        ({"date": "2026-02-30"}, {"date"}),
        ({"start": "2pm"}, {"start"}),
        ({"duration": "0"}, {"duration"}),
        ({"duration": "481"}, {"duration"}),
        ({"duration": "twenty"}, {"duration"}),
        ({"purpose": ""}, {"purpose"}),
        ({"outcome": "y" * 1001}, {"outcome"}),
        ({"hod": _guid(2)}, {"hod"}),
        ({"purpose": "", "outcome": ""}, {"purpose", "outcome"}),
    ],
    ids=["no-names", "names-too-long", "future", "not-a-date", "bad-time", "zero-minutes",
         "over-480", "not-a-number", "no-purpose", "outcome-too-long", "not-a-head", "two"],
)  # fmt: skip
def test_a_bad_log_is_refused_with_every_problem(
    changes: dict[str, str], problems: set[str]
) -> None:
    with pytest.raises(InvalidSubmission) as caught:
        parse_call_log({**GOOD_LOG, **changes}, DEFAULT, today=MONDAY, heads=HEADS)

    assert set(caught.value.problems) == problems


# --- Handlers over in-memory fakes (no mocks): two deputy heads, a calendar that is down --------


class People:
    """A small directory of known people."""

    def __init__(self, *people: Person) -> None:
        self.people = {p.id: p for p in people}

    async def person(self, object_id: str) -> Person | None:
        return self.people.get(object_id)

    async def members(self, role: Role) -> tuple[Person, ...]:
        return tuple(p for p in self.people.values() if role in p.roles)


class DownDirectory(People):
    """A directory that cannot answer (Graph down)."""

    async def person(self, object_id: str) -> Person | None:
        raise DirectoryUnavailable

    async def members(self, role: Role) -> tuple[Person, ...]:
        raise DirectoryUnavailable


class DownCalendar:
    """A calendar that cannot answer."""

    async def upcoming(self, person_id: str, *, days: int = 7) -> tuple[Meeting, ...]:
        raise DirectoryUnavailable


class OneMeeting:
    """A calendar with one meeting for whoever asks."""

    def __init__(self, meeting: Meeting) -> None:
        self.meeting = meeting

    async def upcoming(self, person_id: str, *, days: int = 7) -> tuple[Meeting, ...]:
        return (self.meeting,)


def _context(person: Person, verb: Verb, data: dict[str, Any], n: int = 1) -> ActionContext:
    return ActionContext(
        person,
        Turn(person.id, Scope.PERSONAL, activity_id=f"{verb.value}-{n}"),
        {"verb": verb.value, "v": 1, **data},
    )


RECORDED_FORM = {
    **GOOD_FORM,
    "recorded": "true",
    "recording_reason": "for pupils who are absent",
    "consent": "true",
    "announce": "true",
}


async def test_a_deputy_heads_own_request_goes_to_the_other_deputy_head_only() -> None:
    store = InMemoryStore()
    calls = VideoCallHandlers(
        Deps(DEFAULT, store, People(DEPUTY, OTHER_DEPUTY, TEACHER_PERSON), FixedClock(NOW))
    )

    answer = await calls.submit(_context(DEPUTY, Verb.CALL_SUBMIT, RECORDED_FORM))

    assert answer.card is not None
    shown = " ".join(card_texts(dict(answer.card))).replace("\\", "")
    assert "REC-2026-0001" in shown and "another Deputy Head (Academic) must decide it" in shown
    [record] = await store.find("recording_request")
    assert await calls.render_request(record, {"target": DEPUTY.id}) is None
    assert await calls.render_request(record, {"target": OTHER_DEPUTY.id}) is not None

    own = await calls.decide_recording(
        _context(DEPUTY, Verb.RECORDING_DECIDE, {"ref": record.id, "ver": 1, "decision": "approve"})
    )
    assert own.card is not None
    assert any("You asked for this yourself" in t for t in card_texts(dict(own.card)))
    assert (await store.get("recording_request", record.id)) == record
    other = await calls.decide_recording(
        _context(
            OTHER_DEPUTY,
            Verb.RECORDING_DECIDE,
            {"ref": record.id, "ver": 1, "decision": "approve"},
            n=2,
        )
    )
    assert other.card is not None
    decided = await store.get("recording_request", record.id)
    assert decided is not None and decided.data["status"] == "approved"
    assert [(e.actor, e.action, e.outcome) for e in await store.audit_log()][-2:] == [
        (DEPUTY.id, "call.recording.decide", "refused: own request"),
        (OTHER_DEPUTY.id, "call.recording.approve", "approved"),
    ]


async def test_a_request_is_still_sent_when_the_directory_cannot_say_who_decides() -> None:
    store = InMemoryStore()
    calls = VideoCallHandlers(Deps(DEFAULT, store, DownDirectory(), FixedClock(NOW)))

    await calls.submit(_context(DEPUTY, Verb.CALL_SUBMIT, RECORDED_FORM))

    assert len(await store.find("recording_request")) == 1
    assert len(await store.find("outbox")) == 1  # resolved to people when it is delivered


@pytest.mark.parametrize(
    ("calendar", "directory"),
    [(DownCalendar(), People(TEACHER_PERSON)), (None, People(TEACHER_PERSON))],
    ids=["calendar-down", "no-calendar"],
)
async def test_when_the_calendar_cannot_answer_the_teacher_is_told_kindly(
    calendar: Any, directory: People
) -> None:
    store = InMemoryStore()
    calls = VideoCallHandlers(Deps(DEFAULT, store, directory, FixedClock(NOW), calendar=calendar))

    reply = await calls.next_lessons(_context(TEACHER_PERSON, Verb.NEXT_LESSONS, {}))

    assert reply.card is not None
    texts = card_texts(dict(reply.card))
    assert texts[0] == "I can't check your calendar right now"
    assert "Nothing is lost" in texts[1]
    assert await store.audit_log() == []


async def test_when_the_directory_cannot_say_who_attends_the_teacher_is_told_kindly() -> None:
    meeting = Meeting(
        id="m1",
        subject="Lesson",
        start=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        end=datetime(2026, 11, 24, 11, 0, tzinfo=UTC),
        organizer_id=TEACHER_PERSON.id,
        attendee_ids=(_guid(1),),
    )
    calls = VideoCallHandlers(
        Deps(
            DEFAULT, InMemoryStore(), DownDirectory(), FixedClock(NOW), calendar=OneMeeting(meeting)
        )
    )

    reply = await calls.next_lessons(_context(TEACHER_PERSON, Verb.NEXT_LESSONS, {}))
    form = await calls.show_form(_context(TEACHER_PERSON, Verb.CHECK_VIDEO_CALL, {"meeting": "m1"}))

    assert reply.card is not None and form.card is not None
    assert card_texts(dict(reply.card))[0] == "I can't check your calendar right now"
    assert any("couldn't find that meeting" in t for t in card_texts(dict(form.card)))


async def test_a_meeting_organised_by_a_pupil_is_pupil_to_pupil() -> None:
    pupil = Person(_guid(1), "Ava Thompson", frozenset({Role.PUPIL}))
    other = Person(_guid(10), "Leo Martin", frozenset({Role.PUPIL}))
    meeting = Meeting(
        id="m2",
        subject="Study group",
        start=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        end=datetime(2026, 11, 24, 11, 0, tzinfo=UTC),
        organizer_id=pupil.id,
        attendee_ids=(other.id,),
    )
    calls = VideoCallHandlers(
        Deps(
            DEFAULT,
            InMemoryStore(),
            People(TEACHER_PERSON, pupil, other),
            FixedClock(NOW),
            calendar=OneMeeting(meeting),
        )
    )

    reply = await calls.next_lessons(_context(TEACHER_PERSON, Verb.NEXT_LESSONS, {}))

    assert reply.card is not None
    shown = " ".join(card_texts(dict(reply.card)))
    assert "never for pupils calling each other" in shown
    assert "⛔ Not allowed" in shown


async def test_the_log_timer_ends_once_the_log_is_sent_or_gone() -> None:
    store = InMemoryStore()
    calls = VideoCallHandlers(Deps(DEFAULT, store, People(TEACHER_PERSON), FixedClock(NOW)))
    await calls.submit(
        _context(
            TEACHER_PERSON,
            Verb.CALL_SUBMIT,
            {**GOOD_FORM, "who": "named", "pupils": "Ben Ali", "one_to_one": "true"},
        )
    )
    [record] = await store.find("call_log")
    [due] = await store.find("timer")

    asked = await calls.on_log_due(record, due, NOW)
    gone = await calls.on_log_due(None, due, NOW)
    sent = Record(record.kind, record.id, 2, {**record.data, "status": "submitted"})
    done = await calls.on_log_due(sent, due, NOW)

    assert len(asked.outbox) == 1 and asked.again_at is not None
    assert (gone.outbox, gone.again_at) == ((), None)
    assert (done.outbox, done.again_at) == ((), None)


def test_add_school_days_never_waits_a_year_when_the_terms_run_out() -> None:
    from bot.config import load_school_policy
    from policy.school_calendar import add_school_days
    from tests.support import ROOT

    school = replace(
        load_school_policy(ROOT / "config" / "school.toml"),
        terms=(Term("Only term", date(2026, 9, 1), date(2026, 11, 27)),),
    )
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # the last day of the last term

    assert add_school_days(friday, 1, school) == datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
