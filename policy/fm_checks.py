"""Checks of the filtering and monitoring systems, and the record the school keeps of them.

The DfE's filtering and monitoring standards ("Meeting digital and technology standards in
schools and colleges") ask schools to check that filtering and monitoring work, to review the
provision at least once a year, and to keep a record of each check: when it took place, who
did it, what was tested or checked, and the actions that resulted. The policies say the same:
"checks on the filtering and monitoring system are carried out … e.g. using SWGfL Test
Filtering" (004 "Filtering and monitoring"), "kept up to date and tested at least termly" and
"reviewed at least annually" (000 §3.5), "regular checks are made to ensure that the filtering
methods selected are effective and appropriate" (001 §7.3).

Pure rules: what a check covers, what makes a record complete, and when the next one is due.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

#: Record kind and reference prefix (``FMC-2026-0001``).
KIND = "fm_check"
PREFIX = "FMC"

#: What every check covers, in the order a checker goes through them. A school can add its own
#: items (``[filtering_checks] extra_items``); these are never taken away.
STANDARD_ITEMS: dict[str, str] = {
    "test_sites": "Test sites are blocked (e.g. SWGfL Test Filtering)",
    "illegal_lists": "The IWF and police (CTIRU) lists are applied by the provider",
    "alerts_reach_dsl": "Monitoring raises alerts and they reach the DSL",
    "devices_covered": "Every school device and network is covered (new devices, guest Wi-Fi)",
    "apps_covered": "Apps and other non-browser services are filtered in line with the policy",
    "block_lists": "Block lists still match the school's safeguarding risks",
    "not_over_blocking": "Filtering does not get in the way of teaching",
    "staff_know": "Staff know how to report a concern or a blocked site",
}


class Result(StrEnum):
    """What a checker found for one item."""

    WORKING = "working"
    PROBLEM = "problem"
    NOT_CHECKED = "not_checked"


RESULT_WORDS: dict[Result, str] = {
    Result.WORKING: "Working",
    Result.PROBLEM: "Problem found",
    Result.NOT_CHECKED: "Not checked this time",
}

#: The longest a school may go between checks (DfE: reviewed at least once a year).
LONGEST_MONTHS = 12
LIMITS = {"found": 1000, "actions": 1000}


@dataclass(frozen=True, slots=True)
class FmCheck:
    """One recorded check of the filtering and monitoring systems."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    ref: str
    by_id: str
    by_name: str
    recorded_at: datetime
    #: The day the check took place (it may be recorded a day or two later).
    checked_on: date
    #: Item -> result, for every item the school's list had when it was recorded.
    results: dict[str, Result]
    #: The item labels as they were then (so a renamed or removed extra item still reads).
    labels: dict[str, str] = field(default_factory=dict)
    #: What was found (required when any item has a problem).
    found: str = ""
    #: The actions that resulted (required when any item has a problem).
    actions: str = ""
    next_due: date | None = None

    @property
    def problems(self) -> list[str]:
        """The labels of the items with a problem, in the record's order."""
        return [self.label(i) for i, r in self.results.items() if r is Result.PROBLEM]

    @property
    def not_checked(self) -> list[str]:
        """The labels of the items left unchecked."""
        return [self.label(i) for i, r in self.results.items() if r is Result.NOT_CHECKED]

    def label(self, item: str) -> str:
        """An item's words."""
        return self.labels.get(item) or STANDARD_ITEMS.get(item, item)


def check_items(extra: Sequence[str] = ()) -> dict[str, str]:
    """Every item a check covers: the standard ones, then the school's own (``extra_1``…)."""
    items = dict(STANDARD_ITEMS)
    for number, words in enumerate(extra, start=1):
        items[f"extra_{number}"] = words
    return items


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_next_due(checked_on: date, interval_months: int) -> date:
    """When the next check is due by default: ``interval_months`` after this one."""
    return add_months(checked_on, interval_months)


def validate_check(
    values: Mapping[str, str], items: Mapping[str, str], today: date
) -> tuple[dict[str, str], dict[str, Result], date, date]:
    """Check a submitted record; return the problems by field (empty when it can be kept),
    the results, the day of the check and the next due date.

    Every item needs a result; a problem found needs what was found and the actions taken; the
    check cannot be in the future or more than a year ago; the next check must be after today
    and at most a year after the check (DfE: at least annually).
    """
    problems: dict[str, str] = {}
    results: dict[str, Result] = {}
    for item in items:
        try:
            results[item] = Result(values.get(item, ""))
        except ValueError:
            problems[item] = "Choose what you found."
    checked_on = _day(values.get("checked_on", ""))
    if checked_on is None:
        problems["checked_on"] = "Give the day of the check."
        checked_on = today
    elif checked_on > today:
        problems["checked_on"] = "The check cannot be in the future."
    elif add_months(checked_on, 12) < today:
        problems["checked_on"] = "Record checks within a year of doing them."
    next_due = _day(values.get("next_due", ""))
    latest = add_months(checked_on, LONGEST_MONTHS)
    if next_due is None:
        problems["next_due"] = "Give the day the next check is due."
        next_due = latest
    elif next_due <= today:
        problems["next_due"] = "The next check must be after today."
    elif next_due > latest:
        problems["next_due"] = (
            f"The next check must be within {LONGEST_MONTHS} months "
            "(the DfE standards ask for a review at least once a year)."
        )
    if Result.PROBLEM in results.values():
        if not values.get("found", "").strip():
            problems["found"] = "Say what was wrong."
        if not values.get("actions", "").strip():
            problems["actions"] = "Say what is being done about it, and by whom."
    if results and all(r is Result.NOT_CHECKED for r in results.values()):
        problems[next(iter(items))] = "Check at least one thing before recording a check."
    return problems, results, checked_on, next_due


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def latest(checks: Sequence[FmCheck]) -> FmCheck | None:
    """The most recent check (by the day it took place, then when it was recorded)."""
    return max(checks, key=lambda c: (c.checked_on, c.recorded_at), default=None)


def overdue_days(checks: Sequence[FmCheck], today: date) -> int | None:
    """Days past the latest check's due date (0 when due today), or None when not yet due.

    With no check on record at all, a check is due (0).
    """
    last = latest(checks)
    if last is None or last.next_due is None:
        return 0
    return (today - last.next_due).days if today >= last.next_due else None
