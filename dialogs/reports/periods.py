"""The periods a report covers: the terms and years offered in Teams, and a typed date range."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from dialogs.codec import text_field
from policy.reporting import (
    Period,
    ReportError,
    academic_year_of,
    current_term,
    range_period,
    term_period,
    year_period,
)
from policy.school import SchoolPolicy


def period_choices(school: SchoolPolicy, today: date) -> tuple[list[tuple[str, str]], str]:
    """The periods a governors' report can cover, as (value, title), and the one to suggest:
    every term in the policy file, and each academic year they fall in."""
    choices: list[tuple[str, str]] = [
        (f"term:{t.name}", f"Term: {t.name}") for t in sorted(school.terms, key=lambda t: t.start)
    ]
    years = sorted({academic_year_of(t.start) for t in school.terms} | {academic_year_of(today)})
    choices += [(f"year:{y}", f"Academic year {y}") for y in years]
    term = current_term(school, today)
    suggested = f"term:{term.label}" if term else f"year:{academic_year_of(today)}"
    return choices, suggested


def period_from_choice(value: str, school: SchoolPolicy) -> Period:
    """The period a ``period_choices`` value names.

    Raises:
        ReportError: the value names no period.
    """
    kind, _, name = value.partition(":")
    if kind == "term":
        return term_period(school, name)
    if kind == "year":
        return year_period(name)
    raise ReportError("choose a term or a year")


_text = text_field


@dataclass(frozen=True, slots=True)
class _Range:
    period: Period | None
    problems: dict[str, str]


def _parse_range(data: Mapping[str, Any]) -> _Range:
    problems: dict[str, str] = {}
    days: dict[str, date] = {}
    for key in ("from", "to"):
        try:
            days[key] = date.fromisoformat(_text(data, key))
        except ValueError:
            problems[key] = "Give a date."
    if problems:
        return _Range(None, problems)
    try:
        return _Range(range_period(days["from"], days["to"]), {})
    except ReportError as exc:
        return _Range(None, {"to": f"{str(exc)[:1].upper()}{str(exc)[1:]}."})
