"""Monitoring alerts end to end (issue 21): real HTTP into /api/monitoring/alerts, signed as a
provider signs them, the real bot and TinyDB files, and a fake Bot Connector."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings, load_settings
from policy.monitoring import sign
from tests.conftest import Harness, local_env
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    PUPIL,
    TEACHER,
    assert_valid_card,
    click_button,
    dm,
    everything,
    visible_text,
)

SECRET = "monitoring-secret-for-tests-0123456789abcdef"
CHILD = "Ava Thompson"  # the demo pupil: Year 8, form 8B
TYPED = "how to join CANARY-5521 group"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(local_env(tmp_path / "data", MONITORING_SECRET_DEMO=SECRET))


def alert(n: int = 1, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"evt-{n}",
        "pupil": {"id": PUPIL},
        "device": "OAK-LAPTOP-17",
        "occurred_at": "2026-11-23T10:04:00Z",
        "category": "Extremism",
        "severity": "medium",
        "content": {"kind": "typed", "text": TYPED},
        "console_url": "https://console.monitor.example/alerts/1",
    }
    body.update(changes)
    return body


async def post_alert(
    h: Harness,
    body: Any,
    *,
    secret: str | None = SECRET,
    timestamp: int | None = None,
    provider: str = "demo",
    raw: bytes | None = None,
) -> tuple[int, Any]:
    """POST ``body`` as the provider would: signed over the timestamp and the exact bytes."""
    data = raw if raw is not None else json.dumps(body).encode("utf-8")
    stamp = str(timestamp if timestamp is not None else int(h.clock.now().timestamp()))
    headers = {"Content-Type": "application/json", "X-Monitoring-Provider": provider}
    headers["X-Monitoring-Timestamp"] = stamp
    if secret is not None:
        headers["X-Monitoring-Signature"] = sign(secret.encode(), stamp, data)
    url = str(h._server.make_url("/api/monitoring/alerts"))  # type: ignore[union-attr]
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, (json.loads(text) if text else None)


@pytest.fixture
async def running(harness: Harness) -> Harness:
    """The bot once Teams has sent it a first message (so it knows where to post)."""
    assert await harness.say(DSL, "help") in (200, 201)
    return harness


async def stored(h: Harness) -> list[Any]:
    return await h.parts.store.find("monitoring_alert")


async def test_a_signed_alert_becomes_a_dsl_channel_card_without_the_childs_name(
    running: Harness,
) -> None:
    harness = running
    status, body = await post_alert(harness, alert())
    assert status == 202, body
    assert body["ref"] == "MON-2026-0001"
    await harness.settle()
    [card] = harness.connector.cards(DSL_CHANNEL)
    assert_valid_card(card)
    assert "Monitoring alert MON-2026-0001" in visible_text(card)
    for private in (CHILD, TYPED, "OAK-LAPTOP", PUPIL):
        assert private not in everything(card)
    detail = await click_button(harness, DSL, card, "alert.open", channel=DSL_CHANNEL)
    assert CHILD in visible_text(detail) and TYPED in visible_text(detail)
    refused = await click_button(harness, TEACHER, card, "alert.open", channel=DSL_CHANNEL)
    assert CHILD not in everything(refused)


async def test_unsigned_stale_replayed_and_malformed_alerts_store_nothing(running: Harness) -> None:
    harness = running
    now = int(harness.clock.now().timestamp())
    assert (await post_alert(harness, alert(), secret=None))[0] == 401
    assert (await post_alert(harness, alert(), secret="another-secret-" * 3))[0] == 401
    assert (await post_alert(harness, alert(), timestamp=now - 6 * 60))[0] == 401
    assert (await post_alert(harness, alert(), provider="stranger"))[0] == 401
    assert (await post_alert(harness, alert(severity="apocalyptic")))[0] == 400
    assert (await post_alert(harness, alert(screenshot="iVBORw0KGgo=")))[0] == 400
    assert (await post_alert(harness, None, raw=b"{not json"))[0] == 400
    assert (await post_alert(harness, None, raw=b"{" + b" " * 20000 + b"}"))[0] == 413
    assert await stored(harness) == []
    # A replay: the very same signed request again is refused, and nothing more is stored.
    data = json.dumps(alert(7)).encode()
    stamp = str(now)
    headers = {
        "Content-Type": "application/json",
        "X-Monitoring-Provider": "demo",
        "X-Monitoring-Timestamp": stamp,
        "X-Monitoring-Signature": sign(SECRET.encode(), stamp, data),
    }
    url = str(harness._server.make_url("/api/monitoring/alerts"))  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=data, headers=headers) as first:
            assert first.status == 202
        async with session.post(url, data=data, headers=headers) as again:
            assert again.status == 401
    [only] = await stored(harness)
    assert only.data["count"] == 1
    await harness.settle()
    assert len(harness.connector.cards(DSL_CHANNEL)) == 1


async def test_fifty_identical_alerts_make_one_card(running: Harness) -> None:
    harness = running
    for n in range(1, 51):
        harness.advance(seconds=10)
        status, _ = await post_alert(harness, alert(n))
        assert status == 202
    await harness.settle()
    cards = harness.connector.cards(DSL_CHANNEL)
    assert len(cards) == 1
    latest = harness.connector.updated[-1] if harness.connector.updated else None
    shown = latest["attachments"][0]["content"] if latest else cards[0]
    assert "50 alerts since 10:04" in everything(shown)
    assert len(harness.connector.updated) < 50


async def test_a_burst_of_identical_alerts_at_once_makes_one_card(running: Harness) -> None:
    harness = running
    answers = await asyncio.gather(*(post_alert(harness, alert(n)) for n in range(1, 21)))
    assert {status for status, _ in answers} == {202}
    [record] = await stored(harness)
    assert record.data["count"] == 20
    await harness.settle()
    assert len(harness.connector.cards(DSL_CHANNEL)) == 1


async def test_an_alert_during_a_notice_shows_the_notice(running: Harness) -> None:
    harness = running
    form = await harness.click(TEACHER, "notice.start")
    fields = {
        "class_name": "8B",
        "topic": "extremism",
        "day": "2026-11-23",
        "start": "10:00",
        "end": "11:00",
        "reason": "Prevent lesson",
    }
    sent = await click_button(harness, TEACHER, form, "notice.submit", **fields)
    assert "Notice sent" in visible_text(sent)
    assert (await post_alert(harness, alert()))[0] == 202
    await harness.settle()
    [card] = [
        c for c in harness.connector.cards(DSL_CHANNEL) if "Monitoring alert MON" in visible_text(c)
    ]
    assert "Expected: 8B lesson on extremism, notice by D. Okafor" in visible_text(card)


async def test_a_high_severity_alert_is_urgent(running: Harness) -> None:
    harness = running
    assert (await post_alert(harness, alert(severity="high")))[0] == 202
    await harness.settle()
    [card] = harness.connector.cards(DSL_CHANNEL)
    assert "URGENT: Monitoring alert" in visible_text(card)
    for lead in (DSL, DEPUTY_DSL):
        direct = harness.connector.cards(dm(lead))
        assert any("URGENT monitoring alert" in visible_text(c) for c in direct)
        assert CHILD not in everything(direct)


async def test_a_high_severity_alert_at_night_follows_the_on_call_path(running: Harness) -> None:
    harness = running
    harness.advance(hours=13)  # Monday 23:00: the demo school's out-of-hours cover
    assert (await post_alert(harness, alert(severity="high")))[0] == 202
    await harness.settle()
    [card] = harness.connector.cards(dm(HEADTEACHER))
    assert "URGENT monitoring alert" in visible_text(card)
    assert CHILD not in everything(card)
    assert harness.connector.cards(dm(DSL)) == []
    detail = await click_button(harness, HEADTEACHER, card, "alert.open")
    assert CHILD in visible_text(detail)


async def test_escalate_to_a_concern_creates_a_linked_concern(running: Harness) -> None:
    harness = running
    assert (await post_alert(harness, alert()))[0] == 202
    await harness.settle()
    [card] = harness.connector.cards(DSL_CHANNEL)
    shown = await click_button(harness, DSL, card, "alert.escalate", channel=DSL_CHANNEL)
    assert "OSC-2026-0001" in visible_text(shown)
    [concern] = await harness.parts.store.find("concern")
    assert concern.data["involved"] == CHILD
    assert "MON-2026-0001" in concern.data["what_happened"]
    [record] = await stored(harness)
    assert record.data["concern_ref"] == "OSC-2026-0001"
    await harness.settle()
    assert any(
        "Concern OSC-2026-0001" in visible_text(c) for c in harness.connector.cards(DSL_CHANNEL)
    )
