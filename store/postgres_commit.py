"""One commit of the PostgreSQL store, inside its transaction and pipeline (split out of
``store.postgres_store``; ``PostgresStore.commit`` opens both and retries deadlocks).

Every statement is queued, then checked in the order a one-at-a-time commit would: the
dedupe key first (``DuplicateRequest``), then each record in sorted order
(``VersionConflict``); the audit entries are sealed onto the locked head of one of the
tenant's audit chains (any one no other commit holds) and go with COMMIT in the pipeline's
last round trip."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection, AsyncCursor, AsyncPipeline
from psycopg.types.json import Jsonb

from dialogs.ports import Change, DuplicateRequest, StoreCorrupted, VersionConflict
from policy.audit import AuditEntry, seal
from store.postgres_rows import Write, audit_row

#: Audit entries appended in one statement with the chain's new head (more: one statement each).
_AUDIT_IN_ONE = 200
#: New records inserted in one statement (more, or the same one twice: one statement each).
_NEW_IN_ONE = 200


async def commit_in(
    conn: AsyncConnection[Any],
    pipeline: AsyncPipeline,
    tenant: str,
    change: Change,
    writes: Sequence[Write],
) -> tuple[AuditEntry, ...]:
    """Queue every statement of the commit, then check their outcomes in the order the
    one-at-a-time path did (the dedupe key first, then the records in sorted order): the
    same ``DuplicateRequest`` or ``VersionConflict``, and a failed commit rolls back."""
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
    inserted = await _insert_new(conn, tenant, fresh) if batched else None
    steps: list[tuple[str, str, Write | int]] = [
        (w.record.kind, w.record.id, w) for w in writes if not (batched and w.record.version == 1)
    ] + [(kind, item_id, version) for kind, item_id, version in change.deletes]
    checks: list[tuple[str, str, int, AsyncCursor[Any]]] = []
    for kind, item_id, step in sorted(steps, key=lambda s: (s[0], s[1])):
        if isinstance(step, int):
            expected = step
            cursor = await conn.execute(
                "DELETE FROM records WHERE tenant = %s AND kind = %s AND id = %s AND version = %s",
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
    # A chain's head is locked last (rows are always locked in this order), in the same
    # round trip as the writes above: held from here to COMMIT for one round trip fewer. Any
    # chain no other commit holds will do, so commits (of every instance) do not wait for
    # each other's COMMIT; only when every chain is held does this commit wait for one.
    head = None
    if change.audit:
        head = await conn.execute(
            "SELECT shard, seq, hash FROM chains WHERE tenant = %s "
            "ORDER BY shard LIMIT 1 FOR UPDATE SKIP LOCKED",
            (tenant,),
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
                await _conflict(conn, tenant, w.record.kind, w.record.id, 0)
    for kind, item_id, expected, cursor in checks:
        if cursor.rowcount != 1:
            await _conflict(conn, tenant, kind, item_id, expected)
    if head is None:
        return ()
    locked = await head.fetchone()
    if locked is None:  # every chain is held by a commit in flight: wait for one of them
        locked = await (
            await conn.execute(
                "SELECT shard, seq, hash FROM chains WHERE tenant = %s "
                "AND shard = (SELECT max(shard) FROM chains WHERE tenant = %s) "
                "FOR UPDATE",
                (tenant, tenant),
            )
        ).fetchone()
    return await _append_audit(conn, tenant, change, locked)


async def _conflict(
    conn: AsyncConnection[Any], tenant: str, kind: str, item_id: str, expected: int
) -> None:
    row = await (
        await conn.execute(
            "SELECT version FROM records WHERE tenant = %s AND kind = %s AND id = %s",
            (tenant, kind, item_id),
        )
    ).fetchone()
    raise VersionConflict(f"{kind}:{item_id}", expected, row[0] if row else 0)


async def _insert_new(
    conn: AsyncConnection[Any], tenant: str, fresh: Sequence[Write]
) -> AsyncCursor[Any]:
    """Queue the insert of records new at version 1, in one statement; its cursor returns
    the (kind, id) of each row inserted (one already there, or inserted by a commit in
    flight, is not: the caller raises ``VersionConflict`` for it)."""
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
    conn: AsyncConnection[Any], tenant: str, change: Change, head: Any
) -> tuple[AuditEntry, ...]:
    """Seal the change's events onto the chain whose locked head is ``head`` and queue
    their rows with the head's update (sent with COMMIT, in the pipeline's last sync)."""
    if head is None:
        raise StoreCorrupted(f"the audit chain of tenant {tenant} has no head row")
    chain, seq, prev = int(head[0]), int(head[1]), str(head[2])
    entries = []
    for event in change.audit:
        seq += 1
        entry = seal(event, seq=seq, prev_hash=prev, chain=chain)
        entries.append(entry)
        prev = entry.hash
    rows = [audit_row(tenant, e) for e in entries]
    if len(rows) <= _AUDIT_IN_ONE:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
        await conn.execute(
            "WITH appended AS (INSERT INTO audit (tenant, seq, actor, action, item, outcome, "  # noqa: S608 (placeholders only)
            f"at, prev_hash, hash, shard) VALUES {values}) "
            "UPDATE chains SET seq = %s, hash = %s WHERE tenant = %s AND shard = %s",
            [*(v for row in rows for v in row), seq, prev, tenant, chain],
        )
        return tuple(entries)
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO audit (tenant, seq, actor, action, item, outcome, at, prev_hash, "
            "hash, shard) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    await conn.execute(
        "UPDATE chains SET seq = %s, hash = %s WHERE tenant = %s AND shard = %s",
        (seq, prev, tenant, chain),
    )
    return tuple(entries)
