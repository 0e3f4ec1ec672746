"""The embedded store's journal, checkpoints and partitions (issue 11), and its refusal to start
on a folder that lost or cut a file (issue 10).

A commit is one journal write; checkpoints move the journal into bounded partition files; the
manifest in ``system.json`` says what every file must hold, so a missing, cut, garbled or older
file stops start-up instead of the store starting without it.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tinydb import TinyDB

from bench.atomic_storage import AtomicJSONStorage
from dialogs.ports import Change, Record, StoreCorrupted, StoreUnavailable
from policy.audit import AuditEvent
from store import files, tinydb_journal, tinydb_layout, tinydb_partitions
from store.crypto import RecordCipher, new_key, parse_key
from store.files import DIR_MODE
from store.tinydb_store import TinyDbStore
from tests.support import ROOT

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
WHOLE_FOLDER = "restore the WHOLE data folder from the latest backup"


def event(item: str, action: str = "concern.report") -> AuditEvent:
    return AuditEvent(actor="staff-1", action=action, item=item, outcome="ok", at=AT)


def concern(n: int, version: int = 1, **data: object) -> Record:
    body = {"reporter_id": f"staff-{n % 7}", "status": "new", "text": "x" * 200, **data}
    return Record("concern", f"OSC-2026-{n:05d}", version, body)


@pytest.fixture
def small_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partitions of 50 records, a cache of 30 KB: a few hundred records use many of both."""
    monkeypatch.setattr(tinydb_partitions, "SHARD_MAX_RECORDS", 50)
    monkeypatch.setattr(tinydb_partitions, "CACHE_BYTES", 30_000)


async def fill(folder: Path, count: int, *, batch: int = 25) -> None:
    store = await TinyDbStore.open(folder)
    for start in range(1, count + 1, batch):
        numbers = range(start, min(start + batch, count + 1))
        await store.commit(
            Change(
                records=[concern(n) for n in numbers],
                audit=[event(f"concern:OSC-2026-{n:05d}") for n in numbers],
            )
        )
    await store.close()


def partitions(folder: Path, kind: str = "concern") -> dict[str, dict[str, object]]:
    found = {}
    for path in sorted((folder / "records").glob(f"{kind}*.json")):
        found[path.name] = json.loads(path.read_bytes())
    return found


# ----- partitions ----------------------------------------------------------------------------


@pytest.mark.usefixtures("small_partitions")
async def test_records_go_into_bounded_partitions_and_an_update_rewrites_only_its_own(
    tmp_path: Path,
) -> None:
    await fill(tmp_path, 420)

    files = partitions(tmp_path)
    counts = [len(f["_default"]) for f in files.values()]  # type: ignore[arg-type]
    print(f"\n420 records in {len(files)} partitions of {counts}")
    assert sum(counts) == 420 and max(counts) <= 50 and len(files) == 9
    stamps = {p.name: p.stat().st_ino for p in (tmp_path / "records").iterdir()}

    store = await TinyDbStore.open(tmp_path)
    await store.commit(Change(records=[concern(7, 2, status="acknowledged")]))
    await store.checkpoint()
    await store.close()

    changed = [
        p.name for p in (tmp_path / "records").iterdir() if stamps.get(p.name) != p.stat().st_ino
    ]
    assert changed == ["concern.json"]  # record 7 lives in the first partition: only it moved
    store = await TinyDbStore.open(tmp_path)
    found = await store.get("concern", "OSC-2026-00007")
    await store.close()
    assert found is not None and found.version == 2 and found.data["status"] == "acknowledged"


@pytest.mark.usefixtures("small_partitions")
async def test_find_sees_every_partition_though_only_a_few_are_in_memory(tmp_path: Path) -> None:
    await fill(tmp_path, 300)
    store = await TinyDbStore.open(tmp_path)
    try:
        mine = await store.find("concern", reporter_id="staff-3")
        everything = await store.find("concern")
        one = await store.get("concern", "OSC-2026-00001")
        await store.commit(Change(deletes=[("concern", "OSC-2026-00002", 1)]))
        after = await store.find("concern", status="new")
        loaded = sum(
            s.nbytes for shards in store._kinds.values() for s in shards if s.docs is not None
        )
    finally:
        await store.close()

    assert sorted(r.id for r in mine) == [f"OSC-2026-{n:05d}" for n in range(1, 301) if n % 7 == 3]
    assert len(everything) == 300
    assert one is not None and one.data["text"] == "x" * 200
    assert len(after) == 299
    assert loaded <= 30_000 + 2 * 50 * 400  # the cache, plus the partitions just written to


async def test_a_big_kind_file_from_before_partitions_is_split_when_the_store_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tinydb_partitions, "SHARD_MAX_RECORDS", 100)
    (tmp_path / "records").mkdir(mode=DIR_MODE, parents=True)
    db = TinyDB(str(tmp_path / "records" / "concern.json"), storage=AtomicJSONStorage)
    db.insert_multiple(
        {"id": r.id, "version": 1, "schema": 1, "data": r.data}
        for r in (concern(n) for n in range(1, 251))
    )
    db.close()
    (tmp_path / "system.json").write_text(
        '{"sequences": {"1": {"name": "OSC-2026", "value": 250}}}'
    )

    store = await TinyDbStore.open(tmp_path)
    number = await store.next_sequence("OSC-2026")
    everything = await store.find("concern")
    await store.close()

    assert number == 251 and len(everything) == 250
    counts = {name: len(f["_default"]) for name, f in partitions(tmp_path).items()}  # type: ignore[arg-type]
    assert counts == {"concern.json": 100, "concern.2.json": 100, "concern.3.json": 50}


async def test_a_split_interrupted_before_the_first_file_was_rewritten_starts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tinydb_partitions, "SHARD_MAX_RECORDS", 100)
    (tmp_path / "records").mkdir(mode=DIR_MODE, parents=True)
    original = {
        "_default": {
            str(n): {"id": r.id, "version": 1, "schema": 1, "data": r.data}
            for n, r in ((n, concern(n)) for n in range(1, 251))
        }
    }
    (tmp_path / "records" / "concern.json").write_text(json.dumps(original))
    # What a crash leaves after writing the second partition and before rewriting the first:
    docs = {
        r.id: tinydb_layout.encode_doc(r.id, 1, 1, r.data) for r in map(concern, range(101, 201))
    }
    leftover = tinydb_layout.build_shard("concern", 2, 0, docs, dict.fromkeys(docs, 1))
    (tmp_path / "records" / "concern.2.json").write_bytes(leftover)

    store = await TinyDbStore.open(tmp_path)
    everything = await store.find("concern")
    await store.close()

    assert sorted(r.id for r in everything) == [f"OSC-2026-{n:05d}" for n in range(1, 251)]


# ----- the journal and recovery -------------------------------------------------------------


KILL_SCRIPT = """
import asyncio, os, sys
from datetime import UTC, datetime
from pathlib import Path
from dialogs.ports import Change, Record
from policy.audit import AuditEvent
from store import files, tinydb_partitions
from store.tinydb_store import TinyDbStore

tinydb_partitions.SHARD_MAX_RECORDS = 50
folder, where = Path(sys.argv[1]), sys.argv[2]
real_write = files.atomic_write_json
written = []

def die_after_two_partitions(path, value):
    if path.parent.name == "records" and len(written) == 2:
        os._exit(137)
    real_write(path, value)
    if path.parent.name == "records":
        written.append(path.name)

async def main():
    store = await TinyDbStore.open(folder)
    number = await store.next_sequence("OSC-2026")
    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    records = [
        Record("concern", f"K{n:03d}", 1, {"n": n, "number": number}) for n in range(120)
    ]
    await store.commit(Change(
        records=records,
        deletes=[("concern", "OSC-2026-00001", 1)],
        audit=[AuditEvent("staff", "concern.report", "concern:K000", "ok", at)],
    ))
    if where == "mid-checkpoint":
        files.atomic_write_json = die_after_two_partitions
        await store.checkpoint()
    os._exit(137)  # killed: no close, no final checkpoint

asyncio.run(main())
"""


@pytest.mark.parametrize("where", ["after-commit", "mid-checkpoint"])
async def test_after_a_kill_the_journal_is_replayed_onto_the_partitions(
    tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tinydb_partitions, "SHARD_MAX_RECORDS", 50)
    await fill(tmp_path, 60)
    result = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path), where],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 137, result.stderr
    assert (tmp_path / "journal.json").exists()

    reader = await TinyDbStore.open(tmp_path, read_only=True)  # sees what is only in the journal
    seen = len(await reader.find("concern"))
    await reader.close()
    store = await TinyDbStore.open(tmp_path)
    records = await store.find("concern")
    number = await store.next_sequence("OSC-2026")
    check = await store.verify_audit()
    await store.close()

    assert seen == len(records) == 60 - 1 + 120
    assert all(r.id != "OSC-2026-00001" for r in records)
    assert {r.data["number"] for r in records if r.id.startswith("K")} == {1}
    assert number == 2  # the number drawn before the kill was saved with the change using it
    assert check.ok and check.entries == 61
    assert not (tmp_path / "journal.json").exists()


async def test_one_journal_write_carries_every_change_waiting_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await TinyDbStore.open(tmp_path)
    writes: list[str] = []
    real = files.atomic_write_json
    real_append = files.append_synced

    def counting(path: Path, value: object) -> None:
        writes.append(path.name)
        real(path, value)

    def counting_appends(fd: int, data: bytes) -> None:
        writes.append("journal.json")
        real_append(fd, data)

    monkeypatch.setattr(files, "atomic_write_json", counting)
    monkeypatch.setattr(files, "append_synced", counting_appends)
    numbers = [await store.next_sequence("OSC-2026") for _ in range(20)]
    await asyncio.gather(
        *(
            store.commit(Change(records=[concern(n)], audit=[event(f"concern:{n}")]))
            for n in numbers
        )
    )
    journal_writes = writes.count("journal.json")
    log = await store.audit_log()
    await store.close()

    print(f"\n20 concurrent commits (and 20 sequence numbers): {journal_writes} journal writes")
    assert journal_writes < 20
    assert [e.seq for e in log] == list(range(1, 21))
    assert not (tmp_path / "journal.json").exists()  # closing checkpointed it all


async def test_a_number_is_given_back_when_the_change_using_it_could_not_be_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await TinyDbStore.open(tmp_path)
    assert await store.next_sequence("OSC-2026") == 1
    await store.commit(Change(records=[concern(1)]))
    real = files.atomic_write_json
    real_append = files.append_synced

    def disk_full(path: Path, value: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "atomic_write_json", disk_full)
    monkeypatch.setattr(files, "append_synced", disk_full)
    assert await store.next_sequence("OSC-2026") == 2
    with pytest.raises(StoreUnavailable, match="No space left"):
        await store.commit(Change(records=[concern(2)]))
    monkeypatch.setattr(files, "atomic_write_json", real)
    monkeypatch.setattr(files, "append_synced", real_append)

    assert await store.next_sequence("OSC-2026") == 2  # nobody drew one since: given back
    await store.commit(Change(records=[concern(2)]))

    gate = asyncio.Event()

    async def draws_then_fails() -> int:
        number = await store.next_sequence("OSC-2026")
        await gate.wait()
        monkeypatch.setattr(files, "atomic_write_json", disk_full)
        monkeypatch.setattr(files, "append_synced", disk_full)
        with pytest.raises(StoreUnavailable):
            await store.commit(Change(records=[concern(number)]))
        monkeypatch.setattr(files, "atomic_write_json", real)
        monkeypatch.setattr(files, "append_synced", real_append)
        return number

    first = asyncio.create_task(draws_then_fails())
    await asyncio.sleep(0)
    second = await store.next_sequence("OSC-2026")
    gate.set()
    assert (await first, second) == (3, 4)  # 3 failed, but 4 was drawn since: 3 stays unused
    await store.commit(Change(records=[concern(second)]))
    assert await store.next_sequence("OSC-2026") == 5
    await store.close()

    reopened = await TinyDbStore.open(tmp_path)
    assert await reopened.next_sequence("OSC-2026") == 5  # 5 was never saved with anything
    await reopened.close()


# ----- refusing to start on a folder that lost a file (never an empty start) -----------------


@pytest.mark.usefixtures("small_partitions")
@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("delete-first", "records/concern.json is missing"),
        ("delete-later", "records/concern.4.json is missing"),
        ("delete-system", "system.json is missing"),
        ("garbage", "records/concern.3.json is damaged"),
        ("cut-partition", "records/concern.2.json is damaged"),
        ("older-partition", "records/concern.json is older than the rest"),
        ("emptied-partition", "records/concern.2.json holds 0 records where system.json says 50"),
        ("audit-cut-at-a-line", "audit.jsonl is shorter than when the bot last wrote it"),
        ("audit-deleted", "audit.jsonl is shorter than when the bot last wrote it"),
        ("stray-file", "records/concern.9.json is not part of this data folder"),
    ],
)
async def test_a_folder_that_lost_or_cut_a_file_refuses_to_start(
    tmp_path: Path, damage: str, words: str
) -> None:
    await fill(tmp_path, 160)
    old_first = (tmp_path / "records" / "concern.json").read_bytes()
    store = await TinyDbStore.open(tmp_path)
    await store.commit(Change(records=[concern(3, 2, status="closed")]))
    await store.close()
    records = tmp_path / "records"
    if damage == "delete-first":
        (records / "concern.json").unlink()
    elif damage == "delete-later":
        (records / "concern.4.json").unlink()
    elif damage == "delete-system":
        (tmp_path / "system.json").unlink()
    elif damage == "garbage":
        (records / "concern.3.json").write_bytes(b"\x00\x13garbage\xff" * 100)
    elif damage == "cut-partition":
        data = (records / "concern.2.json").read_bytes()
        (records / "concern.2.json").write_bytes(data[: len(data) // 2])
    elif damage == "older-partition":
        (records / "concern.json").write_bytes(old_first)
    elif damage == "emptied-partition":
        first = partitions(tmp_path)["concern.2.json"]
        header = first["_index"]["1"]  # type: ignore[index]
        emptied = {"_index": {"1": {**header, "ids": []}}, "_default": {}}
        (records / "concern.2.json").write_text(json.dumps(emptied))
    elif damage == "audit-cut-at-a-line":
        lines = (tmp_path / "audit.jsonl").read_bytes().splitlines(keepends=True)
        (tmp_path / "audit.jsonl").write_bytes(b"".join(lines[:-5]))
    elif damage == "audit-deleted":
        (tmp_path / "audit.jsonl").unlink()
    elif damage == "stray-file":
        shutil.copy(records / "concern.json", records / "concern.9.json")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "LOCK"}

    with pytest.raises(StoreCorrupted) as raised:
        await TinyDbStore.open(tmp_path)
    with pytest.raises(StoreCorrupted):
        await TinyDbStore.open(tmp_path, read_only=True)

    print(f"\n{damage}: {str(raised.value).split('. ')[0]}")
    assert words.split("/")[-1] in str(raised.value)
    assert WHOLE_FOLDER in str(raised.value) or "newer version" in str(raised.value)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "LOCK"}
    assert after == before  # nothing repaired, emptied or replaced
    relock = await TinyDbStore.open(tmp_path / "elsewhere")  # and the lock was let go
    await relock.close()


# ----- reading while the bot writes ----------------------------------------------------------


async def test_a_read_only_open_sees_the_journal_without_taking_the_lock(tmp_path: Path) -> None:
    writer = await TinyDbStore.open(tmp_path)
    try:
        await writer.commit(Change(records=[concern(1)], audit=[event("concern:1")]))
        assert (tmp_path / "journal.json").exists()
        reader = await TinyDbStore.open(tmp_path, read_only=True)
        found = await reader.get("concern", "OSC-2026-00001")
        log = await reader.audit_log()
        with pytest.raises(StoreUnavailable, match="read-only"):
            await reader.commit(Change(records=[concern(2)]))
        with pytest.raises(StoreUnavailable, match="read-only"):
            await reader.next_sequence("OSC-2026")
        await reader.close()
        await writer.commit(Change(records=[concern(2)]))  # the writer still holds the folder
    finally:
        await writer.close()
    assert found is not None and [e.item for e in log] == ["concern:1"]


@pytest.mark.usefixtures("small_partitions")
async def test_readers_always_see_one_moment_while_the_writer_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tinydb_journal, "JOURNAL_HARD", 4_000)  # checkpoint every few commits
    writer = await TinyDbStore.open(tmp_path)
    stop = asyncio.Event()
    commits = 0

    async def write() -> None:
        nonlocal commits
        while not stop.is_set():
            commits += 1
            await writer.commit(
                Change(records=[concern(commits)], audit=[event(f"concern:{commits}")])
            )
            await asyncio.sleep(0)

    writing = asyncio.create_task(write())
    seen = []
    try:
        for _ in range(15):
            await asyncio.sleep(0.02)
            reader = await TinyDbStore.open(tmp_path, read_only=True)
            ids = {int(r.id[-5:]) for r in await reader.find("concern")}
            audited = {int(e.item.split(":")[1]) for e in await reader.audit_log()}
            check = await reader.verify_audit()
            await reader.close()
            assert ids == audited == set(range(1, len(ids) + 1))
            assert check.ok
            seen.append(len(ids))
    finally:
        stop.set()
        await writing
        await writer.close()
    print(f"\n15 read-only opens during {commits} commits saw {seen} records")
    assert seen == sorted(seen) and seen[-1] > seen[0]


# ----- encryption ----------------------------------------------------------------------------


async def test_with_a_key_the_journal_holds_no_plain_text_either(tmp_path: Path) -> None:
    key = new_key()
    store = await TinyDbStore.open(tmp_path, cipher=RecordCipher([parse_key(key)]))
    await store.commit(
        Change(records=[Record("concern", "A", 1, {"what_happened": "CANARY-991 Ava"})])
    )
    await store.commit(  # (appended to the journal the first one started)
        Change(records=[Record("concern", "B", 1, {"what_happened": "CANARY-992 Ben"})])
    )
    journal = (tmp_path / "journal.json").read_bytes()
    await store.close()
    assert b"CANARY" not in journal and b"Ava" not in journal and b"Ben" not in journal
    assert journal.count(b"__sealed__") == 2


# ----- the bench's and tools' view of the folder ---------------------------------------------


async def test_every_store_file_is_a_whole_tinydb_document(tmp_path: Path) -> None:
    await fill(tmp_path, 30)
    store = await TinyDbStore.open(tmp_path)
    await store.commit(Change(records=[concern(99)]))
    journal = tmp_path / "journal.json"
    changes, _valid = tinydb_layout.parse_journal(journal, journal.read_bytes())
    await store.close()

    assert len(changes) == 1  # only what came after the last checkpoint
    assert TinyDB(str(tmp_path / "records" / "concern.json"), storage=AtomicJSONStorage).all()
    system = json.loads((tmp_path / "system.json").read_bytes())
    assert set(system) >= {"sequences", "dedupe", "store"}


SCRIPT_MANY_PROCESSES = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from store.tinydb_store import TinyDbStore

    async def main():
        store = await TinyDbStore.open(Path(sys.argv[1]), read_only=True)
        print(len(await store.find("concern")))
        await store.close()

    asyncio.run(main())
    """
)


async def test_a_reader_in_another_process_while_the_bot_holds_the_folder(tmp_path: Path) -> None:
    writer = await TinyDbStore.open(tmp_path)
    try:
        await writer.commit(Change(records=[concern(n) for n in range(1, 6)]))
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", SCRIPT_MANY_PROCESSES, str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        await writer.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "5"


async def test_a_change_journalled_by_the_store_before_partitions_is_completed(
    tmp_path: Path,
) -> None:
    """A folder the previous store left after a crash mid-commit: its kind files, its
    ``system.json`` without a manifest, and its one-change journal (records, deletes, audit,
    dedupe), with the audit entry already appended: the change is completed, once."""
    (tmp_path / "records").mkdir(mode=DIR_MODE, parents=True)
    old = {"id": "A", "version": 1, "schema": 1, "data": {"status": "new"}}
    (tmp_path / "records" / "concern.json").write_text(json.dumps({"_default": {"1": old}}))
    (tmp_path / "system.json").write_text(json.dumps({"sequences": {}}))
    store = await TinyDbStore.open(tmp_path / "scratch")
    [entry] = await store.commit(Change(audit=[event("concern:A", "concern.acknowledge")]))
    await store.close()
    line = json.dumps(entry.to_dict(), separators=(",", ":")) + "\n"
    (tmp_path / "audit.jsonl").write_text(line)
    journal = {
        "records": [{"kind": "concern", "id": "A", "version": 2, "schema": 1, "data": {"s": 2}}],
        "deletes": [],
        "audit": [entry.to_dict()],
        "dedupe": {"key": "act-1", "refs": ["concern:A"], "at": datetime.now(UTC).isoformat()},
    }
    (tmp_path / "journal.json").write_text(json.dumps(journal))

    store = await TinyDbStore.open(tmp_path)
    found = await store.get("concern", "A")
    log = await store.audit_log()
    assert await store.deduped("act-1") == ("concern:A",)
    await store.close()

    assert found is not None and found.version == 2 and found.data == {"s": 2}
    assert [e.seq for e in log] == [1]
    assert not (tmp_path / "journal.json").exists()
