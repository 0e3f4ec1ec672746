"""The audit trail: append-only entries, each sealed with the hash of the one before.

Every state change of any item, and every refusal, is appended (who, when in UTC, item, action,
outcome). Editing, removing or reordering an entry breaks the chain, and ``verify_chain`` says
where (001 §1.3.2: "record of concerns/incidents and actions").

A log may be several chains side by side (``AuditEntry.chain``: the PostgreSQL store appends to
one of a few chains per school, so that commits of several instances need not wait for each
other): each chain runs 1, 2, 3... from ``GENESIS`` on its own, and an entry of chain ``n > 0``
seals its chain's number too, so it cannot be moved to another chain unseen. A single-chain
log (chain 0, the TinyDB and in-memory stores) is sealed exactly as before chains existed.
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
    #: Which of the log's chains the entry belongs to (``seq`` and ``prev_hash`` are its chain's).
    chain: int = 0

    def to_dict(self) -> dict[str, object]:
        """The stored form (JSON object; ``chain`` only when it is not 0)."""
        stored: dict[str, object] = {
            "seq": self.seq,
            "actor": self.actor,
            "action": self.action,
            "item": self.item,
            "outcome": self.outcome,
            "at": self.at,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        if self.chain:
            stored["chain"] = self.chain
        return stored

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
        chain = raw.get("chain", 0)
        if not isinstance(chain, int) or isinstance(chain, bool) or chain < 0:
            raise ValueError("chain must be a whole number")
        return cls(seq=seq, hash=str(digest), chain=chain, **{k: str(v) for k, v in fields.items()})


def _digest(
    chain: int, seq: int, prev_hash: str, actor: str, action: str, item: str, outcome: str, at: str
) -> str:
    sealed: list[object] = [seq, prev_hash, actor, action, item, outcome, at]
    if chain:
        sealed.insert(0, chain)  # chain 0 is sealed as before chains existed
    body = json.dumps(
        sealed,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def seal(event: AuditEvent, *, seq: int, prev_hash: str, chain: int = 0) -> AuditEntry:
    """Seal ``event`` as entry number ``seq`` of ``chain`` after the entry whose hash is
    ``prev_hash``."""
    at = event.at.isoformat()
    fields = (event.actor, event.action, event.item, event.outcome, at)
    digest = _digest(chain, seq, prev_hash, *fields)
    return AuditEntry(seq, *fields, prev_hash, digest, chain)


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The result of verifying a chain: ``ok``, how many entries, and the first bad one."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_chain(entries: Iterable[AuditEntry]) -> ChainCheck:
    """Check that each chain's entries run 1, 2, 3… (in the order given) and that each hash
    seals its fields and its predecessor in its chain. ``entries`` may interleave chains."""
    heads: dict[int, tuple[int, str]] = {}  # chain -> (last seq, last hash)
    count = 0
    for count, entry in enumerate(entries, start=1):
        last_seq, prev = heads.get(entry.chain, (0, GENESIS))
        expected_seq = last_seq + 1
        where = f" of chain {entry.chain}" if entry.chain else ""
        if entry.seq != expected_seq:
            return ChainCheck(False, count, entry.seq, f"expected entry {expected_seq}{where}")
        if entry.prev_hash != prev:
            return ChainCheck(
                False, count, entry.seq, f"does not follow the entry before it{where}"
            )
        fields = (entry.actor, entry.action, entry.item, entry.outcome, entry.at)
        if _digest(entry.chain, entry.seq, entry.prev_hash, *fields) != entry.hash:
            return ChainCheck(False, count, entry.seq, f"was changed after it was written{where}")
        heads[entry.chain] = (entry.seq, entry.hash)
    return ChainCheck(True, count)
