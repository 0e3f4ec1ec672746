"""Records for the review pack and the governors' report: the alerts and their outcomes, the
sensitive-lesson notices, as CSV (never the pupil, their device or what they typed).
"""

from __future__ import annotations

from collections.abc import Sequence

from policy.monitoring import (
    STATUS_WORDS,
    LessonNotice,
    MonitoringAlert,
)
from policy.school import SchoolPolicy
from policy.text import csv_text

ALERT_COLUMNS = (
    "reference",
    "first_received",
    "provider",
    "category",
    "severity",
    "alerts_counted",
    "outcome",
    "decided_at",
    "concern",
    "expected_lesson_notice",
)
NOTICE_COLUMNS = ("reference", "date", "start", "end", "class", "topic", "reason", "given_by")


def alerts_csv(alerts: Sequence[MonitoringAlert], school: SchoolPolicy) -> str:
    """The monitoring alerts and their outcomes for the review pack, one row per card: never
    the pupil, their device, what they typed or viewed, or a note someone wrote."""
    zone = school.zone

    def row(alert: MonitoringAlert) -> tuple[str, ...]:
        provider = school.monitoring.provider(alert.provider)
        decided = alert.history[-1].at.astimezone(zone) if alert.history else None
        return (
            alert.ref,
            alert.received_at.astimezone(zone).isoformat(timespec="minutes"),
            provider.name if provider else alert.provider,
            alert.category,
            alert.severity.value,
            str(alert.count),
            STATUS_WORDS[alert.status],
            decided.isoformat(timespec="minutes") if decided else "",
            alert.concern_ref,
            alert.notice_ref,
        )

    return csv_text(ALERT_COLUMNS, (row(alert) for alert in alerts))


def notices_csv(notices: Sequence[LessonNotice]) -> str:
    """The sensitive-lesson notices for the review pack, one row per notice."""
    return csv_text(
        NOTICE_COLUMNS,
        (
            (
                n.ref,
                n.day.isoformat(),
                f"{n.start:%H:%M}",
                f"{n.end:%H:%M}",
                n.class_name,
                n.topic_label,
                n.reason,
                n.teacher_name,
            )
            for n in notices
        ),
    )
