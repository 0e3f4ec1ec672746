"""One benchmark run: references, the product's turns on two store sizes at two concurrencies,
the PostgreSQL column (concern submits into three real bot processes on one database), the
profile of a concern submit, store writes by file size, and the real process's cold start and
peak memory. Everything runs on this machine in this run; the ratios compare like with like.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from aiohttp import web

from bench import report
from bench.anchor import echo_app, floor_app
from bench.connector import LeanConnector
from bench.load import Sample, client_session, drive, read_status, reset_peak_rss
from bench.plan import Plan
from bench.postgres_three_instances import column as postgres_column
from bench.prefill import Prefilled, _concern, file_sizes, prefill
from bench.process import memory_mb, spawn_bot
from bench.product import ProductServer, form_templates, local_env
from bench.profiling import GcPauses, hot_spots, profiled
from bench.school import TURNS, Turns, answer_ok, write_directory
from bench.storebench import compare
from bot.config import load_settings
from dialogs.kinds.concern import encode
from store.tinydb_store import TinyDbStore

#: The product's clock in the in-process runs: a Monday in term, 10:00 (as the e2e tests).
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

Say = Callable[[str], None]


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _cell(
    kind: str, turn: str, store: int | None, concurrency: int, sample: Sample, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "turn": turn,
        "store_concerns": store,
        "concurrency": concurrency,
        "turns": sample.turns,
        "p50_ms": round(sample.percentile(50), 2),
        "p99_ms": round(sample.percentile(99), 2),
        "throughput": round(sample.throughput, 1),
        "errors": sample.errors,
        "first_error": sample.first_error or None,
        "wall_s": round(sample.wall, 2),
        **extra,
    }


@contextlib.asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/api/messages"
    finally:
        await runner.cleanup()


async def references(
    plan: Plan, connector: LeanConnector, work: Path, say: Say
) -> list[dict[str, Any]]:
    """The echo anchor and the two floors at each concurrency."""
    from tests.support import TEACHER, message

    cells = []
    for concurrency in plan.concurrencies:
        for name, make in (
            ("echo_anchor", echo_app),
            ("floor", floor_app),
            ("floor_fsync", lambda: floor_app(work / "floor-journal.jsonl")),
        ):
            reset_peak_rss()
            async with _serve(make()) as url, client_session(concurrency) as session:

                def build(i: int) -> dict[str, Any]:
                    return message(TEACHER, f"hello {i}", connector.url)

                def ok(_i: int, status: int, _body: bytes) -> bool:
                    return status in (200, 201)

                await drive(session, url, build, turns=plan.warmup + 2, concurrency=1, check=ok)
                sample = await drive(
                    session,
                    url,
                    build,
                    turns=plan.anchor_turns[concurrency],
                    concurrency=concurrency,
                    check=ok,
                    budget=plan.anchor_budget,
                    min_turns=plan.min_turns[concurrency],
                )
            cell = _cell(
                "reference",
                name,
                None,
                concurrency,
                sample,
                peak_rss_mb=round(read_status()["VmHWM"] / 1024, 1),
            )
            cells.append(cell)
            say(report.progress(cell))
    (work / "floor-journal.jsonl").unlink(missing_ok=True)
    return cells


async def product_cells(
    plan: Plan,
    connector: LeanConnector,
    templates: dict[int, Prefilled],
    directory: Path,
    work: Path,
    say: Say,
    only: tuple[str, ...] = TURNS,
) -> list[dict[str, Any]]:
    """Every product turn (or ``only`` those), on each store size, at each concurrency, each on
    a fresh copy."""
    cells = []
    for size, filled in templates.items():
        for concurrency in plan.concurrencies:
            for turn in only:
                reset_peak_rss()
                pauses = GcPauses()
                opened = time.perf_counter()
                async with ProductServer(filled.folder, work / "cell", directory, NOW) as bot:
                    open_s = time.perf_counter() - opened
                    async with client_session(concurrency) as session:
                        forms = await form_templates(session, bot.url, connector.url)
                        turns = Turns(connector.url, NOW.date(), forms, filled.ack_refs)
                        build = turns.build(turn)

                        def ok(_i: int, status: int, body: bytes, turn: str = turn) -> bool:
                            return answer_ok(turn, status, body)

                        await drive(
                            session, bot.url, build, turns=plan.warmup, concurrency=1, check=ok
                        )
                        wanted = plan.turns[concurrency]
                        if turn == "dsl_ack":  # each new concern can be acknowledged once
                            wanted = min(wanted, len(filled.ack_refs) - plan.warmup)
                        with pauses.watch():
                            sample = await drive(
                                session,
                                bot.url,
                                build,
                                turns=wanted,
                                concurrency=concurrency,
                                check=ok,
                                budget=plan.cell_budget,
                                min_turns=plan.min_turns[concurrency],
                                offset=plan.warmup,
                            )
                    pending = await bot.pending_outbox()
                cell = _cell(
                    "product",
                    turn,
                    size,
                    concurrency,
                    sample,
                    peak_rss_mb=round(read_status()["VmHWM"] / 1024, 1),
                    open_s=round(open_s, 2),
                    outbox_pending_after=pending,
                    gc=pauses.as_dict(),
                )
                cells.append(cell)
                say(report.progress(cell))
                gc.collect()
    return cells


#: The turns profiled one by one (c=1, the small store): their top costs are printed (issue 25).
PROFILED_TURNS = ("welcome", "concern_submit", "filter_submit", "pupil_submit")


async def profile_turns(
    connector: LeanConnector,
    filled: Prefilled,
    directory: Path,
    work: Path,
    say: Say,
    turns: tuple[str, ...],
    count: int,
    warmup: int,
) -> dict[str, Any]:
    """cProfile of ``count`` turns of each of ``turns`` (concurrency 1) on ``filled``."""
    found = {}
    for turn in turns:
        async with (
            ProductServer(filled.folder, work / "profile", directory, NOW) as bot,
            client_session(1) as session,
        ):
            forms = await form_templates(session, bot.url, connector.url)
            build = Turns(connector.url, NOW.date(), forms, filled.ack_refs).build(turn)

            def ok(_i: int, status: int, body: bytes, turn: str = turn) -> bool:
                return answer_ok(turn, status, body)

            await drive(session, bot.url, build, turns=warmup, concurrency=1, check=ok)
            pauses = GcPauses()
            with profiled(asyncio.get_running_loop()) as stats, pauses.watch():
                sample = await drive(
                    session, bot.url, build, turns=count, concurrency=1, check=ok, offset=warmup
                )
        spots = hot_spots(stats[0], sample.wall, sample.turns)
        spots["p50_ms_profiled"] = round(sample.percentile(50), 1)
        spots["gc"] = pauses.as_dict()
        spots["errors"] = sample.errors
        spots["store_concerns"] = filled.concerns
        found[turn] = spots
        say(f"profiled {sample.turns} {turn} turns on {filled.concerns} concerns")
    return found


async def profile_submits(
    plan: Plan,
    connector: LeanConnector,
    templates: dict[int, Prefilled],
    directory: Path,
    work: Path,
    say: Say,
) -> dict[str, Any]:
    """cProfile of concern submits (concurrency 1) on each store size."""
    found = {}
    for (size, filled), count in zip(templates.items(), plan.profile_turns, strict=True):
        async with (
            ProductServer(filled.folder, work / "profile", directory, NOW) as bot,
            client_session(1) as session,
        ):
            forms = await form_templates(session, bot.url, connector.url)
            turns = Turns(connector.url, NOW.date(), forms, filled.ack_refs)
            build = turns.build("concern_submit")

            def ok(_i: int, status: int, body: bytes) -> bool:
                return answer_ok("concern_submit", status, body)

            await drive(session, bot.url, build, turns=plan.warmup, concurrency=1, check=ok)
            pauses = GcPauses()
            with profiled(asyncio.get_running_loop()) as stats, pauses.watch():
                sample = await drive(
                    session,
                    bot.url,
                    build,
                    turns=count,
                    concurrency=1,
                    check=ok,
                    offset=plan.warmup,
                )
        spots = hot_spots(stats[0], sample.wall, sample.turns)
        spots["p50_ms_profiled"] = round(sample.percentile(50), 1)
        spots["gc"] = pauses.as_dict()
        spots["errors"] = sample.errors
        found[str(size)] = spots
        say(f"profiled {sample.turns} concern submits on {size} concerns ({sample.wall:.1f} s)")
    # Opening the big store: most of a cold start on it (the rest is importing Python code).
    size, filled = list(templates.items())[-1]
    folder = work / "open-profile"
    await asyncio.to_thread(shutil.copytree, filled.folder, folder)
    pauses = GcPauses()
    began = time.perf_counter()
    with profiled(asyncio.get_running_loop()) as stats, pauses.watch():
        store = await TinyDbStore.open(folder)
    wall = time.perf_counter() - began
    await store.close()
    await asyncio.to_thread(shutil.rmtree, folder, True)
    spots = hot_spots(stats[0], wall, 1)
    spots["gc"] = pauses.as_dict()
    found[f"open_{size}"] = spots
    say(f"profiled opening the store of {size} concerns ({wall:.1f} s)")
    return found


async def real_process(
    plan: Plan,
    connector: LeanConnector,
    big: Prefilled,
    directory: Path,
    work: Path,
    say: Say,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Cold start of ``python -m bot`` (empty and big store) and its peak RSS after turns.

    Timed as a school's restart finds things: one untimed start first compiles our modules'
    bytecode, and the big store's first start (timed on its own, ``first_start_sealing_s`` in
    the memory figures) seals the pre-filled plain records with the local key, a one-off job
    of the upgrade to encryption at rest; the cold starts are then restarts on that store.
    """
    cold: dict[str, Any] = {"empty": [], str(big.concerns): []}
    memory: dict[str, Any] = {}
    log = work / "bot-process.log"
    empty = work / "empty-store"
    for attempt in range(plan.cold_repeats[0] + 1):
        shutil.rmtree(empty, ignore_errors=True)
        async with spawn_bot(empty, directory, log) as bot:
            if attempt:  # the first start only writes the bytecode
                cold["empty"].append(round(bot.started_seconds, 3))
    shutil.rmtree(empty, ignore_errors=True)
    say(f"cold start, empty store: {cold['empty']} s")
    folder = work / "process-store"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(big.folder, folder)
    async with spawn_bot(folder, directory, log) as bot:
        sealing = round(bot.started_seconds, 3)
    say(f"first start on {big.concerns} plain concerns (sealing them): {sealing} s")
    for attempt in range(plan.cold_repeats[1]):
        async with spawn_bot(folder, directory, log) as bot:
            cold[str(big.concerns)].append(round(bot.started_seconds, 3))
            if attempt < plan.cold_repeats[1] - 1:
                continue
            idle = memory_mb(bot.pid)
            sample = await _mixed_turns(plan, connector, bot.url, big, folder, directory)
            after = memory_mb(bot.pid)
            memory = {
                "store_concerns": big.concerns,
                "first_start_sealing_s": sealing,
                "rss_after_start_mb": round(idle["rss_mb"], 1),
                "peak_after_start_mb": round(idle["peak_mb"], 1),
                "mixed_turns": sample.turns,
                "mixed_concurrency": plan.rss_concurrency,
                "mixed_errors": sample.errors,
                "mixed_first_error": sample.first_error or None,
                "mixed_p50_ms": round(sample.percentile(50), 1),
                "rss_after_turns_mb": round(after["rss_mb"], 1),
                "peak_rss_mb": round(after["peak_mb"], 1),
            }
    shutil.rmtree(folder, ignore_errors=True)
    say(f"cold start, {big.concerns} concerns: {cold[str(big.concerns)]} s; memory {memory}")
    return cold, memory


async def _mixed_turns(
    plan: Plan, connector: LeanConnector, url: str, big: Prefilled, folder: Path, directory: Path
) -> Sample:
    """Every kind of turn in turn, into the real process (its clock is the real one)."""
    settings = load_settings(local_env(folder, directory))
    today = datetime.now(settings.school.zone).date()
    async with client_session(plan.rss_concurrency) as session:
        forms = await form_templates(session, url, connector.url)
        turns = Turns(connector.url, today, forms, big.ack_refs)

        def build(i: int) -> dict[str, Any]:
            return turns.build(TURNS[i % len(TURNS)])(i)

        def ok(i: int, status: int, body: bytes) -> bool:
            return answer_ok(TURNS[i % len(TURNS)], status, body)

        return await drive(
            session,
            url,
            build,
            turns=plan.rss_turns,
            concurrency=plan.rss_concurrency,
            check=ok,
            budget=plan.rss_budget,
            min_turns=min(plan.rss_turns, 60),
        )


def _write(out: Path, results: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in ("botbuilder-core", "aiohttp", "tinydb", "psycopg"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


async def run(
    plan: Plan, out: Path, say: Say = _say, work_root: Path | None = None
) -> dict[str, Any]:
    """Run ``plan``; write ``out`` (JSON) and return the results."""
    began = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=work_root))
    connector = LeanConnector()
    await connector.start()
    try:
        directory = write_directory(work / "directory.json")
        say(f"benchmark ({plan.name}) in {work}; connector at {connector.url}")
        refs = await references(plan, connector, work, say)
        templates: dict[int, Prefilled] = {}
        for size in plan.sizes:
            templates[size] = await prefill(
                work / f"template-{size}", size, now=NOW, new_count=min(size // 2, plan.max_new)
            )
            say(
                f"pre-filled {size} concerns, {templates[size].filter_requests} filter requests, "
                f"{templates[size].audit_entries} audit entries in {templates[size].seconds:.1f} s"
            )
        cells = await product_cells(plan, connector, templates, directory, work, say)
        postgres = await postgres_column(
            instances=plan.postgres_instances,
            turns=plan.postgres_turns,
            concurrency=plan.postgres_concurrency,
            warmup=plan.postgres_warmup,
        )
        say(report.postgres_progress(postgres))
        profile = await profile_submits(plan, connector, templates, directory, work, say)
        small = templates[plan.sizes[0]]
        turn_profiles = await profile_turns(
            connector,
            small,
            directory,
            work,
            say,
            PROFILED_TURNS,
            plan.profile_turns[0],
            plan.warmup,
        )
        sample_concern, _ = _concern(1, "OSC-2026-9999", NOW, is_new=False)
        writes = await compare(work / "store-writes", plan.store_sizes, encode(sample_concern))
        say(
            "store writes: " + ", ".join(f"{r['records']}: {r['tinydb_p50_ms']} ms" for r in writes)
        )
        big = templates[plan.sizes[1]]
        cold, memory = await real_process(plan, connector, big, directory, work, say)
        prefills = {
            str(size): {
                "concerns": t.concerns,
                "filter_requests": t.filter_requests,
                "audit_entries": t.audit_entries,
                "new_concerns": len(t.ack_refs),
                "seconds": round(t.seconds, 2),
                "bytes_on_disk": t.bytes_on_disk,
                "files": file_sizes(t.folder),
            }
            for size, t in templates.items()
        }
    finally:
        await connector.stop()
        shutil.rmtree(work, ignore_errors=True)
    results: dict[str, Any] = {
        "meta": {
            "plan": plan.name,
            "started_at": started_at,
            "duration_s": 0.0,
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
            "versions": _versions(),
            "product_clock": NOW.isoformat(),
            "command": " ".join(["python -m bench", *sys.argv[1:]]),
        },
        "plan": plan.as_dict(),
        "prefill": prefills,
        "cells": refs + cells,
        "postgres": postgres,
        "profile": profile,
        "turn_profiles": turn_profiles,
        "store_writes": writes,
        "cold_start_s": cold,
        "peak_rss": memory,
        "connector": {
            "posted": connector.posted,
            "updated": connector.updated,
            "created": connector.created,
        },
    }
    report.add_ratios(results)
    results["targets"] = report.targets(results)
    results["meta"]["duration_s"] = round(time.perf_counter() - began, 1)
    await asyncio.to_thread(_write, out, results)
    return results
