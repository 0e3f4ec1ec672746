"""Cards and documents for the records the school must show: open items, the incident log, a
concern's chronology and the governors' report.

What each audience sees is decided here, by design:
- the open-items and incident-log cards may be shown in the DSL channel, so they carry no
  names and nothing anyone wrote: references, categories, urgency, year group, status, times;
- names and free text appear only in the incident-log CSV and the chronology document, which
  are offered as download links to the (role-checked) person who asked, in a 1:1 chat;
- the governors' report card and document hold only suppressed counts and medians
  (``policy.reporting``).

The documents are plain HTML built with the standard library, every value escaped with
``html.escape``; they print cleanly (A4, no page furniture).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    DateInput,
    OpenUrlAction,
    TextBlock,
    TextInput,
)

from cards.common import (
    attention,
    card,
    day_given,
    execute,
    facts,
    heading,
    para,
    safe_text,
    school_time,
)
from cards.concern import STATUS_WORDS
from policy.actions import Verb
from policy.concerns import ACTIONS, OUTCOMES, REFERRALS, UKCIS_CRITERIA, Concern, Source
from policy.reporting import (
    CountTable,
    GovernorsReport,
    Hidden,
    day_words,
    duration_words,
    suppression_words,
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
        DateInput(id="from", label="From", is_required=True, value=start or None),
    ]
    if "from" in problems:
        body.append(attention(problems["from"]))
    body.append(DateInput(id="to", label="To", is_required=True, value=end or None))
    if "to" in problems:
        body.append(attention(problems["to"]))
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
        facts(
            [
                ("Concerns reported", str(summary.reported)),
                ("Urgent", str(summary.urgent)),
                ("Still open", str(summary.still_open)),
                ("Closed", str(summary.closed)),
                ("Median time to acknowledge", summary.median_acknowledge),
                ("Median time to close", summary.median_close),
            ]
            + (
                [("Urgent, escalated up the chain", str(summary.escalated))]
                if summary.escalated
                else []
            )
            + (
                [
                    (
                        "Median time to acknowledge, urgent out of hours",
                        summary.median_acknowledge_out_of_hours,
                    )
                ]
                if summary.median_acknowledge_out_of_hours
                else []
            )
        ),
    ]
    shown = [(label, n) for label, n in summary.by_category if n]
    if shown:
        body.append(para("By category", emphasis=True))
        body.append(facts([(safe_text(label, limit=100), str(n)) for label, n in shown]))
    if summary.handed_off:
        body.append(para("Handed off to the safeguarding records", emphasis=True))
        body.append(
            facts([(safe_text(system, limit=100), str(n)) for system, n in summary.handed_off])
        )
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


# ---------------------------------------------------------------------------------------------
# A concern's chronology
# ---------------------------------------------------------------------------------------------


def chronology_request_card(*, value: str = "", problem: str | None = None) -> dict[str, Any]:
    """Ask which concern's chronology to export."""
    body: list[CardElement] = [
        heading("Export a concern's chronology"),
        para(
            "A printable document with every action, note and decision and who made it when, "
            "for children's social care or a receiving school."
        ),
        TextInput(
            id="ref",
            label="Reference",
            placeholder="OSC-2026-0001",
            is_required=True,
            max_length=40,
            value=value or None,
        ),
    ]
    if problem:
        body.append(attention(problem))
    return card(
        body,
        [
            execute("Make the document", Verb.CONCERN_CHRONOLOGY, style="positive"),
            execute("Open items", Verb.OPEN_ITEMS),
        ],
    )


def chronology_ready_card(ref: str, *, download_url: str) -> dict[str, Any]:
    """The chronology's download link, for the handler who asked."""
    return card(
        [
            heading(f"Chronology of {ref}"),
            para(
                "The document holds names and the details of the concern. Save it to the "
                "child's safeguarding file and send it only by a secure route."
            ),
            para(DOWNLOAD_NOTE, subtle=True),
        ],
        [
            OpenUrlAction(title="Download the chronology (HTML, printable)", url=download_url),
            execute("Open items", Verb.OPEN_ITEMS),
        ],
    )


# ---------------------------------------------------------------------------------------------
# The governors' report
# ---------------------------------------------------------------------------------------------


def governors_period_card(
    choices: Sequence[tuple[str, str]], *, selected: str, problem: str | None = None
) -> dict[str, Any]:
    """Choose the term or year of the governors' report: ``choices`` are (value, title)."""
    body: list[CardElement] = [
        heading("Governors' report"),
        para(
            "An anonymised summary for governors: counts only, no names and nothing anyone "
            "wrote. Small numbers are hidden."
        ),
        ChoiceSetInput(
            id="period",
            label="Period",
            style="compact",
            is_required=True,
            choices=[Choice(title=title, value=value) for value, title in choices],
            value=selected or None,
        ),
    ]
    if problem:
        body.append(attention(problem))
    return card(
        body, [execute("Make the report", Verb.GOVERNORS_REPORT, style="positive", step="make")]
    )


def governors_report_card(report: GovernorsReport, *, download_url: str | None) -> dict[str, Any]:
    """The governors' report in brief, with a download of the full document."""
    body: list[CardElement] = [
        heading(f"Governors' report: {report.period.label}"),
        para(f"{report.school}. Anonymised: counts only, no names.", subtle=True),
    ]
    for section in report.sections:
        body.append(para(section.title, emphasis=True))
        if section.figures:
            body.append(facts([(f.label, f.text) for f in section.figures]))
        for table in section.tables:
            body.append(para(table.title))
            rows = [(c.label, c.text) for c in table.cells if c.value != 0]
            if table.withheld:
                rows = [("Breakdown", "withheld: too few to show safely")]
            body.append(facts([*rows, ("Total", table.total.text)]))
    body.append(para(suppression_words(report.threshold), subtle=True))
    actions: list[Any] = []
    if download_url:
        actions.append(OpenUrlAction(title="Download the report (HTML)", url=download_url))
        body.append(
            para(
                "The download link works for 10 minutes. For the charts as well, the DSL can "
                "run script/report on the server.",
                subtle=True,
            )
        )
    actions.append(execute("Another period", Verb.GOVERNORS_REPORT))
    return card(body, actions)


# ---------------------------------------------------------------------------------------------
# Documents (HTML)
# ---------------------------------------------------------------------------------------------

_STYLE = """
  body { font-family: Arial, Helvetica, sans-serif; font-size: 11pt; color: #111;
         max-width: 50em; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
  h1 { font-size: 18pt; margin-bottom: 0.2em; }
  h2 { font-size: 14pt; margin-top: 1.6em; border-bottom: 1px solid #999; }
  h3 { font-size: 12pt; margin-bottom: 0.3em; }
  table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; }
  th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left;
           vertical-align: top; }
  th { background: #eee; }
  td.n { text-align: right; white-space: nowrap; }
  .marking { font-weight: bold; text-transform: uppercase; letter-spacing: 0.05em;
             border: 2px solid #111; padding: 0.3em 0.6em; display: inline-block; }
  .text { white-space: pre-wrap; }
  .muted { color: #555; font-size: 10pt; }
  img { max-width: 100%; height: auto; }
  @page { size: A4; margin: 18mm; }
  @media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
                 tr, img { break-inside: avoid; } }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


def _rows(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>\n' for k, v in pairs)


_EVENT_WORDS = {
    "reported": "Reported",
    "acknowledged": "Acknowledged",
    "action": "Action taken",
    "note": "Note",
    "assessment": "Decision (UKCIS assessment)",
    "closed": "Closed",
    "handoff": "Handed off",
}


def _local(at: datetime | None, zone: ZoneInfo) -> str:
    return "-" if at is None else school_time(at, zone)


def chronology_html(
    concern: Concern,
    *,
    category_label: str,
    school_name: str,
    zone: ZoneInfo,
    prepared_by: str,
    prepared_at: datetime,
) -> str:
    """The concern's chronology as a printable document: the report, the decisions and every
    line of its history with who and when. Web addresses are given as text, never as links."""
    risk = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}[concern.immediate_risk.value]
    summary = [
        ("Reference", concern.ref),
        ("Category", category_label),
        ("Urgency", "Urgent" if concern.urgent else "Routine"),
        ("Reported by", f"{concern.reporter_name} ({_source_words(concern.source)})"),
        ("Reported", _local(concern.created_at, zone)),
        ("When it happened", day_given(concern.happened_on)),
        ("Year group", concern.year_group),
        ("Child at immediate risk (reporter's answer)", risk),
        ("Status", _status_words(concern.status.value)),
        ("Handled by", concern.handler_name or "Nobody yet"),
        ("Acknowledged", _local(concern.acknowledged_at, zone)),
        ("Closed", _local(concern.closed_at, zone)),
        ("Outcome", OUTCOMES.get(concern.outcome or "", "Not closed yet")),
    ]
    report = [
        ("Who is involved", concern.involved or "Not given"),
        ("What happened", concern.what_happened or "Not given"),
        ("Where", concern.where or "Not given"),
        ("Web address (not a link)", concern.url or "None given"),
        ("Device group", concern.device_group or "-"),
        ("Done before reporting", concern.actions_taken or "Nothing recorded"),
    ]
    if concern.trusted_adult:
        report.append(("Trusted adult named by the pupil", concern.trusted_adult))
    parts = [
        '<p class="marking">Official-sensitive: child protection record</p>\n',
        f"<h1>Chronology of concern {_e(concern.ref)}</h1>\n",
        f'<p class="muted">{_e(school_name)}. Prepared by {_e(prepared_by)} on '
        f"{_e(school_time(prepared_at, zone))} (school time). Times are school time.</p>\n",
        "<h2>Summary</h2>\n<table>\n",
        _rows(summary),
        "</table>\n<h2>The report</h2>\n<table>\n",
        "".join(
            f'<tr><th scope="row">{_e(k)}</th><td class="text">{_e(v)}</td></tr>\n'
            for k, v in report
        ),
        "</table>\n",
    ]
    if concern.actions_done:
        parts.append("<h2>Actions recorded</h2>\n<ul>\n")
        parts += [f"<li>{_e(ACTIONS.get(a, a))}</li>\n" for a in concern.actions_done]
        parts.append("</ul>\n")
    if concern.assessment is not None:
        assessment = concern.assessment
        parts += [
            "<h2>UKCIS immediate-referral assessment</h2>\n<table>\n",
            _rows(
                [
                    (
                        "Criteria met",
                        "; ".join(UKCIS_CRITERIA.get(c, c) for c in assessment.criteria) or "None",
                    ),
                    (
                        "Referred to",
                        " and ".join(REFERRALS.get(r, r) for r in assessment.referrals) or "-",
                    ),
                    ("Reason", assessment.reason or "-"),
                ]
            ),
            "</table>\n",
        ]
    parts += [
        "<h2>Chronology</h2>\n",
        "<table>\n<thead><tr><th>When</th><th>Who</th><th>What</th><th>Detail</th></tr></thead>\n"
        "<tbody>\n",
    ]
    for event in sorted(concern.chronology, key=lambda e: e.at):
        parts.append(
            f"<tr><td>{_e(school_time(event.at, zone))}</td><td>{_e(event.actor_name)}</td>"
            f"<td>{_e(_EVENT_WORDS.get(event.kind, event.kind))}</td>"
            f'<td class="text">{_e(event.text)}</td></tr>\n'
        )
    parts.append("</tbody>\n</table>\n")
    if concern.outcome_message:
        parts += [
            "<h2>Message to the person who reported it</h2>\n",
            f'<p class="text">{_e(concern.outcome_message)}</p>\n',
        ]
    parts.append(
        '<p class="muted">Exported from the school\'s online-safety records. Keep it in the '
        "child's safeguarding file and share it only by a secure route.</p>\n"
    )
    return _document(f"Chronology of concern {concern.ref}", "".join(parts))


def _source_words(source: Source) -> str:
    return "a pupil" if source is Source.PUPIL else "staff"


def _table_html(table: CountTable) -> str:
    shown = [c.value for c in table.cells if c.value]
    scale = max(shown) if shown else 0
    parts = [
        f"<h3>{_e(table.title)}</h3>\n<table>\n<thead><tr><th></th>"
        '<th class="n">Number</th><th aria-hidden="true"></th></tr></thead>\n<tbody>\n'
    ]
    for cell in table.cells:
        bar = ""
        if cell.value and scale:
            width = round(100 * cell.value / scale)
            bar = f'<div style="background:#4a6fa5;height:0.8em;width:{width}%"></div>'
        parts.append(
            f'<tr><td>{_e(cell.label)}</td><td class="n">{_e(cell.text)}</td>'
            f'<td style="width:35%">{bar}</td></tr>\n'
        )
    parts.append(
        f'<tr><th scope="row">Total</th><td class="n"><strong>{_e(table.total.text)}</strong>'
        "</td><td></td></tr>\n</tbody>\n</table>\n"
    )
    if table.note:
        parts.append(f'<p class="muted">{_e(table.note)}</p>\n')
    return "".join(parts)


def governors_html(
    report: GovernorsReport, *, charts: Mapping[str, tuple[str, str]] | None = None
) -> str:
    """The governors' report as a printable document.

    Args:
        report: the anonymised report.
        charts: table key -> (image file name, description) for charts drawn beside it.
    """
    charts = charts or {}
    made_on = day_words(report.generated_at.date())
    parts = [
        f"<h1>Online safety: report to governors</h1>\n<p><strong>{_e(report.school)}"
        f"</strong><br>{_e(report.period.label)} "
        f"({_e(day_words(report.period.start))} to {_e(day_words(report.period.end))})<br>"
        f'<span class="muted">Made on {_e(made_on)} from the bot\'s records.</span></p>\n',
        f"<p>{_e(suppression_words(report.threshold))}</p>\n",
    ]
    for section in report.sections:
        parts.append(f"<h2>{_e(section.title)}</h2>\n<p>{_e(section.intro)}</p>\n")
        if section.figures:
            parts.append("<table>\n")
            parts.append(_rows([(f.label, f.text) for f in section.figures]))
            parts.append("</table>\n")
        for table in section.tables:
            parts.append(_table_html(table))
            if table.key in charts:
                filename, description = charts[table.key]
                parts.append(
                    f'<p><img src="{_e(filename)}" alt="{_e(description)}" width="800" '
                    'height="400"></p>\n'
                )
    if report.threshold <= 1:
        return _document(
            f"Online safety report to governors: {report.period.label}", "".join(parts)
        )
    hidden = {
        Hidden.SMALL: "a count from 1 up to the threshold, hidden",
        Hidden.COMPLEMENTARY: "hidden so that a small count cannot be worked out",
        Hidden.WITHHELD: "the whole breakdown is withheld",
    }
    parts.append(
        "<h2>How to read this report</h2>\n<ul>\n"
        + "".join(
            f"<li><strong>{_e(words)}</strong>: {_e(meaning)}</li>\n"
            for words, meaning in (
                (f"fewer than {report.threshold}", hidden[Hidden.SMALL]),
                ("not shown", hidden[Hidden.COMPLEMENTARY]),
                ("withheld", hidden[Hidden.WITHHELD]),
            )
        )
        + "</ul>\n"
    )
    return _document(f"Online safety report to governors: {report.period.label}", "".join(parts))
