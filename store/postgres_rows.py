"""Rows of the PostgreSQL store: a record as written (sealed, with its claim columns) and
the parameter tuples of a record and an audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from dialogs.ports import Record
from policy.audit import AuditEntry


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
