"""Rows of the PostgreSQL store: a record as written (sealed, with its claim columns) and
the parameter tuples of a record and an audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from dialogs.ports import Record
from policy.audit import AuditEntry
from store.crypto import RecordCipher


@dataclass(frozen=True, slots=True)
class Write:
    """A record as it goes into its row: the stored (maybe sealed) data and claim columns."""

    record: Record
    stored: Any
    due_at: datetime | None
    group: str | None


def audit_row(tenant: str, entry: AuditEntry) -> tuple[Any, ...]:
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
        entry.chain,
    )


def record_row(tenant: str, write: Write) -> tuple[Any, ...]:
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


async def reseal_rows(conn: AsyncConnection[Any], tenant: str, cipher: RecordCipher) -> int:
    """In ``conn``'s transaction: every record of the tenant sealed again with ``cipher``'s
    current key where it is not already (rows locked while read); how many changed."""
    cursor = await conn.execute(
        "SELECT kind, id, data FROM records WHERE tenant = %s FOR UPDATE", (tenant,)
    )
    updates = []
    for kind, item_id, stored in await cursor.fetchall():
        if cipher.needs_reseal(stored):
            data = cipher.open(kind, item_id, stored)
            updates.append((Jsonb(cipher.seal(kind, item_id, data)), tenant, kind, item_id))
    if updates:
        async with conn.cursor() as writer:
            await writer.executemany(
                "UPDATE records SET data = %s WHERE tenant = %s AND kind = %s AND id = %s",
                updates,
            )
    return len(updates)
