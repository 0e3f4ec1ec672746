"""Concern timings for the reports: time to acknowledge and close, ages, medians, months."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from policy.concerns import Concern, ConcernStatus


def time_to_acknowledge(concern: Concern) -> timedelta | None:
    """From the report to its acknowledgement, or None while it is not acknowledged."""
    if concern.acknowledged_at is None:
        return None
    return max(concern.acknowledged_at - concern.created_at, timedelta(0))


def time_to_close(concern: Concern) -> timedelta | None:
    """From the report to its closing, or None while it is open."""
    if concern.closed_at is None:
        return None
    return max(concern.closed_at - concern.created_at, timedelta(0))


def age(concern: Concern, now: datetime) -> timedelta:
    """How long ago the concern was reported."""
    return max(now - concern.created_at, timedelta(0))


def open_items(concerns: Iterable[Concern]) -> list[Concern]:
    """Concerns not yet closed (new or acknowledged), oldest first."""
    return sorted(
        (c for c in concerns if c.status is not ConcernStatus.CLOSED),
        key=lambda c: (c.created_at, c.ref),
    )


def median_duration(values: Iterable[timedelta]) -> timedelta | None:
    """The median of ``values``, or None when there are none."""
    seconds = [v.total_seconds() for v in values]
    if not seconds:
        return None
    return timedelta(seconds=statistics.median(seconds))


def duration_words(value: timedelta) -> str:
    """A duration as people say it: ``under a minute``, ``40 min``, ``3 h 5 min``, ``4.5 days``."""
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = value.total_seconds() / 86400
    return f"{days:.1f} days"


def hours_text(value: timedelta | None) -> str:
    """Hours with two decimals for a spreadsheet (``0.25``), or ``""`` when there is none."""
    return "" if value is None else f"{value.total_seconds() / 3600:.2f}"


def month_of(at: datetime, zone: ZoneInfo) -> date:
    """The first day of the month ``at`` falls in, in school time."""
    return at.astimezone(zone).date().replace(day=1)


def month_words(month: date) -> str:
    """``Nov 2026``."""
    return f"{month:%b %Y}"
