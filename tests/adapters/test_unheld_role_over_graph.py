"""A role nobody holds in Entra is never a message to nobody (issue 19): the outbox, resolving
holders through the real msgraph-sdk against the Graph double, sends it to the role's fallback,
tells the DSL team who is missing and counts it for /healthz; once the group has a member
again, messages go to them. Real TinyDB store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from dialogs.outbox import Delivery, OutboxWorker, message
from dialogs.ports import Change, Outgoing, Record
from graph.directory import GraphDirectory
from policy.roles import Role
from store.tinydb_store import TinyDbStore
from tests.adapters.test_postgres_claims import RecordingMessenger
from tests.graphdouble.harness import GraphHarness, graph_harness

SCHOOL = load_school_policy(DEFAULT_SCHOOL_CONFIG)
CHAIR_GROUP = "5c400000-0000-4000-8000-000000000110"
CHAIR = "5c400000-0000-4000-8000-000000000009"
DSL = "5c400000-0000-4000-8000-000000000006"
DEPUTY_DSL = "5c400000-0000-4000-8000-000000000007"
HEADTEACHER = "5c400000-0000-4000-8000-000000000004"


async def render(subject: Record | None, data: Mapping[str, Any]) -> Outgoing:
    return Outgoing(text="A concern about the headteacher (private)")


@pytest.fixture
async def graph() -> AsyncIterator[GraphHarness]:
    async with graph_harness() as harness:
        yield harness


@pytest.fixture
async def worker(
    graph: GraphHarness, tmp_path: Path
) -> AsyncIterator[tuple[OutboxWorker, list[tuple[str, str]]]]:
    store = await TinyDbStore.open(tmp_path / "data")
    directory = GraphDirectory(graph.client, SCHOOL.role_groups(), graph.clock, ttl=0)
    sent: list[tuple[str, str]] = []
    outbox = OutboxWorker(
        store=store,
        messenger=RecordingMessenger(sent, delay=0),
        directory=directory,
        notifier=None,
        clock=graph.clock,
        renderers={"concern.private": render},
        timers={},
        school=SCHOOL,
    )
    yield outbox, sent
    await directory.close()
    await store.close()


async def send_to_the_chair(outbox: OutboxWorker) -> None:
    await outbox.store.commit(
        Change(
            records=[
                message(
                    Delivery.DIRECT_TO_ROLE,
                    Role.CHAIR_OF_GOVERNORS.value,
                    "concern:OSC-2026-0001",
                    "concern.private",
                    outbox.clock.now(),
                )
            ]
        )
    )
    for _ in range(5):
        await outbox.tick()


async def test_an_emptied_chair_group_sends_to_the_fallback_and_tells_the_dsl_team(
    graph: GraphHarness, worker: tuple[OutboxWorker, list[tuple[str, str]]]
) -> None:
    outbox, sent = worker
    graph.tenant.groups[CHAIR_GROUP].members.clear()  # the chair stood down

    await send_to_the_chair(outbox)

    private = {to for to, text in sent if text.startswith("A concern about the headteacher")}
    assert private == {DSL, DEPUTY_DSL}  # the demo school's fallback: the DSL and deputies
    assert HEADTEACHER not in {to for to, _ in sent}  # never the subject of the concern
    alerts = {to: text for to, text in sent if text.startswith("Nobody holds")}
    assert set(alerts) == {DSL, DEPUTY_DSL}
    assert "Nobody holds the role chair of governors" in alerts[DSL]
    assert "OSC-2026-0001" in alerts[DSL]
    assert outbox.status.unheld_roles == {"chair_of_governors": 1}
    assert await outbox.store.find("outbox") == []  # nothing left undelivered


async def test_once_the_role_is_held_again_messages_go_to_the_holder(
    graph: GraphHarness, worker: tuple[OutboxWorker, list[tuple[str, str]]]
) -> None:
    outbox, sent = worker
    graph.tenant.groups[CHAIR_GROUP].members.clear()
    await send_to_the_chair(outbox)
    graph.tenant.groups[CHAIR_GROUP].members.append(CHAIR)
    sent.clear()

    await send_to_the_chair(outbox)

    assert [to for to, _ in sent] == [CHAIR]
    assert outbox.status.unheld_roles == {}
