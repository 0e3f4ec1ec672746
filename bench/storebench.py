"""Durable write latency by file size: the product's ``TinyDbStore`` committing one record into
a kind that already holds ``N`` records, beside the standard library's sqlite3 (WAL mode,
``synchronous=FULL``) inserting the same record into a table holding the same ``N`` rows."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import statistics
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from bench.atomic_storage import AtomicJSONStorage
from dialogs.ports import Change, Record
from store.files import DIR_MODE
from store.tinydb_store import TinyDbStore

KIND = "bench_item"


def _docs(n: int, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"id": f"item-{i:06d}", "version": 1, "schema": 1, "data": data} for i in range(n)]


async def _tinydb(folder: Path, n: int, reps: int, data: Mapping[str, Any]) -> dict[str, Any]:
    (folder / "records").mkdir(mode=DIR_MODE, parents=True)
    db = TinyDB(str(folder / "records" / f"{KIND}.json"), storage=AtomicJSONStorage)
    db.insert_multiple(_docs(n, data))
    db.close()
    store = await TinyDbStore.open(folder)
    times = []
    try:
        for _ in range(reps):
            record = Record(KIND, uuid.uuid4().hex, 1, data)
            began = time.perf_counter()
            await store.commit(Change(records=[record]))
            times.append(time.perf_counter() - began)
    finally:
        await store.close()
    size = (folder / "records" / f"{KIND}.json").stat().st_size
    return {"p50_ms": statistics.median(times) * 1000, "file_bytes": size, "reps": reps}


def _sqlite(folder: Path, n: int, reps: int, data: Mapping[str, Any]) -> dict[str, Any]:
    folder.mkdir(parents=True)
    path = folder / "store.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(
            "CREATE TABLE records (kind TEXT, id TEXT, version INTEGER, data TEXT, "
            "PRIMARY KEY (kind, id))"
        )
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO records VALUES (?, ?, 1, ?)",
            ((KIND, doc["id"], text) for doc in _docs(n, {})),
        )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        times = []
        for _ in range(reps):
            began = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO records VALUES (?, ?, 1, ?)",
                (KIND, uuid.uuid4().hex, json.dumps(data, separators=(",", ":"))),
            )
            db.execute("COMMIT")
            times.append(time.perf_counter() - began)
    finally:
        db.close()
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {"p50_ms": statistics.median(times) * 1000, "file_bytes": size, "reps": reps}


async def compare(
    work: Path, sizes: Mapping[int, int], data: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """For each ``N`` (-> repetitions): TinyDB and sqlite3 write p50 and file size."""
    rows = []
    for n, reps in sizes.items():
        tiny = await _tinydb(work / f"tinydb-{n}", n, reps, data)
        lite = await asyncio.to_thread(_sqlite, work / f"sqlite-{n}", n, reps, data)
        rows.append(
            {
                "records": n,
                "record_bytes": len(json.dumps(data)),
                "tinydb_p50_ms": round(tiny["p50_ms"], 2),
                "tinydb_file_bytes": tiny["file_bytes"],
                "sqlite_p50_ms": round(lite["p50_ms"], 2),
                "sqlite_file_bytes": lite["file_bytes"],
                "reps": reps,
            }
        )
        shutil.rmtree(work / f"tinydb-{n}", ignore_errors=True)
        shutil.rmtree(work / f"sqlite-{n}", ignore_errors=True)
    return rows
