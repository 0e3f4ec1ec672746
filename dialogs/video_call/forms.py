"""Reading the video-call cards' inputs: the "Check a video call" form and the 1:1 call log
(000 §6, §8; 001 §2.4)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, time, timedelta
from typing import Any

from cards.payload import ClickIds
from cards.video_call import (
    EVERY_HEAD,
    MAX_LOG_TEXT,
    MAX_MINUTES,
    MAX_NAMES_LENGTH,
    MAX_PUPIL_NAME,
    MAX_REASON_LENGTH,
    MIN_MINUTES,
    OTHER_PLATFORM,
    WHERE_CHOICES,
    Field,
    LogField,
    Purpose,
)
from dialogs.codec import input_flag, input_text
from dialogs.ports import (
    Record,
)
from policy.errors import InvalidSubmission
from policy.school import SchoolPolicy
from policy.video_calls import (
    Audience,
    CallLogEntry,
    CallPlan,
    Location,
    school_datetime,
    withdrawn_in,
)

#: Most pupils one check may name (a class is chosen as "A class", not by listing names).
MAX_PUPILS = 60

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::00)?$")
_NAME_SEPARATORS = re.compile(r"[,;\n]+")
#: Calendar meeting ids: Graph event ids (base64-like) or, failing those, a join URL. An id is
#: only ever compared with the person's own meetings, never trusted; anything else is ignored.
_MEETING_ID = re.compile(r"^[\x21-\x7e]{1,1000}$")


def _meeting_id(ids: ClickIds) -> str:
    """The calendar meeting id a card carries, or "" when absent or not a plausible id."""
    value = ids.meeting.strip()
    return value if _MEETING_ID.match(value) else ""


def _names(text: str) -> list[str]:
    """Names separated by commas, semicolons or lines, spaces tidied, repeats dropped."""
    seen: dict[str, str] = {}
    for part in _NAME_SEPARATORS.split(text):
        name = " ".join(part.split())
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def _day(text: str, problems: dict[str, str], key: str) -> date | None:
    """A YYYY-MM-DD date from a date picker, or None with the problem recorded."""
    match = _DATE.match(text)
    if not text:
        problems[key] = "Choose the date of the call."
    elif match is None:
        problems[key] = "That is not a date. Use the date picker (YYYY-MM-DD)."
    else:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            problems[key] = "That date does not exist. Please choose a real date."
        else:
            if 2000 <= day.year <= 2100:
                return day
            problems[key] = "Choose a date between the years 2000 and 2100."
    return None


def _clock_time(text: str, problems: dict[str, str], key: str) -> time | None:
    """An HH:MM time from a time picker, or None with the problem recorded."""
    match = _TIME.match(text)
    if not text:
        problems[key] = "Choose the start time."
    elif match is None:
        problems[key] = "Give the start time as HH:MM, for example 10:30."
    else:
        return time(int(match[1]), int(match[2]))
    return None


def _minutes(text: str, low: int, high: int) -> int | None:
    """A whole number of minutes between ``low`` and ``high``, or None."""
    try:
        number = float(text)
    except ValueError:
        return None
    if number.is_integer() and low <= number <= high:
        return int(number)
    return None


def _call_minutes(data: Mapping[str, Any], problems: dict[str, str]) -> int | None:
    """The call's length: a whole number of minutes in range, or None with the problem."""
    duration_text = input_text(data, Field.DURATION)
    minutes = _minutes(duration_text, MIN_MINUTES, MAX_MINUTES)
    if not duration_text:
        problems[Field.DURATION] = "Enter how long the call lasts, in minutes."
    elif minutes is None:
        problems[Field.DURATION] = (
            f"Enter a whole number of minutes between {MIN_MINUTES} and {MAX_MINUTES}."
        )
    return minutes


def _platform(data: Mapping[str, Any], problems: dict[str, str]) -> str:
    """The platform chosen ("Other" for one not on the list), or "" with the problem."""
    platform = input_text(data, Field.PLATFORM)[:100]
    if not platform:
        problems[Field.PLATFORM] = "Choose the platform."
    elif platform == OTHER_PLATFORM:
        platform = "Other"
    return platform


def _purpose(data: Mapping[str, Any], problems: dict[str, str]) -> str:
    """What the call is for (a lesson when not said), the problem when it is none of them."""
    purpose = input_text(data, Field.PURPOSE) or Purpose.LESSON
    if purpose not in (Purpose.LESSON, Purpose.CONTACT_AT_HOME, Purpose.PUPIL_TO_PUPIL):
        problems[Field.PURPOSE] = "Choose what the call is for."
    return purpose


def _audience(data: Mapping[str, Any], problems: dict[str, str]) -> Audience:
    """Who the call is with (a class when not said), the problem when it is none of them."""
    try:
        return Audience(input_text(data, Field.WHO) or Audience.CLASS.value)
    except ValueError:
        problems[Field.WHO] = "Choose who the call is with."
    return Audience.CLASS


def _pupils(
    data: Mapping[str, Any], problems: dict[str, str], *, one_to_one: bool, audience: Audience
) -> list[str]:
    """The pupils named: required for a 1:1 or named pupils, at most ``MAX_PUPILS``."""
    names_text = input_text(data, Field.PUPILS)
    pupils = _names(names_text)
    if len(names_text) > MAX_NAMES_LENGTH or len(pupils) > MAX_PUPILS:
        problems[Field.PUPILS] = f"Name at most {MAX_PUPILS} pupils, or choose 'A class'."
    elif any(len(name) > MAX_PUPIL_NAME for name in pupils):
        problems[Field.PUPILS] = f"Each name must be at most {MAX_PUPIL_NAME} characters."
    elif one_to_one and not pupils:
        problems[Field.PUPILS] = "Name the pupil the 1:1 call is with."
    elif audience is Audience.NAMED_PUPILS and not pupils:
        problems[Field.PUPILS] = "Name the pupils, separated by commas."
    return pupils


def _recording_reason(data: Mapping[str, Any], problems: dict[str, str], *, recording: bool) -> str:
    """Why the call is recorded: required when it is, at most ``MAX_REASON_LENGTH``."""
    reason = " ".join(input_text(data, Field.RECORDING_REASON).split())
    if recording and not reason:
        problems[Field.RECORDING_REASON] = "Say why the call will be recorded."
    elif len(reason) > MAX_REASON_LENGTH:
        problems[Field.RECORDING_REASON] = f"Keep the reason to {MAX_REASON_LENGTH} characters."
    return reason


def _where(data: Mapping[str, Any], problems: dict[str, str]) -> str:
    """Where the member of staff will be (school when not said, or not one of the choices)."""
    where = input_text(data, Field.WHERE) or Location.SCHOOL.value
    if where not in {value for value, _ in WHERE_CHOICES}:
        problems[Field.WHERE] = "Choose where you will be."
        where = Location.SCHOOL.value
    return where


def parse_call_plan(
    data: Mapping[str, Any], school: SchoolPolicy, withdrawn: Sequence[str] = ()
) -> CallPlan:
    """Validate the "Check a video call" form into a ``CallPlan``.

    The date and time are school time (Europe/London by default; BST/GMT via zoneinfo).
    Pupils named in the plan who are on ``withdrawn`` (ignoring case) are marked withdrawn.

    Raises:
        InvalidSubmission: with every problem at once, by field id: date required and real;
            start HH:MM; length a whole number of minutes (5–480); platform required; a reason
            when recorded; names when the call is with named pupils or 1:1.
    """
    problems: dict[str, str] = {}
    day = _day(input_text(data, Field.DATE), problems, Field.DATE)
    at = _clock_time(input_text(data, Field.START), problems, Field.START)
    minutes = _call_minutes(data, problems)
    platform = _platform(data, problems)
    purpose = _purpose(data, problems)
    audience = _audience(data, problems)
    one_to_one = input_flag(data, Field.ONE_TO_ONE)
    pupils = _pupils(data, problems, one_to_one=one_to_one, audience=audience)
    if one_to_one and audience is Audience.STAFF_ONLY:
        problems[Field.WHO] = "A 1:1 call with a pupil is not staff only: choose 'Named pupils'."
    recording = input_flag(data, Field.RECORDED)
    reason = _recording_reason(data, problems, recording=recording)
    where = _where(data, problems)
    if problems or day is None or at is None or minutes is None:
        raise InvalidSubmission(problems)
    return CallPlan(
        start=school_datetime(day, at, school),
        duration=timedelta(minutes=minutes),
        platform=platform,
        audience=audience,
        pupils=tuple(pupils),
        one_to_one_with_pupil=one_to_one,
        pupil_to_pupil=purpose == Purpose.PUPIL_TO_PUPIL,
        contact_at_home=purpose == Purpose.CONTACT_AT_HOME,
        recording=recording,
        recording_reason=reason if recording else "",
        recording_permission_granted=input_flag(data, Field.PERMISSION),
        consent_all_participants=input_flag(data, Field.CONSENT),
        announce_recording=input_flag(data, Field.ANNOUNCE),
        location=Location(where),
        nothing_identifying=input_flag(data, Field.NOTHING_IDENTIFYING),
        others_in_room=input_flag(data, Field.OTHERS_IN_ROOM),
        well_lit=input_flag(data, Field.WELL_LIT),
        parental_consent=input_flag(data, Field.PARENTAL_CONSENT),
        withdrawn_pupils=withdrawn_in(pupils, withdrawn),
    )


def parse_call_log(
    data: Mapping[str, Any], school: SchoolPolicy, *, today: date, heads: Sequence[str]
) -> CallLogEntry:
    """Validate the "Log this call" card into a ``CallLogEntry`` (000 §6).

    Args:
        data: The submitted inputs, by ``LogField`` id.
        school: For school time.
        today: Today in school time (a call cannot have happened after it).
        heads: Ids of the people who hold the head-of-department role now.

    Raises:
        InvalidSubmission: with every problem at once, by field id: names, date (real, not in
            the future), start HH:MM, a whole number of minutes (1–480), purpose and outcome
            (each at most 1000 characters), and a head of department who holds the role.
    """
    problems: dict[str, str] = {}
    names = " ".join(input_text(data, LogField.NAMES).split())
    if not names:
        problems[LogField.NAMES] = "Give the names of everyone on the call."
    elif len(names) > MAX_NAMES_LENGTH:
        problems[LogField.NAMES] = f"Keep the names to {MAX_NAMES_LENGTH} characters."
    day = _day(input_text(data, LogField.DATE), problems, LogField.DATE)
    if day is not None and day > today:
        problems[LogField.DATE] = "That date is in the future: log a call once it has happened."
    at = _clock_time(input_text(data, LogField.START), problems, LogField.START)
    minutes = _minutes(input_text(data, LogField.DURATION), 1, MAX_MINUTES)
    if minutes is None:
        problems[LogField.DURATION] = (
            f"Enter how long it lasted: a whole number of minutes between 1 and {MAX_MINUTES}."
        )
    texts: dict[str, str] = {}
    for key, missing in (
        (LogField.PURPOSE, "Say what the call was for."),
        (LogField.OUTCOME, "Say what came of the call."),
    ):
        text = input_text(data, key)
        texts[key] = text
        if not text:
            problems[key] = missing
        elif len(text) > MAX_LOG_TEXT:
            problems[key] = f"Keep this to {MAX_LOG_TEXT} characters."
    head = input_text(data, LogField.HEAD_OF_DEPARTMENT) or EVERY_HEAD
    if head != EVERY_HEAD and head not in heads:
        problems[LogField.HEAD_OF_DEPARTMENT] = "Choose your head of department from the list."
    if problems or day is None or at is None or minutes is None:
        raise InvalidSubmission(problems)
    return CallLogEntry(
        names=names,
        start=school_datetime(day, at, school),
        duration=timedelta(minutes=minutes),
        purpose=texts[LogField.PURPOSE],
        outcome=texts[LogField.OUTCOME],
        head_of_department_id="" if head == EVERY_HEAD else head,
    )


def _stored_names(record: Record | None) -> list[str]:
    if record is None:
        return []
    names = record.data.get("pupils", [])
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
