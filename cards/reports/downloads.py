"""Asking for a concern's chronology and the governors' report, and the cards offering them
as downloads (to the role-checked person who asked, in a 1:1 chat for named data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from microsoft_teams.cards import (
    CardElement,
    Choice,
    ChoiceSetInput,
    OpenUrlAction,
    TextInput,
)

from cards.common import (
    attention,
    card,
    execute,
    facts,
    heading,
    para,
)
from cards.reports.lists import DOWNLOAD_NOTE
from policy.actions import Verb
from policy.reporting import (
    GovernorsReport,
    suppression_words,
)

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
