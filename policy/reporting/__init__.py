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

The package, one job a module: ``periods`` (reporting periods), ``timings`` (concern timings),
``suppression`` (the count tables above), ``shapes`` (the report, its sections and its JSON),
``concern_section``, ``filter_sections`` and ``oversight_sections`` (one builder a section);
this module assembles the report and re-exports every public name, so
``from policy.reporting import …`` works as it always has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from policy.concerns import Concern
from policy.filtering import FilterRequest
from policy.fm_checks import FmCheck
from policy.overblocking import OverblockReport
from policy.reporting.concern_section import (
    ONE_PERSON,
    SECOND_PERSON,
    _concern_section,
    second_person_table,
    sends_back_figure,
)
from policy.reporting.filter_sections import (
    FILTER_OUTCOMES,
    REBLOCK_LATE,
    REBLOCK_ON_TIME,
    REBLOCK_ONE_DAY,
    REBLOCK_WAITING,
    _filter_section,
    overblocking_section,
    school_days_late,
)
from policy.reporting.oversight_sections import (
    ALERT_OUTCOME_WORDS,
    ALERT_SEVERITY_WORDS,
    RECORDING_WORDS,
    VERDICT_WORDS,
    AlertFact,
    NoticeFact,
    _checks_section,
    _handoff_section,
    _video_section,
    escalation_section,
    handoffs_in,
    monitoring_section,
)
from policy.reporting.periods import (
    MAX_PERIOD_DAYS,
    Period,
    ReportError,
    academic_year_of,
    current_term,
    day_words,
    range_period,
    term_period,
    year_period,
)
from policy.reporting.shapes import (
    CallCheckFact,
    Figure,
    GovernorsReport,
    RecordingFact,
    Section,
    report_as_dict,
    suppression_words,
    with_section,
)
from policy.reporting.suppression import (
    NOT_SHOWN,
    WITHHELD,
    Cap,
    Cell,
    CountTable,
    Hidden,
    count_cell,
    count_table,
    exposes,
    fewer_than,
    sub_table,
    withheld_table,
)
from policy.reporting.timings import (
    age,
    duration_words,
    hours_text,
    median_duration,
    month_of,
    month_words,
    open_items,
    time_to_acknowledge,
    time_to_close,
)
from policy.school import SchoolPolicy

__all__ = [
    "ALERT_OUTCOME_WORDS",
    "ALERT_SEVERITY_WORDS",
    "FILTER_OUTCOMES",
    "MAX_PERIOD_DAYS",
    "NOT_SHOWN",
    "ONE_PERSON",
    "REBLOCK_LATE",
    "REBLOCK_ONE_DAY",
    "REBLOCK_ON_TIME",
    "REBLOCK_WAITING",
    "RECORDING_WORDS",
    "SECOND_PERSON",
    "VERDICT_WORDS",
    "WITHHELD",
    "AlertFact",
    "CallCheckFact",
    "Cap",
    "Cell",
    "CountTable",
    "Figure",
    "GovernorsReport",
    "Hidden",
    "NoticeFact",
    "Period",
    "RecordingFact",
    "ReportError",
    "Section",
    "academic_year_of",
    "age",
    "count_cell",
    "count_table",
    "current_term",
    "day_words",
    "duration_words",
    "escalation_section",
    "exposes",
    "fewer_than",
    "governors_report",
    "handoffs_in",
    "hours_text",
    "median_duration",
    "monitoring_section",
    "month_of",
    "month_words",
    "open_items",
    "overblocking_section",
    "range_period",
    "report_as_dict",
    "school_days_late",
    "second_person_table",
    "sends_back_figure",
    "sub_table",
    "suppression_words",
    "term_period",
    "time_to_acknowledge",
    "time_to_close",
    "with_section",
    "withheld_table",
    "year_period",
]


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
