"""The governors' report's shapes: the facts it is built from, its sections and figures,
the method in words, and the report as plain JSON data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from policy.reporting.periods import Period
from policy.reporting.suppression import NOT_SHOWN, Cell, CountTable, fewer_than


@dataclass(frozen=True, slots=True)
class CallCheckFact:
    """What the report needs from one video-call check (kind ``call_check``): no names."""

    checked_at: datetime
    verdict: str


@dataclass(frozen=True, slots=True)
class RecordingFact:
    """What the report needs from one request for permission to record a lesson."""

    created_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class Figure:
    """A published figure that is not a count (a median)."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the report: an introduction, figures and tables."""

    title: str
    intro: str
    tables: tuple[CountTable, ...] = ()
    figures: tuple[Figure, ...] = ()


@dataclass(frozen=True, slots=True)
class GovernorsReport:
    """The anonymised report for governors: only suppressed counts and medians."""

    school: str
    period: Period
    generated_at: datetime
    threshold: int
    sections: tuple[Section, ...] = field(default=())

    def table(self, key: str) -> CountTable:
        """The table called ``key``.

        Raises:
            KeyError: there is no such table.
        """
        for section in self.sections:
            for table in section.tables:
                if table.key == key:
                    return table
        raise KeyError(key)


def suppression_words(threshold: int) -> str:
    """The method, in words, for the report's footnote."""
    if threshold <= 1:
        return "Every count is shown: the school has turned small-count suppression off."
    return (
        f"To protect the children and staff involved, a count from 1 to {threshold - 1} is "
        f'shown as "{fewer_than(threshold)}". Where a small count could otherwise be worked '
        f'out from a total, another count is also hidden ("{NOT_SHOWN}"); where even that is '
        "not enough, only the total is given. A median is shown only for a group whose number "
        f"is shown, and only when taken over at least {threshold} concerns. No names, "
        "references or words written by staff or pupils appear in this report."
    )


def report_as_dict(report: GovernorsReport) -> dict[str, Any]:
    """The report as plain JSON data (``summary.json``): hidden counts are ``null``."""

    def cell(c: Cell) -> dict[str, Any]:
        return {"label": c.label, "count": c.value, "shown": c.text, "hidden": c.hidden.value}

    return {
        "school": report.school,
        "period": {
            "label": report.period.label,
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
        },
        "generated_at": report.generated_at.isoformat(timespec="minutes"),
        "small_count_threshold": report.threshold,
        "method": suppression_words(report.threshold),
        "sections": [
            {
                "title": s.title,
                "figures": [{"label": f.label, "shown": f.text} for f in s.figures],
                "tables": [
                    {
                        "key": t.key,
                        "title": t.title,
                        "total": cell(t.total),
                        "withheld": t.withheld,
                        "rows": [cell(c) for c in t.cells],
                        "note": t.note,
                    }
                    for t in s.tables
                ],
            }
            for s in report.sections
        ],
    }


def with_section(report: GovernorsReport, section: Section) -> GovernorsReport:
    """``report`` with one more section at the end."""
    return replace(report, sections=(*report.sections, section))
