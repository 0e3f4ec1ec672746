"""Records the school must show: reporting periods, concern timings and the governors' report.

Rules (domain brief, "Rules for concern reports" and "Data"): the incident log is kept up to
date and available to senior leaders and governors, and governors get anonymised summaries
(004 flowchart, 002 §2.1); the filtering change log is reviewed by governors and the DSL at
least annually (002 §2.1, §2.3; 004 "Filtering"); safeguarding records are special-category
data, "anonymised for governors".

Anonymisation, as done here:

- The governors' report is built from counts only: no names, no free text, no references, no
  dates finer than a month. Year groups are left out on purpose (with a category they can point
  to a child in a small school).
- Small counts are suppressed: a count from 1 to ``threshold - 1`` is shown as "fewer than N";
  0 and counts of ``threshold`` or more are shown. The threshold is the school's
  ``governors_report_min_count`` (default 3).
- Complementary suppression within a table: every table is a breakdown of a published total,
  so a hidden count could be worked out as the total minus the shown ones. After the small
  counts are hidden, ``count_table`` works out exactly what a reader could still learn about
  each of them (``_exposed``) and, while anything more than "fewer than N" can be learnt, also
  hides the smallest shown count ("not shown"). If hiding every other count is not enough, or
  the total itself is below the threshold, the breakdown is withheld and only the total given.
- Between tables: no published table is a breakdown of another's row, except through
  ``sub_table``, which publishes a breakdown of a group only when the group's own count is
  shown exactly (closed concerns by outcome; re-blocking of allowed sites). The one rule that
  links two concern tables, "a concern in an always-urgent category is always urgent", is
  checked explicitly: the urgency table is withheld if, next to the category table, it would
  pin down a small count in either (``exposes`` with a ``Cap``). There are no
  cross-tabulations, and year groups are not reported.
- A median is shown only over a group whose size is itself shown exactly, and only when it
  is taken over at least ``threshold`` concerns; so "not shown" tells no more than the tables.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from policy.categories import Route
from policy.closure import confirmed_by_second_person, sends_back
from policy.concerns import OUTCOMES, Concern, ConcernStatus
from policy.errors import PolicyError
from policy.filtering import FilterRequest, FilterStatus
from policy.fm_checks import FmCheck
from policy.fm_checks import latest as latest_check
from policy.handoff import count_by_system, handoffs_of
from policy.on_call import (
    LADO_REMINDER,
    in_contact_hours,
    is_person_id,
    lado_clock_applies,
    lado_informed,
    role_of,
    steps_taken,
)
from policy.overblocking import OUTCOME_WORDS, OverblockReport, OverblockStatus
from policy.school import SchoolPolicy
from policy.school_calendar import is_school_day


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


# ---------------------------------------------------------------------------------------------
# Concern timings
# ---------------------------------------------------------------------------------------------


def time_to_acknowledge(concern: Concern) -> timedelta | None:
    """From the report to its acknowledgement, or None while it is not acknowledged."""
    if concern.acknowledged_at is None:
        return None
    return max(concern.acknowledged_at - concern.created_at, timedelta(0))


def time_to_close(concern: Concern) -> timedelta | None:
    """From the report to its closing, or None while it is open."""
    if concern.closed_at is None:
        return None
    return max(concern.closed_at - concern.created_at, timedelta(0))


def age(concern: Concern, now: datetime) -> timedelta:
    """How long ago the concern was reported."""
    return max(now - concern.created_at, timedelta(0))


def open_items(concerns: Iterable[Concern]) -> list[Concern]:
    """Concerns not yet closed (new or acknowledged), oldest first."""
    return sorted(
        (c for c in concerns if c.status is not ConcernStatus.CLOSED),
        key=lambda c: (c.created_at, c.ref),
    )


def median_duration(values: Iterable[timedelta]) -> timedelta | None:
    """The median of ``values``, or None when there are none."""
    seconds = [v.total_seconds() for v in values]
    if not seconds:
        return None
    return timedelta(seconds=statistics.median(seconds))


def duration_words(value: timedelta) -> str:
    """A duration as people say it: ``under a minute``, ``40 min``, ``3 h 5 min``, ``4.5 days``."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = value.total_seconds() / 86400
    return f"{days:.1f} days"


def hours_text(value: timedelta | None) -> str:
    """Hours with two decimals for a spreadsheet (``0.25``), or ``""`` when there is none."""
    return "" if value is None else f"{value.total_seconds() / 3600:.2f}"


def month_of(at: datetime, zone: ZoneInfo) -> date:
    """The first day of the month ``at`` falls in, in school time."""
    return at.astimezone(zone).date().replace(day=1)


def month_words(month: date) -> str:
    """``Nov 2026``."""
    return f"{month:%b %Y}"


# ---------------------------------------------------------------------------------------------
# Small-count suppression
# ---------------------------------------------------------------------------------------------


class Hidden(StrEnum):
    """Why a count is not shown."""

    SHOWN = "shown"
    #: A small count (1 to threshold - 1): shown as "fewer than N".
    SMALL = "small"
    #: Hidden so that a small count cannot be worked out from the total (complementary).
    COMPLEMENTARY = "complementary"
    #: The whole breakdown is withheld (its total is small, or it could not be protected).
    WITHHELD = "withheld"


NOT_SHOWN = "not shown"
WITHHELD = "withheld"


def fewer_than(threshold: int) -> str:
    """How a small count is written."""
    return f"fewer than {threshold}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One published figure. A hidden figure carries no number at all, so nothing that
    renders it can leak it."""

    label: str
    value: int | None
    text: str
    hidden: Hidden = Hidden.SHOWN


def count_cell(label: str, count: int, threshold: int) -> Cell:
    """A single published count: 0 and counts of ``threshold`` or more are shown."""
    if count < 0:
        raise ValueError("counts are never negative")
    if 0 < count < threshold:
        return Cell(label, None, fewer_than(threshold), Hidden.SMALL)
    return Cell(label, count, str(count))


@dataclass(frozen=True, slots=True)
class CountTable:
    """A breakdown of a published total, after suppression."""

    key: str
    title: str
    cells: tuple[Cell, ...]
    total: Cell
    #: True when only the total is given (see the module docstring).
    withheld: bool = False

    @property
    def note(self) -> str:
        """A footnote explaining what is hidden, or ``""``."""
        if self.withheld:
            return "The breakdown is withheld: the numbers are too small to show safely."
        if any(c.hidden is Hidden.COMPLEMENTARY for c in self.cells):
            return (
                "Some counts are not shown so that a small count cannot be worked out from the "
                "total."
            )
        return ""


@dataclass(frozen=True, slots=True)
class Cap:
    """What a reader knows from another table: the rows ``rows`` add up to at most ``limit``.

    The urgency table gives one: concerns in an always-urgent category are always urgent, so
    those categories add up to no more than the urgent count a reader can work out.
    """

    rows: frozenset[int]
    limit: float


def _exposed(
    counts: Sequence[int], hidden: Mapping[int, Hidden], threshold: int, cap: Cap | None
) -> bool:
    """Whether a reader could work out more about a small hidden count than "fewer than N".

    The reader knows the total, so the sum ``S`` of the hidden counts. They know each small one
    is from 1 to N - 1, and each complementary one is at least N and (because the smallest
    shown count is hidden first) no more than the smallest count still shown. With one sum and
    such bounds (and at most one ``cap`` on some of the rows), the values a hidden count can
    take are exactly an interval, worked out below; a small count is protected only while that
    interval is still the whole of 1 to N - 1.
    """
    total = sum(counts[i] for i in hidden)
    shown_nonzero = [n for i, n in enumerate(counts) if i not in hidden and n > 0]
    ceiling = min(shown_nonzero) if shown_nonzero else math.inf
    low: dict[int, float] = {}
    high: dict[int, float] = {}
    for i, why in hidden.items():
        low[i], high[i] = (1, threshold - 1) if why is Hidden.SMALL else (threshold, ceiling)
    capped: set[int] = set()
    room = math.inf
    if cap is not None:
        capped = set(hidden) & cap.rows
        room = cap.limit - sum(counts[i] for i in cap.rows if i not in hidden)
    free = set(hidden) - capped
    for x, why in hidden.items():
        if why is not Hidden.SMALL:
            continue
        others = set(hidden) - {x}
        most = min(high[x], total - sum(low[i] for i in others))
        if x in capped:
            most = min(most, room - sum(low[i] for i in capped - {x}))
            least = max(low[x], total - sum(high[i] for i in others))
        else:
            capped_room = min(sum(high[i] for i in capped), room)
            least = max(low[x], total - sum(high[i] for i in free - {x}) - capped_room)
        if least > 1 or most < threshold - 1:
            return True
    return False


def count_table(
    key: str,
    title: str,
    counts: Sequence[tuple[str, int]],
    threshold: int,
) -> CountTable:
    """Suppress a breakdown whose total (the sum of ``counts``) is published.

    Args:
        key: a stable name for the table (charts and JSON use it).
        title: the table's heading.
        counts: (label, count) rows, in display order.
        threshold: the school's ``governors_report_min_count``.

    Returns:
        The table with small counts shown as "fewer than N", complementary counts "not shown"
        and, when the breakdown cannot be protected, every row "withheld".
    """
    values = [n for _, n in counts]
    if any(n < 0 for n in values):
        raise ValueError("counts are never negative")
    total_cell = count_cell("Total", sum(values), threshold)
    if total_cell.hidden is not Hidden.SHOWN:
        return withheld_table(key, title, [label for label, _ in counts], total_cell)
    hidden: dict[int, Hidden] = {i: Hidden.SMALL for i, n in enumerate(values) if 0 < n < threshold}
    while hidden and _exposed(values, hidden, threshold, None):
        candidates = [i for i, n in enumerate(values) if i not in hidden and n > 0]
        if not candidates:
            return withheld_table(key, title, [label for label, _ in counts], total_cell)
        hidden[min(candidates, key=lambda i: (values[i], i))] = Hidden.COMPLEMENTARY
    cells = []
    for i, (label, n) in enumerate(counts):
        why = hidden.get(i, Hidden.SHOWN)
        if why is Hidden.SMALL:
            cells.append(Cell(label, None, fewer_than(threshold), why))
        elif why is Hidden.COMPLEMENTARY:
            cells.append(Cell(label, None, NOT_SHOWN, why))
        else:
            cells.append(Cell(label, n, str(n)))
    return CountTable(key, title, tuple(cells), total_cell)


def exposes(table: CountTable, counts: Sequence[int], threshold: int, cap: Cap) -> bool:
    """Whether publishing what ``cap`` says, next to ``table``, would let a reader work out more
    about one of its small counts than "fewer than N" (``counts`` are its true counts)."""
    if table.withheld:
        return False
    hidden = {i: c.hidden for i, c in enumerate(table.cells) if c.hidden is not Hidden.SHOWN}
    return bool(hidden) and _exposed(counts, hidden, threshold, cap)


def withheld_table(key: str, title: str, labels: Sequence[str], total: Cell) -> CountTable:
    """A breakdown given as its total only."""
    cells = tuple(Cell(label, None, WITHHELD, Hidden.WITHHELD) for label in labels)
    return CountTable(key, title, cells, total, withheld=True)


def _bounds(cell: Cell, threshold: int, ceiling: float, total: int) -> tuple[float, float]:
    """What a reader knows about one published cell: the lowest and highest it can be."""
    if cell.value is not None:
        return cell.value, cell.value
    if cell.hidden is Hidden.SMALL:
        return 1, threshold - 1
    if cell.hidden is Hidden.COMPLEMENTARY:
        return threshold, ceiling
    return 0, total


def _reader_bounds(table: CountTable, threshold: int) -> list[tuple[float, float]]:
    shown = [c.value for c in table.cells if c.value]
    ceiling = min(shown) if shown else math.inf
    total = table.total.value if table.total.value is not None else threshold - 1
    return [_bounds(c, threshold, ceiling, total) for c in table.cells]


def sub_table(
    key: str,
    title: str,
    counts: Sequence[tuple[str, int]],
    threshold: int,
    parent: Cell,
) -> CountTable:
    """A breakdown of a group that another table counts (``parent``): it is published only
    when the group's own count is shown exactly, so that nothing is learnt by comparing the
    two tables."""
    if parent.value is None:
        total = Cell("Total", None, WITHHELD, Hidden.WITHHELD)
        return withheld_table(key, title, [label for label, _ in counts], total)
    return count_table(key, title, counts, threshold)


# ---------------------------------------------------------------------------------------------
# The governors' report
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallCheckFact:
    """What the report needs from one video-call check (kind ``call_check``): no names."""

    checked_at: datetime
    verdict: str


@dataclass(frozen=True, slots=True)
class RecordingFact:
    """What the report needs from one request for permission to record a lesson."""

    created_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class Figure:
    """A published figure that is not a count (a median)."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the report: an introduction, figures and tables."""

    title: str
    intro: str
    tables: tuple[CountTable, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True, slots=True)
class GovernorsReport:
    """The anonymised report for governors: only suppressed counts and medians."""

    school: str
    period: Period
    generated_at: datetime
    threshold: int
    sections: tuple[Section, ...] = field(default=())

    def table(self, key: str) -> CountTable:
        """The table called ``key``.

        Raises:
            KeyError: there is no such table.
        """
        for section in self.sections:
            for table in section.tables:
                if table.key == key:
                    return table
        raise KeyError(key)


VERDICT_WORDS: dict[str, str] = {
    "allowed": "Allowed",
    "allowed_once": "Allowed once the listed steps were done",
    "not_allowed": "Not allowed",
}

RECORDING_WORDS: dict[str, str] = {
    "approved": "Permission given",
    "declined": "Permission refused",
    "pending": "Waiting for a decision",
}

#: Filter-request outcomes for governors, each a group of statuses.
FILTER_OUTCOMES: tuple[tuple[str, frozenset[FilterStatus]], ...] = (
    (
        "Allowed for a period of study",
        frozenset({FilterStatus.APPLIED, FilterStatus.REBLOCK_DUE, FilterStatus.REBLOCKED}),
    ),
    ("Approved, not yet applied", frozenset({FilterStatus.APPROVED})),
    ("Approved but never applied", frozenset({FilterStatus.LAPSED})),
    ("Rejected", frozenset({FilterStatus.REJECTED})),
    ("Refused: never unblockable", frozenset({FilterStatus.REFUSED})),
    ("Waiting for a decision", frozenset({FilterStatus.PENDING, FilterStatus.NEEDS_INFO})),
)

REBLOCK_ON_TIME = "Re-blocked by the end date"
REBLOCK_ONE_DAY = "Re-blocked 1 school day late"
REBLOCK_LATE = "Re-blocked 2 or more school days late"
REBLOCK_WAITING = "Not yet re-blocked (overdue)"


def school_days_late(end: date, done: date, school: SchoolPolicy) -> int:
    """School days after ``end`` up to and including ``done`` (0 when done by the end date)."""
    day, count = end, 0
    while day < done:
        day += timedelta(days=1)
        if is_school_day(day, school):
            count += 1
    return count


def _median_figure(label: str, values: Sequence[timedelta], threshold: int, group: Cell) -> Figure:
    """A median over a group of concerns, shown only when the group's size is itself shown
    exactly (so the "why not" tells nothing new) and it is taken over at least N of them."""
    if group.value is None:
        return Figure(label, NOT_SHOWN)
    if not values:
        return Figure(label, "none in this period")
    if len(values) < threshold:
        return Figure(label, f"{NOT_SHOWN}: taken over {fewer_than(threshold)} concerns")
    median = median_duration(values)
    assert median is not None  # threshold >= 1, so there is at least one value
    return Figure(label, duration_words(median))


def _concern_section(
    concerns: Sequence[Concern], school: SchoolPolicy, period: Period, threshold: int
) -> Section:
    zone = school.zone
    known = {c.id for c in school.categories}
    by_category = Counter(c.category if c.category in known else "other" for c in concerns)
    by_month = Counter(month_of(c.created_at, zone) for c in concerns)
    urgent = [c for c in concerns if c.urgent]
    routine = [c for c in concerns if not c.urgent]
    closed = [c for c in concerns if c.status is ConcernStatus.CLOSED]
    outcomes = Counter(c.outcome if c.outcome in OUTCOMES else "" for c in closed)

    # Urgency and category are linked: a concern in an always-urgent category is always urgent
    # (policy.concerns.is_urgent), so the urgent count caps those categories' sum, and their
    # sum is a floor under the urgent count. The category table comes first; the urgency
    # table is withheld if, next to it, a small count in either could be worked out.
    total = len(concerns)
    category_counts = [by_category.get(c.id, 0) for c in school.categories]
    categories = count_table(
        "concerns_by_category",
        "Concerns by category",
        [(c.label, n) for c, n in zip(school.categories, category_counts, strict=True)],
        threshold,
    )
    urgency = count_table(
        "concerns_by_urgency",
        "Urgency",
        [("Urgent", len(urgent)), ("Routine", len(routine))],
        threshold,
    )
    always_urgent = frozenset(i for i, c in enumerate(school.categories) if c.urgent)
    (_, urgent_high), (routine_low, _) = _reader_bounds(urgency, threshold)
    urgent_floor = sum(
        low
        for i, (low, _) in enumerate(_reader_bounds(categories, threshold))
        if i in always_urgent
    )
    urgent_cell, routine_cell = urgency.cells
    if (
        (urgent_cell.hidden is Hidden.SMALL and urgent_floor > 1)
        or (routine_cell.hidden is Hidden.SMALL and total - urgent_floor < threshold - 1)
        or exposes(
            categories,
            category_counts,
            threshold,
            Cap(always_urgent, min(urgent_high, total - routine_low)),
        )
    ):
        urgency = withheld_table(urgency.key, urgency.title, ["Urgent", "Routine"], urgency.total)
        urgent_cell, routine_cell = urgency.cells

    status = count_table(
        "concerns_by_status",
        "Closed or still open",
        [("Closed", len(closed)), ("Still open", total - len(closed))],
        threshold,
    )
    rows = [(words, outcomes.get(key, 0)) for key, words in OUTCOMES.items()]
    if outcomes.get(""):
        rows.append(("Outcome not recorded", outcomes[""]))
    tables = (
        count_table(
            "concerns_by_month",
            "Concerns by month reported",
            [(month_words(m), by_month.get(m, 0)) for m in period.months()],
            threshold,
        ),
        categories,
        urgency,
        status,
        sub_table(
            "closed_by_outcome", "How closed concerns ended", rows, threshold, status.cells[0]
        ),
        second_person_table(closed, school, threshold, status.cells[0]),
    )
    figures = (
        _median_figure(
            "Median time to acknowledge",
            [t for c in concerns if (t := time_to_acknowledge(c)) is not None],
            threshold,
            categories.total,
        ),
        _median_figure(
            "Median time to acknowledge, urgent concerns",
            [t for c in urgent if (t := time_to_acknowledge(c)) is not None],
            threshold,
            urgent_cell,
        ),
        _median_figure(
            "Median time to acknowledge, routine concerns",
            [t for c in routine if (t := time_to_acknowledge(c)) is not None],
            threshold,
            routine_cell,
        ),
        _median_figure(
            "Median time to close",
            [t for c in closed if (t := time_to_close(c)) is not None],
            threshold,
            status.cells[0],
        ),
        sends_back_figure(concerns, threshold),
    )
    staff_note = ""
    if any(c.route is Route.HEADTEACHER for c in school.categories):
        staff_note = (
            " Concerns about members of staff are counted in their category; they are handled "
            "by the headteacher (or the chair of governors) and never appear in the DSL channel."
        )
    return Section(
        "Online-safety concerns",
        "Concerns reported to the DSL through the bot in this period, by staff and by pupils."
        + staff_note,
        tables,
        figures,
    )


# ----- Closing safely (issue 20): second-person closures ----------------------------------------

SECOND_PERSON = "Confirmed by a second senior person"
ONE_PERSON = "Closed by one person"


def second_person_table(
    closed: Sequence[Concern], school: SchoolPolicy, threshold: int, closed_cell: Cell
) -> CountTable:
    """Serious concerns closed in the period, by whether a second senior person confirmed the
    closure (000 §12.3, 002 §16). A breakdown of part of the closed concerns, so published only
    when the closed count itself is shown exactly (``sub_table``), with small counts suppressed."""
    serious = [c for c in closed if (k := school.category(c.category)) is not None and k.serious]
    second = sum(1 for c in serious if confirmed_by_second_person(c))
    return sub_table(
        "serious_closed_by_second_person",
        "Serious concerns closed",
        [(SECOND_PERSON, second), (ONE_PERSON, len(serious) - second)],
        threshold,
        closed_cell,
    )


def sends_back_figure(concerns: Sequence[Concern], threshold: int) -> Figure:
    """How many proposed closures a second senior person sent back (small counts suppressed)."""
    count = sum(sends_back(c) for c in concerns)
    return Figure("Proposed closures sent back", count_cell("Sent back", count, threshold).text)


def _filter_section(
    requests: Sequence[FilterRequest], school: SchoolPolicy, threshold: int
) -> Section:
    outcome_counts = [
        (words, sum(1 for r in requests if r.status in statuses))
        for words, statuses in FILTER_OUTCOMES
    ]
    outcomes = count_table(
        "filter_requests_by_outcome", "Web-filter requests by outcome", outcome_counts, threshold
    )
    timeliness: Counter[str] = Counter()
    zone = school.zone
    for request in requests:
        if request.status is FilterStatus.REBLOCKED and request.reblocked is not None:
            done = request.reblocked.at.astimezone(zone).date()
            late = school_days_late(request.end, done, school)
            words = REBLOCK_ON_TIME if late == 0 else REBLOCK_ONE_DAY if late == 1 else REBLOCK_LATE
            timeliness[words] += 1
        elif request.status is FilterStatus.REBLOCK_DUE:
            timeliness[REBLOCK_WAITING] += 1
    order = (REBLOCK_ON_TIME, REBLOCK_ONE_DAY, REBLOCK_LATE, REBLOCK_WAITING)
    return Section(
        "Web-filter changes",
        "Requests from staff to allow a blocked site for a period of study, and whether IT "
        "blocked each site again when the period ended (001 §7.3, 002 §2.1).",
        (
            outcomes,
            # Re-blocking is about the requests that were allowed: a breakdown of that group.
            sub_table(
                "filter_reblock_timeliness",
                "Re-blocking when the period ended",
                [(words, timeliness.get(words, 0)) for words in order],
                threshold,
                outcomes.cells[0],
            ),
        ),
    )


def _video_section(
    checks: Sequence[CallCheckFact], recordings: Sequence[RecordingFact], threshold: int
) -> Section:
    verdicts = Counter(c.verdict if c.verdict in VERDICT_WORDS else "" for c in checks)
    statuses = Counter(r.status if r.status in RECORDING_WORDS else "" for r in recordings)
    verdict_rows = [(words, verdicts.get(key, 0)) for key, words in VERDICT_WORDS.items()]
    if verdicts.get(""):
        verdict_rows.append(("Other answer", verdicts[""]))
    recording_rows = [(words, statuses.get(key, 0)) for key, words in RECORDING_WORDS.items()]
    if statuses.get(""):
        recording_rows.append(("Other", statuses[""]))
    return Section(
        "Video calls",
        "Checks staff made before a video call with pupils, and requests to the Deputy Head "
        "(Academic) for permission to record a lesson (000 §6, §8; 001 §2.4).",
        (
            count_table(
                "call_checks_by_verdict", "Video-call checks by answer", verdict_rows, threshold
            ),
            count_table(
                "recording_requests_by_outcome",
                "Permission to record a lesson",
                recording_rows,
                threshold,
            ),
        ),
    )


def overblocking_section(reports: Sequence[OverblockReport], threshold: int) -> Section:
    """Over-blocking (issue 21): how many times staff said a blocked site got in the way of
    teaching, how IT answered, and the median time to answer (DfE filtering standard: block
    harmful content "without unreasonably impacting teaching and learning"). Counts are
    suppressed as every table; the median is shown only over at least ``threshold`` answered
    reports, and only when their number is itself shown."""
    order = (
        OverblockStatus.EXCEPTION_REQUESTED,
        OverblockStatus.EXPLAINED,
        OverblockStatus.OPEN,
    )
    outcomes = count_table(
        "overblocking_by_outcome",
        "Blocked sites needed for teaching, by outcome",
        [(OUTCOME_WORDS[s], sum(1 for r in reports if r.status is s)) for s in order],
        threshold,
    )
    answered = [t for r in reports if (t := r.time_to_resolve) is not None]
    label = "Median time for IT to answer"
    shown_exactly = all(c.value is not None for c in outcomes.cells[:2])
    if not answered:
        median = Figure(label, "none in this period")
    elif not shown_exactly:
        median = Figure(label, NOT_SHOWN)
    elif len(answered) < threshold:
        median = Figure(label, f"{NOT_SHOWN}: taken over {fewer_than(threshold)} reports")
    else:
        found = median_duration(answered)
        assert found is not None
        median = Figure(label, duration_words(found))
    return Section(
        "Over-blocking",
        "Reports from staff that a blocked site got in the way of teaching, and how IT "
        "answered: by asking for an exception, or by explaining why no change was needed.",
        (outcomes,),
        (median,),
    )


def _checks_section(
    checks: Sequence[FmCheck], all_checks: Sequence[FmCheck], today: date
) -> Section:
    """Checks of the filtering and monitoring systems in the period, and where the school
    stands now (the latest check and when the next is due). Checks are about systems, not
    people: their numbers are shown as they are."""
    with_problems = sum(1 for c in checks if c.problems)
    figures = [
        Figure("Checks recorded in this period", str(len(checks))),
        Figure("Checks that found a problem", str(with_problems)),
    ]
    last = latest_check(all_checks)
    if last is None:
        figures.append(Figure("Latest check", "None recorded yet"))
    else:
        figures.append(Figure("Latest check", _day_text(last.checked_on)))
        if last.next_due is not None:
            late = (today - last.next_due).days
            due = _day_text(last.next_due) + (f" (overdue by {late} days)" if late > 0 else "")
            figures.append(Figure("Next check due", due))
    return Section(
        "Filtering and monitoring checks",
        "Checks that the web filter blocks what it should and that monitoring alerts reach the "
        "DSL, recorded as the DfE filtering and monitoring standards ask (000 §3.5; 004 "
        '"Filtering and monitoring"). The review pack lists each check in full.',
        figures=tuple(figures),
    )


def _day_text(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _who_words(who: Sequence[str], school: SchoolPolicy) -> str:
    """A chain step's people, as governors read them (roles by the school's names; a person
    named in the rota as "a named member of staff": no names in this report)."""
    words: list[str] = []
    for token in who:
        role = role_of(token)
        if role is not None:
            words.append(school.role_name(role))
        elif is_person_id(token):
            words.append("a named member of staff")
        else:
            words.append("whoever was on call")
    return " and ".join(dict.fromkeys(words))


def escalation_section(
    concerns: Sequence[Concern], school: SchoolPolicy, threshold: int, concern_section: Section
) -> Section:
    """Out-of-hours cover and escalation (000 §12.2, 004 "DO NOT DELAY"; issue 20): how far
    urgent concerns climbed the chain before someone acknowledged them, how many came in out
    of hours and how quickly those were acknowledged, and whether the LADO was contacted for
    concerns about staff (001 §8). Each table breaks down a group another table shows
    (``sub_table``), so nothing is learnt by comparing them."""
    urgent_cell = next(
        (t.cells[0] for t in concern_section.tables if t.key == "concerns_by_urgency"),
        Cell("Urgent", None, WITHHELD, Hidden.WITHHELD),
    )
    urgent = [c for c in concerns if c.urgent]
    steps = school.on_call.chain
    reached = Counter(min(steps_taken(c), len(steps)) for c in urgent)
    step_rows = [("Acknowledged before any escalation", reached.get(0, 0))] + [
        (f"Reached step {n}: {_who_words(step.who, school)}", reached.get(n, 0))
        for n, step in enumerate(steps, start=1)
    ]
    out_of_hours = [c for c in urgent if not in_contact_hours(c.created_at, school)]
    when = sub_table(
        "urgent_by_hours",
        "Urgent concerns reported in and out of school hours",
        [
            ("In school hours", len(urgent) - len(out_of_hours)),
            ("Out of hours", len(out_of_hours)),
        ],
        threshold,
        urgent_cell,
    )
    tables = [
        sub_table(
            "urgent_by_escalation",
            "How far urgent concerns were escalated before someone acknowledged them",
            step_rows,
            threshold,
            urgent_cell,
        ),
        when,
    ]
    lado_categories = [c for c in school.categories if lado_clock_applies(c)]
    if lado_categories:
        staff = [c for c in concerns if any(c.category == k.id for k in lado_categories)]
        labels = {k.label for k in lado_categories}
        category_cells = [
            cell
            for t in concern_section.tables
            if t.key == "concerns_by_category"
            for cell in t.cells
            if cell.label in labels
        ]
        parent = (
            category_cells[0]
            if len(category_cells) == 1
            else Cell("Concerns about staff", None, WITHHELD, Hidden.WITHHELD)
        )
        reminded = [any(e.kind == LADO_REMINDER for e in c.chronology) for c in staff]
        informed = [lado_informed(c) for c in staff]
        tables.append(
            sub_table(
                "lado_contact",
                "Concerns about members of staff: LADO contact",
                [
                    (
                        "LADO informed within the time the school allows",
                        sum(1 for i, r in zip(informed, reminded, strict=True) if i and not r),
                    ),
                    (
                        "LADO informed after a reminder",
                        sum(1 for i, r in zip(informed, reminded, strict=True) if i and r),
                    ),
                    ("LADO contact not recorded", sum(1 for i in informed if not i)),
                ],
                threshold,
                parent,
            )
        )
    return Section(
        "Out-of-hours cover and escalation",
        "Who was alerted when an urgent concern was not acknowledged: it goes first to whoever "
        "is on call, then up the school's chain, each step after a set time, until a person "
        'acknowledges it (000 §12.2; 004 "DO NOT DELAY").',
        tuple(tables),
        (
            _median_figure(
                "Median time to acknowledge, urgent concerns reported out of hours",
                [t for c in out_of_hours if (t := time_to_acknowledge(c)) is not None],
                threshold,
                when.cells[1],
            ),
        ),
    )


def handoffs_in(
    concerns: Iterable[Concern], period: Period, zone: ZoneInfo
) -> list[tuple[datetime, str]]:
    """Every hand-off made in ``period`` (whenever its concern was reported): when, to which
    system (issue 20)."""
    return [h for c in concerns for h in handoffs_of(c) if period.contains(h[0], zone)]


def _handoff_section(
    concerns: Sequence[Concern], school: SchoolPolicy, period: Period, threshold: int
) -> Section:
    """Hand-offs to the school's safeguarding record system, by system (issue 20): counts only,
    suppressed like every other count."""
    counts = count_by_system(handoffs_in(concerns, period, school.zone))
    own = school.handoff.system_name
    rows = [(own, counts.pop(own, 0)), *counts.items()]
    return Section(
        "Hand-offs to the safeguarding records",
        "Concerns the DSL handed off from the bot to the school's safeguarding record system "
        f"({own}) in this period, so that each is kept in the child's file without being "
        "typed again.",
        (count_table("handoffs_by_system", "Hand-offs by system", rows, threshold),),
    )


def governors_report(
    *,
    school: SchoolPolicy,
    period: Period,
    generated_at: datetime,
    concerns: Iterable[Concern],
    filter_requests: Iterable[FilterRequest],
    call_checks: Iterable[CallCheckFact],
    recordings: Iterable[RecordingFact],
    overblocking_reports: Iterable[OverblockReport] = (),
    fm_checks: Sequence[FmCheck] = (),
) -> GovernorsReport:
    """The anonymised governors' report for ``period`` (items dated outside it are left out).

    Everything in it is a count (suppressed, see the module docstring) or a median over at
    least the threshold; nothing a person wrote and no name is carried into it.
    """
    zone = school.zone
    threshold = school.governors_report_min_count
    concerns = list(concerns)
    in_concerns = [c for c in concerns if period.contains(c.created_at, zone)]
    in_requests = [r for r in filter_requests if period.contains(r.created_at, zone)]
    in_checks = [c for c in call_checks if period.contains(c.checked_at, zone)]
    in_recordings = [r for r in recordings if period.contains(r.created_at, zone)]
    in_fm_checks = [c for c in fm_checks if period.contains(c.recorded_at, zone)]
    concern_section = _concern_section(in_concerns, school, period, threshold)
    return GovernorsReport(
        school=school.name,
        period=period,
        generated_at=generated_at,
        threshold=threshold,
        sections=(
            concern_section,
            escalation_section(in_concerns, school, threshold, concern_section),
            _filter_section(in_requests, school, threshold),
            overblocking_section(
                [r for r in overblocking_reports if period.contains(r.created_at, zone)],
                threshold,
            ),
            _video_section(in_checks, in_recordings, threshold),
            _checks_section(in_fm_checks, fm_checks, generated_at.astimezone(zone).date()),
            _handoff_section(concerns, school, period, threshold),
        ),
    )


def suppression_words(threshold: int) -> str:
    """The method, in words, for the report's footnote."""
    if threshold <= 1:
        return "Every count is shown: the school has turned small-count suppression off."
    return (
        f"To protect the children and staff involved, a count from 1 to {threshold - 1} is "
        f'shown as "{fewer_than(threshold)}". Where a small count could otherwise be worked '
        f'out from a total, another count is also hidden ("{NOT_SHOWN}"); where even that is '
        "not enough, only the total is given. A median is shown only for a group whose number "
        f"is shown, and only when taken over at least {threshold} concerns. No names, "
        "references or words written by staff or pupils appear in this report."
    )


def report_as_dict(report: GovernorsReport) -> dict[str, Any]:
    """The report as plain JSON data (``summary.json``): hidden counts are ``null``."""

    def cell(c: Cell) -> dict[str, Any]:
        return {"label": c.label, "count": c.value, "shown": c.text, "hidden": c.hidden.value}

    return {
        "school": report.school,
        "period": {
            "label": report.period.label,
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
        },
        "generated_at": report.generated_at.isoformat(timespec="minutes"),
        "small_count_threshold": report.threshold,
        "method": suppression_words(report.threshold),
        "sections": [
            {
                "title": s.title,
                "figures": [{"label": f.label, "shown": f.text} for f in s.figures],
                "tables": [
                    {
                        "key": t.key,
                        "title": t.title,
                        "total": cell(t.total),
                        "withheld": t.withheld,
                        "rows": [cell(c) for c in t.cells],
                        "note": t.note,
                    }
                    for t in s.tables
                ],
            }
            for s in report.sections
        ],
    }


# ---------------------------------------------------------------------------------------------
# Monitoring alerts and sensitive-lesson notices (issue 21)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertFact:
    """What the reports need from one monitoring alert card: no pupil, nothing typed or viewed."""

    received_at: datetime
    status: str
    severity: str
    #: Alerts counted on the card (identical ones inside the school's window).
    count: int
    #: A sensitive-lesson notice covered it.
    expected: bool


@dataclass(frozen=True, slots=True)
class NoticeFact:
    """What the reports need from one sensitive-lesson notice: its topic, and when it was given."""

    created_at: datetime
    topic_label: str


#: Alert outcomes for governors (the DSL's decision on each card), in display order.
ALERT_OUTCOME_WORDS: tuple[tuple[str, str], ...] = (
    ("false_positive", "False positive"),
    ("monitoring", "Being monitored"),
    ("contacted", "Pupil contacted"),
    ("escalated", "Escalated to a concern"),
    ("new", "Waiting for the DSL"),
)
ALERT_SEVERITY_WORDS: tuple[tuple[str, str], ...] = (
    ("critical", "Critical"),
    ("high", "High"),
    ("medium", "Medium"),
    ("low", "Low"),
)


def monitoring_section(
    alerts: Iterable[AlertFact],
    notices: Iterable[NoticeFact],
    *,
    school: SchoolPolicy,
    period: Period,
) -> Section:
    """Monitoring alerts by the DSL's outcome and by severity, how many a lesson notice
    explained, and the notices by topic (DfE filtering and monitoring standards, 004
    "Filtering"). Counts only, each suppressed like every other table."""
    zone = school.zone
    threshold = school.governors_report_min_count
    in_alerts = [a for a in alerts if period.contains(a.received_at, zone)]
    in_notices = [n for n in notices if period.contains(n.created_at, zone)]
    outcomes = Counter(a.status for a in in_alerts)
    severities = Counter(a.severity for a in in_alerts)
    topics = Counter(n.topic_label for n in in_notices)
    expected = sum(1 for a in in_alerts if a.expected)
    return Section(
        "Monitoring alerts and sensitive lessons",
        "Alerts from the school's monitoring system, each handled by the DSL (identical alerts "
        "close together are counted as one), and the notices staff gave before a lesson on a "
        'sensitive topic (DfE filtering and monitoring standards; 004 "Filtering").',
        (
            count_table(
                "monitoring_alerts_by_outcome",
                "Monitoring alerts by outcome",
                [(words, outcomes.get(key, 0)) for key, words in ALERT_OUTCOME_WORDS],
                threshold,
            ),
            count_table(
                "monitoring_alerts_by_severity",
                "Monitoring alerts by severity",
                [(words, severities.get(key, 0)) for key, words in ALERT_SEVERITY_WORDS],
                threshold,
            ),
            count_table(
                "monitoring_alerts_expected",
                "Monitoring alerts during a sensitive-lesson notice",
                [
                    ("During a lesson notice", expected),
                    ("Not covered by a notice", len(in_alerts) - expected),
                ],
                threshold,
            ),
            count_table(
                "lesson_notices_by_topic",
                "Sensitive-lesson notices by topic",
                [(t.label, topics.get(t.label, 0)) for t in school.monitoring.lesson_topics]
                + [
                    (label, n)
                    for label, n in sorted(topics.items())
                    if label not in {t.label for t in school.monitoring.lesson_topics}
                ],
                threshold,
            ),
        ),
    )


def with_section(report: GovernorsReport, section: Section) -> GovernorsReport:
    """``report`` with one more section at the end."""
    return replace(report, sections=(*report.sections, section))
