"""The benchmark's PostgreSQL column: concern submits against real ``python -m bot`` processes.

    .venv/bin/python -m bench.postgres_three_instances [--turns 600] [--concurrency 20]
        [--cells tinydb,postgres1,postgres3]

Cells (each on fresh processes and, for PostgreSQL, a fresh migrated database, dropped after):

* ``tinydb x1``: one process on the embedded store (the default deployment), for reference;
* ``postgres x1``: one process on PostgreSQL;
* ``postgres x3``: three processes on one PostgreSQL database, the client spreading the turns
  over them round robin (as a load balancer would).

``python -m bench`` runs the ``postgres x3`` cell as its PostgreSQL column (``column``), with the
plan's turn count; when the server cannot be reached (or ``SKIP_POSTGRES=1``), the column says
so instead of failing.

Each cell sends ``concern.submit`` invokes (the data read once from a real form card, a fresh
form id, so a fresh concern, every turn) from two teachers, first at concurrency 1, then at
the given concurrency, with the outbox workers delivering the channel cards meanwhile to a lean
local Bot Connector. Latency is what the client sees (request sent to response received).
Client, connector and bots share this machine's cores: compare cells, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import psycopg

from bench.connector import LeanConnector
from bench.load import Sample
from tests.e2e.test_concern_over_http import report_fields, submit_data
from tests.scale.cluster import Cluster
from tests.scale.postgres import ADMIN_URL, _safe, new_database
from tests.support import HEAD_OF_DEPARTMENT, TEACHER, card_action

SENDERS = (TEACHER, HEAD_OF_DEPARTMENT)


async def drive_submits(
    cluster: Cluster, template: dict[str, Any], *, turns: int, concurrency: int
) -> Sample:
    """Send ``turns`` concern submits, ``concurrency`` at a time, round robin over instances."""
    sample = Sample()
    bases = [i.base for i in cluster.alive()]
    next_index = 0
    started = time.perf_counter()

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < turns:
            index = next_index
            next_index += 1
            data = {"verb": "concern.submit", "v": 1, **template, "form": uuid.uuid4().hex}
            activity = card_action(
                SENDERS[index % 2], "concern.submit", cluster.service_url, data=data
            )
            body = json.dumps(activity).encode()
            sent = time.perf_counter()
            async with session.post(
                f"{bases[index % len(bases)]}/api/messages",
                data=body,
                headers={"Content-Type": "application/json"},
            ) as response:
                payload = await response.read()
            sample.latencies.append(time.perf_counter() - sent)
            if response.status != 200 or b"Received: OSC-" not in payload:
                sample.errors += 1
                sample.first_error = sample.first_error or f"{response.status} {payload[:200]!r}"

    connector = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    sample.wall = time.perf_counter() - started
    return sample


async def cell(
    instances: int,
    database_url: str | None,
    *,
    turns: int,
    concurrency: int,
    warmup: int = 40,
) -> tuple[Sample, Sample, float]:
    """(concurrency 1, concurrency ``concurrency``) samples for one deployment, and how long
    the outbox needed after the loaded run to deliver its last channel card. ``warmup``
    unrecorded submits go first; then ``turns // 4`` at concurrency 1 and ``turns`` loaded."""
    connector = LeanConnector()
    await connector.start()
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as folder:
        cluster = await Cluster.start(instances, database_url, Path(folder), connector.url)
        try:
            for index in range(instances):  # each instance learns Teams' service URL
                await cluster.say(TEACHER, "help", prefer=index)
            replies = connector.posted
            form = await cluster.click(
                TEACHER, "concern.start", {"step": "details", "category": "cyberbullying"}, 0
            )
            template = {**submit_data(form), **report_fields(happened_on=_yesterday())}
            template.pop("form", None)
            template.pop("verb", None)
            await drive_submits(cluster, template, turns=warmup, concurrency=concurrency)
            serial = await drive_submits(cluster, template, turns=turns // 4, concurrency=1)
            # Each concern posts one DSL channel card: wait for them between runs.
            await delivered(connector, replies + warmup + turns // 4)
            loaded = await drive_submits(cluster, template, turns=turns, concurrency=concurrency)
            started = time.perf_counter()
            await delivered(connector, replies + warmup + turns // 4 + turns)
            backlog = time.perf_counter() - started
        finally:
            await cluster.stop()
            await connector.stop()
    return serial, loaded, backlog


async def delivered(connector: LeanConnector, posts: int) -> None:
    """Wait (up to 5 minutes) until the connector has taken ``posts`` posts."""
    async with asyncio.timeout(300):
        while connector.posted < posts:  # noqa: ASYNC110 (the lean connector only counts)
            await asyncio.sleep(0.02)


def unreachable(url: str = ADMIN_URL) -> str | None:
    """Why the benchmark cannot use the PostgreSQL server, or None when it can."""
    if os.environ.get("SKIP_POSTGRES") == "1":
        return "not measured: SKIP_POSTGRES=1 is set"
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return (
            f"not measured: PostgreSQL is not reachable at {_safe(url)} "
            f"({exc.__class__.__name__}); start it or set TEST_POSTGRES_URL"
        )
    return None


def _ms(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)  # NaN: no turns


async def column(
    *, instances: int = 3, turns: int, concurrency: int = 20, warmup: int = 40
) -> dict[str, Any]:
    """The benchmark's PostgreSQL column: ``instances`` real bot processes on one fresh
    database (dropped after), concern submits spread round robin, as in ``cell``.

    Never raises for a missing server or a failed cell: ``measured`` is False and ``reason``
    says why (the rest of the benchmark's figures still stand)."""
    found: dict[str, Any] = {
        "store": "postgresql",
        "deployment": f"{instances} x python -m bot, one database",
        "instances": instances,
        "concurrency": concurrency,
        "turns_asked": turns,
        "warmup": warmup,
    }
    reason = await asyncio.to_thread(unreachable)
    if reason is not None:
        return {**found, "measured": False, "reason": reason}
    began = time.perf_counter()
    try:
        with new_database(prefix="osb_bench") as url:
            serial, loaded, backlog = await cell(
                instances, url, turns=turns, concurrency=concurrency, warmup=warmup
            )
    except Exception as exc:  # noqa: BLE001 (reported in the column, never lost)
        return {
            **found,
            "measured": False,
            "reason": f"not measured: the cell failed ({exc.__class__.__name__}: {exc})"[:500],
        }
    return {
        **found,
        "measured": True,
        "reason": None,
        "turns": loaded.turns,
        "p50_ms": _ms(loaded.percentile(50)),
        "p99_ms": _ms(loaded.percentile(99)),
        "throughput": round(loaded.throughput, 1),
        "delivered_per_s": round(loaded.turns / (loaded.wall + backlog), 1)
        if loaded.wall + backlog
        else None,
        "errors": serial.errors + loaded.errors,
        "first_error": (loaded.first_error or serial.first_error)[:300] or None,
        "wall_s": round(loaded.wall, 2),
        "backlog_s": round(backlog, 2),
        "c1_turns": serial.turns,
        "c1_p50_ms": _ms(serial.percentile(50)),
        "c1_p99_ms": _ms(serial.percentile(99)),
        "cell_s": round(time.perf_counter() - began, 1),
    }


def _yesterday() -> str:
    return (datetime.now(ZoneInfo("Europe/London")).date() - timedelta(days=1)).isoformat()


def row(name: str, serial: Sample, loaded: Sample, backlog: float) -> str:
    errors = serial.errors + loaded.errors
    end_to_end = loaded.turns / (loaded.wall + backlog)
    return (
        f"| {name:<12} | {serial.percentile(50):7.1f} | {serial.percentile(99):7.1f} "
        f"| {loaded.percentile(50):7.1f} | {loaded.percentile(99):7.1f} "
        f"| {loaded.throughput:7.1f} | {end_to_end:7.1f} | {loaded.turns:5d} | {errors:3d} |"
    )


#: The cells ``--cells`` may name, in the order they run.
CELLS = ("tinydb", "postgres1", "postgres3")


async def main(turns: int, concurrency: int, cells: tuple[str, ...] = CELLS) -> None:
    """Run the cells asked for (every one by default) and print the table."""
    rows = []
    if "tinydb" in cells:
        serial, loaded, backlog = await cell(1, None, turns=turns, concurrency=concurrency)
        rows.append(row("tinydb x1", serial, loaded, backlog))
    for instances in (n for n in (1, 3) if f"postgres{n}" in cells):
        with new_database(prefix="osb_bench") as url:
            serial, loaded, backlog = await cell(
                instances, url, turns=turns, concurrency=concurrency
            )
        rows.append(row(f"postgres x{instances}", serial, loaded, backlog))
        if loaded.errors or serial.errors:
            sys.stdout.write(f"  first error: {loaded.first_error or serial.first_error}\n")
    header = (
        f"\nconcern submit over HTTP into real bot processes ({turns // 4} turns at c=1, "
        f"{turns} at c={concurrency}), {os.cpu_count()} cores\n"
        f"| deployment   | c=1 p50 | c=1 p99 | p50 c={concurrency:<2d}| p99 c={concurrency:<2d}"
        f"| submit/s | delivered/s |     n | err |\n"
        f"|---|---|---|---|---|---|---|---|---|\n"
    )
    footer = (
        "(milliseconds; submit/s: answered submits per second at the given concurrency; "
        "delivered/s: the same submits over the time until their last channel card was "
        "delivered)\n"
    )
    sys.stdout.write(header + "".join(line + "\n" for line in rows) + footer)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--cells",
        default=",".join(CELLS),
        help=f"comma-separated, of {', '.join(CELLS)} (default: all; postgres3 alone is the "
        "benchmark's PostgreSQL column)",
    )
    arguments = parser.parse_args()
    asked = tuple(c.strip() for c in arguments.cells.split(",") if c.strip())
    unknown = sorted(set(asked) - set(CELLS))
    if unknown:
        parser.error(f"unknown cells {unknown}: choose from {', '.join(CELLS)}")
    asyncio.run(main(arguments.turns, arguments.concurrency, asked))
