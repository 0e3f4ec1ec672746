"""A planned video call and its vocabulary: who, where, the rules' ids and outcomes, school
days and hours, and names (000 §6; 001 §2.4)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from policy.school import Hours, SchoolPolicy, Weekday
from policy.school_calendar import Closed, closed_because, is_school_day

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


def teaching_hours(school: SchoolPolicy) -> Hours:
    """The school's normal teaching hours, every school day (000 §6: "between the hours of 09.00
    and 17.00 (i.e. the School's normal teaching hours)"; the hours are the school's setting).

    The one place this rule lives: the call-plan check, the reminders timed to the start of the
    school day (call logs, filtering and monitoring checks) and every text that states the hours
    ask it.
    """
    return school.video_calls.teaching_hours


def teaching_starts_at(day: date, school: SchoolPolicy) -> datetime:
    """When teaching starts on ``day``, in school time."""
    return school_datetime(day, teaching_hours(school).start, school)


def teaching_window(day: date, school: SchoolPolicy) -> tuple[datetime, datetime] | None:
    """When video lessons may run on ``day``, in school time, or None if not a school day.

    000 §6: "only … from Monday to Friday between the hours of 09.00 and 17.00 (i.e. the
    School's normal teaching hours)"; the days and hours are the school's configuration.
    """
    if not is_school_day(day, school):
        return None
    return _window(day, teaching_hours(school), school)


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
