"""Copying a school's store into PostgreSQL (``python -m ops move-to-postgres``), keeping
record versions and the audit chain as they are: ``PostgresStore.copy_in`` runs
``copy_in`` below in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from dialogs.ports import Record, StoreError
from policy.audit import GENESIS, AuditEntry
from store.postgres_rows import Write, audit_row, record_row

#: Opens a row into a record: ``(kind, id, version, schema, stored) -> Record``.
Opener = Callable[[str, str, int, int, Any], Record]


class TargetDiffers(StoreError):
    """Copying into the database was refused: it already holds different data for the tenant."""


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What ``PostgresStore.copy_in`` did: rows copied, and rows already there (the same)."""

    records_copied: int
    records_present: int
    audit_copied: int
    audit_present: int
    sequences_set: int
    dedupe_copied: int


async def copy_in(
    conn: AsyncConnection[Any],
    tenant: str,
    opened: Opener,
    written: Callable[[Record], Write],
    records: Iterable[Record],
    audit: Sequence[AuditEntry],
    sequences: Mapping[str, int],
    dedupe: Mapping[str, tuple[Sequence[str], datetime]],
) -> CopyResult:
    """The copy, inside the caller's transaction (see ``PostgresStore.copy_in``)."""
    source = {(r.kind, r.id): r for r in records}
    head = await (
        await conn.execute(
            "SELECT seq, hash FROM chains WHERE tenant = %s AND shard = 0 FOR UPDATE", (tenant,)
        )
    ).fetchone()
    present = await _compare_records(conn, tenant, opened, source)
    missing = [r for key, r in source.items() if key not in present]
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO records (tenant, kind, id, version, schema, data, due_at, "
            "claim_group) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [record_row(tenant, written(r)) for r in missing],
        )
    audit_present = await _compare_audit(conn, tenant, audit, head)
    new_entries = list(audit[audit_present:])
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO audit (tenant, seq, actor, action, item, outcome, at, "
            "prev_hash, hash, shard) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [audit_row(tenant, e) for e in new_entries],
        )
    last_seq, last_hash = (audit[-1].seq, audit[-1].hash) if audit else (0, GENESIS)
    await conn.execute(
        "INSERT INTO chains (tenant, seq, hash) VALUES (%s, %s, %s) "
        "ON CONFLICT (tenant, shard) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        (tenant, last_seq, last_hash),
    )
    sequences_set = await _copy_sequences(conn, tenant, sequences)
    dedupe_copied = 0
    if dedupe:
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO dedupe (tenant, key, refs, at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                [(tenant, key, Jsonb(list(refs)), at) for key, (refs, at) in dedupe.items()],
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
    conn: AsyncConnection[Any],
    tenant: str,
    opened: Opener,
    source: Mapping[tuple[str, str], Record],
) -> set[tuple[str, str]]:
    rows = await (
        await conn.execute(
            "SELECT kind, id, version, schema, data FROM records WHERE tenant = %s",
            (tenant,),
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
        here = opened(kind, item_id, version, schema, stored)
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
    conn: AsyncConnection[Any], tenant: str, audit: Sequence[AuditEntry], head: Any
) -> int:
    rows = await (
        await conn.execute(
            "SELECT seq, hash, shard FROM audit WHERE tenant = %s ORDER BY shard, seq", (tenant,)
        )
    ).fetchall()
    if any(shard != 0 for _, _, shard in rows):
        # Only a store the bot has already written to has entries on its other chains.
        raise TargetDiffers("the database's audit log for this school is not the source's")
    rows = [(seq, digest) for seq, digest, _ in rows]
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
    conn: AsyncConnection[Any], tenant: str, sequences: Mapping[str, int]
) -> int:
    rows = await (
        await conn.execute("SELECT name, value FROM sequences WHERE tenant = %s", (tenant,))
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
                [(tenant, n, v) for n, v in changed.items()],
            )
    return len(changed)
