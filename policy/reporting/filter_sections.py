"""The governors' report's filtering sections: filter-exception outcomes and re-blocking
(002 §2.1, §2.3), and over-blocking reports (issue 21)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from policy.filtering import FilterRequest, FilterStatus
from policy.overblocking import OUTCOME_WORDS, OverblockReport, OverblockStatus
from policy.reporting.shapes import Figure, Section
from policy.reporting.suppression import NOT_SHOWN, count_table, fewer_than, sub_table
from policy.reporting.timings import duration_words, median_duration
from policy.school import SchoolPolicy
from policy.school_calendar import is_school_day

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
