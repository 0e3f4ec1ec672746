"""R2 at the process level: the real ``python -m bot`` refuses to start on a damaged store file,
or on a folder that lost or cut one (never an empty start: issue 10), says which file and to
restore the whole data folder, and leaves every file exactly as it found it.

Already covered elsewhere (not repeated here): a truncated ``records/concern.json`` refusing the
real process (tests/e2e/test_process.py); truncated, garbage and empty record files, truncated
``system.json``, a torn audit entry and newer-schema records at the store level
(tests/adapters/test_tinydb_durability.py); every kind of lost, cut, older or stray file at the
store level (tests/adapters/test_tinydb_partitions.py); a second process on the same folder (R4)
at both levels. The way back from a refusal, restoring the last backup, is in test_backup.py.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.ports import Change, Record
from policy.audit import AuditEvent
from store.tinydb_store import TinyDbStore
from tests.reliability.common import bot_env, free_port
from tests.support import ROOT

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def seed(folder: Path, count: int = 3) -> None:
    store = await TinyDbStore.open(folder)
    for n in range(1, count + 1):
        await store.commit(
            Change(
                records=[Record("concern", f"OSC-2026-{n:04d}", 1, {"status": "new"})],
                audit=[
                    AuditEvent("staff", "concern.report", f"concern:OSC-2026-{n:04d}", "ok", AT)
                ],
                dedupe_key=f"form-{n}",
            )
        )
    await store.close()


def start(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=bot_env(data, free_port(), LOG_FORMAT="text"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def garbage_system(data: Path) -> tuple[Path, bytes]:
    return data / "system.json", b"\x00\x00\x00 not json at all \xff\xfe"


def torn_audit(data: Path) -> tuple[Path, bytes | None]:
    whole = (data / "audit.jsonl").read_bytes()
    return data / "audit.jsonl", whole[: len(whole) - 40]  # cut inside the last entry


def audit_cut_at_a_line(data: Path) -> tuple[Path, bytes | None]:
    lines = (data / "audit.jsonl").read_bytes().splitlines(keepends=True)
    return data / "audit.jsonl", b"".join(lines[:-1])  # a whole entry gone, no trace of it


def garbage_journal(data: Path) -> tuple[Path, bytes | None]:
    return data / "journal.json", b'{"records": [{"kind": "concern", "id": "OSC-2026-0'


def deleted_records(data: Path) -> tuple[Path, bytes | None]:
    return data / "records" / "concern.json", None


def garbage_partition(data: Path) -> tuple[Path, bytes | None]:
    return data / "records" / "concern.json", b"\x00\x00 not json \xff" * 50


WHOLE = "restore the WHOLE data folder from the latest backup (docs/backup-and-restore.md)"


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (garbage_system, ["system.json is damaged", WHOLE]),
        (torn_audit, ["audit.jsonl is shorter than when the bot last wrote it", WHOLE]),
        (audit_cut_at_a_line, ["audit.jsonl is shorter than when the bot last wrote it", WHOLE]),
        (garbage_journal, ["journal.json is damaged", WHOLE]),
        (deleted_records, ["records/concern.json is missing", WHOLE]),
        (garbage_partition, ["records/concern.json is damaged", WHOLE]),
    ],
    ids=[
        "garbage-system-json",
        "truncated-audit-no-journal",
        "audit-cut-at-a-line",
        "garbage-journal",
        "deleted-records-file",
        "garbage-partition",
    ],
)
async def test_the_real_process_refuses_a_damaged_file_and_leaves_it_untouched(
    tmp_path: Path, damage: object, words: list[str]
) -> None:
    data = tmp_path / "data"
    await seed(data)
    path, content = damage(data)  # type: ignore[operator]
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "LOCK"}

    result = start(data)

    print(f"\n{path.name}: exit {result.returncode}: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 2
    for expected in words:
        assert expected in result.stderr
    after = {p: p.read_bytes() for p in data.rglob("*") if p.is_file() and p.name != "LOCK"}
    assert after == before  # nothing repaired, emptied or replaced: never an empty start
