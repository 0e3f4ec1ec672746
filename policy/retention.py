"""How long records are kept (brief, "Data": child-protection files are commonly kept until the
child's date of birth + 25 years; everything else for the school's configured periods).

The bot is not told children's dates of birth. A year group bounds them: a child in Year N in
the school year starting on 1 September Y was born between 1 September Y-N-5 and 31 August
Y-N-4, so keeping until the youngest possible child's 25th birthday never deletes a record
early. Without a year group, the configured period applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Retention:
    """The school's retention periods (its retention policy)."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    #: A concern whose child's age cannot be told from the year group.
    concern_years_without_age: int = 25
    #: A concern about a member of staff (LADO guidance: at least 10 years).
    staff_concern_years: int = 10
    filter_request_years: int = 3
    call_record_years: int = 2
    #: Monitoring alerts and sensitive-lesson notices (issue 21). An alert escalated to a
    #: concern lives on in the concern, which is kept as concerns are.
    monitoring_years: int = 3

    def __post_init__(self) -> None:
        for name in (
            "concern_years_without_age",
            "staff_concern_years",
            "filter_request_years",
            "call_record_years",
            "monitoring_years",
        ):
            if not 1 <= getattr(self, name) <= 100:
                raise ValueError(f"retention.{name} must be between 1 and 100 years")


def _plus_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def school_year_start(day: date) -> int:
    """The calendar year in which the school year containing ``day`` began (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def year_number(year_group: str) -> int | None:
    """Nursery -1, Reception 0, Year N -> N; None when it says nothing about age."""
    text = year_group.strip().lower()
    if text == "nursery":
        return -1
    if text == "reception":
        return 0
    match = re.fullmatch(r"year\s+(\d{1,2})", text)
    return int(match.group(1)) if match and 1 <= int(match.group(1)) <= 13 else None


def concern_keep_until(
    reported_on: date, year_group: str, rules: Retention, *, about_staff: bool = False
) -> date:
    """The last day a concern is kept: the youngest possible child's 25th birthday, else the
    configured period from the report."""
    if about_staff:
        return _plus_years(reported_on, rules.staff_concern_years)
    number = year_number(year_group)
    if number is None:
        return _plus_years(reported_on, rules.concern_years_without_age)
    youngest_birthday = date(school_year_start(reported_on) - number - 4, 8, 31)
    return _plus_years(youngest_birthday, 25)


def keep_until(kind: str, created: date, rules: Retention) -> date:
    """The last day a non-concern record is kept."""
    if kind == "monitoring_nonce":
        return created  # a signature is only needed for minutes (replays): gone the next day
    if kind in {"monitoring_alert", "lesson_notice"}:
        return _plus_years(created, rules.monitoring_years)
    # Over-blocking reports are filtering records: kept as long as the requests (issue 21).
    filtering = kind in {"filter_request", "overblock_report"}
    years = rules.filter_request_years if filtering else rules.call_record_years
    return _plus_years(created, years)
