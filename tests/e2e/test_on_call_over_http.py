"""Out-of-hours cover end to end (issue 20; 000 §12.2, 004 "DO NOT DELAY"): real HTTP into
/api/messages, the real botbuilder adapter and TinyDB files, a fake Bot Connector that keeps
what reached Teams, and the clock moved (never waited on). An urgent concern at 19:00 on a
Saturday reaches the person on call first and, unacknowledged, climbs the chain to the
headteacher, each step on the channel card and in the chronology, across a restart;
acknowledging stops it. A staff allegation's LADO clock fires and stops when "LADO informed"
is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import Harness
from tests.e2e.test_concern_over_http import report
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    assert_valid_card,
    button,
    click_button,
    dm,
    visible_text,
)


async def drain(h: Harness) -> None:
    """Tick the outbox until nothing due is left (a message to a role first becomes one
    message per holder, so a tick can deliver nothing and still leave work)."""
    for _ in range(30):
        await h.settle()
        due = [
            r
            for r in await h.parts.store.find("outbox")
            if datetime.fromisoformat(r.data["next_at"]) <= h.clock.now()
        ]
        if not due:
            return


def channel_card_now(h: Harness) -> dict[str, Any]:
    """The DSL channel card as Teams shows it now: the post, as last updated."""
    [post] = [
        a for a in h.connector.posted if a["_conversation"] == DSL_CHANNEL and a.get("attachments")
    ]
    updates = [u for u in h.connector.updated if u["_message"] == post["_id"]]
    card = dict((updates[-1] if updates else post)["attachments"][0]["content"])
    assert_valid_card(card)
    return card


def cards_to(h: Harness, person: str) -> list[dict[str, Any]]:
    return h.connector.cards(dm(person))


async def chronology(h: Harness, ref: str) -> list[str]:
    record = await h.parts.store.get("concern", ref)
    return [f"{e['kind']}: {e['text']}" for e in record.data["chronology"]]


async def test_saturday_evening_cover_climbs_to_the_headteacher_and_the_lado_clock_runs(
    harness: Harness,
) -> None:
    h = harness
    h.clock.at = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)  # Saturday 19:00 (GMT)
    received = await report(h, "grooming")
    assert "Received: OSC-2026-0001" in visible_text(received)
    await drain(h)

    # First to the person on call at weekends (Tom Hughes, deputy DSL), and the channel.
    assert len(cards_to(h, DEPUTY_DSL)) == 1
    assert cards_to(h, DSL) == [] and cards_to(h, HEADTEACHER) == []
    assert "Alerted directly: Tom Hughes 19:00. Not acknowledged yet." in visible_text(
        channel_card_now(h)
    )

    # Nobody acknowledges: every 15 minutes a step up (on call, deputies, DSL, headteacher).
    reached: list[str] = []
    for minute, person in ((15, DEPUTY_DSL), (30, DEPUTY_DSL), (45, DSL), (60, HEADTEACHER)):
        if minute == 30:
            await h.restart()  # timers are kept in the store: the chain carries on
        h.clock.at = datetime(2026, 11, 28, 19, 0, tzinfo=UTC).replace(
            hour=19 + minute // 60, minute=minute % 60
        )
        before = {p: len(cards_to(h, p)) for p in (DSL, DEPUTY_DSL, HEADTEACHER)}
        await drain(h)
        grew = [p for p in before if len(cards_to(h, p)) > before[p]]
        assert grew == [person], minute
        reached.append(visible_text(channel_card_now(h)))

    assert "Alerted directly: Tom Hughes 19:00, Tom Hughes 19:15." in reached[0]
    assert "Fiona Blake 19:45" in reached[2] and "Helen Carter" not in reached[2]
    assert (
        "Alerted directly: Tom Hughes 19:00, Tom Hughes 19:15, Tom Hughes 19:30, "
        "Fiona Blake 19:45, "
        "Helen Carter 20:00. Not acknowledged yet."
    ) in reached[3]
    lines = await chronology(h, "OSC-2026-0001")
    assert "alerted: Sent to Tom Hughes (on call: weekends)" in lines
    assert "escalated: Sent to Helen Carter (not acknowledged, step 4 of 4)" in lines
    assert sum(1 for line in lines if line.startswith("escalated:")) == 4

    # The headteacher acknowledges from the reminder in their chat: the chain stops.
    seen = await click_button(h, HEADTEACHER, cards_to(h, HEADTEACHER)[-1], "concern.ack")
    assert "Helen Carter: Acknowledged" in visible_text(seen)
    await drain(h)
    assert "Handled by Helen Carter" in visible_text(channel_card_now(h))
    assert "Not acknowledged yet" not in visible_text(channel_card_now(h))
    quiet = len(h.connector.posted)
    h.advance(hours=2)
    await drain(h)
    assert len(h.connector.posted) == quiet

    # A concern about a member of staff: the LADO must be contacted within one working day.
    await report(h, "staff_conduct")  # Saturday 22:00: due Monday 22:00
    await drain(h)
    private = cards_to(h, HEADTEACHER)[-1]
    await click_button(h, HEADTEACHER, private, "concern.ack")
    before = len(cards_to(h, HEADTEACHER))
    h.clock.at = datetime(2026, 11, 30, 21, 59, tzinfo=UTC)
    await drain(h)
    assert len(cards_to(h, HEADTEACHER)) == before
    h.clock.at = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    await drain(h)
    [reminder] = cards_to(h, HEADTEACHER)[before:]
    assert "The LADO has not been recorded as informed." in visible_text(reminder)
    assert (
        "lado_reminder: Sent to Helen Carter (the LADO has not been recorded as informed)"
        in await chronology(h, "OSC-2026-0002")
    )

    done = await h.click(
        HEADTEACHER,
        "concern.action",
        {**button(reminder, "concern.action"), "action": "lado_informed"},
    )
    assert "LADO informed" in visible_text(done)
    h.advance(days=2)
    await drain(h)
    assert len(cards_to(h, HEADTEACHER)) == before + 1  # recorded: no more reminders
    actions = [e.action for e in await h.parts.store.audit_log()]
    assert actions.count("concern.escalate") == 4 and actions.count("concern.lado_reminder") == 1
