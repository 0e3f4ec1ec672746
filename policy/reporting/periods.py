"""Reporting periods: a date range, a term from the school file, an academic year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from policy.errors import PolicyError
from policy.school import SchoolPolicy


class ReportError(PolicyError):
    """A reporting period that cannot be used (unknown term, badly written year, end first)."""


# ---------------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------------

#: The longest period one report may cover (a little over two academic years).
MAX_PERIOD_DAYS = 800


def day_words(day: date) -> str:
    """``1 Sep 2026``."""
    return f"{day.day} {day:%b %Y}"


@dataclass(frozen=True, slots=True)
class Period:
    """Dates a report covers, both ends included, in school time."""

    label: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ReportError(f"the period ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ReportError(f"a report covers at most {MAX_PERIOD_DAYS} days")

    def contains(self, at: datetime, zone: ZoneInfo) -> bool:
        """Whether ``at`` falls on a day of this period, in school time."""
        return self.start <= at.astimezone(zone).date() <= self.end

    def months(self) -> tuple[date, ...]:
        """The first day of every month the period touches, in order."""
        months: list[date] = []
        month = self.start.replace(day=1)
        while month <= self.end:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return tuple(months)


def range_period(start: date, end: date) -> Period:
    """The period from ``start`` to ``end`` (both included).

    Raises:
        ReportError: the end is before the start, or the period is too long.
    """
    return Period(f"{day_words(start)} to {day_words(end)}", start, end)


def term_period(school: SchoolPolicy, name: str) -> Period:
    """The period of the school's term called ``name`` (any letter case).

    Raises:
        ReportError: the school's policy file lists no term of that name.
    """
    wanted = " ".join(name.split()).casefold()
    for term in school.terms:
        if term.name.casefold() == wanted:
            return Period(term.name, term.start, term.end)
    known = ", ".join(t.name for t in school.terms) or "none are listed"
    raise ReportError(f"no term called {name!r} (terms: {known})")


_YEAR = re.compile(r"^(\d{4})\s*[-/]\s*(\d{2}|\d{4})$")


def year_period(text: str) -> Period:
    """An academic year written ``2026-27`` (or ``2026/27``, ``2026-2027``): 1 September to
    31 August.

    Raises:
        ReportError: the text is not an academic year.
    """
    match = _YEAR.match(text.strip())
    if match is None:
        raise ReportError(f"{text!r} is not an academic year like 2026-27")
    first = int(match.group(1))
    second = int(match.group(2))
    if second < 100:
        second += first // 100 * 100
    if second != first + 1:
        raise ReportError(f"{text!r} is not an academic year like 2026-27")
    return Period(
        f"Academic year {first}-{str(second)[-2:]}", date(first, 9, 1), date(second, 8, 31)
    )


def academic_year_of(day: date) -> str:
    """The academic year ``day`` falls in, written ``2026-27`` (years start on 1 September)."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{str(first + 1)[-2:]}"


def current_term(school: SchoolPolicy, today: date) -> Period | None:
    """The term ``today`` is in, or else the latest term that has started, or None."""
    started = [t for t in school.terms if t.start <= today]
    if not started:
        return None
    term = next((t for t in started if today <= t.end), max(started, key=lambda t: t.start))
    return Period(term.name, term.start, term.end)
