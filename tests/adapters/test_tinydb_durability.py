"""The embedded store keeps its promises on disk: durable, crash-safe, single writer, 0600,
and it refuses to start on damaged files rather than start empty."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.ports import (
    Change,
    Record,
    StoreCorrupted,
    StoreLocked,
    StoreUnavailable,
)
from policy.audit import AuditEvent
from store import files, tinydb_layout
from store.tinydb_store import TinyDbStore
from tests.support import ROOT, iter_json_lines

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def event(action: str = "concern.report") -> AuditEvent:
    return AuditEvent(actor="staff-1", action=action, item="concern:A", outcome="ok", at=AT)


async def seeded(folder: Path) -> None:
    store = await TinyDbStore.open(folder)
    await store.commit(
        Change(
            records=[Record("concern", "A", 1, {"status": "new"})],
            audit=[event()],
            dedupe_key="seed",
        )
    )
    await store.close()


async def test_data_is_still_there_after_reopening(tmp_path: Path) -> None:
    await seeded(tmp_path)

    store = await TinyDbStore.open(tmp_path)
    found = await store.get("concern", "A")
    log = await store.audit_log()
    await store.close()

    assert found is not None and found.data == {"status": "new"}
    assert [e.action for e in log] == ["concern.report"]


async def test_store_files_are_private_to_the_service_account(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    await seeded(folder)

    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"LOCK", "system.json", "concern.json", "audit.jsonl"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_a_second_store_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    first = await TinyDbStore.open(tmp_path)
    try:
        with pytest.raises(StoreLocked, match="already using"):
            await TinyDbStore.open(tmp_path)
    finally:
        await first.close()
    second = await TinyDbStore.open(tmp_path)  # released on close: usable again
    await second.close()


async def test_a_second_process_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    holder = await TinyDbStore.open(tmp_path)
    try:
        script = textwrap.dedent(
            f"""
            import asyncio, sys
            from store.tinydb_store import TinyDbStore
            from dialogs.ports import StoreLocked
            try:
                asyncio.run(TinyDbStore.open(__import__("pathlib").Path({str(tmp_path)!r})))
            except StoreLocked as exc:
                sys.stderr.write(str(exc)); sys.exit(3)
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    finally:
        await holder.close()
    assert result.returncode == 3
    assert f"pid {os.getpid()}" in result.stderr


@pytest.mark.parametrize(
    ("relative", "content"),
    [
        ("records/concern.json", b'{"_default": {"1": {"id": "A", "vers'),
        ("records/concern.json", b"\x00\x13garbage\xff"),
        ("records/concern.json", b""),
        ("system.json", b"[1, 2"),
    ],
    ids=["truncated", "garbage", "empty", "system-truncated"],
)
async def test_a_damaged_file_refuses_to_open_and_names_the_file(
    tmp_path: Path, relative: str, content: bytes
) -> None:
    await seeded(tmp_path)
    (tmp_path / relative).write_bytes(content)

    with pytest.raises(StoreCorrupted) as raised:
        await TinyDbStore.open(tmp_path)

    assert relative.split("/")[-1] in str(raised.value)
    assert "restore" in str(raised.value)
    # Refusing must not have replaced the damaged file with an empty store.
    assert (tmp_path / relative).read_bytes() == content
    reopened_lock = await TinyDbStore.open(tmp_path / "elsewhere")  # and the lock was released
    await reopened_lock.close()


async def test_a_torn_audit_entry_with_no_interrupted_change_is_refused(tmp_path: Path) -> None:
    await seeded(tmp_path)
    with (tmp_path / "audit.jsonl").open("ab") as handle:
        handle.write(b'{"seq": 2, "actor": "x", "act')

    with pytest.raises(StoreCorrupted, match="partial entry"):
        await TinyDbStore.open(tmp_path)


async def test_an_audit_log_damaged_while_the_store_is_open_is_reported_as_damage(
    tmp_path: Path,
) -> None:
    """Reading the log back (reports, verify) goes through the same line reader as opening:
    a damaged line is named as damage to restore from, never a bare parse error."""
    await seeded(tmp_path)
    store = await TinyDbStore.open(tmp_path)
    try:
        path = tmp_path / "audit.jsonl"
        data = path.read_bytes()
        path.write_bytes(b"{" + b"x" * (len(data) - 2) + b"\n")  # same length, not JSON

        with pytest.raises(StoreCorrupted, match="line 1 is damaged"):
            await store.audit_log()
    finally:
        await store.close()


async def test_records_written_by_newer_code_refuse_to_open(tmp_path: Path) -> None:
    await seeded(tmp_path)
    path = tmp_path / "records" / "concern.json"
    data = json.loads(path.read_text())
    data["_default"]["1"]["schema"] = 99
    path.write_text(json.dumps(data))

    with pytest.raises(StoreCorrupted, match="newer version"):
        await TinyDbStore.open(tmp_path)


CRASH_SCRIPT = """
import asyncio, os, sys
from datetime import UTC, datetime
from pathlib import Path
from dialogs.ports import Change, Record
from policy.audit import AuditEvent
from store import files
from store.tinydb_store import TinyDbStore

where = sys.argv[2]
real_write = files.atomic_write_json
real_append = files.append_synced

def die_before_apply(self, plan):
    os._exit(137)  # the journal is on disk; memory and the partition files are not changed

def die_half_way_through_the_journal(path, value):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(value[: len(value) // 2])  # never renamed: the journal is as it was
    os._exit(137)

def die_before_the_rename(src, dst):
    os._exit(137)  # the spare holds the whole journal, fsynced; journal.json is the old one

def die_half_way_through_the_spare(fd, data):
    os.write(fd, data[: len(data) // 2])
    os._exit(137)

def die_half_way_through_the_audit_append(handle, lines):
    data = b"".join(lines)
    os.write(handle.fileno(), data[: len(data) - 20])
    os._exit(137)

def die_half_way_through_the_append(fd, data):
    os.write(fd, data[: len(data) // 2])
    os._exit(137)

def die_after_the_append(fd, data):
    real_append(fd, data)
    os._exit(137)  # appended and synced, never acknowledged nor applied

def die_before_the_manifest(path, value):
    if path.name == "system.json":
        os._exit(137)  # the partitions are written, the manifest is not
    real_write(path, value)

async def main():
    store = await TinyDbStore.open(Path(sys.argv[1]))
    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    if where == "before-apply":
        TinyDbStore._apply = die_before_apply
    elif where == "mid-journal-write":
        files.atomic_write_json = die_half_way_through_the_journal
    elif where == "before-spare-rename":
        files.os.replace = die_before_the_rename
    elif where == "mid-spare-write":
        files.write_all = die_half_way_through_the_spare
    elif where in ("mid-append", "after-append"):
        await store.commit(Change(records=[Record("concern", "C", 1, {"status": "new"})]))
        files.append_synced = (
            die_half_way_through_the_append if where == "mid-append" else die_after_the_append
        )
    await store.commit(Change(
        records=[Record("concern", "B", 1, {"status": "new"})],
        audit=[AuditEvent("staff-2", "concern.report", "concern:B", "ok", at)],
        dedupe_key="activity-77",
    ))
    if where == "mid-audit-append":
        files.append_durably = die_half_way_through_the_audit_append
    elif where == "before-manifest":
        files.atomic_write_json = die_before_the_manifest
    await store.checkpoint()
    os._exit(99)

asyncio.run(main())
"""


def crash(folder: Path, where: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(folder), where],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 137, result.stderr


@pytest.mark.parametrize(
    "where", ["before-apply", "before-spare-rename", "mid-audit-append", "before-manifest"]
)
async def test_a_committed_change_cut_short_by_a_crash_is_completed_on_the_next_start(
    tmp_path: Path, where: str
) -> None:
    await seeded(tmp_path)
    crash(tmp_path, where)
    assert (tmp_path / "journal.json").exists() or where == "before-spare-rename"

    store = await TinyDbStore.open(tmp_path)
    found = await store.get("concern", "B")
    log = await store.audit_log()
    check = await store.verify_audit()
    assert await store.deduped("activity-77") == ("concern:B",)
    await store.close()

    assert found is not None and found.data == {"status": "new"}
    assert [e.action for e in log] == ["concern.report", "concern.report"]
    assert check.ok
    assert not (tmp_path / "journal.json").exists()  # opening wrote it all into the files
    assert len(list(iter_json_lines(tmp_path / "audit.jsonl"))) == 2
    assert b'"B"' in (tmp_path / "records" / "concern.json").read_bytes()


@pytest.mark.parametrize("where", ["mid-journal-write", "mid-spare-write"])
async def test_a_change_whose_journal_write_was_cut_short_never_happened(
    tmp_path: Path, where: str
) -> None:
    await seeded(tmp_path)
    before = (tmp_path / "system.json").read_bytes()
    crash(tmp_path, where)
    # The half-written journal, under its temporary name or its spare's
    spares = tmp_path.glob(".journal.json.spare.*")
    assert list(tmp_path.glob(".*.tmp")) or any(p.stat().st_size for p in spares)

    store = await TinyDbStore.open(tmp_path)
    found = await store.get("concern", "B")
    log = await store.audit_log()
    assert await store.deduped("activity-77") is None
    await store.close()

    assert found is None  # never acknowledged, and not there: all or nothing
    assert [e.action for e in log] == ["concern.report"]
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob(".*.spare.*"))
    assert (tmp_path / "system.json").read_bytes() == before


@pytest.mark.parametrize("where", ["mid-append", "after-append"])
async def test_a_crash_during_or_just_after_an_append_loses_nothing_acknowledged(
    tmp_path: Path, where: str
) -> None:
    """The journal was started by one commit (C) and a second one (B) appended to it: a crash
    half way through the append (never acknowledged) leaves B out, one after its sync but
    before it was acknowledged may keep it; C, acknowledged, is there either way."""
    await seeded(tmp_path)
    crash(tmp_path, where)
    assert (tmp_path / "journal.json").exists()

    store = await TinyDbStore.open(tmp_path)
    kept = await store.get("concern", "C")
    found = await store.get("concern", "B")
    log = await store.audit_log()
    check = await store.verify_audit()
    await store.close()

    assert kept is not None and kept.data == {"status": "new"}
    if where == "mid-append":
        assert found is None and [e.action for e in log] == ["concern.report"]
    else:
        assert found is not None and [e.action for e in log] == ["concern.report"] * 2
    assert check.ok
    assert not (tmp_path / "journal.json").exists()  # replayed, and checkpointed at opening


async def crashed_after_two_commits(folder: Path) -> tuple[Path, bytes]:
    """A folder whose journal holds two entries (C, then B appended), nothing checkpointed."""
    await seeded(folder)
    crash(folder, "after-append")
    journal = folder / "journal.json"
    return journal, journal.read_bytes()


async def test_a_torn_last_journal_entry_is_left_out_and_the_store_opens(tmp_path: Path) -> None:
    journal, data = await crashed_after_two_commits(tmp_path)
    journal.write_bytes(data[:-7])  # the append of B cut short

    store = await TinyDbStore.open(tmp_path)
    kept, found = await store.get("concern", "C"), await store.get("concern", "B")
    log = await store.audit_log()
    await store.close()

    assert kept is not None and found is None
    assert [e.action for e in log] == ["concern.report"]


async def test_a_damaged_journal_entry_before_the_last_refuses_to_open(tmp_path: Path) -> None:
    journal, data = await crashed_after_two_commits(tmp_path)
    at = data.index(b'"C"')
    journal.write_bytes(data[:at] + b'"D"' + data[at + 3 :])  # same length, checksum fails
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "LOCK"}

    with pytest.raises(StoreCorrupted, match=r"journal\.json is damaged"):
        await TinyDbStore.open(tmp_path)
    with pytest.raises(StoreCorrupted, match=r"journal\.json is damaged"):
        await TinyDbStore.open(tmp_path, read_only=True)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "LOCK"}
    assert after == before  # nothing repaired or cut


async def test_a_journal_of_the_previous_format_is_replayed(tmp_path: Path) -> None:
    """A school upgrading with changes still in its (format 2, one JSON document) journal."""
    journal, data = await crashed_after_two_commits(tmp_path)
    changes, _valid = tinydb_layout.parse_journal(journal, data)
    journal.write_text(json.dumps({"journal": 2, "changes": changes}))

    store = await TinyDbStore.open(tmp_path)
    kept, found = await store.get("concern", "C"), await store.get("concern", "B")
    await store.commit(Change(records=[Record("concern", "E", 1, {"status": "new"})]))
    assert (tmp_path / "journal.json").read_bytes().startswith(tinydb_layout.JOURNAL_MAGIC)
    log = await store.audit_log()
    await store.close()

    assert kept is not None and found is not None and found.data == {"status": "new"}
    assert [e.action for e in log] == ["concern.report"] * 2
    reopened = await TinyDbStore.open(tmp_path)
    assert await reopened.get("concern", "E") is not None
    await reopened.close()


async def test_a_failed_write_is_reported_and_leaves_the_previous_data_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seeded(tmp_path)
    store = await TinyDbStore.open(tmp_path)

    def disk_full(path: Path, value: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "atomic_write_json", disk_full)
    monkeypatch.setattr(files, "append_synced", disk_full)
    with pytest.raises(StoreUnavailable, match="No space left"):
        await store.commit(
            Change(records=[Record("concern", "A", 2, {"status": "closed"})], audit=[event("x")])
        )
    monkeypatch.undo()

    found = await store.get("concern", "A")
    assert found is not None and found.data == {"status": "new"}
    assert [e.action for e in await store.audit_log()] == ["concern.report"]
    await store.commit(
        Change(records=[Record("concern", "A", 2, {"status": "closed"})], audit=[event("y")])
    )
    await store.close()

    reopened = await TinyDbStore.open(tmp_path)
    again = await reopened.get("concern", "A")
    assert again is not None and again.data == {"status": "closed"}
    assert (await reopened.verify_audit()).ok
    await reopened.close()


async def test_an_edited_audit_entry_is_detected_at_start_and_by_verify(tmp_path: Path) -> None:
    store = await TinyDbStore.open(tmp_path)
    for action in ("concern.report", "concern.acknowledge", "concern.close"):
        await store.commit(Change(audit=[event(action)]))
    await store.close()
    path = tmp_path / "audit.jsonl"
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "someone-else"  # rewrite who acknowledged it
    lines[1] = json.dumps(entry)
    path.write_text("\n".join(lines) + "\n")

    reopened = await TinyDbStore.open(tmp_path)
    check = await reopened.verify_audit()
    await reopened.close()

    assert reopened.audit_check is not None and not reopened.audit_check.ok
    assert not check.ok
    assert check.first_bad_seq == 2
    assert "changed" in check.problem
