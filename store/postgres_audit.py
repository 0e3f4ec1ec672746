"""The PostgreSQL store's audit log read back: each chain's entries and head row from one
snapshot, and the check that each chain verifies and ends at its head row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policy.audit import GENESIS, AuditEntry, ChainCheck, verify_chain

#: Each chain's entries and each chain's head row, one statement (one snapshot: a commit
#: landing meanwhile is in both or in neither). Parameters: the tenant, twice.
CHAINS_SQL = (
    "SELECT false, shard, seq, actor, action, item, outcome, at, prev_hash, hash "
    "FROM audit WHERE tenant = %s "
    "UNION ALL SELECT true, shard, seq, '', '', '', '', '', '', hash "
    "FROM chains WHERE tenant = %s ORDER BY 2, 1, 3"
)

Chains = dict[int, list[AuditEntry]]
Heads = dict[int, tuple[int, str]]


def read_chains(rows: Iterable[Any]) -> tuple[Chains, Heads]:
    """``CHAINS_SQL``'s rows as each chain's entries in order and each chain's head."""
    chains: Chains = {}
    heads: Heads = {}
    for is_head, shard, seq, actor, action, item, outcome, at, prev, digest in rows:
        if is_head:
            heads[int(shard)] = (int(seq), str(digest))
        else:
            entry = AuditEntry(int(seq), actor, action, item, outcome, at, prev, digest, shard)
            chains.setdefault(int(shard), []).append(entry)
    return chains, heads


def verify_chains(chains: Chains, heads: Heads) -> ChainCheck:
    """Each chain verified on its own, then checked to end at its head row (so an entry
    removed from the end of a chain is seen too)."""
    check = verify_chain(entry for chain in sorted(chains) for entry in chains[chain])
    if not check.ok:
        return check
    for shard in sorted(heads.keys() | chains.keys()):
        last = chains.get(shard)
        ends = (last[-1].seq, last[-1].hash) if last else (0, GENESIS)
        if heads.get(shard, (0, GENESIS)) != ends:
            where = f"chain {shard} " if shard else ""
            return ChainCheck(False, check.entries, ends[0], f"{where}does not end at its head row")
    return check
