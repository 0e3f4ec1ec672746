"""Several instances on one PostgreSQL database: every message delivered once, every timer fired
once, a crashed instance's work taken over when its leases run out, and one message per subject
in flight at a time (so an update never overtakes its post).

Two ``OutboxWorker``s, each with its own ``PostgresStore`` (its own connection pool), stand in
for two bot processes; a recording messenger stands in for Teams.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialogs.outbox import (
    CLAIM_RULES,
    OUTBOX,
    TIMER,
    Delivery,
    OutboxWorker,
    TimerResult,
    message,
    timer,
)
from dialogs.ports import Change, FixedClock, Outgoing, Record
from policy.audit import AuditEvent
from policy.roles import Person, Role
from store.postgres_store import PostgresStore
from tests.scale.postgres import fresh_database

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


class RecordingMessenger:
    """Teams, as far as the worker can tell: takes every message after a short delay."""

    def __init__(self, sent: list[tuple[str, str]], delay: float = 0.002) -> None:
        self.sent = sent
        self.delay = delay

    async def post(self, conversation_id: str, message: Outgoing) -> str:
        await asyncio.sleep(self.delay)
        self.sent.append((conversation_id, message.text or ""))
        return f"m-{len(self.sent)}"

    async def update(self, conversation_id: str, message_id: str, message: Outgoing) -> None:
        await asyncio.sleep(self.delay)
        self.sent.append((f"update:{conversation_id}", message.text or ""))

    async def send_direct(self, person_id: str, message: Outgoing) -> None:
        await self.post(person_id, message)


class NoDirectory:
    async def person(self, object_id: str) -> Person | None:
        return None

    async def members(self, role: Role) -> tuple[Person, ...]:
        return ()


async def render(subject: Record | None, data: Mapping[str, Any]) -> Outgoing:
    return Outgoing(text=str(data["x_text"]))


async def ring(subject: Record | None, item: Record, now: datetime) -> TimerResult:
    note = message(
        Delivery.CHANNEL_NOTE, "19:dsl", item.data["subject"], "note", now, x_text=item.id
    )
    return TimerResult(
        outbox=[note], audit=[AuditEvent("system", "timer.fired", item.id, "ok", now)]
    )


@pytest.fixture
async def stores(postgres_url: str) -> AsyncIterator[list[PostgresStore]]:
    tenant = f"school-{uuid.uuid4()}"
    opened = [
        await PostgresStore.open(postgres_url, tenant=tenant, claim_rules=CLAIM_RULES)
        for _ in range(2)
    ]
    yield opened
    for store in opened:
        await store.close()


def worker(store: PostgresStore, sent: list[tuple[str, str]], **options: Any) -> OutboxWorker:
    return OutboxWorker(
        store=store,
        messenger=RecordingMessenger(sent),
        directory=NoDirectory(),
        notifier=None,
        clock=FixedClock(NOW),
        renderers={"note": render},
        timers={"ring": ring},
        **options,
    )


def notes(count: int, *, subjects: int | None = None) -> list[Record]:
    return [
        message(
            Delivery.CHANNEL_NOTE,
            "19:dsl",
            f"concern:C{n % (subjects or count)}",
            "note",
            NOW - timedelta(seconds=count - n),
            x_text=f"note-{n}",
        )
        for n in range(count)
    ]


async def test_two_instances_deliver_every_message_exactly_once(
    stores: list[PostgresStore],
) -> None:
    for chunk in range(0, 120, 20):
        await stores[0].commit(Change(records=notes(120, subjects=40)[chunk : chunk + 20]))
    sent: list[tuple[str, str]] = []
    workers = [worker(store, sent) for store in stores]

    for _ in range(4):
        await asyncio.gather(*(w.tick() for w in workers))

    counts = Counter(text for _, text in sent)
    assert len(counts) == 120
    assert set(counts.values()) == {1}
    assert await stores[1].find(OUTBOX) == []
    shares = [w.status.delivered for w in workers]
    print(f"\n120 messages, 2 instances: delivered {shares}, duplicates 0")
    assert sum(shares) == 120 and min(shares) > 0  # both instances took part


async def test_two_instances_fire_every_due_timer_exactly_once(
    stores: list[PostgresStore],
) -> None:
    due = [timer("ring", f"concern:C{n}", NOW - timedelta(minutes=n)) for n in range(30)]
    later = timer("ring", "concern:LATER", NOW + timedelta(hours=1))
    await stores[0].commit(Change(records=[*due, later]))
    sent: list[tuple[str, str]] = []
    workers = [worker(store, sent, claim_batch=4) for store in stores]

    await asyncio.gather(*(w.tick() for w in workers), *(w.tick() for w in workers))

    fired = [e.item for e in await stores[0].audit_log() if e.action == "timer.fired"]
    assert sorted(fired) == sorted(t.id for t in due)
    assert Counter(text for _, text in sent) == Counter(t.id for t in due)
    assert [t.id for t in await stores[1].find(TIMER)] == [later.id]


async def test_a_crashed_instances_claims_are_taken_over_when_their_leases_run_out(
    stores: list[PostgresStore],
) -> None:
    await stores[0].commit(Change(records=notes(5)))
    # Instance A claims everything, then "dies" (never delivers, never releases).
    claimed = await stores[0].claim_due(OUTBOX, NOW, lease_seconds=1.0, owner="A", limit=10)
    assert len(claimed) == 5
    sent: list[tuple[str, str]] = []
    survivor = worker(stores[1], sent)

    assert await survivor.tick() == 0  # leased to A: not touched
    await asyncio.sleep(1.1)
    assert await survivor.tick() == 5

    assert sorted(text for _, text in sent) == [f"note-{n}" for n in range(5)]


async def test_messages_about_one_subject_are_never_in_flight_on_two_instances(
    stores: list[PostgresStore],
) -> None:
    post = message(Delivery.CHANNEL_POST, "19:dsl", "concern:X", "note", NOW, x_text="post")
    update = message(
        Delivery.CHANNEL_UPDATE, "19:dsl", "concern:X", "note", NOW + timedelta(seconds=1)
    )
    other = message(
        Delivery.CHANNEL_NOTE, "19:dsl", "concern:Y", "note", NOW + timedelta(seconds=2)
    )
    await stores[0].commit(Change(records=[post, update, other]))
    later = NOW + timedelta(seconds=5)

    first = await stores[0].claim_due(OUTBOX, later, lease_seconds=30, owner="A", limit=1)
    second = await stores[1].claim_due(OUTBOX, later, lease_seconds=30, owner="B", limit=10)

    assert [r.id for r in first] == [post.id]
    assert [r.id for r in second] == [other.id]  # the update waits for the post
    await stores[0].commit(Change(deletes=[(OUTBOX, post.id, 1)]))  # the post is done
    third = await stores[1].claim_due(OUTBOX, later, lease_seconds=30, owner="B", limit=10)
    assert [r.id for r in third] == [update.id]


async def test_writing_a_claimed_record_ends_its_lease(stores: list[PostgresStore]) -> None:
    [note] = notes(1)
    await stores[0].commit(Change(records=[note]))
    assert len(await stores[0].claim_due(OUTBOX, NOW, lease_seconds=60, owner="A", limit=5)) == 1
    assert await stores[1].claim_due(OUTBOX, NOW, lease_seconds=60, owner="B", limit=5) == []

    retry = Record(OUTBOX, note.id, 2, {**note.data, "attempts": 1})
    await stores[0].commit(Change(records=[retry]))

    [again] = await stores[1].claim_due(OUTBOX, NOW, lease_seconds=60, owner="B", limit=5)
    assert (again.id, again.version) == (note.id, 2)


async def test_claimed_kinds_need_a_due_time_and_unknown_kinds_cannot_be_claimed(
    stores: list[PostgresStore],
) -> None:
    with pytest.raises(ValueError, match="next_at"):
        await stores[0].commit(Change(records=[Record(OUTBOX, "bad", 1, {"subject": "x"})]))
    with pytest.raises(ValueError, match="no claim rule"):
        await stores[0].claim_due("concern", NOW, lease_seconds=1, owner="A", limit=1)
