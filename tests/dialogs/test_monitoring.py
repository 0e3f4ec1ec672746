"""Monitoring alerts and sensitive-lesson notices through the use-case layer (issue 21)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from dialogs.monitoring import BURST_KIND, KIND, NOTICE_KIND, MonitoringHandlers
from dialogs.reports import build_governors_report
from ops.retention import find_expired
from policy.reporting import report_as_dict, year_period
from tests.dialogs.conftest import School
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    IT,
    IT_CHANNEL,
    PUPIL,
    TEACHER,
    assert_valid_card,
    button,
    dm,
    everything,
    visible_text,
)

CHILD = "Ava Thompson"  # demo_id(1): Year 8, form 8B
TYPED = "how to join CANARY-4410 group"


def alert_body(n: int = 1, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"evt-{n}",
        "pupil": {"id": PUPIL, "upn": "ava.thompson@oakfield.example"},
        "device": "OAK-LAPTOP-17",
        "occurred_at": "2026-11-23T10:04:00+00:00",
        "category": "Extremism",
        "severity": "medium",
        "content": {"kind": "typed", "text": TYPED},
        "console_url": "https://console.monitor.example/alerts/evt-1",
    }
    body.update(changes)
    return body


def sig(n: int) -> str:
    return "sha256=" + f"{n:064x}"


async def send(school: School, n: int = 1, **changes: Any) -> tuple[int, dict[str, Any]]:
    handlers = MonitoringHandlers(school.deps)
    got = await handlers.receive("demo", sig(n), alert_body(n, **changes))
    return got.status, dict(got.body)


def in_dsl_channel() -> dict[str, str]:
    return {"scope": "channel", "conversation_id": f"{DSL_CHANNEL};messageid=1"}


async def test_an_alert_becomes_a_dsl_channel_card_without_the_childs_name(school: School) -> None:
    status, body = await send(school)
    assert status == 202 and body["status"] == "received"
    await school.settle()
    [card] = school.messenger.shown(DSL_CHANNEL)
    assert_valid_card(card)
    text = everything(card)
    assert "Monitoring alert MON-2026-0001" in visible_text(card)
    assert "Extremism" in text and "1 alert at 10:04" in text
    for private in (CHILD, "Ava", TYPED, "OAK-LAPTOP", "ava.thompson"):
        assert private not in text
    assert not [c for c in school.messenger.conversations() if c.startswith("a:")]  # no 1:1s


async def test_open_shows_the_detail_to_the_dsl_only(school: School) -> None:
    await send(school)
    await school.settle()
    [card] = school.messenger.shown(DSL_CHANNEL)
    data = button(card, "alert.open")
    detail = await school.click(DSL, "alert.open", data, **in_dsl_channel())
    assert_valid_card(detail)
    assert CHILD in visible_text(detail) and TYPED in visible_text(detail)
    assert "8B" in visible_text(detail)
    refused = await school.click(TEACHER, "alert.open", data, **in_dsl_channel())
    assert CHILD not in everything(refused)
    refused_it = await school.click(IT, "alert.open", data, **in_dsl_channel())
    assert CHILD not in everything(refused_it)
    audit = await school.audit()
    assert any(e.actor == TEACHER and e.outcome.startswith("refused") for e in audit)


async def test_fifty_identical_alerts_make_one_card_with_a_count(school: School) -> None:
    for n in range(1, 51):
        school.advance(seconds=20)
        status, _ = await send(school, n)
        assert status == 202
    await school.settle()
    cards = school.messenger.shown(DSL_CHANNEL)
    assert len(cards) == 1
    assert "50 alerts since 10:04" in everything(cards[0])
    assert len(school.messenger.cards(DSL_CHANNEL)) == 1  # one post, updated
    assert len(await school.find(KIND)) == 1
    assert len(school.messenger.updated) < 50


async def test_identical_alerts_arriving_together_are_counted_on_one_card(school: School) -> None:
    handlers = MonitoringHandlers(school.deps)
    got = await asyncio.gather(
        *(handlers.receive("demo", sig(n), alert_body(n)) for n in range(1, 31))
    )
    assert {g.status for g in got} == {202}
    [record] = await school.find(KIND)
    assert record.data["count"] == 30


async def test_identical_alerts_after_the_window_start_a_new_card(school: School) -> None:
    await send(school, 1)
    school.advance(minutes=31)
    await send(school, 2)
    await school.settle()
    assert len(school.messenger.shown(DSL_CHANNEL)) == 2


async def test_a_different_category_is_its_own_card(school: School) -> None:
    await send(school, 1)
    await send(school, 2, category="Bullying")
    await school.settle()
    assert len(school.messenger.shown(DSL_CHANNEL)) == 2


async def test_a_critical_alert_is_urgent_for_the_dsl_and_deputies(school: School) -> None:
    await send(school, severity="critical")
    await school.settle()
    [card] = school.messenger.shown(DSL_CHANNEL)
    assert "URGENT: Monitoring alert" in visible_text(card)
    for lead in (DSL, DEPUTY_DSL):
        [alert] = [m for m in school.messenger.to(dm(lead)) if m.card]
        assert "URGENT monitoring alert" in visible_text(dict(alert.card or {}))
        assert CHILD not in everything(dict(alert.card or {}))
    assert any(person == DSL for person, *_ in school.notifier.sent)


async def test_a_high_alert_at_night_goes_to_whoever_is_on_call_who_may_open_it(
    school: School,
) -> None:
    school.advance(hours=13)  # Monday 23:00: the demo school's out-of-hours cover
    await send(school, severity="high")
    await school.settle()
    [alert] = [m for m in school.messenger.to(dm(HEADTEACHER)) if m.card]
    card = dict(alert.card or {})
    assert "URGENT monitoring alert" in visible_text(card)
    assert CHILD not in everything(card)
    assert not [m for m in school.messenger.to(dm(DSL)) if m.card]  # not on call now
    assert any(person == HEADTEACHER for person, _ in school.notifier.sent)
    detail = await school.click(HEADTEACHER, "alert.open", button(card, "alert.open"))
    assert CHILD in visible_text(detail)
    refused = await school.click(TEACHER, "alert.open", button(card, "alert.open"))
    assert CHILD not in everything(refused)


async def test_a_routine_alert_is_for_the_dsl_team_only(school: School) -> None:
    await send(school, severity="low")
    await school.settle()
    [card] = school.messenger.shown(DSL_CHANNEL)
    refused = await school.click(HEADTEACHER, "alert.open", button(card, "alert.open"))
    assert CHILD not in everything(refused)


async def test_an_urgent_alert_nobody_acts_on_is_chased_until_someone_does(
    school: School,
) -> None:
    await send(school, severity="critical")
    await school.settle()

    def urgent_cards() -> int:
        return len([m for m in school.messenger.to(dm(DSL)) if m.card])

    assert urgent_cards() == 1
    school.advance(minutes=16)
    await school.settle()
    assert urgent_cards() == 2
    await decide(school, "alert.monitor")
    school.advance(minutes=16)
    await school.settle()
    assert urgent_cards() == 2


async def test_a_replayed_signature_is_refused_and_stores_nothing(school: School) -> None:
    assert (await send(school, 1))[0] == 202
    status, _ = await send(school, 1, id="evt-other")
    assert status == 401
    assert len(await school.find(KIND)) == 1


async def test_a_provider_retry_of_the_same_alert_counts_once(school: School) -> None:
    handlers = MonitoringHandlers(school.deps)
    first = await handlers.receive("demo", sig(1), alert_body(1))
    again = await handlers.receive("demo", sig(2), alert_body(1))
    assert first.status == 202 and again.status == 200
    assert again.body["ref"] == first.body["ref"] == "MON-2026-0001"
    [record] = await school.find(KIND)
    assert record.data["count"] == 1


async def test_malformed_alerts_are_refused_and_store_nothing(school: School) -> None:
    bad = [
        {"id": "x"},
        alert_body(severity="apocalyptic"),
        alert_body(occurred_at="yesterday"),
        alert_body(screenshot="iVBORw0KGgo="),
        alert_body(content={"kind": "viewed", "text": "x", "image": "data:image/png;base64,AA"}),
        alert_body(content={"kind": "viewed", "text": "data:image/png;base64,AAAA"}),
        alert_body(console_url="javascript:alert(1)"),
        alert_body(pupil={}),
        [alert_body()],
    ]
    for n, body in enumerate(bad, start=1):
        got = await MonitoringHandlers(school.deps).receive("demo", sig(n), body)
        assert got.status == 400, body
    assert await school.find(KIND) == []
    assert await school.find(BURST_KIND) == []


async def notice(school: School, **changes: str) -> dict[str, Any]:
    form = await school.click(TEACHER, "notice.start")
    assert_valid_card(form)
    data = button(form, "notice.submit")
    fields = {
        "class_name": "8B",
        "topic": "extremism",
        "day": "2026-11-23",
        "start": "10:00",
        "end": "11:00",
        "reason": "Prevent lesson: how extremists recruit online",
    }
    fields.update(changes)
    return await school.click(TEACHER, "notice.submit", {**data, **fields})


async def test_a_notice_goes_to_the_dsl_and_it_channels(school: School) -> None:
    sent = await notice(school)
    assert_valid_card(sent)
    assert "Notice sent" in visible_text(sent)
    await school.settle()
    for channel in (DSL_CHANNEL, IT_CHANNEL):
        [card] = school.messenger.shown(channel)
        assert "Sensitive lesson notice" in visible_text(card)
        assert "8B" in visible_text(card)


async def test_a_notice_with_problems_is_shown_again_and_nothing_is_saved(school: School) -> None:
    form = await notice(school, topic="astrology", end="09:00")
    assert "Choose the topic" in visible_text(form)
    assert "end after it starts" in visible_text(form)
    assert await school.find(NOTICE_KIND) == []


async def test_an_alert_during_a_notice_says_it_was_expected(school: School) -> None:
    await notice(school)
    await send(school)
    await school.settle()
    card = school.messenger.latest(DSL_CHANNEL, "Monitoring alert")
    assert "Expected: 8B lesson on extremism, notice by D. Okafor" in visible_text(card)


async def test_an_alert_outside_the_lesson_is_not_expected(school: School) -> None:
    await notice(school, start="11:00", end="12:00")
    await send(school)
    await school.settle()
    card = school.messenger.latest(DSL_CHANNEL, "Monitoring alert")
    assert "Expected" not in visible_text(card)


async def decide(school: School, verb: str, **extra: str) -> dict[str, Any]:
    await school.settle()
    card = school.messenger.latest(DSL_CHANNEL, "Monitoring alert")
    data = button(card, verb)
    return await school.click(DSL, verb, {**data, **extra}, **in_dsl_channel())


async def test_false_positive_needs_a_reason_and_closes_the_alert(school: School) -> None:
    await send(school)
    without = await decide(school, "alert.false_positive")
    assert "say why" in visible_text(without).lower()
    done = await decide(school, "alert.false_positive", reason="Research for homework")
    assert "False positive" in visible_text(done)
    await school.settle()
    card = school.messenger.latest(DSL_CHANNEL, "Monitoring alert")
    assert "False positive" in visible_text(card)
    assert "alert.escalate" not in everything(card)


async def test_monitor_and_contact_are_recorded(school: School) -> None:
    await send(school)
    await decide(school, "alert.monitor")
    await school.settle()
    await decide(school, "alert.contact", reason="Form tutor to talk to them")
    [record] = await school.find(KIND)
    assert record.data["status"] == "contacted"
    actions = [e.action for e in await school.audit()]
    assert "alert.monitor" in actions and "alert.contact" in actions


async def test_escalate_creates_a_linked_concern(school: School) -> None:
    await send(school, category="Extremism", severity="high")
    shown = await decide(school, "alert.escalate")
    assert "OSC-2026-0001" in visible_text(shown)
    [concern] = await school.find("concern")
    assert concern.data["involved"] == CHILD
    assert concern.data["year_group"] == "Year 8"
    assert concern.data["category"] == "radicalisation"
    assert "MON-2026-0001" in concern.data["what_happened"]
    assert TYPED in concern.data["what_happened"]
    assert any("MON-2026-0001" in e["text"] for e in concern.data["chronology"])
    [alert] = await school.find(KIND)
    assert alert.data["concern_ref"] == "OSC-2026-0001"
    await school.settle()
    assert any(
        "Concern OSC-2026-0001" in visible_text(c) for c in school.messenger.shown(DSL_CHANNEL)
    )
    again = await decide(school, "alert.open")
    assert "alert.escalate" not in everything(again)


async def test_a_new_alert_after_a_decision_gets_its_own_card(school: School) -> None:
    await send(school, 1)
    await decide(school, "alert.monitor")
    school.advance(minutes=1)
    await send(school, 2)
    await school.settle()
    assert (
        len([c for c in school.messenger.shown(DSL_CHANNEL) if "Monitoring" in everything(c)]) == 2
    )


async def test_staff_find_the_sensitive_lesson_command(school: School) -> None:
    [reply] = await school.say(TEACHER, "sensitive lesson")
    assert reply.card is not None
    assert "Tell monitoring about a sensitive lesson" in visible_text(dict(reply.card))
    [help_reply] = await school.say(TEACHER, "help")
    assert "sensitive lesson" in everything(dict(help_reply.card or {}))


async def test_retention_removes_signatures_the_next_day_and_alerts_after_the_period(
    school: School,
) -> None:
    await send(school)
    today = school.clock.now().date()
    assert await find_expired(school.store, school.deps.school, today) == []
    next_day = await find_expired(school.store, school.deps.school, today + timedelta(days=1))
    assert [e.kind for e in next_day] == ["monitoring_nonce"]
    later = await find_expired(school.store, school.deps.school, today + timedelta(days=3 * 366))
    assert {e.kind for e in later} == {"monitoring_nonce", "monitoring_alert"}


async def test_the_governors_report_counts_alerts_and_notices_without_names(
    school: School,
) -> None:
    await notice(school)
    for n in range(1, 7):
        school.advance(minutes=40)  # each its own card
        await send(school, n)
    await decide(school, "alert.false_positive", reason="Homework research")
    report = await build_governors_report(
        school.store, school.deps.school, year_period("2026-27"), school.clock.now()
    )
    outcome = {c.label: c.text for c in report.table("monitoring_alerts_by_outcome").cells}
    assert report.table("monitoring_alerts_by_outcome").total.text == "6"
    assert outcome["False positive"] == "fewer than 3"
    assert report.table("lesson_notices_by_topic").total.text == "fewer than 3"
    text = everything(report_as_dict(report))
    assert CHILD not in text and TYPED not in text and "MON-2026" not in text
