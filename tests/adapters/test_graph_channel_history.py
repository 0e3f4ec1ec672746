"""GraphPostFinder: reading the safeguarding team's channel back through the real msgraph-sdk.

Before the outbox posts a card again after a crash or a lost answer, it asks whether the first
attempt reached the channel. The finder lists the channel's messages (newest change first) and
looks for the outbox marker in the cards' JSON; it must find the post wherever the listing
puts it, never mistake another card's marker for it, stop once the listing is older than the
attempt, and turn Graph's refusals into ``DeliveryFailed`` (the outbox then waits and asks
again rather than posting blind).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.messenger import MARKER_PREFIX, marked_card
from dialogs.ports import DeliveryFailed
from graph.channel_history import MAX_PAGES, PAGE_SIZE, GraphPostFinder
from tests.graphdouble.harness import GraphHarness, graph_harness
from tests.graphdouble.tenant import ChannelPost

TEAM = "5c400000-0000-4000-8000-000000000200"
DSL = "19:dsl@thread.tacv2"
IT = "19:it@thread.tacv2"
MESSAGES = rf"/teams/{TEAM}/channels/[^/]+/messages"
MARKER = "msg-00000000-0000-4000-8000-0000000000a1"
CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "Concern OSC-2026-0001: needs a decision"}],
}


@pytest.fixture
async def graph() -> AsyncIterator[GraphHarness]:
    async with graph_harness() as harness:  # two messages to a page, so paging shows
        yield harness


def finder(graph: GraphHarness, timeout: float = 10.0) -> GraphPostFinder:
    found = GraphPostFinder(graph.client, TEAM, mark_prefix=MARKER_PREFIX, timeout=timeout)
    found._warm = asyncio.get_running_loop().create_future()
    found._warm.set_result(None)  # as once ``prepare`` has run at start-up
    return found


def ago(graph: GraphHarness, minutes: float) -> datetime:
    return graph.clock.now() - timedelta(minutes=minutes)


def post(
    graph: GraphHarness, minutes_ago: float, marker: str | None = None, channel: str = DSL
) -> ChannelPost:
    """A card in the channel, posted ``minutes_ago`` (carrying ``marker`` if given)."""
    return graph.tenant.add_channel_post(
        TEAM, channel, created=ago(graph, minutes_ago), cards=[marked_card(CARD, marker)]
    )


async def test_the_post_carrying_the_marker_is_found_on_the_first_page(
    graph: GraphHarness,
) -> None:
    post(graph, 3, "msg-other")
    wanted = post(graph, 2, MARKER)

    found = await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert found == wanted.id
    [asked] = graph.double.seen(MESSAGES, "GET")
    assert asked.path == f"/teams/{TEAM}/channels/{DSL}/messages"
    assert asked.query["$top"] == str(PAGE_SIZE)


async def test_the_post_is_found_on_a_later_page(graph: GraphHarness) -> None:
    wanted = post(graph, 4, MARKER)
    for minutes in (3.5, 3, 2.5, 2, 1):  # five newer posts: it is on the third page of two
        post(graph, minutes, f"msg-newer-{minutes}")

    found = await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert found == wanted.id
    pages = graph.double.seen(MESSAGES, "GET")
    assert len(pages) == 3
    assert [p.query.get("$skiptoken") for p in pages] == [None, "2", "4"]


async def test_a_post_edited_since_is_listed_by_its_change_and_still_found(
    graph: GraphHarness,
) -> None:
    # Teams lists the most recently changed first: a card updated a moment ago comes first,
    # even though it was posted before the others.
    wanted = graph.tenant.add_channel_post(
        TEAM,
        DSL,
        created=ago(graph, 4),
        modified=ago(graph, 0.5),
        cards=[marked_card(CARD, MARKER)],
    )
    for minutes in (3, 2, 1):
        post(graph, minutes)

    found = await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert found == wanted.id
    assert graph.double.count(MESSAGES, "GET") == 1


async def test_no_post_with_the_marker_is_none_and_paging_stops_at_older_posts(
    graph: GraphHarness,
) -> None:
    for minutes in (60, 50, 40):  # before the attempt
        post(graph, minutes, "msg-old")
    for minutes in (3, 2, 1):  # after it, but someone else's
        post(graph, minutes, "msg-other")

    found = await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert found is None
    # Page 1 holds two new posts, page 2 the last new one and the first older one: the listing
    # has gone back past the attempt, so the third page is never asked for.
    assert graph.double.count(MESSAGES, "GET") == 2


async def test_an_empty_channel_is_one_request_and_none(graph: GraphHarness) -> None:
    assert await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5)) is None
    assert graph.double.count(MESSAGES, "GET") == 1


async def test_a_busy_channel_is_read_for_at_most_max_pages(graph: GraphHarness) -> None:
    for n in range(3 * MAX_PAGES):  # every one newer than the attempt, none carrying it
        post(graph, 1 + n / 100, f"msg-busy-{n}")

    found = await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert found is None
    assert graph.double.count(MESSAGES, "GET") == MAX_PAGES


async def test_a_marker_that_begins_another_markers_id_does_not_match(
    graph: GraphHarness,
) -> None:
    post(graph, 2, MARKER + "1")  # "…a1" + "1": the wanted id is a prefix of this one
    post(graph, 1, "x" + MARKER)  # and a suffix of this one

    assert await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5)) is None


async def test_only_the_asked_channel_is_read(graph: GraphHarness) -> None:
    post(graph, 2, MARKER, channel=IT)

    assert await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5)) is None
    [asked] = graph.double.seen(MESSAGES, "GET")
    assert asked.path == f"/teams/{TEAM}/channels/{DSL}/messages"


async def test_a_thread_conversation_id_reads_its_channel(graph: GraphHarness) -> None:
    wanted = post(graph, 2, MARKER)

    found = await finder(graph).find_post(
        f"{DSL};messageid=1700000000000", MARKER, since=ago(graph, 5)
    )

    assert found == wanted.id


async def test_a_missing_rsc_grant_fails_delivery_naming_the_permission(
    graph: GraphHarness,
) -> None:
    post(graph, 2, MARKER)
    graph.double.fail(MESSAGES, 403)

    with pytest.raises(DeliveryFailed) as failed:
        await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert "ChannelMessage.Read.Group" in failed.value.reason
    assert "HTTP 403" in failed.value.reason
    assert "admin consent" not in failed.value.reason  # an RSC grant comes with the install
    assert failed.value.retry_after is None


async def test_graph_unavailable_fails_delivery_with_its_retry_after(graph: GraphHarness) -> None:
    post(graph, 2, MARKER)
    graph.double.fail(MESSAGES, 503, times=None, retry_after=30)

    with pytest.raises(DeliveryFailed) as failed:
        await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert "unavailable" in failed.value.reason
    assert failed.value.retry_after == 30


async def test_a_failure_on_a_later_page_fails_delivery_rather_than_answering_none(
    graph: GraphHarness,
) -> None:
    post(graph, 4, MARKER)  # on page 2, which cannot be read
    for minutes in (3, 2, 1):
        post(graph, minutes, "msg-other")
    graph.double.fail(MESSAGES, 503, times=None, after=1)  # page 1 is read, page 2 is not

    with pytest.raises(DeliveryFailed):
        await finder(graph).find_post(DSL, MARKER, since=ago(graph, 5))

    assert graph.double.seen(MESSAGES, "GET")[-1].query["$skiptoken"] == "2"


async def test_a_slow_graph_fails_delivery_in_time(graph: GraphHarness) -> None:
    graph.double.slow(MESSAGES, 2.0)

    with pytest.raises(DeliveryFailed) as failed:
        await finder(graph, timeout=0.2).find_post(DSL, MARKER, since=ago(graph, 5))

    assert "in time" in failed.value.reason
