"""The documents (HTML): a concern's chronology and the governors' report, built with the
standard library, every value escaped with ``html.escape``; they print cleanly (A4, no page
furniture).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from cards.common import (
    day_given,
    school_time,
)
from cards.reports.lists import _status_words
from policy.concerns import ACTIONS, OUTCOMES, REFERRALS, UKCIS_CRITERIA, Concern, Source
from policy.reporting import (
    CountTable,
    GovernorsReport,
    Hidden,
    day_words,
    suppression_words,
)

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
    parts = [
        '<p class="marking">Official-sensitive: child protection record</p>\n',
        f"<h1>Chronology of concern {_e(concern.ref)}</h1>\n",
        f'<p class="muted">{_e(school_name)}. Prepared by {_e(prepared_by)} on '
        f"{_e(school_time(prepared_at, zone))} (school time). Times are school time.</p>\n",
        "<h2>Summary</h2>\n<table>\n",
        _rows(_chronology_summary(concern, category_label, zone)),
        "</table>\n<h2>The report</h2>\n<table>\n",
        "".join(
            f'<tr><th scope="row">{_e(k)}</th><td class="text">{_e(v)}</td></tr>\n'
            for k, v in _chronology_report(concern)
        ),
        "</table>\n",
        *_actions_and_assessment(concern),
        *_chronology_table(concern, zone),
    ]
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


def _chronology_summary(
    concern: Concern, category_label: str, zone: ZoneInfo
) -> list[tuple[str, str]]:
    """The chronology's summary rows: what the concern is, who reported it, where it stands."""
    risk = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}[concern.immediate_risk.value]
    return [
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


def _chronology_report(concern: Concern) -> list[tuple[str, str]]:
    """The report as the reporter gave it (and the trusted adult a pupil named)."""
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
    return report


def _actions_and_assessment(concern: Concern) -> list[str]:
    """The actions recorded and the UKCIS assessment, each when there is one."""
    parts: list[str] = []
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
    return parts


def _chronology_table(concern: Concern, zone: ZoneInfo) -> list[str]:
    """Every line of the concern's history, oldest first, with when, who and what."""
    parts = [
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
    return parts


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
