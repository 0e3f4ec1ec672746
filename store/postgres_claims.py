"""Claiming due rows for one instance among several (``PostgresStore.claim_due``): rows due by
``now`` whose group no other instance holds a lease on, leased for a while, oldest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

#: Advisory-lock class for claims (the second key is a hash of tenant and kind).
CLAIM_LOCK = 0x05B0

_CLAIM_SQL = """
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
"""


async def claim_rows(
    conn: AsyncConnection[Any],
    tenant: str,
    kind: str,
    now: datetime,
    *,
    lease_seconds: float,
    owner: str,
    limit: int,
) -> list[Any]:
    """In ``conn``'s transaction: one claim at a time per tenant and kind (a few milliseconds),
    so that the "group already in flight" check always sees the other instances' leases;
    then the due rows leased (lease times on the database's clock, one for all instances),
    as ``(id, version, schema, data, due_at)`` sorted by due time and id."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (CLAIM_LOCK, f"{tenant}/{kind}")
    )
    cursor = await conn.execute(
        _CLAIM_SQL,
        {
            "tenant": tenant,
            "kind": kind,
            "now": now,
            "limit": max(1, limit),
            "lease": float(lease_seconds),
            "owner": owner,
        },
    )
    rows = await cursor.fetchall()
    rows.sort(key=lambda r: (r[4], r[0]))
    return rows
