"""``InMemoryStore``: the Store port in memory, for tests and the dialogs' fast suite.

It keeps the same promises as the durable stores (versions, dedupe, chained audit), checked by
the same contract suite; it simply forgets everything when the process ends.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dialogs.ports import (
    Change,
    DuplicateRequest,
    Record,
    VersionConflict,
    count_and_oldest,
    due_of,
)
from policy.audit import GENESIS, AuditEntry, ChainCheck, seal, verify_chain


class InMemoryStore:
    """Records, sequences and the audit chain in dictionaries."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], Record] = {}
        self._sequences: dict[str, int] = {}
        self._keyed: dict[tuple[str, str], int] = {}
        self._dedupe: dict[str, tuple[str, ...]] = {}
        self._audit: list[AuditEntry] = []
        self._lock = asyncio.Lock()

    async def get(self, kind: str, item_id: str) -> Record | None:
        record = self._records.get((kind, item_id))
        return None if record is None else _copy(record)

    async def find(self, kind: str, **equals: str | int | bool | None) -> list[Record]:
        return [
            _copy(r)
            for (k, _), r in self._records.items()
            if k == kind and all(r.data.get(f) == v for f, v in equals.items())
        ]

    async def count_oldest(self, kind: str, time_field: str) -> tuple[int, datetime | None]:
        return count_and_oldest(await self.find(kind), time_field)

    async def due(self, kind: str, time_field: str, at: datetime) -> list[Record]:
        return due_of(await self.find(kind), time_field, at)

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        async with self._lock:
            if change.dedupe_key is not None and change.dedupe_key in self._dedupe:
                raise DuplicateRequest(change.dedupe_key, self._dedupe[change.dedupe_key])
            for record in change.records:
                current = self._records.get((record.kind, record.id))
                found = current.version if current else 0
                if found != record.version - 1:
                    raise VersionConflict(record.ref, record.version - 1, found)
            for kind, item_id, version in change.deletes:
                current = self._records.get((kind, item_id))
                found = current.version if current else 0
                if found != version:
                    raise VersionConflict(f"{kind}:{item_id}", version, found)
            for record in change.records:
                self._records[(record.kind, record.id)] = _copy(record)
            for kind, item_id, _ in change.deletes:
                del self._records[(kind, item_id)]
            if change.dedupe_key is not None:
                self._dedupe[change.dedupe_key] = tuple(r.ref for r in change.records)
            entries = []
            for event in change.audit:
                prev = self._audit[-1].hash if self._audit else GENESIS
                entry = seal(event, seq=len(self._audit) + 1, prev_hash=prev)
                self._audit.append(entry)
                entries.append(entry)
            return tuple(entries)

    async def next_sequence(self, name: str, *, key: str | None = None) -> int:
        async with self._lock:
            if key is not None and (name, key) in self._keyed:
                return self._keyed[(name, key)]
            self._sequences[name] = self._sequences.get(name, 0) + 1
            if key is not None:
                self._keyed[(name, key)] = self._sequences[name]
            return self._sequences[name]

    async def deduped(self, key: str) -> tuple[str, ...] | None:
        return self._dedupe.get(key)

    async def audit_log(self) -> list[AuditEntry]:
        return list(self._audit)

    async def verify_audit(self) -> ChainCheck:
        return verify_chain(self._audit)

    async def close(self) -> None:
        return None

    def tamper_with_audit(self, seq: int, **fields: Any) -> None:
        """Test hook: edit a sealed entry in place, as an attacker with file access would."""
        from dataclasses import replace

        self._audit[seq - 1] = replace(self._audit[seq - 1], **fields)


def _copy(record: Record) -> Record:
    data: Mapping[str, Any] = copy.deepcopy(dict(record.data))
    return Record(record.kind, record.id, record.version, data, record.schema)
