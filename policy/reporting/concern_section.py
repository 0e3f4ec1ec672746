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
