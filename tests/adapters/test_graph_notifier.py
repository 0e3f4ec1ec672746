"""GraphNotifier: activity-feed alerts through the real msgraph-sdk, within 5 per second.

Graph allows ``sendActivityNotification`` 5 requests per second per app per tenant. The figure
that matters is measured where Graph would measure it: at the double, on arrival.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from dialogs.ports import DeliveryFailed
from graph.notifier import GraphNotifier, SlidingWindowLimiter, bot_chat_link
from tests.graphdouble.harness import GraphHarness, graph_harness

APP_ID = "5c400000-0000-4000-8000-00000000b07a"
DSL = "5c400000-0000-4000-8000-000000000006"
DEPUTY = "5c400000-0000-4000-8000-000000000007"
SEND = r"/users/[^/]+/teamwork/sendActivityNotification"


@pytest.fixture
async def graph() -> AsyncIterator[GraphHarness]:
    async with graph_harness() as harness:
        yield harness


def notifier(graph: GraphHarness, timeout: float = 10.0) -> GraphNotifier:
    return GraphNotifier(graph.client, bot_app_id=APP_ID, timeout=timeout)


async def alert(notify: GraphNotifier, person: str = DSL, ref: str = "OSC-2026-0001") -> None:
    await notify.notify(
        person,
        title=f"Urgent concern {ref} needs acknowledging",
        preview=f"{ref}: open the Online Safety app to read it.",
        item_ref=ref,
    )


async def test_an_alert_is_sent_with_a_link_to_the_bot_and_no_detail(graph: GraphHarness) -> None:
    await alert(notifier(graph))

    [sent] = graph.double.seen(SEND, "POST")
    assert sent.path == f"/users/{DSL}/teamwork/sendActivityNotification"
    assert sent.body["activityType"] == "urgentItem"
    assert sent.body["topic"] == {
        "source": "text",
        "value": "Urgent concern OSC-2026-0001 needs acknowledging",
        "webUrl": bot_chat_link(APP_ID),
    }
    assert "28%3A" + APP_ID in sent.body["topic"]["webUrl"]
    assert sent.body["previewText"]["content"].startswith("OSC-2026-0001")
    assert {p["name"] for p in sent.body["templateParameters"]} == {"title", "reference"}


async def test_the_preview_is_capped_at_what_teams_shows(graph: GraphHarness) -> None:
    await notifier(graph).notify(DSL, title="t", preview="x" * 500, item_ref="OSC-1")

    [sent] = graph.double.seen(SEND, "POST")
    assert len(sent.body["previewText"]["content"]) == 150


class RecordingLimiter(SlidingWindowLimiter):
    """The real limiter, noting the moment (on its own clock) it let each request go."""

    def __init__(self) -> None:
        super().__init__()
        self.granted: list[float] = []

    async def acquire(self) -> None:
        await super().acquire()
        self.granted.append(self._sent[-1])  # no await in between: this request's moment


async def test_twenty_alerts_keep_to_five_per_second(graph: GraphHarness) -> None:
    limiter = RecordingLimiter()
    notify = GraphNotifier(graph.client, bot_app_id=APP_ID, limiter=limiter, timeout=60.0)
    count = 20

    started = time.monotonic()
    await asyncio.gather(
        *(alert(notify, DSL if n % 2 else DEPUTY, f"OSC-2026-{n:04d}") for n in range(count))
    )
    elapsed = time.monotonic() - started

    arrivals = sorted(s.at for s in graph.double.seen(SEND, "POST"))
    busiest = max(sum(1 for b in arrivals if a <= b < a + 1.0) for a in arrivals)
    print(
        f"\n{count} alerts in {elapsed:.2f}s (at least {(count - 5) / 5:.1f}s at 5/s); "
        f"busiest second at Graph: {busiest} requests"
    )
    assert len(arrivals) == count
    assert elapsed >= (count - 5) / 5
    # Counted where the bot lets requests go, on the limiter's clock: arrival times at the
    # double (printed above) also carry this test machine's scheduling delays, which on a busy
    # machine can bunch two seconds' requests into one.
    sent = limiter.granted
    assert len(sent) == count
    assert max(sum(1 for b in sent if a <= b < a + 1.0) for a in sent) <= 5


async def test_a_throttled_alert_reports_retry_after_and_pauses_the_limiter(
    graph: GraphHarness,
) -> None:
    graph.double.fail(SEND, 429, retry_after=7)
    notify = notifier(graph)

    with pytest.raises(DeliveryFailed) as failed:
        await alert(notify)

    assert failed.value.retry_after == 7
    assert "throttled" in failed.value.reason
    assert graph.double.count(SEND) == 1  # 7s is too long to wait inside one delivery
    # Nothing more goes to Graph until the 7 seconds have passed.
    with pytest.raises(DeliveryFailed, match="in time"):
        await notifier_sharing(graph, notify, timeout=0.3).notify(
            DEPUTY, title="t", preview="p", item_ref="OSC-2"
        )
    assert graph.double.count(SEND) == 1


def notifier_sharing(graph: GraphHarness, other: GraphNotifier, timeout: float) -> GraphNotifier:
    return GraphNotifier(graph.client, bot_app_id=APP_ID, limiter=other.limiter, timeout=timeout)


async def test_a_missing_permission_is_named(graph: GraphHarness) -> None:
    graph.double.fail(SEND, 403)

    with pytest.raises(DeliveryFailed, match=r"TeamsActivity\.Send") as failed:
        await alert(notifier(graph))

    assert failed.value.retry_after is None


async def test_graph_down_is_a_delivery_failure(graph: GraphHarness) -> None:
    graph.double.fail(SEND, 503, times=None)

    with pytest.raises(DeliveryFailed, match="unavailable"):
        await alert(notifier(graph))


async def test_a_slow_graph_is_a_delivery_failure_in_bounded_time(graph: GraphHarness) -> None:
    graph.double.slow(SEND, 6.0)

    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="in time"):
        await alert(notifier(graph, timeout=0.3))

    assert time.monotonic() - started < 5.0  # the bound, not the 6 s answer


async def test_an_unknown_recipient_is_a_delivery_failure(graph: GraphHarness) -> None:
    with pytest.raises(DeliveryFailed, match="404"):
        await alert(notifier(graph), person="5c400000-0000-4000-8000-000000000099")


async def test_a_malformed_recipient_never_reaches_graph(graph: GraphHarness) -> None:
    with pytest.raises(DeliveryFailed):
        await alert(notifier(graph), person="someone@example.com/../../x")

    assert graph.double.count() == 0


async def test_the_limiter_alone_counts_a_sliding_window() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(limit=5, period=1.0, monotonic=lambda: now[0])
    for _ in range(5):
        await limiter.acquire()

    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0.05)
    assert not waiter.done()  # a sixth within the same second waits
    now[0] = 1.0
    await asyncio.wait_for(waiter, 30.0)  # about 1 s; generous for a busy machine


def test_the_limiter_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindowLimiter(limit=0)
