"""The PostgreSQL store's audit log as several chains per tenant (migration 0003, issue 25):
commits append to any chain no other commit holds, each chain verifies on its own, and
editing, removing, reordering or moving an entry is still found."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dialogs.ports import Change
from policy.audit import GENESIS, AuditEvent, seal
from store.postgres_store import PostgresStore, migrate, migrations
from tests.scale.postgres import fresh_database

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def event(n: int) -> AuditEvent:
    return AuditEvent("dsl", "concern.ack", f"concern:{n}", "ok", AT + timedelta(seconds=n))


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(postgres_url, tenant=f"t-{uuid.uuid4()}")
    yield opened
    await opened.close()


async def on_chain_one(store: PostgresStore, url: str, count: int) -> None:
    """Commit ``count`` audit events while another transaction holds chain 0's head: they go
    on chain 1."""
    async with await psycopg.AsyncConnection.connect(url) as holder:
        await holder.execute(
            "SELECT 1 FROM chains WHERE tenant = %s AND shard = 0 FOR UPDATE", (store.tenant,)
        )
        for n in range(count):
            await store.commit(Change(audit=[event(n)]))
        await holder.rollback()


async def tampered(url: str, statement: str, tenant: str) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
        try:
            for one in statement.split("; "):
                await conn.execute(one, (tenant,))
        finally:
            await conn.execute("ALTER TABLE audit ENABLE TRIGGER audit_append_only")


async def test_concurrent_commits_spread_over_chains_that_each_verify(
    store: PostgresStore, postgres_url: str
) -> None:
    other = await PostgresStore.open(postgres_url, tenant=store.tenant)
    try:
        stores = (store, other)
        await asyncio.gather(
            *(stores[n % 2].commit(Change(audit=[event(n), event(n)])) for n in range(40))
        )
    finally:
        await other.close()
    log = await store.audit_log()
    assert len(log) == 80
    for number in {e.chain for e in log}:
        seqs = [e.seq for e in log if e.chain == number]
        assert seqs == list(range(1, len(seqs) + 1))
    check = await store.verify_audit()
    assert check.ok and check.entries == 80


async def test_a_held_chain_is_passed_over_and_the_other_chain_verifies(
    store: PostgresStore, postgres_url: str
) -> None:
    await store.commit(Change(audit=[event(0)]))
    await on_chain_one(store, postgres_url, 3)
    log = await store.audit_log()
    assert [(e.chain, e.seq) for e in log] == [(0, 1), (1, 1), (1, 2), (1, 3)]
    assert log[1].prev_hash == GENESIS
    assert (await store.verify_audit()).ok


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        (
            "UPDATE audit SET outcome = 'nothing' WHERE tenant = %s AND shard = 1 AND seq = 2",
            "was changed after it was written of chain 1",
        ),
        (
            "DELETE FROM audit WHERE tenant = %s AND shard = 1 AND seq = 2",
            "expected entry 2 of chain 1",
        ),
        (
            "DELETE FROM audit WHERE tenant = %s AND shard = 1 AND seq = 3",
            "chain 1 does not end at its head row",
        ),
        (
            "UPDATE audit SET seq = 100 WHERE tenant = %s AND shard = 1 AND seq = 2; "
            "UPDATE audit SET seq = 2 WHERE tenant = %s AND shard = 1 AND seq = 3; "
            "UPDATE audit SET seq = 3 WHERE tenant = %s AND shard = 1 AND seq = 100",
            "does not follow the entry before it of chain 1",
        ),
        (
            "UPDATE audit SET shard = 2 WHERE tenant = %s AND shard = 1 AND seq = 1",
            "expected entry 1 of chain 1",
        ),
    ],
    ids=["edited", "removed", "last-removed", "reordered", "moved"],
)
async def test_tampering_with_a_chain_other_than_the_first_is_found(
    store: PostgresStore, postgres_url: str, statement: str, problem: str
) -> None:
    await store.commit(Change(audit=[event(0)]))
    await on_chain_one(store, postgres_url, 3)
    assert (await store.verify_audit()).ok

    await tampered(postgres_url, statement, store.tenant)

    check = await store.verify_audit()
    assert not check.ok
    assert problem in check.problem


async def test_a_chain_written_before_migration_3_verifies_after_it_and_goes_on() -> None:
    with fresh_database(migrated=False) as url:
        tenant = "school"
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for step in migrations()[:2]:
                await conn.execute(step.path.read_text(encoding="utf-8").encode("utf-8"))
            await conn.execute(
                "CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            await conn.execute("INSERT INTO schema_version VALUES (1, 'initial'), (2, 'keys')")
            prev, old = GENESIS, []
            for n in range(1, 4):  # the single chain as schema 2 wrote it
                entry = seal(event(n), seq=n, prev_hash=prev)
                old.append(entry)
                prev = entry.hash
                await conn.execute(
                    "INSERT INTO audit (tenant, seq, actor, action, item, outcome, at, "
                    "prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (tenant, *(entry.to_dict().values())),
                )
            await conn.execute(
                "INSERT INTO chains (tenant, seq, hash) VALUES (%s, 3, %s)", (tenant, prev)
            )

        assert await migrate(url) == [3]

        store = await PostgresStore.open(url, tenant=tenant)
        try:
            assert store.audit_check is not None and store.audit_check.ok
            assert store.audit_check.entries == 3
            await store.commit(Change(audit=[event(4)]))
            await on_chain_one(store, url, 2)
            log = await store.audit_log()
            assert [e for e in log if e.chain == 0][:3] == old
            assert sorted((e.chain, e.seq) for e in log) == [
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (1, 1),
                (1, 2),
            ]
            check = await store.verify_audit()
            assert check.ok and check.entries == 6
        finally:
            await store.close()
