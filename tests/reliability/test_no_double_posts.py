"""A channel card is posted once, even when Teams took a post but the bot never heard back.

The Bot Connector has no idempotency key. When a post is cut off after Teams took it (a lost
answer here; a ``kill -9`` in the crash harness), the outbox marks the message before sending
and, before trying again, reads the channel back (Graph's channel messages; here the fake
connector's stand-in for it, ``LOCAL_GRAPH_URL``) for the unseen marker the card carries.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from dialogs.outbox import READ_TRIES
from dialogs.ports import FixedClock
from tests.conftest import Harness, local_env
from tests.e2e.test_concern_over_http import button, report
from tests.support import (
    DSL,
    DSL_CHANNEL,
    ROOT,
    FakeConnector,
    assert_valid_card,
    visible_text,
)


@pytest.fixture
async def reading(tmp_path: Path, connector: FakeConnector) -> AsyncIterator[Harness]:
    """The harness, with the bot able to read channels back through the fake connector."""
    settings = load_settings(local_env(tmp_path / "data", LOCAL_GRAPH_URL=connector.url + "v1.0"))
    connector.clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    running = Harness(settings, connector, connector.clock)
    await running.start()
    # The fake connector answers only after taking a post: nothing is still on its way when the
    # bot hears "504", so the bot need not wait before reading the channel.
    running.parts.worker.in_flight_grace = 0.0
    yield running
    await running.stop()


def channel_posts(h: Harness) -> list[dict[str, Any]]:
    return h.connector.to(DSL_CHANNEL)


async def outbox(h: Harness) -> list[Any]:
    return await h.parts.store.find("outbox")


async def report_with_answer_lost(h: Harness) -> None:
    """A concern is reported; Teams takes its channel card but answers "504"."""
    h.connector.lose_answers = [504]
    await report(h, "cyberbullying")
    await h.settle()


async def retry(h: Harness) -> None:
    """Let the outbox's backoff pass and deliver what is due."""
    h.advance(minutes=10)
    await h.settle()


async def test_a_post_teams_took_without_answering_is_found_not_posted_again(
    reading: Harness,
) -> None:
    await report_with_answer_lost(reading)
    assert len(channel_posts(reading)) == 1  # Teams has it; the bot was told "504"
    [pending] = await outbox(reading)
    assert pending.data["sending_at"]

    await retry(reading)

    assert len(channel_posts(reading)) == 1
    assert reading.connector.graph_reads >= 1
    assert await outbox(reading) == []
    # The post found is the one later changes go to: the DSL's acknowledgement updates it.
    card = channel_posts(reading)[0]["attachments"][0]["content"]
    await reading.click(
        DSL,
        "concern.ack",
        button(card, "concern.ack"),
        scope="channel",
        conversation_id=DSL_CHANNEL,
    )
    await reading.settle()
    assert reading.connector.updated
    assert {u["_message"] for u in reading.connector.updated} == {channel_posts(reading)[0]["_id"]}


async def test_a_request_given_up_on_is_left_time_to_arrive_before_the_channel_is_read(
    reading: Harness,
) -> None:
    reading.parts.worker.in_flight_grace = 3600.0
    await report_with_answer_lost(reading)

    await retry(reading)  # due again, but the abandoned request may still be on its way

    assert reading.connector.graph_reads == 0
    assert len(channel_posts(reading)) == 1
    assert len(await outbox(reading)) == 1

    reading.parts.worker.in_flight_grace = 0.0
    await retry(reading)

    assert len(channel_posts(reading)) == 1
    assert await outbox(reading) == []


async def test_a_card_found_after_the_item_moved_on_is_brought_up_to_date(
    reading: Harness,
) -> None:
    await report_with_answer_lost(reading)
    card = channel_posts(reading)[0]["attachments"][0]["content"]
    # The DSL acknowledges before the bot knows where its card is: no update can go yet.
    await reading.click(
        DSL,
        "concern.ack",
        button(card, "concern.ack"),
        scope="channel",
        conversation_id=DSL_CHANNEL,
    )
    await reading.settle()

    await retry(reading)  # the card is found, and then updated to the current state

    assert len(channel_posts(reading)) == 1
    [update] = reading.connector.updated
    assert update["_message"] == channel_posts(reading)[0]["_id"]
    assert "Acknowledged" in visible_text(update["attachments"][0]["content"])
    assert await outbox(reading) == []


async def test_the_mark_survives_a_restart(reading: Harness) -> None:
    await report_with_answer_lost(reading)
    await reading.restart()

    await retry(reading)

    assert len(channel_posts(reading)) == 1
    assert await outbox(reading) == []


async def test_the_marker_is_unseen_and_the_card_still_valid(reading: Harness) -> None:
    await report(reading, "cyberbullying")
    await reading.settle()
    [post] = channel_posts(reading)
    card = post["attachments"][0]["content"]
    assert_valid_card(card)
    [marker] = [e for e in card["body"] if str(e.get("id", "")).startswith("delivery-")]
    assert marker["isVisible"] is False
    assert marker["id"].removeprefix("delivery-") not in visible_text(card)


async def test_a_clear_refusal_is_retried_without_reading_the_channel(reading: Harness) -> None:
    reading.connector.fail_status = 500
    await report(reading, "cyberbullying")
    await reading.settle()
    reading.connector.fail_status = None

    await retry(reading)

    assert len(channel_posts(reading)) == 1
    assert reading.connector.graph_reads == 0


async def test_a_read_that_fails_once_is_asked_again_not_answered_with_a_second_card(
    reading: Harness,
) -> None:
    """Issue 22: under load, 12 DSL cards went out twice in the 30% fault run: each read of the
    channel ran out of time on the busy machine, and the outbox took "cannot read" to mean
    "post again". A failed read says nothing about the channel: it is asked again."""
    reading.connector.graph_fail_status = 503
    await report_with_answer_lost(reading)

    await retry(reading)  # the read fails: no second card, the message waits

    assert len(channel_posts(reading)) == 1
    assert len(await outbox(reading)) == 1
    reading.connector.graph_fail_status = None
    await retry(reading)  # the read works: the card Teams took is found

    assert len(channel_posts(reading)) == 1
    assert await outbox(reading) == []


async def test_an_unreadable_channel_means_a_second_card_rather_than_none(
    reading: Harness,
) -> None:
    reading.connector.graph_fail_status = 503
    await report_with_answer_lost(reading)

    for _ in range(READ_TRIES):  # asked again each time, then posted anyway
        await retry(reading)

    assert len(channel_posts(reading)) == 2
    assert await outbox(reading) == []


async def test_without_a_way_to_read_the_channel_delivery_is_at_least_once(
    harness: Harness,
) -> None:
    await report_with_answer_lost(harness)

    await retry(harness)

    assert len(channel_posts(harness)) == 2  # a second card rather than none
    assert harness.connector.graph_reads == 0
    assert await outbox(harness) == []


async def test_a_read_back_not_ready_yet_waits_and_never_posts_a_second_card(
    reading: Harness,
) -> None:
    """Issue 22: under load one DSL card went out twice. The first read-back after a start
    built Graph's models inside the read's time limit; on a busy machine that ran out, the
    read counted as "cannot read the channel", and the card was posted again although Teams
    had it. Until the reader is ready the post waits instead."""
    finder = reading.parts.worker.finder
    finder._warm = asyncio.get_running_loop().create_future()  # still being built
    await report_with_answer_lost(reading)

    await retry(reading)

    assert len(channel_posts(reading)) == 1
    assert reading.connector.graph_reads == 0
    assert len(await outbox(reading)) == 1

    finder._warm.set_result(None)  # ready now
    await retry(reading)

    assert len(channel_posts(reading)) == 1  # found, not posted again
    assert await outbox(reading) == []


async def test_after_a_restart_a_busy_channel_is_read_back_only_to_just_before_the_attempt(
    reading: Harness,
) -> None:
    """Issue 22 item 11: after kill -9 rounds, submissions stalled for a moment after each
    restart: every post marked in flight had the busy channel read five minutes back (20 pages
    of 50, all parsed on the event loop). The local stand-in shares this machine's clock, so a
    few seconds back is enough: one page."""
    earlier = (reading.clock.now() - timedelta(minutes=1)).isoformat()
    for n in range(300):  # the cards of the minute before, in the same channel
        reading.connector.posted.append(
            {"_conversation": DSL_CHANNEL, "_id": f"earlier-{n}", "_sent": earlier}
        )
    await report_with_answer_lost(reading)
    reading.connector.posted.pop()  # the attempt never reached Teams after all
    await reading.restart()
    reading.connector.graph_reads = 0

    await retry(reading)

    assert reading.connector.graph_reads == 1  # one page, not six
    assert len([p for p in channel_posts(reading) if p.get("attachments")]) == 1
    assert await outbox(reading) == []


PROBE = """
import asyncio, json, sys, tempfile, threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_settings
from bot.services import build_people_services
from dialogs.ports import FixedClock, NotReadYet
from tests.conftest import local_env
from tests.support import DSL_CHANNEL, FakeConnector

on_loop = []


class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.startswith("msgraph.") and threading.current_thread() is threading.main_thread():
            on_loop.append(name)


async def run():
    connector = FakeConnector()
    await connector.start()
    connector.posted.append({
        "_conversation": DSL_CHANNEL, "_id": "p1", "_sent": datetime.now(UTC).isoformat(),
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                         "content": {"type": "AdaptiveCard"}}],
    })
    data = Path(tempfile.mkdtemp()) / "data"
    settings = load_settings(local_env(data, LOCAL_GRAPH_URL=connector.url + "v1.0"))
    people = build_people_services(settings, FixedClock())
    people.start()
    sys.meta_path.insert(0, Spy())
    since = datetime.now(UTC) - timedelta(seconds=5)
    for _ in range(3000):  # "not yet" while the models are built in a thread
        try:
            await people.finder.find_post(DSL_CHANNEL, "marker", since)
            break
        except NotReadYet:
            await asyncio.sleep(0.05)
    await people.close()
    await connector.stop()
    print(json.dumps(on_loop))


asyncio.run(run())
"""


def test_the_first_read_back_builds_the_graph_sdks_models_off_the_event_loop() -> None:
    """Issue 22 item 11: the first channel read-back after a start parsed Graph's answer on the
    event loop, importing about 1,200 of the SDK's model modules there (a second or more with
    no turn answered). They are built in a worker thread first. A fresh interpreter, so
    nothing is imported yet."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    on_loop = json.loads(result.stdout.strip().splitlines()[-1])
    assert on_loop == [], f"{len(on_loop)} modules imported on the event loop: {on_loop[:5]}"
