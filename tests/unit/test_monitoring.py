"""Monitoring alerts and lesson notices as rules and cards (issue 21)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from cards.monitoring import (
    alert_channel_card,
    alert_detail_card,
    alert_urgent_card,
    notice_channel_card,
    notice_form,
    notice_received_card,
)
from policy.monitoring import (
    AlertStatus,
    AlertTransitionError,
    ContentKind,
    LessonNotice,
    Malformed,
    MonitoringAlert,
    Severity,
    Unauthorised,
    decide_alert,
    is_urgent,
    may_group,
    notice_covers,
    parse_alert,
    short_name,
    sign,
    verify,
)
from policy.reporting import AlertFact, NoticeFact, monitoring_section, year_period
from policy.roles import Person, Role
from policy.school import Monitoring, MonitoringProvider
from tests.support import assert_valid_card, everything, visible_text

NOW = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
SECRET = b"a-secret-of-at-least-thirty-two-bytes!!"
SCHOOL = load_school_policy(DEFAULT_SCHOOL_CONFIG)


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "evt-1",
        "pupil": {"id": "5c400000-0000-4000-8000-000000000001"},
        "device": "LAPTOP-1",
        "occurred_at": "2026-11-23T10:04:00Z",
        "category": "Extremism",
        "severity": "medium",
        "content": {"kind": "viewed", "text": "a page"},
    }
    data.update(changes)
    return data


def test_a_signature_over_timestamp_and_body_is_accepted() -> None:
    stamp = str(int(NOW.timestamp()))
    verify(SECRET, stamp, b"{}", sign(SECRET, stamp, b"{}"), NOW)


@pytest.mark.parametrize(
    ("stamp_offset", "signed_body", "why"),
    [
        (0, b"{ }", "bad signature"),
        (-301, b"{}", "stale timestamp"),
        (301, b"{}", "stale timestamp"),
    ],
)
def test_a_wrong_or_stale_signature_is_refused(
    stamp_offset: int, signed_body: bytes, why: str
) -> None:
    stamp = str(int(NOW.timestamp()) + stamp_offset)
    with pytest.raises(Unauthorised, match=why):
        verify(SECRET, stamp, b"{}", sign(SECRET, stamp, signed_body), NOW)


def test_no_secret_or_no_timestamp_is_refused() -> None:
    with pytest.raises(Unauthorised):
        verify(b"", "1", b"{}", "sha256=00", NOW)
    with pytest.raises(Unauthorised):
        verify(SECRET, "", b"{}", sign(SECRET, "", b"{}"), NOW)


def test_the_documented_format_is_read() -> None:
    alert = parse_alert(body(console_url="https://console.example/a/1"))
    assert alert.severity is Severity.MEDIUM and alert.kind is ContentKind.VIEWED
    assert alert.console_url == "https://console.example/a/1"


@pytest.mark.parametrize(
    "changes",
    [
        {"screenshot": "x"},
        {"content": {"kind": "typed", "text": "x", "thumbnail": "x"}},
        {"content": {"kind": "typed", "text": "data:image/jpeg;base64,AAAA"}},
        {"pupil": {"id": "x", "photo": "x"}},
        {"extra": 1},
        {"severity": "HIGH!"},
        {"occurred_at": "2026-11-23T10:04:00"},  # no offset
        {"console_url": "http://console.example/"},  # not https
        {"device": "x" * 201},
        {"tags": ["a"]},
        {"pupil": {"id": "../../users"}},
        {"pupil": {"upn": "not an address"}},
    ],
)
def test_anything_else_is_malformed(changes: dict[str, Any]) -> None:
    with pytest.raises(Malformed):
        parse_alert(body(**changes))


def test_critical_is_always_urgent_whatever_the_school_says() -> None:
    settings = Monitoring(urgent_severities=())
    assert is_urgent(Severity.CRITICAL, settings)
    assert not is_urgent(Severity.HIGH, settings)
    assert is_urgent(Severity.HIGH, Monitoring())


def test_school_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="group_window_minutes"):
        Monitoring(group_window_minutes=0)
    with pytest.raises(ValueError, match="urgent_severities"):
        Monitoring(urgent_severities=("severe",))
    with pytest.raises(ValueError, match="secret_env"):
        MonitoringProvider("demo", "Demo", "not a variable!")


def alert(**changes: Any) -> MonitoringAlert:
    data: dict[str, Any] = {
        "ref": "MON-2026-0001",
        "provider": "demo",
        "provider_alert_id": "evt-1",
        "pupil_id": "5c400000-0000-4000-8000-000000000001",
        "pupil_upn": "",
        "device": "LAPTOP-CANARY",
        "category": "Extremism",
        "severity": Severity.MEDIUM,
        "kind": ContentKind.TYPED,
        "text": "typed CANARY words",
        "console_url": "https://console.example/1",
        "occurred_at": NOW - timedelta(minutes=1),
        "received_at": NOW,
        "urgent": False,
        "group_key": "k",
    }
    data.update(changes)
    return MonitoringAlert(**data)


def test_grouping_stops_after_the_window_a_decision_or_for_an_urgent_alert() -> None:
    window = timedelta(minutes=30)
    first = alert()
    assert may_group(first, urgent=False, at=NOW + timedelta(minutes=29), window=window)
    assert not may_group(first, urgent=False, at=NOW + timedelta(minutes=31), window=window)
    assert not may_group(first, urgent=True, at=NOW, window=window)
    handled = decide_alert(first, AlertStatus.MONITORING, by_id="d", by_name="D", at=NOW)
    assert not may_group(handled, urgent=False, at=NOW, window=window)


def test_a_false_positive_needs_a_reason_and_a_closed_alert_stays_closed() -> None:
    with pytest.raises(AlertTransitionError):
        decide_alert(alert(), AlertStatus.FALSE_POSITIVE, by_id="d", by_name="D", at=NOW)
    closed = decide_alert(
        alert(), AlertStatus.FALSE_POSITIVE, by_id="d", by_name="D", at=NOW, reason="homework"
    )
    with pytest.raises(AlertTransitionError):
        decide_alert(closed, AlertStatus.MONITORING, by_id="d", by_name="D", at=NOW)


def notice(**changes: Any) -> LessonNotice:
    data: dict[str, Any] = {
        "ref": "MLN-2026-0001",
        "teacher_id": "t",
        "teacher_name": "Daniel Okafor",
        "class_name": "Year 10",
        "topic": "extremism",
        "topic_label": "extremism",
        "day": date(2026, 11, 23),
        "start": time(10, 0),
        "end": time(11, 0),
        "reason": "Prevent",
        "created_at": NOW - timedelta(days=1),
    }
    data.update(changes)
    return LessonNotice(**data)


def test_a_notice_covers_its_class_topic_and_lesson_only() -> None:
    topic = SCHOOL.monitoring.topic("extremism")
    assert topic is not None

    def covers(category: str, at: datetime, form: str, year: str) -> bool:
        return notice_covers(
            notice(),
            topic,
            category=category,
            at=at,
            form=form,
            year_group=year,
            zone=SCHOOL.zone,
        )

    assert covers("Radicalisation", NOW, "10C", "Year 10")
    assert not covers("Bullying", NOW, "10C", "Year 10")
    assert not covers("Extremism", NOW, "9A", "Year 9")
    assert not covers("Extremism", NOW + timedelta(hours=1), "10C", "Year 10")
    assert short_name("Daniel Okafor") == "D. Okafor"


def test_alert_cards_are_valid_and_the_channel_never_names_the_pupil() -> None:
    shown = alert(count=12, expected="Expected: Year 10 lesson on extremism, notice by D. Okafor")
    channel = alert_channel_card(shown, SCHOOL, version=3)
    urgent = alert_urgent_card(shown, SCHOOL, version=3)
    pupil = Person("p1", "Ava CANARY", frozenset({Role.PUPIL}), "Year 8", "8B")
    detail = alert_detail_card(shown, pupil, SCHOOL, version=3)
    for card in (channel, urgent, detail):
        assert_valid_card(card)
    for card in (channel, urgent):
        assert "CANARY" not in everything(card)
    assert "12 alerts since 10:04" in everything(channel)
    assert "notice by D. Okafor" in visible_text(channel)
    assert "Ava CANARY" in visible_text(detail) and "typed CANARY words" in visible_text(detail)


def test_notice_cards_are_valid() -> None:
    form = notice_form(SCHOOL, form_id="f", today=date(2026, 11, 23), problems={"topic": "x"})
    for card in (form, notice_received_card(notice()), notice_channel_card(notice())):
        assert_valid_card(card)


def test_the_report_section_suppresses_small_counts() -> None:
    at = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
    facts = [AlertFact(at, "false_positive", "low", 1, False) for _ in range(5)]
    facts.append(AlertFact(at, "escalated", "critical", 4, True))
    notices = [NoticeFact(at, "extremism")]
    section = monitoring_section(facts, notices, school=SCHOOL, period=year_period("2026-27"))
    tables = {t.key: t for t in section.tables}
    outcome = {c.label: c.text for c in tables["monitoring_alerts_by_outcome"].cells}
    assert outcome["Escalated to a concern"] == "fewer than 3"
    assert outcome["False positive"] == "not shown"
    assert tables["monitoring_alerts_by_outcome"].total.text == "6"
    assert tables["lesson_notices_by_topic"].withheld
