"""The audit trail: append-only entries, each sealed with the hash of the one before.

Every state change of any item, and every refusal, is appended (who, when in UTC, item, action,
outcome). Editing, removing or reordering an entry breaks the chain, and ``verify_chain`` says
where (001 §1.3.2: "record of concerns/incidents and actions").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

#: The hash that stands before the first entry.
GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something that happened, before it is sealed into the chain."""

    actor: str
    action: str
    item: str
    outcome: str
    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("audit times must be timezone-aware (UTC)")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A sealed entry: ``hash`` covers ``seq``, ``prev_hash`` and every field of the event."""

    seq: int
    actor: str
    action: str
    item: str
    outcome: str
    at: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, object]:
        """The stored form (JSON object)."""
        return {
            "seq": self.seq,
            "actor": self.actor,
            "action": self.action,
            "item": self.item,
            "outcome": self.outcome,
            "at": self.at,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> AuditEntry:
        """Read a stored entry; raises ``ValueError`` when a field is missing or mistyped."""
        try:
            seq = raw["seq"]
            if not isinstance(seq, int):
                raise ValueError("seq must be an integer")
            fields = {k: raw[k] for k in ("actor", "action", "item", "outcome", "at", "prev_hash")}
            digest = raw["hash"]
        except KeyError as exc:
            raise ValueError(f"audit entry is missing {exc}") from None
        if not all(isinstance(v, str) for v in (*fields.values(), digest)):
            raise ValueError("audit entry fields must be strings")
        return cls(seq=seq, hash=str(digest), **{k: str(v) for k, v in fields.items()})


def _digest(
    seq: int, prev_hash: str, actor: str, action: str, item: str, outcome: str, at: str
) -> str:
    body = json.dumps(
        [seq, prev_hash, actor, action, item, outcome, at],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def seal(event: AuditEvent, *, seq: int, prev_hash: str) -> AuditEntry:
    """Seal ``event`` as entry number ``seq`` after the entry whose hash is ``prev_hash``."""
    at = event.at.isoformat()
    digest = _digest(seq, prev_hash, event.actor, event.action, event.item, event.outcome, at)
    return AuditEntry(
        seq, event.actor, event.action, event.item, event.outcome, at, prev_hash, digest
    )


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of verifying a chain: ``ok``, how many entries, and the first bad one."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(entries: Iterable[AuditEntry]) -> ChainCheck:
    """Check that entries run 1, 2, 3… and that each hash seals its fields and its predecessor."""
    prev = GENESIS
    count = 0
    for expected_seq, entry in enumerate(entries, start=1):
        count = expected_seq
        if entry.seq != expected_seq:
            return ChainCheck(False, count, entry.seq, f"expected entry {expected_seq}")
        if entry.prev_hash != prev:
            return ChainCheck(False, count, entry.seq, "does not follow the entry before it")
        fields = (entry.actor, entry.action, entry.item, entry.outcome, entry.at)
        if _digest(entry.seq, entry.prev_hash, *fields) != entry.hash:
            return ChainCheck(False, count, entry.seq, "was changed after it was written")
        prev = entry.hash
    return ChainCheck(True, count)
