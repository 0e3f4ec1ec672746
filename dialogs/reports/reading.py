"""Reading the records the reports count: concerns, filter exceptions, over-blocking reports,
call checks, recording requests, monitoring alerts; and the governors' report built from them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from dialogs.kinds import concern as concern_kind
from dialogs.kinds import filter_request as filter_kind
from dialogs.kinds import monitoring, overblocking
from dialogs.kinds.fm_checks import decode as fm_check_of
from dialogs.kinds.video_call import CALL_CHECK_KIND, RECORDING_KIND
from dialogs.ports import Record, Store
from policy.categories import Category, Route
from policy.concerns import Concern
from policy.filtering import FilterRequest
from policy.fm_checks import KIND as FM_CHECK_KIND
from policy.overblocking import OverblockReport
from policy.reporting import (
    CallCheckFact,
    GovernorsReport,
    Period,
    RecordingFact,
    governors_report,
    monitoring_section,
    with_section,
)
from policy.school import SchoolPolicy

log = logging.getLogger(__name__)


def category_of(school: SchoolPolicy, concern: Concern) -> Category:
    """The concern's category (a category the school no longer has counts as "other")."""
    return school.category_or_other(concern.category)


def for_the_dsl(concern: Concern, school: SchoolPolicy) -> bool:
    """Whether the concern belongs in the DSL's lists (not a concern about staff)."""
    return category_of(school, concern).route is not Route.HEADTEACHER


async def load_concerns(store: Store) -> list[tuple[Record, Concern]]:
    """Every concern with its record."""
    return [(r, concern_kind.decode(r)) for r in await store.find(concern_kind.KIND)]


async def load_filter_requests(store: Store) -> list[FilterRequest]:
    """Every filter-exception request."""
    return [filter_kind.decode(r) for r in await store.find(filter_kind.KIND)]


async def load_overblocking_reports(store: Store) -> list[OverblockReport]:
    """Every over-blocking report (issue 21)."""
    return [overblocking.decode(r) for r in await store.find(overblocking.KIND)]


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _time_and_word(
    record: Record, what: str, time_key: str, word_key: str
) -> tuple[datetime, str] | None:
    """A stored record's time and one word of it (a verdict, a status), or None (logged: it is
    left out) when either cannot be read."""
    at = _when(record.data.get(time_key))
    word = record.data.get(word_key)
    if at is None or not isinstance(word, str):
        log.warning(f"{what} %s has no readable time or {word_key}; left out", record.id)
        return None
    return at, word


def call_check_fact(record: Record) -> CallCheckFact | None:
    """The counts-only facts of a stored video-call check, or None if it cannot be read."""
    found = _time_and_word(record, "call check", "checked_at", "verdict")
    return None if found is None else CallCheckFact(checked_at=found[0], verdict=found[1])


def recording_fact(record: Record) -> RecordingFact | None:
    """The counts-only facts of a stored request for permission to record, or None."""
    found = _time_and_word(record, "recording request", "created_at", "status")
    return None if found is None else RecordingFact(created_at=found[0], status=found[1])


async def build_governors_report(
    store: Store, school: SchoolPolicy, period: Period, now: datetime
) -> GovernorsReport:
    """Read every record the governors' report counts and build it (anonymised)."""
    checks = [call_check_fact(r) for r in await store.find(CALL_CHECK_KIND)]
    recordings = [recording_fact(r) for r in await store.find(RECORDING_KIND)]
    report = governors_report(
        school=school,
        period=period,
        generated_at=now,
        concerns=[c for _, c in await load_concerns(store)],
        filter_requests=await load_filter_requests(store),
        call_checks=[c for c in checks if c is not None],
        recordings=[r for r in recordings if r is not None],
        overblocking_reports=await load_overblocking_reports(store),
        fm_checks=[fm_check_of(r) for r in await store.find(FM_CHECK_KIND)],
    )
    # Monitoring alerts and sensitive-lesson notices (issue 21), where the school has them.
    alerts = await monitoring.load_alerts(store)
    notices = await monitoring.load_notices(store)
    if school.monitoring.providers or alerts or notices:
        section = monitoring_section(
            monitoring.alert_facts(alerts),
            monitoring.notice_facts(notices),
            school=school,
            period=period,
        )
        report = with_section(report, section)
    return report
