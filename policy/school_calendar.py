"""School days: weekdays the school teaches, inside a term, outside holidays and bank holidays.

Used for "other concerns after 1 school day" (004 flowchart) and the video-call rules (000 §6).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from policy.school import SchoolPolicy, Weekday

_WEEKDAYS = tuple(Weekday)  # Monday first, like date.weekday()


class Closed(StrEnum):
    """Why a day is not a school day."""

    NOT_A_TEACHING_DAY = "not_a_teaching_day"
    BANK_HOLIDAY = "bank_holiday"
    HOLIDAY = "holiday"
    OUT_OF_TERM = "out_of_term"


def closed_because(day: date, school: SchoolPolicy) -> Closed | None:
    """Why ``day`` is not a school day, or None when it is one (000 §6)."""
    if _WEEKDAYS[day.weekday()] not in school.video_calls.teaching_days:
        return Closed.NOT_A_TEACHING_DAY
    if day in school.bank_holidays:
        return Closed.BANK_HOLIDAY
    if day in school.holidays:
        return Closed.HOLIDAY
    if school.terms and not any(t.start <= day <= t.end for t in school.terms):
        return Closed.OUT_OF_TERM
    return None


def is_school_day(day: date, school: SchoolPolicy) -> bool:
    """A teaching weekday, not a bank holiday or school holiday, and inside a term when the
    school has listed its terms."""
    return closed_because(day, school) is None


def add_school_days(at: datetime, days: int, school: SchoolPolicy) -> datetime:
    """The same school-time clock time ``days`` school days after ``at`` (an aware datetime)."""
    local = at.astimezone(school.zone)
    day = local.date()
    counted = 0
    for _ in range(400):  # a year and more of closures is a configuration mistake, not a loop
        day += timedelta(days=1)
        if is_school_day(day, school):
            counted += 1
            if counted == days:
                moved = datetime.combine(day, local.timetz().replace(tzinfo=None), school.zone)
                return moved.astimezone(at.tzinfo)
    # No school day ahead (the configured terms have run out): never wait a year for a
    # reminder about a child; count plain days instead.
    return at + timedelta(days=days)
