"""The pure reporting rules: periods, timings, medians, month buckets in school time, and the
governors' report's anonymisation (small-count and complementary suppression)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from policy.categories import Category, Group
from policy.concerns import Concern, ConcernStatus, Source
from policy.reporting import (
    Cell,
    CountTable,
    Hidden,
    Period,
    ReportError,
    academic_year_of,
    count_table,
    current_term,
    duration_words,
    governors_report,
    hours_text,
    median_duration,
    month_of,
    open_items,
    range_period,
    report_as_dict,
    school_days_late,
    sub_table,
    term_period,
    time_to_acknowledge,
    time_to_close,
    year_period,
)
from policy.school import SchoolPolicy

SCHOOL = load_school_policy(DEFAULT_SCHOOL_CONFIG)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def texts(table: CountTable) -> list[str]:
    return [c.text for c in table.cells]


def table_of(counts: Sequence[int], threshold: int = 3) -> CountTable:
    return count_table("t", "Test", [(f"row {i}", n) for i, n in enumerate(counts)], threshold)


def concern(
    n: int,
    category: str = "cyberbullying",
    *,
    at: datetime = T0,
    urgent: bool = False,
    acknowledged: timedelta | None = None,
    closed: timedelta | None = None,
    outcome: str = "resolved_in_school",
) -> Concern:
    return Concern(
        ref=f"OSC-2026-{n:04d}",
        source=Source.STAFF,
        category=category,
        urgent=urgent,
        reporter_id="reporter",
        reporter_name="Reporter Name",
        created_at=at,
        year_group="Year 8",
        involved="A child",
        what_happened="Details written by the reporter",
        status=(
            ConcernStatus.CLOSED
            if closed is not None
            else ConcernStatus.ACKNOWLEDGED
            if acknowledged is not None
            else ConcernStatus.NEW
        ),
        acknowledged_at=None if acknowledged is None else at + acknowledged,
        closed_at=None if closed is None else at + closed,
        outcome=outcome if closed is not None else None,
    )


# ----- small-count suppression, one table ------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "threshold", "shown", "total"),
    [
        # Nothing small: everything shown, zeros included.
        ([5, 0, 7], 3, ["5", "0", "7"], "12"),
        # Exactly the threshold is shown; one below is not.
        ([3, 4], 3, ["3", "4"], "7"),
        ([0, 0], 3, ["0", "0"], "0"),
        # A single small count would be total minus the rest: the smallest other is hidden too.
        ([1, 5, 10], 3, ["fewer than 3", "not shown", "10"], "16"),
        ([2, 10, 12], 3, ["fewer than 3", "not shown", "12"], "24"),
        # Hiding 3 is not enough (3 + a small one = 4 pins the small one to 1): hide 10 as well.
        ([1, 3, 10], 3, ["fewer than 3", "not shown", "not shown"], "14"),
        # Two equal smallest: hiding one 5 leaves the other 5 as a ceiling that pins the 2.
        ([2, 5, 5], 3, ["fewer than 3", "not shown", "not shown"], "12"),
        # Two small counts summing to 3 protect each other (1+2 or 2+1).
        ([1, 2, 3, 20], 3, ["fewer than 3", "fewer than 3", "3", "20"], "26"),
        # 1 + 1 + (at least 3) = 5 forces both to be 1 whatever is hidden: withheld.
        ([1, 1, 3], 3, ["withheld"] * 3, "5"),
        # The total itself is small: only "fewer than 3" overall.
        ([2, 0, 0], 3, ["withheld"] * 3, "fewer than 3"),
        # Threshold 1 turns suppression off.
        ([1, 2, 0], 1, ["1", "2", "0"], "3"),
        # A higher threshold: 1 to 4 are small.
        ([4, 10, 20], 5, ["fewer than 5", "not shown", "20"], "34"),
    ],
)
def test_small_counts_are_suppressed_with_their_complements(
    counts: list[int], threshold: int, shown: list[str], total: str
) -> None:
    table = table_of(counts, threshold)

    assert texts(table) == shown
    assert table.total.text == total


def test_a_hidden_count_carries_no_number_at_all() -> None:
    table = table_of([1, 5, 10])

    assert [c.value for c in table.cells] == [None, None, 10]
    assert [c.hidden for c in table.cells] == [Hidden.SMALL, Hidden.COMPLEMENTARY, Hidden.SHOWN]
    assert "not shown" in table.note


def possible_values(table: CountTable, threshold: int) -> dict[int, set[int]]:
    """Brute force: every value each small cell can have, given only what is published and
    the rules (small: 1..N-1; complementary: at least N and at most the smallest shown)."""
    total = table.total.value
    assert total is not None
    shown = [c.value for c in table.cells if c.value]
    ceiling = min(shown) if shown else total
    ranges: list[Sequence[int]] = []
    for cell in table.cells:
        if cell.value is not None:
            ranges.append([cell.value])
        elif cell.hidden is Hidden.SMALL:
            ranges.append(range(1, threshold))
        else:
            ranges.append(range(threshold, ceiling + 1))
    small = [i for i, c in enumerate(table.cells) if c.hidden is Hidden.SMALL]
    found: dict[int, set[int]] = {i: set() for i in small}
    for combo in itertools.product(*ranges):
        if sum(combo) == total:
            for i in small:
                found[i].add(combo[i])
    return found


@settings(max_examples=150, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=8), min_size=2, max_size=4),
    threshold=st.sampled_from([3, 4]),
)
def test_no_small_count_can_be_worked_out_from_a_published_table(
    counts: list[int], threshold: int
) -> None:
    table = table_of(counts, threshold)

    if table.withheld:
        assert all(c.value is None for c in table.cells)
        return
    assert table.total.value == sum(counts)
    for cell, true in zip(table.cells, counts, strict=True):
        assert cell.value in (None, true)
        if cell.value is None:
            assert (0 < true < threshold) if cell.hidden is Hidden.SMALL else true >= threshold
    for i, values in possible_values(table, threshold).items():
        assert values == set(range(1, threshold)), (counts, texts(table), i, values)


def test_a_breakdown_of_a_group_is_given_only_when_the_group_is_shown_exactly() -> None:
    shown_parent = Cell("Closed", 12, "12")
    hidden_parent = Cell("Closed", None, "not shown", Hidden.COMPLEMENTARY)
    rows = [("Resolved in school", 8), ("Police", 4)]

    assert texts(sub_table("s", "Outcomes", rows, 3, shown_parent)) == ["8", "4"]
    withheld = sub_table("s", "Outcomes", rows, 3, hidden_parent)
    assert withheld.withheld and withheld.total.text == "withheld"


# ----- the urgency/category link ------------------------------------------------------------------

LINKED = replace(
    SCHOOL,
    categories=(
        Category("grooming", "Grooming", Group.CONTACT, urgent=True),
        Category("nude_imagery", "Nude imagery", Group.CONDUCT, urgent=True),
        Category("cyberbullying", "Cyberbullying", Group.CONDUCT),
        Category("other", "Something else", Group.OTHER),
    ),
)


def linked_report(counts: Sequence[int], risk_flagged: int) -> tuple[CountTable, CountTable]:
    concerns: list[Concern] = []
    ids = [c.id for c in LINKED.categories]
    flagged = 0
    for category, count in zip(ids, counts, strict=True):
        for _ in range(count):
            always = category in {"grooming", "nude_imagery"}
            urgent = always or flagged < risk_flagged
            flagged += 0 if always else 1
            concerns.append(concern(len(concerns) + 1, category, urgent=urgent))
    report = governors_report(
        school=LINKED,
        period=range_period(date(2026, 11, 1), date(2026, 11, 30)),
        generated_at=T0,
        concerns=concerns,
        filter_requests=(),
        call_checks=(),
        recordings=(),
    )
    return report.table("concerns_by_category"), report.table("concerns_by_urgency")


def _range(cell: Cell, threshold: int, ceiling: int, total: int) -> range:
    if cell.value is not None:
        return range(cell.value, cell.value + 1)
    if cell.hidden is Hidden.SMALL:
        return range(1, threshold)
    if cell.hidden is Hidden.COMPLEMENTARY:
        return range(threshold, ceiling + 1)
    return range(total + 1)


def _ceiling(table: CountTable, total: int) -> int:
    shown = [c.value for c in table.cells if c.value]
    return min(shown) if shown else total


def test_urgency_is_withheld_when_it_would_pin_down_always_urgent_categories() -> None:
    # "Urgent: 2" beside two always-urgent categories "fewer than 3" would mean 1 each.
    categories, urgency = linked_report([1, 1, 6, 2], risk_flagged=0)

    assert texts(categories) == ["fewer than 3", "fewer than 3", "6", "fewer than 3"]
    assert urgency.withheld
    # With one more urgent concern elsewhere, "Urgent: 3" leaves 1+1, 1+2 or 2+1: shown.
    categories, urgency = linked_report([1, 1, 6, 2], risk_flagged=1)
    assert texts(urgency) == ["3", "7"]


def test_an_urgent_count_that_caps_three_always_urgent_categories_is_withheld() -> None:
    # Categories alone are safe (four small counts adding up to 5), but "Urgent: 3" beside
    # three always-urgent categories each "fewer than 3" would mean exactly 1 each.
    kinds = ["grooming", "nude_imagery", "radicalisation", *["harassment"] * 2]
    kinds += ["cyberbullying"] * 9 + ["online_hate"] * 3 + ["filtering_breach"] * 4
    urgent = {"grooming", "nude_imagery", "radicalisation"}
    report = governors_report(
        school=SCHOOL,
        period=range_period(date(2026, 11, 1), date(2026, 11, 30)),
        generated_at=T0,
        concerns=[concern(n, k, urgent=k in urgent) for n, k in enumerate(kinds, start=1)],
        filter_requests=(),
        call_checks=(),
        recordings=(),
    )

    shown = dict(
        zip(
            [c.id for c in SCHOOL.categories],
            texts(report.table("concerns_by_category")),
            strict=True,
        )
    )
    assert shown["grooming"] == shown["harassment"] == "fewer than 3"
    assert shown["cyberbullying"] == "9"
    assert report.table("concerns_by_urgency").withheld
    figures = {f.label: f.text for f in report.sections[0].figures}
    assert figures["Median time to acknowledge, urgent concerns"] == "not shown"


@settings(max_examples=120, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=5), min_size=4, max_size=4),
    risk=st.integers(min_value=0, max_value=5),
)
def test_the_urgency_and_category_tables_together_reveal_no_small_count(
    counts: list[int], risk: int
) -> None:
    threshold = 3
    risk = min(risk, counts[2] + counts[3])
    categories, urgency = linked_report(counts, risk)
    total = sum(counts)
    if categories.total.value is None:
        return
    cat_ceiling = _ceiling(categories, total)
    urg_ceiling = _ceiling(urgency, total)
    cat_ranges = [_range(c, threshold, cat_ceiling, total) for c in categories.cells]
    urgent_range = _range(urgency.cells[0], threshold, urg_ceiling, total)
    routine_range = _range(urgency.cells[1], threshold, urg_ceiling, total)
    seen_cat: dict[int, set[int]] = {i: set() for i in range(4)}
    seen_urgent: set[int] = set()
    for combo in itertools.product(*cat_ranges):
        if sum(combo) != total:
            continue
        for urgent in urgent_range:
            # Concerns in always-urgent categories are always urgent; any other may be.
            if urgent < combo[0] + combo[1] or total - urgent not in routine_range:
                continue
            seen_urgent.add(urgent)
            for i in range(4):
                seen_cat[i].add(combo[i])
    for i, cell in enumerate(categories.cells):
        if cell.hidden is Hidden.SMALL:
            assert seen_cat[i] == {1, 2}, (counts, risk, texts(categories), texts(urgency))
    for i, cell in enumerate(urgency.cells):
        if cell.hidden is Hidden.SMALL:
            expected = {1, 2} if i == 0 else {total - 1, total - 2}
            assert seen_urgent == expected, (counts, risk, texts(urgency))


# ----- periods and months ------------------------------------------------------------------------


def test_terms_years_and_ranges() -> None:
    autumn = term_period(SCHOOL, "autumn 2026")
    assert (autumn.label, autumn.start, autumn.end) == (
        "Autumn 2026",
        date(2026, 9, 2),
        date(2026, 12, 18),
    )
    for text in ("2026-27", "2026/27", "2026-2027"):
        assert year_period(text) == Period(
            "Academic year 2026-27", date(2026, 9, 1), date(2027, 8, 31)
        )
    assert academic_year_of(date(2026, 8, 31)) == "2025-26"
    assert academic_year_of(date(2026, 9, 1)) == "2026-27"
    assert current_term(SCHOOL, date(2026, 11, 23)) == autumn
    assert current_term(SCHOOL, date(2026, 12, 25)) == autumn  # holidays: the latest term
    assert current_term(SCHOOL, date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    "bad",
    [
        lambda: term_period(SCHOOL, "Winter 2026"),
        lambda: year_period("2026-28"),
        lambda: year_period("last year"),
        lambda: range_period(date(2026, 12, 1), date(2026, 11, 1)),
        lambda: range_period(date(2020, 1, 1), date(2026, 1, 1)),
    ],
)
def test_periods_that_cannot_be_used_are_refused(bad: object) -> None:
    with pytest.raises(ReportError):
        bad()  # type: ignore[operator]


def test_months_are_buckets_in_school_time() -> None:
    zone = SCHOOL.zone
    # 23:30 UTC on 30 September is 00:30 on 1 October in London (summer time).
    assert month_of(datetime(2026, 9, 30, 23, 30, tzinfo=UTC), zone) == date(2026, 10, 1)
    # 23:30 UTC on 30 November is still November in London (winter time).
    assert month_of(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), zone) == date(2026, 11, 1)
    assert range_period(date(2026, 9, 15), date(2026, 12, 1)).months() == (
        date(2026, 9, 1),
        date(2026, 10, 1),
        date(2026, 11, 1),
        date(2026, 12, 1),
    )
    late = Period("Autumn", date(2026, 9, 1), date(2026, 9, 30))
    assert not late.contains(datetime(2026, 9, 30, 23, 30, tzinfo=UTC), zone)


# ----- timings and medians -----------------------------------------------------------------------


def test_time_to_acknowledge_and_close() -> None:
    done = concern(1, acknowledged=timedelta(minutes=15), closed=timedelta(days=3))
    waiting = concern(2)

    assert time_to_acknowledge(done) == timedelta(minutes=15)
    assert time_to_close(done) == timedelta(days=3)
    assert (time_to_acknowledge(waiting), time_to_close(waiting)) == (None, None)
    assert (hours_text(timedelta(minutes=15)), hours_text(None)) == ("0.25", "")


def test_open_items_are_the_unclosed_ones_oldest_first() -> None:
    items = [
        concern(1, at=T0 + timedelta(days=2)),
        concern(2, at=T0, closed=timedelta(days=1), acknowledged=timedelta(hours=1)),
        concern(3, at=T0 + timedelta(days=1), acknowledged=timedelta(hours=1)),
    ]

    assert [c.ref for c in open_items(items)] == ["OSC-2026-0003", "OSC-2026-0001"]


@pytest.mark.parametrize(
    ("values", "median"),
    [
        ([], None),
        ([timedelta(minutes=5)], timedelta(minutes=5)),
        ([timedelta(minutes=5), timedelta(minutes=15)], timedelta(minutes=10)),
        ([timedelta(hours=9), timedelta(minutes=1), timedelta(hours=1)], timedelta(hours=1)),
    ],
)
def test_median_duration(values: list[timedelta], median: timedelta | None) -> None:
    assert median_duration(values) == median


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (timedelta(seconds=30), "under a minute"),
        (timedelta(minutes=40), "40 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(hours=3, minutes=5), "3 h 5 min"),
        (timedelta(hours=47, minutes=59), "47 h 59 min"),
        (timedelta(days=4, hours=12), "4.5 days"),
    ],
)
def test_duration_words(value: timedelta, words: str) -> None:
    assert duration_words(value) == words


def test_school_days_late_skip_weekends_and_holidays() -> None:
    # Friday 23 October 2026; half term is 26-30 October.
    assert school_days_late(date(2026, 10, 23), date(2026, 10, 23), SCHOOL) == 0
    assert school_days_late(date(2026, 10, 23), date(2026, 10, 30), SCHOOL) == 0
    assert school_days_late(date(2026, 10, 23), date(2026, 11, 3), SCHOOL) == 2


# ----- the report as a whole ---------------------------------------------------------------------


def test_medians_need_at_least_the_threshold_and_a_shown_group() -> None:
    few = [concern(n, acknowledged=timedelta(minutes=10 * n)) for n in range(1, 3)]
    many = [concern(n, acknowledged=timedelta(minutes=10 * n)) for n in range(1, 6)]

    def figures(concerns: list[Concern]) -> dict[str, str]:
        report = governors_report(
            school=SCHOOL,
            period=range_period(date(2026, 11, 1), date(2026, 11, 30)),
            generated_at=T0,
            concerns=concerns,
            filter_requests=(),
            call_checks=(),
            recordings=(),
        )
        return {f.label: f.text for f in report.sections[0].figures}

    assert figures(few)["Median time to acknowledge"] == "not shown"  # the total is small
    assert figures(many)["Median time to acknowledge"] == "30 min"
    assert figures(many)["Median time to close"] == "none in this period"


def test_the_governors_report_holds_no_names_references_or_free_text() -> None:
    canary = replace(
        concern(1, acknowledged=timedelta(minutes=5), closed=timedelta(days=1)),
        reporter_name="Canary Reporter",
        involved="Canary Child",
        what_happened="CANARY-FREE-TEXT",
        outcome_message="CANARY-MESSAGE",
        handler_name="Canary Handler",
    )
    report = governors_report(
        school=SCHOOL,
        period=range_period(date(2026, 11, 1), date(2026, 11, 30)),
        generated_at=T0,
        concerns=[canary, *(concern(n) for n in range(2, 9))],
        filter_requests=(),
        call_checks=(),
        recordings=(),
    )

    text = json.dumps(report_as_dict(report))
    for secret in ("Canary", "CANARY", "OSC-2026", "Reporter Name", "A child", "Details written"):
        assert secret not in text
    assert report.table("concerns_by_category").total.text == "8"


def test_the_threshold_is_in_the_school_policy_and_must_be_at_least_one() -> None:
    assert SCHOOL.governors_report_min_count == 3
    assert replace(SCHOOL, governors_report_min_count=5).governors_report_min_count == 5
    with pytest.raises(ValueError, match="governors_report_min_count"):
        replace(SCHOOL, governors_report_min_count=0)


def test_a_school_threshold_changes_the_report() -> None:
    strict: SchoolPolicy = replace(SCHOOL, governors_report_min_count=5)
    report = governors_report(
        school=strict,
        period=range_period(date(2026, 11, 1), date(2026, 11, 30)),
        generated_at=T0,
        concerns=[concern(n) for n in range(1, 5)],
        filter_requests=(),
        call_checks=(),
        recordings=(),
    )

    assert report.threshold == 5
    assert report.table("concerns_by_category").total.text == "fewer than 5"
