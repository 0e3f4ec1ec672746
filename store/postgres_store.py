"""The server store: the Store port on PostgreSQL, for a trust or for several bot instances.

One database serves many schools. A ``PostgresStore`` is opened for ONE tenant (the school's
Entra tenant id): every row it writes carries that tenant and every statement it runs filters
on it, so one school's store can never read, list or change another school's rows.

Tables (``store/migrations/*.sql``, applied by ``python -m ops migrate``):

``records``
    One row per item; ``data`` is the record's JSON, or its AES-GCM sealed form when a key is
    configured (``store.crypto.RecordCipher``, the same sealing as the TinyDB files).
``audit`` and ``chains``
    The hash-chained audit log, per tenant, as ``AUDIT_CHAINS`` chains side by side (``shard``,
    ``AuditEntry.chain``). A commit locks one chain's ``chains`` row, the first that no other
    commit holds (``SELECT ... FOR UPDATE SKIP LOCKED``), in the same transaction as its
    records, so each chain's entries are numbered and chained one at a time across every
    instance, while commits on different chains need not wait for each other's COMMIT.
    ``verify_audit`` checks each chain and that it ends at its head row.
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

Round trips: a commit runs in pipeline mode, two round trips (BEGIN, the dedupe key, the records
and a chain's head locked last; then the audit entries and COMMIT), so the head is held for one
round trip, the sealing and the COMMIT, by this commit only (others take another chain); a
keyed draw likewise (the lock and the look-up; then the draw and COMMIT, which does not wait
for its WAL flush: the change using the number does). Nothing is returned before COMMIT has
succeeded. The pool checks a connection it lends by polling its socket (no round trip).

Modules: the schema and migrations in ``postgres_schema``, connections in ``postgres_pool``, one
commit in ``postgres_commit``, rows (and resealing them) in ``postgres_rows``, the audit log read
back in ``postgres_audit``, claims in ``postgres_claims``, copying a school's store in
``postgres_copy``; every public name is imported from here.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import AsyncConnection, errors
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from dialogs.ports import (
    RECORD_SCHEMA,
    Change,
    ClaimRule,
    Record,
    StoreCorrupted,
    StoreUnavailable,
    count_and_oldest,
    due_of,
)
from policy.audit import GENESIS, AuditEntry, ChainCheck
from store.crypto import MARK, RecordCipher
from store.postgres_audit import CHAINS_SQL, Chains, Heads, read_chains, verify_chains
from store.postgres_claims import claim_rows
from store.postgres_commit import commit_in
from store.postgres_copy import CopyResult, TargetDiffers, copy_in
from store.postgres_pool import Lost, Progress, not_closed, pipelined_transaction
from store.postgres_rows import Write, reseal_rows
from store.postgres_schema import (
    CONNECT_TIMEOUT_SECONDS,
    MIGRATIONS,
    Migration,
    SchemaMismatch,
    check_schema,
    latest_schema,
    migrate,
    migrations,
    schema_status,
    unavailable,
)
from store.text import clean_change

log = logging.getLogger(__name__)

#: Dedupe keys are kept this long (Teams retries within seconds to minutes), as in TinyDB.
DEDUPE_KEEP = timedelta(days=2)
#: Any one statement may run this long before the database cancels it.
STATEMENT_TIMEOUT_MS = 15_000
#: How long an operation waits for a free pooled connection before ``StoreUnavailable``.
POOL_WAIT_SECONDS = 5.0
#: Audit chains per tenant: a commit appends to any one no other commit holds (migration 0003).
AUDIT_CHAINS = 16
_RETRIES = 3
#: An ISO-8601 time with its zone, as ``datetime.isoformat`` writes it (``count_oldest``).
_ISO_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?([+-]\d\d:\d\d|Z)$"


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
        check_schema(*await schema_status(url))

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
            check=not_closed,
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
            raise unavailable(exc) from None
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
                    "INSERT INTO chains (tenant, shard, seq, hash) "
                    "SELECT %s, shard, 0, %s FROM generate_series(0, %s) AS shard "
                    "ON CONFLICT DO NOTHING",
                    (self._tenant, GENESIS, AUDIT_CHAINS - 1),
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
    async def _connection(
        self, *, retryable: bool = False, progress: Progress | None = None
    ) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection. With ``progress`` (a read, or a transaction that says when its
        COMMIT is queued), a connection found closed by the server before any COMMIT was
        sent raises ``Lost``: the caller runs the operation again on another one."""
        used: AsyncConnection[Any] | None = None
        try:
            async with self._pool.connection() as conn:
                used = conn
                yield conn
        except errors.TransactionRollback as exc:
            if retryable:
                raise  # a deadlock or serialisation failure: the caller retries the transaction
            raise unavailable(exc) from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            lost = used is not None and used.closed and not isinstance(exc, PoolTimeout)
            if lost and progress is not None and not progress.committing:
                raise Lost from exc
            raise unavailable(exc) from None

    async def _rows(
        self, query: str, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """One read statement's rows (run once more on another connection if the one lent
        turns out closed by the server: a read changes nothing)."""
        for attempt in (1, 2):
            try:
                async with self._connection(progress=Progress()) as conn:
                    return await (await conn.execute(query, params)).fetchall()
            except Lost as lost:
                if attempt == 2:
                    raise unavailable(lost.__cause__ or lost) from None
        raise AssertionError("unreachable")  # pragma: no cover

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

    def _write(self, record: Record) -> Write:
        stored: Any = (
            dict(record.data)
            if self._cipher is None
            else self._cipher.seal(record.kind, record.id, record.data)
        )
        rule = self._rules.get(record.kind)
        if rule is None:
            return Write(record, stored, None, None)
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
        return Write(record, stored, due, group)

    # ----- the port ----------------------------------------------------------------------------

    async def get(self, kind: str, item_id: str) -> Record | None:
        rows = await self._rows(
            "SELECT version, schema, data FROM records WHERE tenant = %s AND kind = %s AND id = %s",
            (self._tenant, kind, item_id),
        )
        return None if not rows else self._record(kind, item_id, *rows[0])

    async def find(self, kind: str, **equals: str | int | bool | None) -> list[Record]:
        query = "SELECT id, version, schema, data FROM records WHERE tenant = %s AND kind = %s"
        params: list[Any] = [self._tenant, kind]
        pushed = {k: v for k, v in equals.items() if v is not None}
        if self._cipher is None and pushed:
            # Plain data: let the GIN index narrow it down; the exact check below still runs
            # (``None`` also matches a missing field, as in the other stores).
            query += " AND data @> %s"
            params.append(Jsonb(pushed))
        rows = await self._rows(query + " ORDER BY id", params)
        found = []
        for item_id, version, schema, data in rows:
            record = self._record(kind, item_id, version, schema, data)
            if all(record.data.get(k) == v for k, v in equals.items()):
                found.append(record)
        return found

    async def count_oldest(self, kind: str, time_field: str) -> tuple[int, datetime | None]:
        if self._cipher is not None:  # sealed data: the times can only be read here
            return count_and_oldest(await self.find(kind), time_field)
        rows = await self._rows(
            "SELECT count(*), min(CASE WHEN data ->> %(field)s ~ %(iso)s "
            "THEN (data ->> %(field)s)::timestamptz END) FROM records "
            "WHERE tenant = %(tenant)s AND kind = %(kind)s",
            {"field": time_field, "iso": _ISO_TIME, "tenant": self._tenant, "kind": kind},
        )
        return int(rows[0][0]), rows[0][1]

    async def due(self, kind: str, time_field: str, at: datetime) -> list[Record]:
        if self._cipher is not None:  # sealed data: the times can only be read here
            return due_of(await self.find(kind), time_field, at)
        # Only a field shaped as an ISO time is cast (a cast of anything else would fail the
        # query): the others are returned, and ``due_of`` settles each row exactly.
        rows = await self._rows(
            "SELECT id, version, schema, data FROM records "
            "WHERE tenant = %(tenant)s AND kind = %(kind)s AND CASE WHEN data ->> %(field)s ~ "
            "%(iso)s THEN (data ->> %(field)s)::timestamptz <= %(at)s ELSE true END",
            {"field": time_field, "iso": _ISO_TIME, "tenant": self._tenant, "kind": kind, "at": at},
        )
        records = (self._record(kind, *row) for row in rows)
        return due_of(records, time_field, at)

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        self._writable()
        change = clean_change(change)
        writes = [self._write(r) for r in change.records]  # sealing is CPU work: outside the tx
        for attempt in range(1, _RETRIES + 1):
            progress = Progress()
            try:
                # Pipeline mode: BEGIN, the dedupe key, the records and the chain's head go in
                # one round trip; the audit entries and COMMIT in a second. ``commit`` returns
                # only after that round trip, that is after COMMIT has succeeded.
                async with (
                    self._connection(retryable=True, progress=progress) as conn,
                    pipelined_transaction(conn, progress) as pipeline,
                ):
                    entries = await commit_in(conn, pipeline, self._tenant, change, writes)
                return entries
            except Lost as lost:  # closed before COMMIT was sent: nothing was committed
                if attempt == _RETRIES:
                    raise unavailable(lost.__cause__ or lost) from None
            except errors.TransactionRollback as exc:
                if attempt == _RETRIES:
                    raise unavailable(exc) from None
                await asyncio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

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
        for attempt in (1, 2):
            try:
                return await self._keyed_draw(name, key)
            except Lost as lost:  # closed before COMMIT was sent: nothing was drawn
                if attempt == 2:
                    raise unavailable(lost.__cause__ or lost) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _keyed_draw(self, name: str, key: str) -> int:
        tenant = self._tenant
        drawn = None
        progress = Progress()
        async with (
            self._connection(progress=progress) as conn,
            pipelined_transaction(conn, progress) as pipeline,
        ):
            # The draw's COMMIT does not wait for its WAL to reach the disk, so the sequence's
            # row, which every draw locks, is not held across an fsync. Nothing is promised on
            # the draw alone: its number is only told to anyone once the change that uses it
            # has committed (synchronously), and WAL reaches the disk in order, so that
            # commit's flush carries the draw's too. A crash before then may forget the draw,
            # and the number is drawn again: nobody was given it (no gap either).
            await conn.execute("SET LOCAL synchronous_commit = off")
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
            await pipeline.sync()
            row = await found.fetchone()
            if row is None:
                drawn = await conn.execute(
                    "WITH drawn AS (UPDATE sequences SET value = value + 1 "
                    "WHERE tenant = %s AND name = %s RETURNING value) "
                    "INSERT INTO sequence_keys (tenant, name, key, value, at) "
                    "SELECT %s, %s, %s, value, %s FROM drawn RETURNING value",
                    (tenant, name, tenant, name, key, datetime.now(UTC)),
                )
        # Here COMMIT has succeeded (leaving the block raises if it did not).
        if drawn is not None:
            row = await drawn.fetchone()
        assert row is not None
        return int(row[0])

    async def deduped(self, key: str) -> tuple[str, ...] | None:
        rows = await self._rows(
            "SELECT refs FROM dedupe WHERE tenant = %s AND key = %s", (self._tenant, key)
        )
        return None if not rows else tuple(rows[0][0])

    async def audit_log(self) -> list[AuditEntry]:
        """Every chain's entries, merged in time order (each chain's own order kept)."""
        chains, _ = await self._chains()
        return list(heapq.merge(*chains.values(), key=lambda e: e.at))

    async def _chains(self) -> tuple[Chains, Heads]:
        """Each chain's entries in order, and each chain's head row, from one snapshot."""
        return read_chains(await self._rows(CHAINS_SQL, (self._tenant, self._tenant)))

    async def verify_audit(self) -> ChainCheck:
        """Each chain verified on its own, then checked to end at its head row (so an entry
        removed from the end of a chain is seen too)."""
        return verify_chains(*await self._chains())

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
            rows = await claim_rows(
                conn,
                self._tenant,
                kind,
                now,
                lease_seconds=lease_seconds,
                owner=owner,
                limit=limit,
            )
        return [self._record(kind, r[0], r[1], r[2], r[3]) for r in rows]

    # ----- maintenance -----------------------------------------------------------------------

    async def reseal(self) -> int:
        """Re-encrypt every record of the tenant with the current key (after a key rotation,
        or to encrypt a store that was created without a key); returns how many changed.
        One transaction: all or nothing, and safe to re-run."""
        self._writable()
        if self._cipher is None:
            raise StoreUnavailable("no encryption key is configured")
        async with self._connection() as conn, conn.transaction():
            return await reseal_rows(conn, self._tenant, self._cipher)

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
        async with self._connection() as conn, conn.transaction():
            return await copy_in(
                conn, self._tenant, self._record, self._write, records, audit, sequences, dedupe
            )


__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "MIGRATIONS",
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
