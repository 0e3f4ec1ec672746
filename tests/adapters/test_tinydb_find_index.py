"""The embedded store's ``find`` on a big kind (issue 25): the first search scans every partition
and builds an index of each field asked for; later searches read only the records it names,
and find exactly what a scan finds, in the same order, however records changed meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dialogs.ports import Change, Record
from store import tinydb_layout, tinydb_partitions
from store.crypto import RecordCipher, new_key, parse_key
from store.tinydb_store import TinyDbStore


@pytest.fixture(autouse=True)
def small_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partitions of 5 records and a cache of 4 KB: 60 records use many of both."""
    monkeypatch.setattr(tinydb_partitions, "SHARD_MAX_RECORDS", 5)
    monkeypatch.setattr(tinydb_partitions, "CACHE_BYTES", 4_000)


def concern(n: int, version: int = 1, **data: object) -> Record:
    body = {"reporter_id": f"staff-{n % 4}", "status": "new", "text": "x" * 100, **data}
    return Record("concern", f"C{n:03d}", version, body)


def scanned(records: dict[str, Record], **equals: object) -> list[str]:
    """What a full scan finds, in the order the records were first written."""
    return [r.id for r in records.values() if all(r.data.get(k) == v for k, v in equals.items())]


@pytest.mark.parametrize("encrypted", [False, True])
async def test_an_indexed_search_finds_what_a_scan_finds(tmp_path: Path, encrypted: bool) -> None:
    cipher = RecordCipher([parse_key(new_key())]) if encrypted else None
    store = await TinyDbStore.open(tmp_path / "data", cipher=cipher)
    records = {f"C{n:03d}": concern(n) for n in range(60)}
    await store.commit(Change(records=list(records.values())))
    await store.checkpoint()  # most partitions now only on disk

    first = await store.find("concern", reporter_id="staff-1")
    assert [r.id for r in first] == scanned(records, reporter_id="staff-1")
    assert store._indexes["concern"]["reporter_id"].ready

    # Changes after the index was built: a new value, one moved to it, one deleted, new ones,
    # a value that is a list, and one with the field left out.
    moved = concern(2, 2, reporter_id="staff-1")
    closed = concern(5, 2, status="closed")
    listed = concern(9, 2, reporter_id=["staff-1"])
    gone = records.pop("C013")
    await store.commit(
        Change(records=[moved, closed, listed], deletes=[("concern", gone.id, gone.version)])
    )
    records.update({r.id: r for r in (moved, closed, listed)})
    later = [concern(n) for n in range(60, 70)] + [Record("concern", "C070", 1, {"status": "new"})]
    await store.commit(Change(records=later))
    records.update({r.id: r for r in later})
    await store.checkpoint()

    for equals in (
        {"reporter_id": "staff-1"},
        {"reporter_id": "staff-1", "status": "new"},
        {"reporter_id": "staff-3", "status": "closed"},
        {"status": "closed"},
        {"reporter_id": None},
        {"reporter_id": "nobody"},
    ):
        found = await store.find("concern", **equals)  # type: ignore[arg-type]
        assert [r.id for r in found] == scanned(records, **equals), equals
        assert [r.data for r in found] == [records[r.id].data for r in found]
    assert all(index.ready for index in store._indexes["concern"].values())
    await store.close()


async def test_a_search_reads_only_the_partitions_of_its_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await TinyDbStore.open(tmp_path / "data")
    await store.commit(Change(records=[concern(n) for n in range(60)]))
    await store.checkpoint()
    await store.find("concern", reporter_id="staff-1")  # builds the index
    await store.close()
    store = await TinyDbStore.open(tmp_path / "data")
    await store.find("concern", reporter_id="staff-2")  # a new process builds it again
    read: list[str] = []
    parse = tinydb_partitions.parse_shard

    def counted(path: Path, data: bytes) -> tinydb_layout.ParsedShard:
        read.append(path.name)
        return parse(path, data)

    monkeypatch.setattr(tinydb_partitions, "parse_shard", counted)
    store._trim_cache()
    await store.commit(Change(records=[concern(60, reporter_id="staff-9")]))
    found = await store.find("concern", reporter_id="staff-9")
    assert [r.id for r in found] == ["C060"]
    assert len(read) <= 1  # at most the partition of C060, never the other eleven
    await store.close()


async def test_searches_while_records_are_written_miss_nothing_written_before(
    tmp_path: Path,
) -> None:
    store = await TinyDbStore.open(tmp_path / "data")
    await store.commit(Change(records=[concern(n) for n in range(60)]))
    await store.checkpoint()

    async def write(n: int) -> None:
        await store.commit(Change(records=[concern(n, reporter_id="staff-9")]))

    writes = [asyncio.create_task(write(n)) for n in range(60, 80)]
    searches = [asyncio.create_task(store.find("concern", reporter_id="staff-9"))]
    await asyncio.gather(*writes, *searches)
    found = await store.find("concern", reporter_id="staff-9")
    assert [r.id for r in found] == [f"C{n:03d}" for n in range(60, 80)]
    await store.close()
