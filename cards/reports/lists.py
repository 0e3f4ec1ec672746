"""The DSL's lists: open items and the incident log. They may be shown in the DSL channel, so
they carry no names and nothing anyone wrote: references, categories, urgency, year group,
status, times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Container,
    DateInput,
    OpenUrlAction,
    TextBlock,
)

from cards.common import (
    card,
    execute,
    facts,
    heading,
    para,
    safe_text,
    school_time,
    with_problems,
)
from cards.concern import STATUS_WORDS
from policy.actions import Verb
from policy.reporting import (
    duration_words,
)

#: Most open items one card lists (the incident log has the rest).
MAX_OPEN_ITEMS = 20
DOWNLOAD_NOTE = "The download link works for 10 minutes, for you only: don't forward it."


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One open concern as the open-items card lists it (no names, no free text)."""

    ref: str
    version: int
    category: str
    urgent: bool
    year_group: str
    status: str
    reported_at: datetime
    age: timedelta


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """The incident log's figures for the DSL: counts and medians, no names."""

    period: str
    reported: int
    urgent: int
    still_open: int
    closed: int
    median_acknowledge: str
    median_close: str
    by_category: Sequence[tuple[str, int]]
    #: Hand-offs of these concerns to the school's record system, by system (issue 20).
    handed_off: Sequence[tuple[str, int]] = ()
    #: Urgent concerns that climbed the escalation chain (issue 20), and the median time to
    #: acknowledge urgent concerns reported out of hours ("" when there were none).
    escalated: int = 0
    median_acknowledge_out_of_hours: str = ""


# ---------------------------------------------------------------------------------------------
# Open items
# ---------------------------------------------------------------------------------------------


def open_items_card(
    items: Sequence[OpenItem], *, zone: ZoneInfo, private: bool, note: str | None = None
) -> dict[str, Any]:
    """Unacknowledged and open concerns, oldest first, with their age.

    Each item has "Open" (the existing ``concern.open`` verb with its reference and version:
    the detail shows to the clicker only, after the server checks they may handle it); in a
    1:1 chat also "Chronology".
    """
    body: list[CardElement] = []
    if note:
        body.append(para(note, subtle=True))
    body.append(heading(f"Open items ({len(items)})"))
    if not items:
        body.append(para("Nothing is open: every concern has been closed."))
    else:
        body.append(para("Oldest first. Open an item to see its detail.", subtle=True))
    for item in items[:MAX_OPEN_ITEMS]:
        ids: dict[str, str | int] = {"ref": item.ref, "ver": item.version}
        buttons = [execute("Open", Verb.CONCERN_OPEN, ids=ids)]
        if private:
            buttons.append(execute("Chronology", Verb.CONCERN_CHRONOLOGY, ref=item.ref))
        waiting = "" if item.status != "new" else " (not yet acknowledged)"
        body.append(
            Container(
                separator=True,
                items=[
                    TextBlock(
                        text=(
                            f"{'URGENT: ' if item.urgent else ''}{item.ref}, "
                            f"{duration_words(item.age)} old{waiting}"
                        ),
                        weight="Bolder",
                        wrap=True,
                        color="Attention" if item.urgent else "Default",
                    ),
                    facts(
                        [
                            ("Category", safe_text(item.category, limit=100)),
                            ("Urgency", "URGENT" if item.urgent else "Routine"),
                            ("Year group", safe_text(item.year_group, limit=40)),
                            ("Status", _status_words(item.status)),
                            ("Reported", school_time(item.reported_at, zone)),
                        ]
                    ),
                    ActionSet(actions=list(buttons)),
                ],
            )
        )
    if len(items) > MAX_OPEN_ITEMS:
        body.append(
            para(
                f"And {len(items) - MAX_OPEN_ITEMS} more: see the incident log for all of them.",
                subtle=True,
            )
        )
    return card(body, [execute("Incident log", Verb.INCIDENT_LOG), execute("Menu", Verb.MENU)])


def _status_words(status: str) -> str:
    return next((words for key, words in STATUS_WORDS.items() if key.value == status), status)


# ---------------------------------------------------------------------------------------------
# The incident log
# ---------------------------------------------------------------------------------------------


def incident_range_card(
    *, start: str, end: str, problems: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Choose the dates of the incident log (when the concerns were reported)."""
    problems = problems or {}
    body: list[CardElement] = [
        heading("Incident log"),
        para("Choose the dates the concerns were reported between (both days included)."),
        *with_problems(
            [
                DateInput(id="from", label="From", is_required=True, value=start or None),
                DateInput(id="to", label="To", is_required=True, value=end or None),
            ],
            problems,
        ),
    ]
    return card(
        body,
        [
            execute("Show the log", Verb.INCIDENT_LOG, style="positive", step="show"),
            execute("Open items", Verb.OPEN_ITEMS),
        ],
    )


def incident_log_card(
    summary: IncidentSummary, *, download_url: str | None, private: bool
) -> dict[str, Any]:
    """The incident log's summary for a date range, and (1:1 only) the CSV download."""
    body: list[CardElement] = [
        heading(f"Incident log: {summary.period}"),
        facts(_incident_counts(summary)),
        *_incident_breakdown(summary),
    ]
    actions: list[Any] = []
    if download_url:
        actions.append(OpenUrlAction(title="Download the incident log (CSV)", url=download_url))
        body.append(
            para(
                "The CSV holds names: keep it on the school's secure system. " + DOWNLOAD_NOTE,
                subtle=True,
            )
        )
    elif not private:
        body.append(
            para(
                "The CSV, which holds names, is offered only in a private chat with me: "
                'type "incident log" there.',
                subtle=True,
            )
        )
    actions += [
        execute("Other dates", Verb.INCIDENT_LOG),
        execute("Open items", Verb.OPEN_ITEMS),
        execute("Governors' report", Verb.GOVERNORS_REPORT),
    ]
    return card(body, actions)


def _incident_counts(summary: IncidentSummary) -> list[tuple[str, str]]:
    """How many concerns were reported, urgent, open and closed, and how fast they were
    handled (escalations and urgent out-of-hours times when there are any)."""
    counts = [
        ("Concerns reported", str(summary.reported)),
        ("Urgent", str(summary.urgent)),
        ("Still open", str(summary.still_open)),
        ("Closed", str(summary.closed)),
        ("Median time to acknowledge", summary.median_acknowledge),
        ("Median time to close", summary.median_close),
    ]
    if summary.escalated:
        counts.append(("Urgent, escalated up the chain", str(summary.escalated)))
    if summary.median_acknowledge_out_of_hours:
        counts.append(
            (
                "Median time to acknowledge, urgent out of hours",
                summary.median_acknowledge_out_of_hours,
            )
        )
    return counts


def _incident_breakdown(summary: IncidentSummary) -> list[CardElement]:
    """The concerns by category, and those handed off by system, when there are any."""
    shown: list[CardElement] = []
    by_category = [(label, n) for label, n in summary.by_category if n]
    if by_category:
        shown.append(para("By category", emphasis=True))
        shown.append(facts([(safe_text(label, limit=100), str(n)) for label, n in by_category]))
    if summary.handed_off:
        shown.append(para("Handed off to the safeguarding records", emphasis=True))
        shown.append(
            facts([(safe_text(system, limit=100), str(n)) for system, n in summary.handed_off])
        )
    return shown
