"""The governors' report's other sections: video-call checks and recordings, filtering and
monitoring checks, the escalation chain, hand-offs (issue 20), and monitoring alerts and
sensitive-lesson notices (issue 21)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from policy.concerns import Concern
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
from policy.reporting.concern_section import _median_figure
from policy.reporting.periods import Period
from policy.reporting.shapes import CallCheckFact, Figure, RecordingFact, Section
from policy.reporting.suppression import (
    WITHHELD,
    Cell,
    CountTable,
    Hidden,
    count_table,
    sub_table,
)
from policy.reporting.timings import time_to_acknowledge
from policy.school import SchoolPolicy

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
    tables = [_escalation_table(urgent, school, threshold, urgent_cell), when]
    lado = _lado_table(concerns, school, threshold, concern_section)
    if lado is not None:
        tables.append(lado)
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


def _escalation_table(
    urgent: Sequence[Concern], school: SchoolPolicy, threshold: int, urgent_cell: Cell
) -> CountTable:
    """How far up the school's chain each urgent concern went before someone acknowledged it."""
    steps = school.on_call.chain
    reached = Counter(min(steps_taken(c), len(steps)) for c in urgent)
    step_rows = [("Acknowledged before any escalation", reached.get(0, 0))] + [
        (f"Reached step {n}: {_who_words(step.who, school)}", reached.get(n, 0))
        for n, step in enumerate(steps, start=1)
    ]
    return sub_table(
        "urgent_by_escalation",
        "How far urgent concerns were escalated before someone acknowledged them",
        step_rows,
        threshold,
        urgent_cell,
    )


def _lado_table(
    concerns: Sequence[Concern], school: SchoolPolicy, threshold: int, concern_section: Section
) -> CountTable | None:
    """Concerns about staff, by whether and when the LADO was informed (001 §8); None when
    no category of the school's starts the LADO clock."""
    lado_categories = [c for c in school.categories if lado_clock_applies(c)]
    if not lado_categories:
        return None
    staff = [c for c in concerns if any(c.category == k.id for k in lado_categories)]
    reminded = [any(e.kind == LADO_REMINDER for e in c.chronology) for c in staff]
    informed = [lado_informed(c) for c in staff]
    return sub_table(
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
        _staff_cell({k.label for k in lado_categories}, concern_section),
    )


def _staff_cell(labels: set[str], concern_section: Section) -> Cell:
    """The concern section's count of concerns about staff: its one category cell, or
    withheld when several categories make it up."""
    category_cells = [
        cell
        for t in concern_section.tables
        if t.key == "concerns_by_category"
        for cell in t.cells
        if cell.label in labels
    ]
    if len(category_cells) == 1:
        return category_cells[0]
    return Cell("Concerns about staff", None, WITHHELD, Hidden.WITHHELD)


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
    named = bool(school.handoff.system.strip())
    rows = [(own if named else "The school's record system", counts.pop(own, 0)), *counts.items()]
    return Section(
        "Hand-offs to the safeguarding records",
        "Concerns the DSL handed off from the bot to the school's safeguarding record system"
        + (f" ({own})" if named else "")
        + " in this period, so that each is kept in the child's file without being typed again.",
        (count_table("handoffs_by_system", "Hand-offs by system", rows, threshold),),
    )


# ----- Monitoring alerts and sensitive-lesson notices (issue 21) ---------------------------


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
