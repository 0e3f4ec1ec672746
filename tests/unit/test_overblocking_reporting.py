"""Over-blocking in the governors' report and the review pack (issue 21): counts by outcome and
the median time to answer, with small numbers suppressed; AI tool requests noted for review."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from ops.demo_data import _demo_overblocking
from ops.reports import write_review_pack
from policy.filtering import FilterRequest
from policy.overblocking import (
    OverblockReport,
    OverblockRuleBroken,
    exception_requested,
    explained,
)
from policy.reporting import governors_report, overblocking_section, year_period
from policy.retention import keep_until
from policy.roles import Person, Role

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
IT = Person("it", "Nadia Khan", frozenset({Role.IT, Role.STAFF}))
DSL = Person("dsl", "Fiona Blake", frozenset({Role.DSL, Role.STAFF}))
SCHOOL = load_school_policy(DEFAULT_SCHOOL_CONFIG)


def report(n: int) -> OverblockReport:
    return OverblockReport(
        ref=f"OBR-2026-{n:04d}",
        reporter_id="teacher",
        reporter_name="Daniel Okafor",
        created_at=AT + timedelta(days=n),
        site="https://www.talktofrank.com/drugs-a-z",
        lesson="PSHE",
        impact="Blocked in the middle of the lesson.",
    )


def answered(n: int, hours: int, *, exception: bool = True) -> OverblockReport:
    at = report(n).created_at + timedelta(hours=hours)
    if exception:
        return exception_requested(report(n), IT, f"FLT-2026-{n:04d}", at)
    return explained(report(n), IT, "The page is on the allow list now.", at)


def test_only_it_answers_once_and_an_explanation_needs_a_reason() -> None:
    with pytest.raises(OverblockRuleBroken, match="only IT"):
        explained(report(1), DSL, "Not needed: covered.", AT)
    with pytest.raises(OverblockRuleBroken, match="give the reason"):
        explained(report(1), IT, " ", AT)
    with pytest.raises(OverblockRuleBroken, match="already been answered"):
        explained(answered(1, 2), IT, "Not needed: covered.", AT)


def test_counts_by_outcome_and_the_median_time_to_answer() -> None:
    reports = [answered(n, n, exception=n % 2 == 0) for n in range(1, 8)]
    reports += [report(n) for n in (8, 9, 10)]

    section = overblocking_section(reports, threshold=3)

    [table] = section.tables
    assert [(c.label, c.text) for c in table.cells] == [
        ("An exception was requested", "3"),
        ("Not needed, or explained to the teacher", "4"),
        ("Still waiting for IT", "3"),
    ]
    assert [(f.label, f.text) for f in section.figures] == [("Median time for IT to answer", "4 h")]


def test_small_numbers_are_suppressed_and_the_median_is_not_shown() -> None:
    section = overblocking_section([answered(1, 2), answered(2, 30, exception=False)], 3)

    [table] = section.tables
    assert all(c.value is None for c in table.cells if c.label != "Still waiting for IT")
    [median] = section.figures
    assert median.text.startswith("not shown")


def test_the_governors_report_has_an_over_blocking_section_for_the_period() -> None:
    inside = [answered(n, 2) for n in range(1, 4)]
    outside = replace(report(9), created_at=datetime(2025, 1, 6, tzinfo=UTC))

    made = governors_report(
        school=SCHOOL,
        period=year_period("2026-27"),
        generated_at=AT,
        concerns=[],
        filter_requests=[],
        call_checks=[],
        recordings=[],
        overblocking_reports=[*inside, outside],
    )

    section = next(s for s in made.sections if s.title == "Over-blocking")
    assert section.tables[0].total.text == "3"
    assert "Daniel Okafor" not in repr(section)


def test_the_demo_schools_governors_report_shows_over_blocking() -> None:
    made = governors_report(
        school=SCHOOL,
        period=year_period("2026-27"),
        generated_at=AT,
        concerns=[],
        filter_requests=[],
        call_checks=[],
        recordings=[],
        overblocking_reports=_demo_overblocking(SCHOOL),
    )

    section = next(s for s in made.sections if s.title == "Over-blocking")
    assert [c.text for c in section.tables[0].cells] == ["5", "3", "0"]
    assert section.figures[0].text == "4 h 30 min"


def test_the_review_pack_lists_over_blocking_and_notes_new_technology(tmp_path: Path) -> None:
    ai = FilterRequest(
        ref="FLT-2026-0005",
        requester_id="teacher",
        requester_name="Daniel Okafor",
        created_at=AT,
        site="https://chat.example-ai.com/",
        blocked_category="ai_chatbot",
        audience="class",
        audience_detail="10B",
        reason="Year 10 compare chatbot answers with their sources for the media unit.",
        topic="Media",
        start=date(2026, 11, 24),
        end=date(2026, 11, 27),
        supervised=True,
        age_appropriate=True,
        sensitive=False,
    )
    reports = [answered(n, 2) for n in range(1, 4)]

    write_review_pack([ai], "", SCHOOL, tmp_path, AT, overblocking=reports)

    rows = list(csv.DictReader(io.StringIO((tmp_path / "overblocking-reports.csv").read_text())))
    assert [(r["reference"], r["outcome"], r["hours_to_answer"]) for r in rows] == [
        (f"OBR-2026-{n:04d}", "An exception was requested", "2.00") for n in range(1, 4)
    ]
    readme = (tmp_path / "README.txt").read_text()
    assert "- An exception was requested: 3" in readme
    assert "1 requests: FLT-2026-0005" in readme
    assert "revisited when new technology is introduced" in readme


def test_over_blocking_reports_are_kept_as_long_as_filter_requests() -> None:
    made = date(2026, 11, 23)

    assert keep_until("overblock_report", made, SCHOOL.retention) == keep_until(
        "filter_request", made, SCHOOL.retention
    )
