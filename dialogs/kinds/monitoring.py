"""Monitoring alerts and sensitive-lesson notices, as stored, and what reports read of them."""

from __future__ import annotations

from collections.abc import Sequence

from dialogs.codec import RecordCodec
from dialogs.ports import Store
from policy.monitoring import LessonNotice, MonitoringAlert
from policy.reporting import AlertFact, NoticeFact

KIND = "monitoring_alert"
NOTICE_KIND = "lesson_notice"
#: One record per group key (provider, pupil, category): the card identical alerts count on.
BURST_KIND = "monitoring_burst"
#: One record per accepted signature: the same signed request again is a replay.
NONCE_KIND = "monitoring_nonce"
#: ``MON-2026-0001`` (an alert), ``MLN-2026-0001`` (a lesson notice).
PREFIX, NOTICE_PREFIX = "MON", "MLN"

CODEC: RecordCodec[MonitoringAlert] = RecordCodec(KIND, MonitoringAlert)
NOTICE_CODEC: RecordCodec[LessonNotice] = RecordCodec(NOTICE_KIND, LessonNotice)
encode, decode, subject_of = CODEC.encode, CODEC.decode, CODEC.subject


async def load_alerts(store: Store) -> list[MonitoringAlert]:
    """Every monitoring alert card, oldest first."""
    return sorted((decode(r) for r in await store.find(KIND)), key=lambda a: (a.received_at, a.ref))


async def load_notices(store: Store) -> list[LessonNotice]:
    """Every sensitive-lesson notice, oldest first."""
    found = [NOTICE_CODEC.decode(r) for r in await store.find(NOTICE_KIND)]
    return sorted(found, key=lambda n: (n.created_at, n.ref))


def alert_facts(alerts: Sequence[MonitoringAlert]) -> list[AlertFact]:
    """What the governors' report counts of each alert (no pupil, nothing typed or viewed)."""
    return [
        AlertFact(a.received_at, a.status.value, a.severity.value, a.count, bool(a.expected))
        for a in alerts
    ]


def notice_facts(notices: Sequence[LessonNotice]) -> list[NoticeFact]:
    """What the governors' report counts of each notice."""
    return [NoticeFact(n.created_at, n.topic_label) for n in notices]
