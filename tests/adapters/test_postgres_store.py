"""The PostgreSQL store beyond the shared contract: schema migrations and the start-up check,
choosing it by ``DATABASE_URL`` (no lock file: several instances), records sealed at rest,
read-only use, and what happens when the database is unreachable or drops connections.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.config import load_settings
from bot.storage import open_store
from dialogs.outbox import CLAIM_RULES
from dialogs.ports import Change, Record, StoreCorrupted, StoreUnavailable
from policy.audit import AuditEvent
from store.crypto import RecordCipher, new_key, parse_key
from store.postgres_store import PostgresStore, SchemaMismatch, latest_schema, migrate
from tests.conftest import local_env
from tests.scale.postgres import fresh_database, url_for
from tests.support import ROOT, TENANT

CANARY = "CANARY-PG-5521 Ava Thompson"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def empty_url() -> Iterator[str]:
    """A database nobody has migrated."""
    with fresh_database(migrated=False) as url:
        yield url


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(postgres_url, tenant=f"t-{uuid.uuid4()}")
    yield opened
    await opened.close()


def cipher() -> RecordCipher:
    return RecordCipher([parse_key(new_key())])


# ----- schema ----------------------------------------------------------------------------------


async def test_an_unmigrated_database_is_refused_with_the_command_to_run(empty_url: str) -> None:
    with pytest.raises(SchemaMismatch, match=r"run script/migrate \(python -m ops migrate\)"):
        await PostgresStore.open(empty_url, tenant="school")


async def test_migrating_applies_each_step_once(empty_url: str) -> None:
    assert await migrate(empty_url) == list(range(1, latest_schema() + 1))
    assert await migrate(empty_url) == []

    store = await PostgresStore.open(empty_url, tenant="school")
    await store.close()


async def test_a_database_migrated_by_newer_code_is_refused(empty_url: str) -> None:
    await migrate(empty_url)
    async with await psycopg.AsyncConnection.connect(empty_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO schema_version (version, name) VALUES (%s, 'from_the_future')",
            (latest_schema() + 1,),
        )

    with pytest.raises(SchemaMismatch, match="newer than this code knows"):
        await PostgresStore.open(empty_url, tenant="school")
    with pytest.raises(SchemaMismatch, match="newer than this code knows"):
        await migrate(empty_url)


async def test_records_written_by_newer_code_are_refused(postgres_url: str) -> None:
    tenant = f"t-{uuid.uuid4()}"
    store = await PostgresStore.open(postgres_url, tenant=tenant)
    await store.commit(Change(records=[Record("concern", "A", 1, {}, schema=2)]))
    await store.close()

    with pytest.raises(StoreCorrupted, match="newer version of the bot"):
        await PostgresStore.open(postgres_url, tenant=tenant)


def run_python(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, "LOG_FORMAT": "text", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_bot_refuses_an_unmigrated_database_and_starts_after_the_migrate_command(
    empty_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": empty_url, "BOT_DATA_DIR": str(tmp_path / "data"), "PORT": "3989"}

    status, output = run_python("-m", "bot", env=env)
    assert status == 2
    assert "no bot schema yet: run script/migrate" in output
    assert run_python("-m", "ops", "migrate", "--check", env=env)[0] == 1

    status, output = run_python("-m", "ops", "migrate", env=env)
    assert status == 0, output
    assert f"applied migrations {list(range(1, latest_schema() + 1))}" in output
    status, output = run_python("-m", "ops", "migrate", env=env)
    assert (status, "up to date; nothing to do" in output) == (0, True)
    assert run_python("-m", "ops", "migrate", "--check", env=env)[0] == 0
    assert not (tmp_path / "data").exists()  # PostgreSQL: no data folder, no lock file


def test_migrate_without_a_database_url_says_so() -> None:
    status, output = run_python("-m", "ops", "migrate", env={"DATABASE_URL": ""})
    assert status == 2
    assert "DATABASE_URL is not set" in output


def test_a_database_url_that_is_not_postgresql_is_a_config_problem(tmp_path: Path) -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        load_settings(local_env(tmp_path, DATABASE_URL="mysql://root:hunter2@db/x"))

    [problem] = raised.value.problems
    assert problem.startswith("DATABASE_URL: must be a PostgreSQL URL")
    assert "hunter2" not in str(raised.value)


# ----- choosing it, and several instances ------------------------------------------------------


async def test_database_url_chooses_postgresql_and_several_instances_may_open_it(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = load_settings(local_env(tmp_path / "data", DATABASE_URL=postgres_url))
    assert "postgresql://" not in repr(settings)

    first = await open_store(settings)
    second = await open_store(settings)  # no single-writer lock: that is the point
    try:
        assert isinstance(first, PostgresStore) and isinstance(second, PostgresStore)
        assert first.tenant == second.tenant == TENANT  # local mode: the demo school's tenant
        await first.commit(Change(records=[Record("concern", "A", 1, {"x": 1})]))
        assert await second.get("concern", "A") == Record("concern", "A", 1, {"x": 1})
    finally:
        await first.close()
        await second.close()
    assert not (tmp_path / "data").exists()


async def test_read_only_refuses_every_write(postgres_url: str) -> None:
    tenant = f"t-{uuid.uuid4()}"
    writer = await PostgresStore.open(postgres_url, tenant=tenant)
    await writer.commit(Change(records=[Record("concern", "A", 1, {})]))
    await writer.close()
    reader = await PostgresStore.open(postgres_url, tenant=tenant, read_only=True)
    try:
        assert await reader.get("concern", "A") is not None
        with pytest.raises(StoreUnavailable, match="read-only"):
            await reader.commit(Change(records=[Record("concern", "B", 1, {})]))
        with pytest.raises(StoreUnavailable, match="read-only"):
            await reader.next_sequence("OSC-2026")
    finally:
        await reader.close()


# ----- at rest ---------------------------------------------------------------------------------


async def test_records_are_sealed_at_rest_and_need_the_key(postgres_url: str) -> None:
    tenant = f"t-{uuid.uuid4()}"
    sealer = cipher()
    store = await PostgresStore.open(postgres_url, tenant=tenant, cipher=sealer)
    record = Record("concern", "OSC-2026-0001", 1, {"what_happened": CANARY, "status": "new"})
    await store.commit(Change(records=[record]))
    assert await store.get("concern", "OSC-2026-0001") == record
    assert [r.id for r in await store.find("concern", status="new")] == ["OSC-2026-0001"]
    await store.close()

    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        rows = await (
            await conn.execute("SELECT data::text FROM records WHERE tenant = %s", (tenant,))
        ).fetchall()
    assert rows and all("CANARY" not in text and "Ava" not in text for (text,) in rows)

    with pytest.raises(StoreCorrupted, match="no key is configured"):
        await PostgresStore.open(postgres_url, tenant=tenant)
    with pytest.raises(StoreCorrupted, match="not configured"):
        await PostgresStore.open(postgres_url, tenant=tenant, cipher=cipher())


async def test_reseal_encrypts_a_store_that_was_written_without_a_key(postgres_url: str) -> None:
    tenant = f"t-{uuid.uuid4()}"
    plain = await PostgresStore.open(postgres_url, tenant=tenant)
    await plain.commit(Change(records=[Record("concern", "A", 1, {"text": CANARY})]))
    await plain.close()
    sealer = cipher()
    store = await PostgresStore.open(postgres_url, tenant=tenant, cipher=sealer)
    try:
        assert await store.reseal() == 1
        assert await store.reseal() == 0
        found = await store.get("concern", "A")
        assert found is not None and found.data == {"text": CANARY}
    finally:
        await store.close()


async def test_the_audit_log_cannot_be_edited_with_ordinary_statements(
    store: PostgresStore, postgres_url: str
) -> None:
    await store.commit(Change(audit=[AuditEvent("dsl", "concern.ack", "concern:A", "ok", AT)]))

    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            await conn.execute(
                "UPDATE audit SET outcome = 'nothing' WHERE tenant = %s", (store.tenant,)
            )
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            await conn.execute("DELETE FROM audit WHERE tenant = %s", (store.tenant,))
    assert (await store.verify_audit()).ok


# ----- failures --------------------------------------------------------------------------------


async def test_an_unreachable_database_is_unavailable_quickly_and_says_nothing_secret() -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as raised:
        await PostgresStore.open("postgresql://bot:s3cret-pw@127.0.0.1:9/osb", tenant="school")

    assert time.monotonic() - started < 15
    assert "s3cret" not in str(raised.value)


async def test_connections_dropped_by_the_server_are_replaced(
    store: PostgresStore, postgres_url: str
) -> None:
    await store.commit(Change(records=[Record("concern", "A", 1, {})]))
    database = postgres_url.rsplit("/", 1)[1]
    async with await psycopg.AsyncConnection.connect(url_for("postgres"), autocommit=True) as c:
        cursor = await c.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'online-safety-bot'",
            (database,),
        )
        row = await cursor.fetchone()
        assert row is not None and row[0] >= 1

    assert await store.get("concern", "A") is not None  # a fresh connection, no error
    await store.commit(Change(records=[Record("concern", "A", 2, {})]))


async def terminate_the_stores_connections(postgres_url: str) -> None:
    """End every connection of the bot's pools on the server, and wait until they are gone."""
    database = postgres_url.rsplit("/", 1)[1]
    async with await psycopg.AsyncConnection.connect(url_for("postgres"), autocommit=True) as c:
        await c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'online-safety-bot'",
            (database,),
        )
        while True:
            cursor = await c.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'online-safety-bot'",
                (database,),
            )
            row = await cursor.fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("operation", ["get", "commit", "keyed draw"])
async def test_a_connection_closed_after_the_pools_check_is_replaced_and_nothing_is_lost(
    store: PostgresStore, postgres_url: str, operation: str
) -> None:
    """The pool's check reads the socket without a round trip, so a close still on its way
    passes it: the operation is run again on a fresh connection, as nothing was committed."""
    await store.commit(Change(records=[Record("concern", "A", 1, {})]))
    await terminate_the_stores_connections(postgres_url)
    pool = store._pool
    check = pool._check
    missed: list[object] = []

    async def misses_once(conn: Any) -> None:
        if not missed:
            missed.append(conn)
            return
        assert check is not None
        await check(conn)

    pool._check = misses_once
    if operation == "get":
        assert await store.get("concern", "A") is not None
    elif operation == "commit":
        await store.commit(Change(records=[Record("concern", "A", 2, {})]))
        found = await store.get("concern", "A")
        assert found is not None and found.version == 2
    else:
        assert await store.next_sequence("OSC", key="k") == 1
        assert await store.next_sequence("OSC", key="k") == 1
    assert missed, "the stale connection was lent"


async def test_claim_rules_need_their_kind_to_be_claimable(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url, tenant=f"t-{uuid.uuid4()}")
    try:
        with pytest.raises(ValueError, match="no claim rule"):
            await store.claim_due("outbox", AT, lease_seconds=1, owner="x", limit=1)
    finally:
        await store.close()
    with_rules = await PostgresStore.open(
        postgres_url, tenant=f"t-{uuid.uuid4()}", claim_rules=CLAIM_RULES
    )
    try:
        assert await with_rules.claim_due("outbox", AT, lease_seconds=1, owner="x", limit=1) == []
    finally:
        await with_rules.close()
