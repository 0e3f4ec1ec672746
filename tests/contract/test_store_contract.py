"""One contract, every Store implementation: the TinyDB files, PostgreSQL and the in-memory fake.

Whatever the backend, a use case must see the same behaviour: versions, dedupe, sequences and
a sealed audit chain. PostgreSQL runs in a fresh database for this module (dropped at the end);
each test gets a tenant of its own in it, so each starts empty. If PostgreSQL cannot be reached
its tests fail, saying so, unless ``SKIP_POSTGRES=1`` (see ``tests/scale/postgres.py``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.ports import Change, DuplicateRequest, Record, Store, VersionConflict
from policy.audit import AuditEvent
from store.crypto import RecordCipher, new_key, parse_key
from store.memory import InMemoryStore
from store.postgres_store import PostgresStore
from store.tinydb_store import TinyDbStore
from tests.scale.postgres import fresh_database

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def event(action: str = "concern.report", item: str = "concern:OSC-2026-0001") -> AuditEvent:
    return AuditEvent(actor="staff-1", action=action, item=item, outcome="ok", at=AT)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database for this module's run."""
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["tinydb", "tinydb-encrypted", "postgres", "postgres-encrypted", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend: Store
    if request.param == "tinydb":
        backend = await TinyDbStore.open(tmp_path / "data")
    elif request.param == "tinydb-encrypted":
        cipher = RecordCipher([parse_key(new_key())])
        backend = await TinyDbStore.open(tmp_path / "data", cipher=cipher)
    elif request.param.startswith("postgres"):
        url = request.getfixturevalue("postgres_url")
        cipher = RecordCipher([parse_key(new_key())]) if "encrypted" in request.param else None
        backend = await PostgresStore.open(url, tenant=f"tenant-{uuid.uuid4()}", cipher=cipher)
    else:
        backend = InMemoryStore()
    yield backend
    await backend.close()


async def test_a_committed_record_can_be_read_back(store: Store) -> None:
    record = Record("concern", "OSC-2026-0001", 1, {"status": "new", "year": "Year 8"})
    await store.commit(Change(records=[record], audit=[event()]))

    found = await store.get("concern", "OSC-2026-0001")

    assert found == record
    assert found is not None and found.schema == 1


async def test_missing_records_are_none_and_kinds_are_separate(store: Store) -> None:
    await store.commit(Change(records=[Record("concern", "A", 1, {})], audit=[event()]))

    assert await store.get("concern", "B") is None
    assert await store.get("filter_request", "A") is None


async def test_count_oldest_counts_a_kind_and_finds_its_earliest_time(store: Store) -> None:
    assert await store.count_oldest("outbox", "created_at") == (0, None)
    await store.commit(
        Change(
            records=[
                Record("outbox", "A", 1, {"created_at": "2026-11-23T08:00:00+00:00"}),
                # Earlier, though later as text: times are compared, not strings.
                Record("outbox", "B", 1, {"created_at": "2026-11-23T12:00:00+05:00"}),
                Record("outbox", "C", 1, {"created_at": "2026-11-23T09:30:00.250000+00:00"}),
                Record("concern", "D", 1, {"created_at": "2026-01-01T00:00:00+00:00"}),
                # Unreadable times are counted, without a time.
                Record("outbox", "E", 1, {"created_at": "yesterday"}),
                Record("outbox", "F", 1, {}),
            ]
        )
    )

    count, oldest = await store.count_oldest("outbox", "created_at")

    assert count == 5
    assert oldest == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    await store.commit(Change(deletes=[("outbox", "B", 1)]))
    assert await store.count_oldest("outbox", "created_at") == (
        4,
        datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
    )


async def test_find_filters_on_data_fields(store: Store) -> None:
    await store.commit(
        Change(
            records=[
                Record("concern", "A", 1, {"reporter": "x", "status": "new"}),
                Record("concern", "B", 1, {"reporter": "y", "status": "new"}),
                Record("concern", "C", 1, {"reporter": "x", "status": "closed"}),
            ],
            audit=[event()],
        )
    )

    mine = await store.find("concern", reporter="x")
    open_mine = await store.find("concern", reporter="x", status="new")

    assert sorted(r.id for r in mine) == ["A", "C"]
    assert [r.id for r in open_mine] == ["A"]
    assert await store.find("nothing_here") == []


async def test_each_version_can_be_written_once(store: Store) -> None:
    await store.commit(Change(records=[Record("concern", "A", 1, {"status": "new"})]))
    await store.commit(Change(records=[Record("concern", "A", 2, {"status": "acknowledged"})]))

    with pytest.raises(VersionConflict) as raised:
        await store.commit(Change(records=[Record("concern", "A", 2, {"status": "closed"})]))

    assert raised.value.found == 2
    current = await store.get("concern", "A")
    assert current is not None and current.data["status"] == "acknowledged"


async def test_creating_a_record_that_exists_is_a_conflict(store: Store) -> None:
    await store.commit(Change(records=[Record("concern", "A", 1, {})]))

    with pytest.raises(VersionConflict):
        await store.commit(Change(records=[Record("concern", "A", 1, {"other": True})]))


async def test_two_concurrent_transitions_make_exactly_one(store: Store) -> None:
    await store.commit(Change(records=[Record("concern", "A", 1, {"status": "new"})]))

    async def acknowledge(by: str) -> str:
        try:
            await store.commit(
                Change(
                    records=[Record("concern", "A", 2, {"status": "acknowledged", "by": by})],
                    audit=[event("concern.acknowledge", "concern:A")],
                )
            )
        except VersionConflict:
            return "conflict"
        return "done"

    results = await asyncio.gather(*(acknowledge(f"dsl-{i}") for i in range(20)))

    assert results.count("done") == 1
    assert len([e for e in await store.audit_log() if e.action == "concern.acknowledge"]) == 1


async def test_a_failed_change_writes_nothing_at_all(store: Store) -> None:
    await store.commit(Change(records=[Record("concern", "A", 1, {})]))

    with pytest.raises(VersionConflict):
        await store.commit(
            Change(
                records=[Record("concern", "B", 1, {}), Record("concern", "A", 5, {})],
                audit=[event()],
            )
        )

    assert await store.get("concern", "B") is None
    assert await store.audit_log() == []


async def test_a_dedupe_key_makes_a_change_happen_once(store: Store) -> None:
    first = Change(records=[Record("concern", "A", 1, {})], audit=[event()], dedupe_key="act-1")
    await store.commit(first)

    with pytest.raises(DuplicateRequest) as raised:
        await store.commit(
            Change(records=[Record("concern", "B", 1, {})], audit=[event()], dedupe_key="act-1")
        )

    assert raised.value.refs == ("concern:A",)
    assert await store.get("concern", "B") is None
    assert len(await store.audit_log()) == 1


async def test_sequences_count_up_and_are_separate(store: Store) -> None:
    assert [await store.next_sequence("OSC-2026") for _ in range(3)] == [1, 2, 3]
    assert await store.next_sequence("FLT-2026") == 1
    assert await store.next_sequence("OSC-2027") == 1


async def test_concurrent_sequence_numbers_never_repeat(store: Store) -> None:
    numbers = await asyncio.gather(*(store.next_sequence("OSC-2026") for _ in range(50)))

    assert sorted(numbers) == list(range(1, 51))


async def test_a_keyed_draw_gives_the_same_key_the_same_number(store: Store) -> None:
    first = await store.next_sequence("OSC-2026", key="form-a")
    again = await store.next_sequence("OSC-2026", key="form-a")
    other = await store.next_sequence("OSC-2026", key="form-b")
    plain = await store.next_sequence("OSC-2026")
    elsewhere = await store.next_sequence("FLT-2026", key="form-a")

    assert (first, again, other, plain, elsewhere) == (1, 1, 2, 3, 1)


async def test_concurrent_keyed_draws_leave_no_gaps(store: Store) -> None:
    keys = [f"form-{n % 32}" for n in range(96)]  # 32 forms, each drawn three times at once

    numbers = await asyncio.gather(*(store.next_sequence("OSC-2026", key=k) for k in keys))

    assert sorted(set(numbers)) == list(range(1, 33))
    drawn: dict[str, set[int]] = {}
    for key, number in zip(keys, numbers, strict=True):
        drawn.setdefault(key, set()).add(number)
    assert all(len(n) == 1 for n in drawn.values())  # one number per key
    assert len({min(n) for n in drawn.values()}) == 32  # and a different one for each
    assert await store.next_sequence("OSC-2026") == 33


async def test_a_number_drawn_for_a_saved_change_is_never_drawn_again(store: Store) -> None:
    number = await store.next_sequence("OSC-2026", key="form-a")
    await store.commit(
        Change(
            records=[Record("concern", f"OSC-2026-{number:04d}", 1, {})],
            audit=[event()],
            dedupe_key="form-a",
        )
    )

    assert await store.next_sequence("OSC-2026", key="form-b") == number + 1
    assert await store.next_sequence("OSC-2026") == number + 2


async def test_audit_entries_are_sealed_in_a_verifiable_chain(store: Store) -> None:
    entries = await store.commit(Change(audit=[event("a"), event("b")]))
    entries += await store.commit(Change(audit=[event("c")]))

    log = await store.audit_log()

    assert [e.seq for e in log] == [1, 2, 3]
    assert [e.action for e in log] == ["a", "b", "c"]
    assert list(entries) == log
    assert log[1].prev_hash == log[0].hash
    assert log[0].at == "2026-11-23T10:00:00+00:00"
    check = await store.verify_audit()
    assert check.ok and check.entries == 3


async def test_callers_cannot_change_stored_data_through_what_they_read(store: Store) -> None:
    await store.commit(Change(records=[Record("concern", "A", 1, {"notes": ["first"]})]))

    found = await store.get("concern", "A")
    assert found is not None
    found.data["notes"].append("sneaky")  # type: ignore[index]

    again = await store.get("concern", "A")
    assert again is not None and again.data["notes"] == ["first"]


async def test_deleting_a_record_needs_its_current_version(store: Store) -> None:
    await store.commit(Change(records=[Record("outbox", "A", 1, {"status": "pending"})]))

    with pytest.raises(VersionConflict):
        await store.commit(Change(deletes=[("outbox", "A", 2)]))
    await store.commit(Change(deletes=[("outbox", "A", 1)], audit=[event("delivered")]))

    assert await store.get("outbox", "A") is None
    assert await store.find("outbox") == []
    await store.commit(Change(records=[Record("outbox", "A", 1, {"again": True})]))
    found = await store.get("outbox", "A")
    assert found is not None and found.data == {"again": True}


async def test_deduped_tells_what_a_key_already_wrote(store: Store) -> None:
    assert await store.deduped("form-1") is None
    await store.commit(
        Change(records=[Record("concern", "OSC-2026-0001", 1, {})], dedupe_key="form-1")
    )

    assert await store.deduped("form-1") == ("concern:OSC-2026-0001",)


async def test_a_change_creating_several_records_one_taken_writes_none(store: Store) -> None:
    await store.commit(Change(records=[Record("outbox", "m2", 1, {"n": 0})]))

    with pytest.raises(VersionConflict):
        await store.commit(
            Change(
                records=[
                    Record("concern", "C", 1, {}),
                    Record("outbox", "m1", 1, {}),
                    Record("outbox", "m2", 1, {"n": 1}),
                    Record("timer", "t1", 1, {}),
                ],
                audit=[event(), event()],
            )
        )

    assert [await store.get(k, i) for k, i in (("concern", "C"), ("outbox", "m1"))] == [None, None]
    assert await store.get("timer", "t1") is None
    kept = await store.get("outbox", "m2")
    assert kept is not None and kept.data == {"n": 0}
    assert await store.audit_log() == []


async def test_concurrent_changes_creating_the_same_records_make_exactly_one(store: Store) -> None:
    async def create(n: int) -> str:
        try:
            await store.commit(
                Change(
                    records=[Record("concern", "D", 1, {"n": n}), Record("timer", "D", 1, {})],
                    audit=[event("concern.report", "concern:D")],
                )
            )
        except VersionConflict:
            return "conflict"
        return "done"

    results = await asyncio.gather(*(create(n) for n in range(10)))

    assert results.count("done") == 1
    assert len(await store.audit_log()) == 1


@pytest.mark.parametrize("many", [0, 80])  # 80 filler records: past TinyDB's small kind
async def test_due_returns_only_due_records_in_time_order_and_unreadable_ones(
    store: Store, many: int
) -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    later = [
        Record("timer", f"L{i:03}", 1, {"due_at": f"2026-11-24T{i % 24:02}:00:00+00:00"})
        for i in range(many)
    ]
    await store.commit(
        Change(
            records=[
                *later,
                Record("timer", "A", 1, {"due_at": "2026-11-23T08:00:00+00:00"}),
                # Earlier, though later as text: times are compared, not strings.
                Record("timer", "B", 1, {"due_at": "2026-11-23T12:00:00+05:00"}),
                Record("timer", "C", 1, {"due_at": "2026-11-23T09:00:00+00:00"}),  # exactly now
                Record("timer", "D", 1, {"due_at": "2026-11-23T09:00:01+00:00"}),  # not yet
                Record("timer", "E", 1, {"due_at": "yesterday"}),  # unreadable: returned
                Record("timer", "F", 1, {}),  # no time: returned
                Record("timer", "G", 1, {"due_at": 5}),
                Record("outbox", "H", 1, {"due_at": "2026-01-01T00:00:00+00:00"}),  # other kind
            ]
        )
    )

    found = await store.due("timer", "due_at", now)

    assert [r.id for r in found] == ["E", "F", "G", "B", "A", "C"]
    assert found[3] == Record("timer", "B", 1, {"due_at": "2026-11-23T12:00:00+05:00"})
    # Kept up to date on writes and deletes.
    await store.commit(
        Change(
            records=[
                Record("timer", "A", 2, {"due_at": "2026-11-25T08:00:00+00:00"}),
                Record("timer", "D", 2, {"due_at": "2026-11-23T07:30:00+00:00"}),
                Record("timer", "I", 1, {"due_at": "2026-11-23T08:30:00+00:00"}),
            ],
            deletes=[("timer", "E", 1), ("timer", "B", 1)],
        )
    )
    assert [r.id for r in await store.due("timer", "due_at", now)] == ["F", "G", "D", "I", "C"]
    assert await store.due("nothing_here", "due_at", now) == []
