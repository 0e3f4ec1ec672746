"""Three bot processes on one PostgreSQL database, under a mixed load, with one of them killed
(``kill -9``) part-way: no item lost, no card or message delivered twice, one transition per item.

Each instance is a real ``python -m bot`` (local mode, its own port, the same DATABASE_URL);
Teams is the fake Bot Connector of ``tests.support``. The load runs journeys concurrently, each
spread over the instances as a load balancer would:

* concern reports (the two-step form), then the channel card's "Acknowledge" clicked by the DSL
  and the deputy DSL on all three instances at once;
* web-filter requests, then "Approve" clicked by IT on all three instances at once;

and instance 1 is killed once 40% of the journeys are done. An activity whose instance is gone
is sent again, unchanged (same activity id), to another, as Teams re-sends unanswered ones.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from dialogs.outbox import CLAIM_RULES, OUTBOX
from store.postgres_store import PostgresStore
from tests.e2e.test_concern_over_http import button, report_fields, submit_data
from tests.e2e.test_filter_over_http import GAME_REASON, data_of, form_fields
from tests.scale.cluster import Cluster, percentile
from tests.scale.postgres import fresh_database
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEAD_OF_DEPARTMENT,
    IT,
    IT_CHANNEL,
    TEACHER,
    TENANT,
    FakeConnector,
    card_texts,
    visible_text,
)

INSTANCES = 3
CONCERNS = 60
FILTERS = 20
CONCURRENCY = 8
KILLED = 1
KILL_AFTER = 0.4  # of the journeys done
CATEGORIES = ["cyberbullying", "grooming", "filtering_breach", "online_hate"]
REF = re.compile(r"\b(?:OSC|FLT)-\d{4}-\d{4}\b")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def posts_mentioning(connector: FakeConnector, conversation: str, ref: str) -> list[Any]:
    return [a for a in connector.to(conversation) if ref in json.dumps(a)]


async def wait_for_post(connector: FakeConnector, conversation: str, ref: str) -> dict[str, Any]:
    """The first card posted to ``conversation`` about ``ref`` (a killed instance's lease may
    hold it back for up to a lease, 30 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = posts_mentioning(connector, conversation, ref)
        if found:
            return dict(found[0]["attachments"][0]["content"])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no card about {ref} in {conversation}")


def today() -> date:
    """Today at the demo school (the bots run on the real clock)."""
    return datetime.now(ZoneInfo("Europe/London")).date()


def heading(activity: dict[str, Any]) -> str:
    for attachment in activity.get("attachments") or []:
        texts = card_texts(attachment["content"])
        if texts:
            return str(texts[0])
    return str(activity.get("text", ""))[:80]


async def test_three_instances_one_killed_lose_nothing_and_do_everything_once(
    postgres_url: str, tmp_path: Path, connector: FakeConnector
) -> None:
    started = time.monotonic()
    # Every instance can read a channel back (the connector's stand-in for Graph), as in
    # production, so a post cut off by the kill is found rather than made again.
    cluster = await Cluster.start(
        INSTANCES,
        postgres_url,
        tmp_path,
        connector.url,
        env={"LOCAL_GRAPH_URL": connector.url + "v1.0"},
    )
    booted = time.monotonic() - started
    try:
        # Teams talks to every instance (each learns the service URL it will post to).
        for index in range(INSTANCES):
            assert await cluster.say(TEACHER, "help", prefer=index) in (200, 201)
        figures = await run_load(cluster, connector)
        drained = await wait_until_delivered(postgres_url, connector)
    finally:
        await cluster.stop()
    logs = [i.log_text() for i in cluster.instances]

    store = await PostgresStore.open(postgres_url, tenant=TENANT, claim_rules=CLAIM_RULES)
    try:
        concerns = {r.id: r for r in await store.find("concern")}
        filters = {r.id: r for r in await store.find("filter_request")}
        audit = await store.audit_log()
        chain = await store.verify_audit()
    finally:
        await store.close()

    # No lost item: everything a user was told "received" is there, once.
    received_concerns, received_filters = figures["concern_refs"], figures["filter_refs"]
    assert len(set(received_concerns)) == CONCERNS
    assert set(concerns) == set(received_concerns)
    assert len(set(received_filters)) == FILTERS
    assert set(filters) == set(received_filters)
    # One transition per item, whichever instance each click reached.
    ok = Counter((e.action, e.item) for e in audit if e.outcome == "ok")
    for ref, record in concerns.items():
        assert ok[("concern.acknowledge", f"concern:{ref}")] == 1, ref
        assert (record.version, record.data["status"]) == (2, "acknowledged")
    for ref, record in filters.items():
        assert ok[("filter.approve", f"filter_request:{ref}")] == 1, ref
        assert record.data["status"] == "approved"
    assert chain.ok
    # Each card and message delivered exactly once. A channel post the killed instance had
    # handed to Teams but not recorded is found by reading the channel back, never posted
    # again. The one exception the design allows: a 1:1 message (or an update, which repeats
    # the same card) in flight at the kill (at most one: an instance sends one at a time) goes
    # again when its lease runs out.
    repeats = repeated_deliveries(connector, figures["killed_at"])
    assert repeats["unexplained"] == [], repeats
    assert len(repeats["in_flight_at_kill"]) <= 1, repeats
    assert not [
        entry
        for entry in repeats["in_flight_at_kill"]
        if entry[0] == "post" and str(entry[1]).startswith("19:")
    ], repeats
    for ref in concerns:
        assert len(posts_mentioning(connector, DSL_CHANNEL, ref)) == 1, ref
    # The channel cards ended up showing the acknowledgement (no update overtook its post).
    for ref in concerns:
        shown = sorted(
            (
                a
                for a in connector.posted + connector.updated
                if a["_conversation"] == DSL_CHANNEL and ref in json.dumps(a)
            ),
            key=lambda a: a["_at"],
        )
        assert "Acknowledged" in visible_text(shown[-1]["attachments"][0]["content"]), ref

    submits = [s for verb, _, s in cluster.timings if verb == "concern.submit"]
    delivered_by = [len(re.findall(r"INFO dialogs\.outbox: delivered ", log)) for log in logs]
    print(
        f"\nthree instances on PostgreSQL (booted in {booted:.1f}s; instance {KILLED} "
        f"killed with SIGKILL after {figures['killed_after']} of {CONCERNS + FILTERS} journeys)\n"
        f"  journeys: {CONCERNS} concern reports + {FILTERS} filter requests, "
        f"{CONCURRENCY} at a time, in {figures['seconds']:.1f}s\n"
        f"  activities: {len(cluster.timings)} answered, {cluster.resent} re-sent after the kill\n"
        f"  concurrent clicks: {figures['ack_clicks']} acknowledges -> "
        f"{sum(n for (a, _), n in ok.items() if a == 'concern.acknowledge')} transitions; "
        f"{figures['approve_clicks']} approvals -> "
        f"{sum(n for (a, _), n in ok.items() if a == 'filter.approve')} transitions\n"
        f"  delivered: {len(connector.posted)} posts, {len(connector.updated)} card updates "
        f"(by instance: {delivered_by}); duplicates {len(repeats['unexplained'])}, "
        f"sent again after the kill {len(repeats['in_flight_at_kill'])} "
        f"{[entry[:2] for entry in repeats['in_flight_at_kill']]}; "
        f"lost {len(set(received_concerns) - set(concerns))}\n"
        f"  outbox empty {drained:.1f}s after the load; audit chain {chain.entries} entries, "
        f"verifies: {chain.ok}\n"
        f"  concern submit: p50 {percentile(submits, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(submits, 0.99) * 1000:.0f} ms"
    )


async def run_load(cluster: Cluster, connector: FakeConnector) -> dict[str, Any]:
    done = 0
    killed_after: int | None = None
    concern_refs: list[str] = []
    filter_refs: list[str] = []
    clicks = {"ack": 0, "approve": 0}
    gate = asyncio.Semaphore(CONCURRENCY)
    total = CONCERNS + FILTERS

    async def concern_journey(n: int) -> None:
        who = TEACHER if n % 2 else HEAD_OF_DEPARTMENT
        category = CATEGORIES[n % len(CATEGORIES)]
        form = await cluster.click(
            who, "concern.start", {"step": "details", "category": category}, prefer=n
        )
        fields = report_fields(happened_on=(today() - timedelta(days=1)).isoformat())
        received = await cluster.click(
            who, "concern.submit", {**submit_data(form), **fields}, prefer=n + 1
        )
        ref = card_texts(received)[0].removeprefix("Received: ")
        concern_refs.append(ref)
        card = await wait_for_post(connector, DSL_CHANNEL, ref)
        ack = button(card, "concern.ack")
        in_channel = {"scope": "channel", "conversation_id": DSL_CHANNEL}
        await asyncio.gather(
            *(
                cluster.click(who, "concern.ack", ack, prefer=index, **in_channel)
                for who in (DSL, DEPUTY_DSL)
                for index in range(INSTANCES)
            )
        )
        clicks["ack"] += 2 * INSTANCES

    async def filter_journey(n: int) -> None:
        form = await cluster.click(TEACHER, "filter.start", None, prefer=n)
        [submit] = [a for a in form["actions"] if a.get("verb") == "filter.submit"]
        fields = form_fields(
            site=f"www.physics-game-{n}.example/play",
            blocked_category="games",
            reason=GAME_REASON,
            start=today().isoformat(),
            end=(today() + timedelta(days=3)).isoformat(),
        )
        sent = await cluster.click(
            TEACHER, "filter.submit", {**submit["data"], **fields}, prefer=n + 2
        )
        ref = card_texts(sent)[0].removeprefix("Sent: ")
        filter_refs.append(ref)
        card = await wait_for_post(connector, IT_CHANNEL, ref)
        approve = data_of(card, "filter.approve")
        in_channel = {"scope": "channel", "conversation_id": IT_CHANNEL}
        await asyncio.gather(
            *(
                cluster.click(IT, "filter.approve", approve, prefer=index, **in_channel)
                for index in range(INSTANCES)
            )
        )
        clicks["approve"] += INSTANCES

    async def journey(n: int) -> None:
        nonlocal done, killed_after
        async with gate:
            if n % 4 == 3 and n // 4 < FILTERS:
                await filter_journey(n)
            else:
                await concern_journey(n)
            done += 1
            if killed_after is None and done >= KILL_AFTER * total:
                killed_after = done
                cluster.kill(KILLED)

    # Every fourth journey a filter request, the rest concerns.
    started = time.monotonic()
    await asyncio.gather(*(journey(n) for n in range(total)))
    return {
        "seconds": time.monotonic() - started,
        "killed_after": killed_after,
        "killed_at": cluster.instances[KILLED].killed_at,
        "concern_refs": concern_refs,
        "filter_refs": filter_refs,
        "ack_clicks": clicks["ack"],
        "approve_clicks": clicks["approve"],
    }


class TimedConnector(FakeConnector):
    """The fake Bot Connector, noting when each post and update arrived (``_at``)."""

    async def _reply(self, request: web.Request) -> web.Response:
        response = await super()._reply(request)
        if response.status < 300:
            self.posted[-1]["_at"] = time.monotonic()
        return response

    async def _update(self, request: web.Request) -> web.Response:
        response = await super()._update(request)
        if response.status < 300:
            self.updated[-1]["_at"] = time.monotonic()
        return response


@pytest.fixture
async def connector() -> AsyncIterator[TimedConnector]:
    fake = TimedConnector()
    await fake.start()
    yield fake
    await fake.stop()


def repeated_deliveries(connector: FakeConnector, killed_at: float) -> dict[str, list[Any]]:
    """Posts and updates Teams received more than once, split into the one the kill explains
    and the rest. The kill explains a message the killed instance sent just before it died
    (first copy by then, or within the seconds it takes Teams to read what was on the wire)
    and another instance sent again once the lease ran out (seconds later)."""
    copies: dict[Any, list[float]] = {}
    for activity in connector.posted:
        refs = tuple(sorted(set(REF.findall(json.dumps(activity)))))
        if refs:  # replies and menus carry no reference
            key = ("post", activity["_conversation"], refs, heading(activity))
            copies.setdefault(key, []).append(activity["_at"] - killed_at)
    for activity in connector.updated:
        content = json.dumps(activity.get("attachments"), sort_keys=True)
        key = ("update", activity["_conversation"], activity["_message"], content)
        copies.setdefault(key, []).append(activity["_at"] - killed_at)
    explained, unexplained = [], []
    for key, times in copies.items():
        if len(times) < 2:
            continue
        entry = (key[0], key[1], key[2], [round(t, 2) for t in times])
        # "Just before it died": read by Teams within a second on an idle machine; five allow
        # for a machine five times slower. The second copy comes once the lease (30 s) ran out.
        if len(times) == 2 and times[0] <= 5.0 and times[1] - times[0] >= 5.0:
            explained.append(entry)
        else:
            unexplained.append(entry)
    return {"in_flight_at_kill": explained, "unexplained": unexplained}


async def wait_until_delivered(postgres_url: str, connector: FakeConnector) -> float:
    """Seconds until the outbox is empty and nothing more arrives (a killed instance's leases
    run out after 30 s)."""
    started = time.monotonic()
    store = await PostgresStore.open(postgres_url, tenant=TENANT, claim_rules=CLAIM_RULES)
    try:
        while time.monotonic() - started < 75:
            if not await store.find(OUTBOX):
                seen = len(connector.posted) + len(connector.updated)
                await asyncio.sleep(1.5)  # two worker intervals: nothing in flight any more
                if seen == len(connector.posted) + len(connector.updated):
                    return time.monotonic() - started
            await asyncio.sleep(0.1)
    finally:
        await store.close()
    raise AssertionError("the outbox did not empty")
