"""The server store: the Store port on PostgreSQL, for a trust or for several bot instances.

One database serves many schools. A ``PostgresStore`` is opened for ONE tenant (the school's
Entra tenant id): every row it writes carries that tenant and every statement it runs filters
on it, so one school's store can never read, list or change another school's rows.

Tables (``store/migrations/*.sql``, applied by ``python -m ops migrate``):

``records``
    One row per item; ``data`` is the record's JSON, or its AES-GCM sealed form when a key is
    configured (``store.crypto.RecordCipher``, the same sealing as the TinyDB files).
``audit`` and ``chains``
    The hash-chained audit log, per tenant. A commit locks the tenant's ``chains`` row
    (``SELECT ... FOR UPDATE``) in the same transaction as its records, so entries are numbered
    and chained one at a time across every instance.
``dedupe``, ``sequences``, ``sequence_keys``
    Processed dedupe keys, named sequences and keyed draws from them, per tenant.
``schema_version``
    Which migrations have been applied. ``open`` refuses a database without the schema this
    code needs, or with a newer one than it knows.

A commit is one transaction: the dedupe key is inserted (``ON CONFLICT DO NOTHING``: no row
means a duplicate), each record is written only from the version before it (``UPDATE ...
WHERE version = n - 1``, or ``INSERT ... ON CONFLICT DO NOTHING`` for version 1: no row means
a ``VersionConflict``), deletes match their version, and the audit events are sealed onto the
chain. Rows are touched in one sorted order, so concurrent commits cannot deadlock on them.

``find`` trade-off: without a key, equality filters run in the database (``data @> ...``, a
GIN index); with a key the data is sealed, so every record of the kind is read and opened and
the filter runs here, in Python. That is linear in the number of records of the kind (a few
milliseconds per thousand); the use cases filter small kinds or a school's own items.

Claiming (``claim_due``, the ``ClaimingStore`` capability): for kinds given a ``ClaimRule``,
the due time and group are copied out of the data into plain columns on every write. A claim
takes a per-tenant-and-kind advisory lock for its own short transaction, then leases due rows
``FOR UPDATE SKIP LOCKED`` (lease times use the database's clock, one clock for all
instances). Writing or deleting a record ends its lease.

Connection failures, pool time-outs and statement time-outs raise ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline, errors
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from dialogs.ports import (
    RECORD_SCHEMA,
    Change,
    ClaimRule,
    DuplicateRequest,
    Record,
    StoreCorrupted,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from policy.audit import GENESIS, AuditEntry, ChainCheck, seal, verify_chain
from store.crypto import MARK, RecordCipher
from store.text import clean_change

log = logging.getLogger(__name__)

#: Where the schema migrations live: ``NNNN_name.sql``, applied in order.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Dedupe keys are kept this long (Teams retries within seconds to minutes), as in TinyDB.
DEDUPE_KEEP = timedelta(days=2)
#: Any one statement may run this long before the database cancels it.
STATEMENT_TIMEOUT_MS = 15_000
#: How long opening a connection may take.
CONNECT_TIMEOUT_SECONDS = 5
#: How long an operation waits for a free pooled connection before ``StoreUnavailable``.
POOL_WAIT_SECONDS = 5.0
#: Audit entries appended in one statement with the chain's new head (more: one statement each).
_AUDIT_IN_ONE = 200
#: New records inserted in one statement (more, or the same one twice: one statement each).
_NEW_IN_ONE = 200
#: Advisory-lock class for claims (the second key is a hash of tenant and kind).
_CLAIM_LOCK = 0x05B0
#: Advisory-lock key that serialises migrations.
_MIGRATE_LOCK = 0x05B0_0001
_MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_RETRIES = 3


class SchemaMismatch(StoreCorrupted):
    """The database has not been migrated to this code's schema, or has a newer one."""


class TargetDiffers(StoreError):
    """Copying into the database was refused: it already holds different data for the tenant."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``store/migrations/NNNN_name.sql``."""

    version: int
    name: str
    path: Path


def migrations() -> list[Migration]:
    """Every migration this code knows, oldest first."""
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        match = _MIGRATION_NAME.fullmatch(path.name)
        if match is None:
            raise ValueError(f"{path.name}: migrations are named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3... without gaps, not {versions}")
    return found


def latest_schema() -> int:
    """The newest schema version this code knows."""
    return len(migrations())


def _unavailable(exc: BaseException) -> StoreUnavailable:
    # Class and SQLSTATE only: driver messages can quote the connection string or the data.
    state = getattr(exc, "sqlstate", None)
    detail = exc.__class__.__name__ + (f", SQLSTATE {state}" if state else "")
    return StoreUnavailable(f"the database cannot be used just now ({detail})")


async def _schema_version(conn: AsyncConnection[Any]) -> int | None:
    """The applied schema version, or None when the database has never been migrated."""
    row = await (await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")).fetchone()
    if row is None or not row[0]:
        return None
    row = await (await conn.execute("SELECT max(version) FROM schema_version")).fetchone()
    return None if row is None or row[0] is None else int(row[0])


async def migrate(url: str) -> list[int]:
    """Apply every migration the database does not have yet; returns the versions applied.

    Safe to run again, and from several processes at once (an advisory lock serialises them).

    Raises:
        SchemaMismatch: the database has a newer schema than this code knows.
        StoreUnavailable: the database cannot be reached.
    """
    try:
        conn = await AsyncConnection.connect(
            url,
            application_name="online-safety-bot migrate",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
    except psycopg.Error as exc:
        raise _unavailable(exc) from None
    applied: list[int] = []
    try:
        async with conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY,"
                " name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = await _schema_version(conn) or 0
            known = migrations()
            if current > len(known):
                raise SchemaMismatch(
                    f"the database has schema {current}, newer than this code knows "
                    f"({len(known)}): run the newer version of the bot"
                )
            for step in known[current:]:
                log.info("applying migration %04d %s", step.version, step.name)
                await conn.execute(step.path.read_text(encoding="utf-8").encode("utf-8"))
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                    (step.version, step.name),
                )
                applied.append(step.version)
    except psycopg.OperationalError as exc:
        raise _unavailable(exc) from None
    return applied


async def schema_status(url: str) -> tuple[int | None, int]:
    """``(applied, known)``: the database's schema version (None if never migrated) and ours.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    try:
        async with await AsyncConnection.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as conn:
            return await _schema_version(conn), latest_schema()
    except psycopg.Error as exc:
        raise _unavailable(exc) from None


def _check_schema(applied: int | None, known: int) -> None:
    if applied is None:
        raise SchemaMismatch(
            "the database has no bot schema yet: run script/migrate (python -m ops migrate) "
            "with the same DATABASE_URL, then start the bot"
        )
    if applied > known:
        raise SchemaMismatch(
            f"the database has schema {applied}, newer than this code knows ({known}): "
            "it was migrated by a newer version of the bot; run that version"
        )
    if applied < known:
        raise SchemaMismatch(
            f"the database has schema {applied} and this code needs {known}: run "
            "script/migrate (python -m ops migrate), then start the bot"
        )


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What ``PostgresStore.copy_in`` did: rows copied, and rows already there (the same)."""

    records_copied: int
    records_present: int
    audit_copied: int
    audit_present: int
    sequences_set: int
    dedupe_copied: int


def _audit_row(tenant: str, entry: AuditEntry) -> tuple[Any, ...]:
    return (
        tenant,
        entry.seq,
        entry.actor,
        entry.action,
        entry.item,
        entry.outcome,
        entry.at,
        entry.prev_hash,
        entry.hash,
    )


def _record_row(tenant: str, write: _Write) -> tuple[Any, ...]:
    record = write.record
    return (
        tenant,
        record.kind,
        record.id,
        record.version,
        record.schema,
        Jsonb(write.stored),
        write.due_at,
        write.group,
    )


@dataclass(frozen=True, slots=True)
class _Write:
    record: Record
    stored: Any
    due_at: datetime | None
    group: str | None


class PostgresStore:
    """The ``Store`` port (and ``ClaimingStore``) on PostgreSQL, for one tenant.

    Open with ``await PostgresStore.open(url, tenant=...)``; close with ``await close()``.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        tenant: str,
        *,
        cipher: RecordCipher | None = None,
        claim_rules: Mapping[str, ClaimRule] | None = None,
        read_only: bool = False,
    ) -> None:
        if not tenant or tenant != tenant.strip():
            raise ValueError("a tenant id is needed (the school's Entra tenant id)")
        self._pool = pool
        self._tenant = tenant
        self._cipher = cipher
        self._rules = dict(claim_rules or {})
        self._read_only = read_only
        self.audit_check: ChainCheck | None = None

    @property
    def tenant(self) -> str:
        """The tenant (school) this store reads and writes."""
        return self._tenant

    # ----- opening ---------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        tenant: str,
        cipher: RecordCipher | None = None,
        claim_rules: Mapping[str, ClaimRule] | None = None,
        read_only: bool = False,
        max_connections: int = 10,
    ) -> PostgresStore:
        """Connect a pool to ``url`` and check the database before anything is served.

        Checks, in order: the schema version (refusing a database that was never migrated, is
        behind, or is newer than this code), that no record was written by newer code, that
        the configured keys open the tenant's records, and the tenant's audit chain (the result
        is kept in ``audit_check`` for ``/healthz``). ``read_only`` connections refuse every
        write (in the database too).

        Raises:
            SchemaMismatch: run the migrations first, or run the newer code.
            StoreCorrupted: a record is from newer code, or no configured key opens it.
            StoreUnavailable: the database cannot be reached.
        """

        # One direct connection first: an unreachable server or a wrong schema is reported
        # at once, instead of after the pool has retried for its whole start-up time-out.
        _check_schema(*await schema_status(url))

        async def configure(conn: AsyncConnection[Any]) -> None:
            await conn.execute(f"SET statement_timeout = {int(STATEMENT_TIMEOUT_MS)}")
            if read_only:
                await conn.execute("SET default_transaction_read_only = on")

        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max(1, max_connections),
            open=False,
            timeout=POOL_WAIT_SECONDS,
            configure=configure,
            check=AsyncConnectionPool.check_connection,
            kwargs={
                "autocommit": True,
                "application_name": "online-safety-bot",
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            },
            name=f"store-{tenant[:8]}",
        )
        try:
            await pool.open(wait=True, timeout=10.0)
        except psycopg.Error as exc:
            await pool.close()
            raise _unavailable(exc) from None
        store = cls(pool, tenant, cipher=cipher, claim_rules=claim_rules, read_only=read_only)
        try:
            await store._check_on_open()
        except BaseException:
            await pool.close()
            raise
        return store

    async def _check_on_open(self) -> None:
        async with self._connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT max(schema) FROM records WHERE tenant = %s", (self._tenant,)
                )
            ).fetchone()
            if row is not None and row[0] is not None and row[0] > RECORD_SCHEMA:
                raise StoreCorrupted(
                    f"the database holds records written by a newer version of the bot "
                    f"(record schema {row[0]}, this code knows {RECORD_SCHEMA})"
                )
            # Open one record of each kind now: a missing or wrong key stops start-up.
            cursor = await conn.execute(
                "SELECT DISTINCT ON (kind) kind, id, version, schema, data FROM records "
                "WHERE tenant = %s ORDER BY kind, id",
                (self._tenant,),
            )
            for kind, item_id, version, schema, data in await cursor.fetchall():
                self._record(kind, item_id, version, schema, data)
            if not self._read_only:
                await conn.execute(
                    "INSERT INTO chains (tenant, seq, hash) VALUES (%s, 0, %s) "
                    "ON CONFLICT DO NOTHING",
                    (self._tenant, GENESIS),
                )
                for forget in (
                    "DELETE FROM dedupe WHERE tenant = %s AND at < %s",
                    "DELETE FROM sequence_keys WHERE tenant = %s AND at < %s",
                ):
                    await conn.execute(forget, (self._tenant, datetime.now(UTC) - DEDUPE_KEEP))
        self.audit_check = await self.verify_audit()
        if not self.audit_check.ok:
            log.error(
                "audit chain broken at entry %s: %s",
                self.audit_check.first_bad_seq,
                self.audit_check.problem,
            )

    @asynccontextmanager
    async def _connection(self, *, retryable: bool = False) -> AsyncIterator[AsyncConnection[Any]]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except errors.TransactionRollback as exc:
            if retryable:
                raise  # a deadlock or serialisation failure: the caller retries the transaction
            raise _unavailable(exc) from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise _unavailable(exc) from None

    def _writable(self) -> None:
        if self._read_only:
            raise StoreUnavailable("the store was opened read-only")
        if self._pool.closed:
            raise StoreUnavailable("the store is closed")

    # ----- records in and out ------------------------------------------------------------------

    def _record(self, kind: str, item_id: str, version: int, schema: int, stored: Any) -> Record:
        if self._cipher is not None:
            data = self._cipher.open(kind, item_id, stored)
        elif isinstance(stored, dict) and MARK in stored:
            raise StoreCorrupted(
                f"record {kind}:{item_id} is encrypted and no key is configured "
                "(set BOT_ENCRYPTION_KEY)"
            )
        else:
            data = stored  # parsed from the row: a fresh object, nobody else holds it
        return Record(kind, item_id, version, data, schema)

    def _write(self, record: Record) -> _Write:
        stored: Any = (
            dict(record.data)
            if self._cipher is None
            else self._cipher.seal(record.kind, record.id, record.data)
        )
        rule = self._rules.get(record.kind)
        if rule is None:
            return _Write(record, stored, None, None)
        raw = record.data.get(rule.due_field)
        try:
            due = datetime.fromisoformat(str(raw))
        except ValueError:
            raise ValueError(
                f"{record.ref}: {rule.due_field!r} must be an ISO time, to be claimed"
            ) from None
        if due.tzinfo is None:
            raise ValueError(f"{record.ref}: {rule.due_field!r} must carry a time zone")
        group = None
        if rule.group_field is not None and record.data.get(rule.group_field) is not None:
            group = str(record.data[rule.group_field])
        return _Write(record, stored, due, group)

    # ----- the port ----------------------------------------------------------------------------

    async def get(self, kind: str, item_id: str) -> Record | None:
        async with self._connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT version, schema, data FROM records "
                    "WHERE tenant = %s AND kind = %s AND id = %s",
                    (self._tenant, kind, item_id),
                )
            ).fetchone()
        return None if row is None else self._record(kind, item_id, row[0], row[1], row[2])

    async def find(self, kind: str, **equals: str | int | bool | None) -> list[Record]:
        query = "SELECT id, version, schema, data FROM records WHERE tenant = %s AND kind = %s"
        params: list[Any] = [self._tenant, kind]
        pushed = {k: v for k, v in equals.items() if v is not None}
        if self._cipher is None and pushed:
            # Plain data: let the GIN index narrow it down; the exact check below still runs
            # (``None`` also matches a missing field, as in the other stores).
            query += " AND data @> %s"
            params.append(Jsonb(pushed))
        async with self._connection() as conn:
            rows = await (await conn.execute(query + " ORDER BY id", params)).fetchall()
        found = []
        for item_id, version, schema, data in rows:
            record = self._record(kind, item_id, version, schema, data)
            if all(record.data.get(k) == v for k, v in equals.items()):
                found.append(record)
        return found

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        self._writable()
        change = clean_change(change)
        writes = [self._write(r) for r in change.records]  # sealing is CPU work: outside the tx
        for attempt in range(1, _RETRIES + 1):
            try:
                # Pipeline mode: BEGIN, the dedupe key, the records and the chain's head go in
                # one round trip; the audit entries and COMMIT in a second. ``commit`` returns
                # only after the pipeline's last sync, that is after COMMIT has succeeded.
                async with (
                    self._connection(retryable=True) as conn,
                    conn.pipeline() as pipeline,
                    conn.transaction(),
                ):
                    return await self._commit_in(conn, pipeline, change, writes)
            except errors.TransactionRollback as exc:
                if attempt == _RETRIES:
                    raise _unavailable(exc) from None
                await asyncio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _commit_in(
        self,
        conn: AsyncConnection[Any],
        pipeline: AsyncPipeline,
        change: Change,
        writes: Sequence[_Write],
    ) -> tuple[AuditEntry, ...]:
        """Queue every statement of the commit, then check their outcomes in the order the
        one-at-a-time path did (the dedupe key first, then the records in sorted order): the
        same ``DuplicateRequest`` or ``VersionConflict``, and a failed commit rolls back."""
        tenant = self._tenant
        dedupe = None
        if change.dedupe_key is not None:
            dedupe = await conn.execute(
                "INSERT INTO dedupe (tenant, key, refs, at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (
                    tenant,
                    change.dedupe_key,
                    Jsonb([r.ref for r in change.records]),
                    datetime.now(UTC),
                ),
            )
        # New records (version 1) in one statement, in sorted order; then the rest, sorted.
        fresh = sorted(
            (w for w in writes if w.record.version == 1), key=lambda w: (w.record.kind, w.record.id)
        )
        batched = 0 < len(fresh) <= _NEW_IN_ONE and len({w.record.ref for w in fresh}) == len(fresh)
        inserted = await self._insert_new(conn, fresh) if batched else None
        steps: list[tuple[str, str, _Write | int]] = [
            (w.record.kind, w.record.id, w)
            for w in writes
            if not (batched and w.record.version == 1)
        ] + [(kind, item_id, version) for kind, item_id, version in change.deletes]
        checks: list[tuple[str, str, int, AsyncCursor[Any]]] = []
        for kind, item_id, step in sorted(steps, key=lambda s: (s[0], s[1])):
            if isinstance(step, int):
                expected = step
                cursor = await conn.execute(
                    "DELETE FROM records WHERE tenant = %s AND kind = %s AND id = %s "
                    "AND version = %s",
                    (tenant, kind, item_id, step),
                )
            elif step.record.version == 1:
                expected = 0
                cursor = await conn.execute(
                    "INSERT INTO records (tenant, kind, id, version, schema, data, due_at, "
                    "claim_group) VALUES (%s, %s, %s, 1, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (
                        tenant,
                        kind,
                        item_id,
                        step.record.schema,
                        Jsonb(step.stored),
                        step.due_at,
                        step.group,
                    ),
                )
            else:
                expected = step.record.version - 1
                cursor = await conn.execute(
                    "UPDATE records SET version = %s, schema = %s, data = %s, due_at = %s, "
                    "claim_group = %s, lease_until = NULL, lease_owner = NULL "
                    "WHERE tenant = %s AND kind = %s AND id = %s AND version = %s",
                    (
                        step.record.version,
                        step.record.schema,
                        Jsonb(step.stored),
                        step.due_at,
                        step.group,
                        tenant,
                        kind,
                        item_id,
                        expected,
                    ),
                )
            checks.append((kind, item_id, expected, cursor))
        # The chain's head is locked last (rows are always locked in this order), in the same
        # round trip as the writes above: held from here to COMMIT for one round trip fewer.
        head = None
        if change.audit:
            head = await conn.execute(
                "SELECT seq, hash FROM chains WHERE tenant = %s FOR UPDATE", (tenant,)
            )
        await pipeline.sync()
        if dedupe is not None and dedupe.rowcount == 0:
            row = await (
                await conn.execute(
                    "SELECT refs FROM dedupe WHERE tenant = %s AND key = %s",
                    (tenant, change.dedupe_key),
                )
            ).fetchone()
            raise DuplicateRequest(change.dedupe_key or "", list(row[0]) if row else [])
        if inserted is not None:
            done = {(str(kind), str(item_id)) for kind, item_id in await inserted.fetchall()}
            for w in fresh:
                if (w.record.kind, w.record.id) not in done:
                    await self._conflict(conn, w.record.kind, w.record.id, 0)
        for kind, item_id, expected, cursor in checks:
            if cursor.rowcount != 1:
                await self._conflict(conn, kind, item_id, expected)
        if head is None:
            return ()
        return await self._append_audit(conn, change, await head.fetchone())

    async def _conflict(
        self, conn: AsyncConnection[Any], kind: str, item_id: str, expected: int
    ) -> None:
        row = await (
            await conn.execute(
                "SELECT version FROM records WHERE tenant = %s AND kind = %s AND id = %s",
                (self._tenant, kind, item_id),
            )
        ).fetchone()
        raise VersionConflict(f"{kind}:{item_id}", expected, row[0] if row else 0)

    async def _insert_new(
        self, conn: AsyncConnection[Any], fresh: Sequence[_Write]
    ) -> AsyncCursor[Any]:
        """Queue the insert of records new at version 1, in one statement; its cursor returns
        the (kind, id) of each row inserted (one already there, or inserted by a commit in
        flight, is not: the caller raises ``VersionConflict`` for it)."""
        tenant = self._tenant
        values = ", ".join(["(%s, %s, %s, 1, %s, %s, %s, %s)"] * len(fresh))
        params: list[Any] = []
        for w in fresh:
            params += [tenant, w.record.kind, w.record.id, w.record.schema, Jsonb(w.stored)]
            params += [w.due_at, w.group]
        return await conn.execute(
            "INSERT INTO records (tenant, kind, id, version, schema, data, due_at, claim_group) "  # noqa: S608 (placeholders only)
            f"VALUES {values} ON CONFLICT DO NOTHING RETURNING kind, id",
            params,
        )

    async def _append_audit(
        self, conn: AsyncConnection[Any], change: Change, head: Any
    ) -> tuple[AuditEntry, ...]:
        """Seal the change's events onto the chain whose locked head is ``head`` and queue
        their rows with the head's update (sent with COMMIT, in the pipeline's last sync)."""
        if head is None:
            raise StoreCorrupted(f"the audit chain of tenant {self._tenant} has no head row")
        seq, prev = int(head[0]), str(head[1])
        entries = []
        for event in change.audit:
            seq += 1
            entry = seal(event, seq=seq, prev_hash=prev)
            entries.append(entry)
            prev = entry.hash
        rows = [_audit_row(self._tenant, e) for e in entries]
        if len(rows) <= _AUDIT_IN_ONE:
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
            await conn.execute(
                "WITH appended AS (INSERT INTO audit (tenant, seq, actor, action, item, outcome, "  # noqa: S608 (placeholders only)
                f"at, prev_hash, hash) VALUES {values}) "
                "UPDATE chains SET seq = %s, hash = %s WHERE tenant = %s",
                [*(v for row in rows for v in row), seq, prev, self._tenant],
            )
            return tuple(entries)
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO audit (tenant, seq, actor, action, item, outcome, at, prev_hash, "
                "hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        await conn.execute(
            "UPDATE chains SET seq = %s, hash = %s WHERE tenant = %s", (seq, prev, self._tenant)
        )
        return tuple(entries)

    async def next_sequence(self, name: str, *, key: str | None = None) -> int:
        self._writable()
        if key is not None:
            return await self._keyed_sequence(name, key)
        async with self._connection() as conn:
            row = await (
                await conn.execute(
                    "INSERT INTO sequences (tenant, name, value) VALUES (%s, %s, 1) "
                    "ON CONFLICT (tenant, name) DO UPDATE SET value = sequences.value + 1 "
                    "RETURNING value",
                    (self._tenant, name),
                )
            ).fetchone()
        assert row is not None
        return int(row[0])

    async def _keyed_sequence(self, name: str, key: str) -> int:
        """A keyed draw: the sequence's row is locked first, so every draw on it waits its
        turn, and then sees (each statement reads afresh) any number a draw with the same
        key committed meanwhile. Pipelined: BEGIN, the lock and the look-up in one round
        trip; the draw and COMMIT in a second, so the row is locked for one round trip and
        the commit. The number is returned only once COMMIT has succeeded."""
        tenant = self._tenant
        async with self._connection() as conn, conn.pipeline() as pipeline:
            async with conn.transaction():
                # Made if new, and locked either way (ON CONFLICT DO UPDATE locks the row).
                await conn.execute(
                    "INSERT INTO sequences (tenant, name, value) VALUES (%s, %s, 0) "
                    "ON CONFLICT (tenant, name) DO UPDATE SET value = sequences.value",
                    (tenant, name),
                )
                found = await conn.execute(
                    "SELECT value FROM sequence_keys WHERE tenant = %s AND name = %s AND key = %s",
                    (tenant, name, key),
                )
                row = await found.fetchone()
                if row is not None:
                    value = int(row[0])
                else:
                    drawn = await conn.execute(
                        "WITH drawn AS (UPDATE sequences SET value = value + 1 "
                        "WHERE tenant = %s AND name = %s RETURNING value) "
                        "INSERT INTO sequence_keys (tenant, name, key, value, at) "
                        "SELECT %s, %s, %s, value, %s FROM drawn RETURNING value",
                        (tenant, name, tenant, name, key, datetime.now(UTC)),
                    )
            await pipeline.sync()  # COMMIT's outcome: raises if it failed
            if row is None:
                row = await drawn.fetchone()
                assert row is not None
                value = int(row[0])
        return value

    async def deduped(self, key: str) -> tuple[str, ...] | None:
        async with self._connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT refs FROM dedupe WHERE tenant = %s AND key = %s", (self._tenant, key)
                )
            ).fetchone()
        return None if row is None else tuple(row[0])

    async def audit_log(self) -> list[AuditEntry]:
        async with self._connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT seq, actor, action, item, outcome, at, prev_hash, hash FROM audit "
                    "WHERE tenant = %s ORDER BY seq",
                    (self._tenant,),
                )
            ).fetchall()
        return [AuditEntry(int(r[0]), *r[1:]) for r in rows]

    async def verify_audit(self) -> ChainCheck:
        return verify_chain(await self.audit_log())

    async def close(self) -> None:
        await self._pool.close()

    # ----- several instances ---------------------------------------------------------------

    async def claim_due(
        self, kind: str, now: datetime, *, lease_seconds: float, owner: str, limit: int
    ) -> list[Record]:
        if kind not in self._rules:
            raise ValueError(f"no claim rule for {kind!r}: its due times are not indexed")
        self._writable()
        async with self._connection() as conn, conn.transaction():
            # One claim at a time per tenant and kind (a few milliseconds), so that the "group
            # already in flight" check below always sees the other instances' leases.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (_CLAIM_LOCK, f"{self._tenant}/{kind}"),
            )
            rows = await (
                await conn.execute(
                    """
                    WITH busy AS (
                        SELECT DISTINCT claim_group FROM records
                        WHERE tenant = %(tenant)s AND kind = %(kind)s
                          AND claim_group IS NOT NULL AND lease_until > clock_timestamp()
                    ), picked AS (
                        SELECT id FROM records
                        WHERE tenant = %(tenant)s AND kind = %(kind)s AND due_at <= %(now)s
                          AND (lease_until IS NULL OR lease_until <= clock_timestamp())
                          AND (claim_group IS NULL
                               OR claim_group NOT IN (SELECT claim_group FROM busy))
                        ORDER BY due_at, id
                        LIMIT %(limit)s
                        FOR UPDATE SKIP LOCKED
                    )
                    UPDATE records AS r
                    SET lease_until = clock_timestamp() + make_interval(secs => %(lease)s),
                        lease_owner = %(owner)s
                    FROM picked
                    WHERE r.tenant = %(tenant)s AND r.kind = %(kind)s AND r.id = picked.id
                    RETURNING r.id, r.version, r.schema, r.data, r.due_at
                    """,
                    {
                        "tenant": self._tenant,
                        "kind": kind,
                        "now": now,
                        "limit": max(1, limit),
                        "lease": float(lease_seconds),
                        "owner": owner,
                    },
                )
            ).fetchall()
        rows.sort(key=lambda r: (r[4], r[0]))
        return [self._record(kind, r[0], r[1], r[2], r[3]) for r in rows]

    # ----- maintenance -----------------------------------------------------------------------

    async def reseal(self) -> int:
        """Re-encrypt every record of the tenant with the current key (after a key rotation,
        or to encrypt a store that was created without a key); returns how many changed.
        One transaction: all or nothing, and safe to re-run."""
        self._writable()
        if self._cipher is None:
            raise StoreUnavailable("no encryption key is configured")
        cipher = self._cipher
        changed = 0
        async with self._connection() as conn, conn.transaction():
            rows = await (
                await conn.execute(
                    "SELECT kind, id, data FROM records WHERE tenant = %s FOR UPDATE",
                    (self._tenant,),
                )
            ).fetchall()
            updates = []
            for kind, item_id, stored in rows:
                if cipher.needs_reseal(stored):
                    data = cipher.open(kind, item_id, stored)
                    updates.append((Jsonb(cipher.seal(kind, item_id, data)), kind, item_id))
            if updates:
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        "UPDATE records SET data = %s WHERE tenant = %s AND kind = %s AND id = %s",
                        [(d, self._tenant, k, i) for d, k, i in updates],
                    )
                changed = len(updates)
        return changed

    async def count_records(self) -> dict[str, int]:
        """How many records of each kind the tenant has."""
        async with self._connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT kind, count(*) FROM records WHERE tenant = %s GROUP BY kind",
                    (self._tenant,),
                )
            ).fetchall()
        return {str(kind): int(count) for kind, count in rows}

    async def sequences(self) -> dict[str, int]:
        """The tenant's named sequences and their last values."""
        async with self._connection() as conn:
            rows = await (
                await conn.execute(
                    "SELECT name, value FROM sequences WHERE tenant = %s", (self._tenant,)
                )
            ).fetchall()
        return {str(name): int(value) for name, value in rows}

    async def copy_in(
        self,
        records: Iterable[Record],
        audit: Sequence[AuditEntry],
        sequences: Mapping[str, int],
        dedupe: Mapping[str, tuple[Sequence[str], datetime]],
    ) -> CopyResult:
        """Copy a school's store in, keeping record versions and the audit chain as they are.

        One transaction, idempotent: what is already here and equal is skipped, the rest is
        added. Refused (nothing changed) when the tenant already holds different data: a
        record with another version or content, a record the source does not have, an audit
        chain that is not a beginning of the source's, or a sequence further on.

        Raises:
            TargetDiffers: the database holds different data for this tenant.
            StoreUnavailable: the database cannot be reached.
        """
        self._writable()
        source = {(r.kind, r.id): r for r in records}
        async with self._connection() as conn, conn.transaction():
            head = await (
                await conn.execute(
                    "SELECT seq, hash FROM chains WHERE tenant = %s FOR UPDATE", (self._tenant,)
                )
            ).fetchone()
            present = await self._compare_records(conn, source)
            missing = [r for key, r in source.items() if key not in present]
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO records (tenant, kind, id, version, schema, data, due_at, "
                    "claim_group) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [_record_row(self._tenant, self._write(r)) for r in missing],
                )
            audit_present = await self._compare_audit(conn, audit, head)
            new_entries = list(audit[audit_present:])
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO audit (tenant, seq, actor, action, item, outcome, at, "
                    "prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [_audit_row(self._tenant, e) for e in new_entries],
                )
            last_seq, last_hash = (audit[-1].seq, audit[-1].hash) if audit else (0, GENESIS)
            await conn.execute(
                "INSERT INTO chains (tenant, seq, hash) VALUES (%s, %s, %s) "
                "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (self._tenant, last_seq, last_hash),
            )
            sequences_set = await self._copy_sequences(conn, sequences)
            dedupe_copied = 0
            if dedupe:
                async with conn.cursor() as cursor:
                    await cursor.executemany(
                        "INSERT INTO dedupe (tenant, key, refs, at) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
                        [
                            (self._tenant, key, Jsonb(list(refs)), at)
                            for key, (refs, at) in dedupe.items()
                        ],
                    )
                    dedupe_copied = len(dedupe)
        return CopyResult(
            records_copied=len(missing),
            records_present=len(present),
            audit_copied=len(new_entries),
            audit_present=audit_present,
            sequences_set=sequences_set,
            dedupe_copied=dedupe_copied,
        )

    async def _compare_records(
        self, conn: AsyncConnection[Any], source: Mapping[tuple[str, str], Record]
    ) -> set[tuple[str, str]]:
        rows = await (
            await conn.execute(
                "SELECT kind, id, version, schema, data FROM records WHERE tenant = %s",
                (self._tenant,),
            )
        ).fetchall()
        present: set[tuple[str, str]] = set()
        for kind, item_id, version, schema, stored in rows:
            wanted = source.get((kind, item_id))
            if wanted is None:
                raise TargetDiffers(
                    f"the database already holds {kind}:{item_id} for this school, which the "
                    "source does not have (was the bot already run on the database?)"
                )
            here = self._record(kind, item_id, version, schema, stored)
            if (here.version, here.schema, dict(here.data)) != (
                wanted.version,
                wanted.schema,
                dict(wanted.data),
            ):
                raise TargetDiffers(
                    f"the database holds a different {kind}:{item_id} for this school "
                    f"(version {here.version}; the source has version {wanted.version})"
                )
            present.add((kind, item_id))
        return present

    async def _compare_audit(
        self, conn: AsyncConnection[Any], audit: Sequence[AuditEntry], head: Any
    ) -> int:
        rows = await (
            await conn.execute(
                "SELECT seq, hash FROM audit WHERE tenant = %s ORDER BY seq", (self._tenant,)
            )
        ).fetchall()
        if len(rows) > len(audit):
            raise TargetDiffers(
                f"the database's audit log for this school has {len(rows)} entries, more than "
                f"the source's {len(audit)}"
            )
        for (seq, digest), entry in zip(rows, audit, strict=False):
            if (seq, digest) != (entry.seq, entry.hash):
                raise TargetDiffers(
                    f"the database's audit entry {seq} differs from the source's: the chains "
                    "are not the same"
                )
        if head is not None and rows and (head[0], head[1]) != (rows[-1][0], rows[-1][1]):
            raise TargetDiffers("the database's audit chain head does not match its entries")
        return len(rows)

    async def _copy_sequences(
        self, conn: AsyncConnection[Any], sequences: Mapping[str, int]
    ) -> int:
        rows = await (
            await conn.execute(
                "SELECT name, value FROM sequences WHERE tenant = %s", (self._tenant,)
            )
        ).fetchall()
        here = {str(name): int(value) for name, value in rows}
        for name, value in here.items():
            if name not in sequences or value > sequences[name]:
                raise TargetDiffers(
                    f"the database's sequence {name} is at {value}, beyond the source's "
                    f"{sequences.get(name, 0)}"
                )
        changed = {n: v for n, v in sequences.items() if here.get(n) != v}
        if changed:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO sequences (tenant, name, value) VALUES (%s, %s, %s) "
                    "ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value",
                    [(self._tenant, n, v) for n, v in changed.items()],
                )
        return len(changed)


__all__ = [
    "CopyResult",
    "Migration",
    "PostgresStore",
    "SchemaMismatch",
    "TargetDiffers",
    "latest_schema",
    "migrate",
    "migrations",
    "schema_status",
]
