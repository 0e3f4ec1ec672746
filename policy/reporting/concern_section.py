"""The governors' report's concern section: concerns by category, urgency, month and
outcome, the medians, and second-person closures (issue 20)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from policy.categories import Route
from policy.closure import confirmed_by_second_person, sends_back
from policy.concerns import OUTCOMES, Concern, ConcernStatus
from policy.reporting.periods import Period
from policy.reporting.shapes import Figure, Section
from policy.reporting.suppression import (
    NOT_SHOWN,
    Cap,
    Cell,
    CountTable,
    Hidden,
    _reader_bounds,
    count_cell,
    count_table,
    exposes,
    fewer_than,
    sub_table,
    withheld_table,
)
from policy.reporting.timings import (
    duration_words,
    median_duration,
    month_of,
    month_words,
    time_to_acknowledge,
    time_to_close,
)
from policy.school import SchoolPolicy


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
    closed = [c for c in concerns if c.status is ConcernStatus.CLOSED]
    categories, urgency = _category_and_urgency_tables(concerns, school, threshold)
    status = count_table(
        "concerns_by_status",
        "Closed or still open",
        [("Closed", len(closed)), ("Still open", len(concerns) - len(closed))],
        threshold,
    )
    closed_cell = status.cells[0]
    tables = (
        _month_table(concerns, school, period, threshold),
        categories,
        urgency,
        status,
        _outcome_table(closed, threshold, closed_cell),
        second_person_table(closed, school, threshold, closed_cell),
    )
    urgent_cell, routine_cell = urgency.cells
    figures = (
        _acknowledge_figure("Median time to acknowledge", concerns, threshold, categories.total),
        _acknowledge_figure(
            "Median time to acknowledge, urgent concerns",
            [c for c in concerns if c.urgent],
            threshold,
            urgent_cell,
        ),
        _acknowledge_figure(
            "Median time to acknowledge, routine concerns",
            [c for c in concerns if not c.urgent],
            threshold,
            routine_cell,
        ),
        _median_figure(
            "Median time to close",
            [t for c in closed if (t := time_to_close(c)) is not None],
            threshold,
            closed_cell,
        ),
        sends_back_figure(concerns, threshold),
    )
    return Section(
        "Online-safety concerns",
        "Concerns reported to the DSL through the bot in this period, by staff and by pupils."
        + _staff_note(school),
        tables,
        figures,
    )


def _month_table(
    concerns: Sequence[Concern], school: SchoolPolicy, period: Period, threshold: int
) -> CountTable:
    by_month = Counter(month_of(c.created_at, school.zone) for c in concerns)
    return count_table(
        "concerns_by_month",
        "Concerns by month reported",
        [(month_words(m), by_month.get(m, 0)) for m in period.months()],
        threshold,
    )


def _category_and_urgency_tables(
    concerns: Sequence[Concern], school: SchoolPolicy, threshold: int
) -> tuple[CountTable, CountTable]:
    """Concerns by category, and by urgency unless that would give a small count away.

    Urgency and category are linked: a concern in an always-urgent category is always urgent
    (policy.concerns.is_urgent), so the urgent count caps those categories' sum, and their
    sum is a floor under the urgent count. The category table comes first; the urgency
    table is withheld if, next to it, a small count in either could be worked out."""
    known = {c.id for c in school.categories}
    by_category = Counter(c.category if c.category in known else "other" for c in concerns)
    category_counts = [by_category.get(c.id, 0) for c in school.categories]
    categories = count_table(
        "concerns_by_category",
        "Concerns by category",
        [(c.label, n) for c, n in zip(school.categories, category_counts, strict=True)],
        threshold,
    )
    urgent = sum(1 for c in concerns if c.urgent)
    urgency = count_table(
        "concerns_by_urgency",
        "Urgency",
        [("Urgent", urgent), ("Routine", len(concerns) - urgent)],
        threshold,
    )
    if _urgency_gives_away(urgency, categories, category_counts, len(concerns), school, threshold):
        urgency = withheld_table(urgency.key, urgency.title, ["Urgent", "Routine"], urgency.total)
    return categories, urgency


def _urgency_gives_away(
    urgency: CountTable,
    categories: CountTable,
    category_counts: Sequence[int],
    total: int,
    school: SchoolPolicy,
    threshold: int,
) -> bool:
    """Whether, read beside the category table, the urgency table would let a reader work
    out a small count in either."""
    always_urgent = frozenset(i for i, c in enumerate(school.categories) if c.urgent)
    (_, urgent_high), (routine_low, _) = _reader_bounds(urgency, threshold)
    urgent_floor = sum(
        low
        for i, (low, _) in enumerate(_reader_bounds(categories, threshold))
        if i in always_urgent
    )
    urgent_cell, routine_cell = urgency.cells
    return (
        (urgent_cell.hidden is Hidden.SMALL and urgent_floor > 1)
        or (routine_cell.hidden is Hidden.SMALL and total - urgent_floor < threshold - 1)
        or exposes(
            categories,
            category_counts,
            threshold,
            Cap(always_urgent, min(urgent_high, total - routine_low)),
        )
    )


def _outcome_table(closed: Sequence[Concern], threshold: int, closed_cell: Cell) -> CountTable:
    outcomes = Counter(c.outcome if c.outcome in OUTCOMES else "" for c in closed)
    rows = [(words, outcomes.get(key, 0)) for key, words in OUTCOMES.items()]
    if outcomes.get(""):
        rows.append(("Outcome not recorded", outcomes[""]))
    return sub_table("closed_by_outcome", "How closed concerns ended", rows, threshold, closed_cell)


def _acknowledge_figure(
    label: str, concerns: Sequence[Concern], threshold: int, group: Cell
) -> Figure:
    """The median time to acknowledge ``concerns``, a group whose size ``group`` shows."""
    return _median_figure(
        label,
        [t for c in concerns if (t := time_to_acknowledge(c)) is not None],
        threshold,
        group,
    )


def _staff_note(school: SchoolPolicy) -> str:
    if not any(c.route is Route.HEADTEACHER for c in school.categories):
        return ""
    return (
        " Concerns about members of staff are counted in their category; they are handled "
        "by the headteacher (or the chair of governors) and never appear in the DSL channel."
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
