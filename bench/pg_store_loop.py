"""The PostgreSQL store alone, as a submit uses it: a keyed reference draw, then a commit of two
new records with an audit event and a dedupe key, from several pools on one tenant at once.

    .venv/bin/python -m bench.pg_store_loop [--ops 1000] [--concurrency 20] [--stores 3]

No HTTP, no bot: what bounds commits per second when every instance writes the same school's
store (row locks held across COMMIT's fsync show here first). A fresh migrated database,
dropped after. Compare runs minutes apart on the same machine, not absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime

from dialogs.ports import Change, Record
from policy.audit import AuditEvent
from store.postgres_store import PostgresStore
from tests.scale.postgres import new_database


async def loop(url: str, *, ops: int, concurrency: int, stores: int) -> dict[str, float]:
    opened = [await PostgresStore.open(url, tenant="bench-school") for _ in range(stores)]
    latencies: list[float] = []
    next_op = 0

    async def worker() -> None:
        nonlocal next_op
        while next_op < ops:
            index = next_op
            next_op += 1
            store = opened[index % stores]
            key = uuid.uuid4().hex
            started = time.perf_counter()
            number = await store.next_sequence("OSC-2026", key=key)
            now = datetime.now(UTC)
            await store.commit(
                Change(
                    records=[
                        Record("concern", f"c{number}", 1, {"n": number}),
                        Record("outbox", f"o{number}", 1, {"created_at": now.isoformat()}),
                    ],
                    audit=[AuditEvent("bench", "concern.report", f"concern:{number}", "ok", now)],
                    dedupe_key=key,
                )
            )
            latencies.append(time.perf_counter() - started)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        check = await opened[0].verify_audit()
        if not check.ok or check.entries != ops:
            raise RuntimeError(f"the audit log does not verify after the loop: {check}")
    finally:
        for store in opened:
            await store.close()
    latencies.sort()
    return {
        "per_second": ops / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


async def main(ops: int, concurrency: int, stores: int) -> None:
    with new_database(prefix="osb_bench") as url:
        found = await loop(url, ops=ops, concurrency=concurrency, stores=stores)
    sys.stdout.write(
        f"{stores} pools, c={concurrency}, {ops} draws+commits: "
        f"{found['per_second']:.1f}/s, p50 {found['p50_ms']:.1f} ms, p99 {found['p99_ms']:.1f} ms\n"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--stores", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.ops, arguments.concurrency, arguments.stores))
