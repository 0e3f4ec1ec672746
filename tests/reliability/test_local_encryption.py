"""Issue 22 item 10: local mode keeps records encrypted at rest too, with a key it makes on its
first start in a file beside (never inside) the data folder, says where it is, seals a folder
that was plain, refuses to start when the key is missing for sealed records or does not open
them, and backups leave the key out unless asked (``--with-key``). The real ``python -m bot``,
real TinyDB files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from dialogs.ports import Change, Record
from policy.audit import AuditEvent
from store.crypto import RecordCipher, new_key, parse_key
from store.tinydb_store import TinyDbStore
from tests.reliability.common import BotProcess, bot_env, free_port, read_store
from tests.support import ROOT

CANARY = "CANARY-9127 Ava Thompson"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def files(folder: Path) -> dict[Path, bytes]:
    """The store's files and their bytes (the lock file holds the last opener's pid)."""
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != "LOCK"}


async def seed_plain(folder: Path) -> None:
    store = await TinyDbStore.open(folder)
    await store.commit(
        Change(
            records=[Record("concern", "OSC-2026-0001", 1, {"what_happened": CANARY})],
            audit=[AuditEvent("staff", "concern.report", "concern:OSC-2026-0001", "ok", AT)],
            dedupe_key="form-1",
        )
    )
    await store.close()


def start(data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the bot until it refuses (these tests expect it to)."""
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=bot_env(data, free_port(), LOG_FORMAT="text", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def run_until_ready(data: Path, tmp_path: Path, name: str) -> str:
    bot = BotProcess(data, tmp_path / f"{name}.log", LOG_FORMAT="text")
    bot.start()
    try:
        await bot.wait_ready(timeout=120)
    finally:
        bot.stop()
    return bot.log_tail()


async def test_first_start_makes_a_private_key_beside_the_data_and_seals_plain_records(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    await seed_plain(data)
    assert CANARY.encode() in all_bytes(data)  # a folder from before local mode encrypted

    output = await run_until_ready(data, tmp_path, "first")

    key_file = tmp_path / "data.key"
    assert key_file.is_file()
    assert not list(data.rglob("*.key")), "the key must not be inside the data folder"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file) in output, "the bot must say where its key is"
    assert CANARY.encode() not in all_bytes(data)
    assert b"Ava" not in all_bytes(data)
    assert key_file.read_text().strip() not in output, "the key itself is never logged"
    view = await read_store(data)  # with the key, everything reads back
    assert [c["data"]["what_happened"] for c in view.concerns] == [CANARY]

    first = key_file.read_bytes()
    await run_until_ready(data, tmp_path, "second")
    assert key_file.read_bytes() == first, "a second start keeps the same key"


async def test_a_missing_key_for_sealed_records_is_refused_and_nothing_is_made(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    await seed_plain(data)
    await run_until_ready(data, tmp_path, "first")
    (tmp_path / "data.key").rename(tmp_path / "elsewhere.key")
    before = files(data)

    result = start(data)

    assert result.returncode == 2, result.stderr
    assert "data.key is missing" in result.stderr
    assert not (tmp_path / "data.key").exists(), "a new key would hide the lost one"
    assert not (tmp_path / "data.key.new").exists()
    assert files(data) == before


async def test_a_key_that_does_not_open_the_data_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await seed_plain(data)
    await run_until_ready(data, tmp_path, "first")
    (tmp_path / "data.key").write_text(new_key() + "\n")

    result = start(data)

    assert result.returncode == 2, result.stderr
    assert "does not open the records" in result.stderr
    assert "Traceback" not in result.stderr


async def test_production_keys_are_untouched_no_key_file_with_a_configured_key(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    key = new_key()
    await run_until_ready_with(data, tmp_path, BOT_ENCRYPTION_KEY=key)
    assert not (tmp_path / "data.key").exists()
    store = await TinyDbStore.open(data, cipher=RecordCipher([parse_key(key)]))
    await store.close()


async def run_until_ready_with(data: Path, tmp_path: Path, **env: str) -> None:
    bot = BotProcess(data, tmp_path / "with.log", LOG_FORMAT="text", **env)
    bot.start()
    try:
        await bot.wait_ready(timeout=120)
    finally:
        bot.stop()


def backup(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BOT_DATA_DIR"}}
    return subprocess.run(
        [sys.executable, "-m", "ops", "backup", *args, "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_backups_leave_the_key_out_unless_asked_and_restore_and_verify_work(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    await seed_plain(data)
    await run_until_ready(data, tmp_path, "first")
    key = (tmp_path / "data.key").read_bytes()

    plain = backup("--out", str(tmp_path / "b1"), data=data)
    assert plain.returncode == 0, plain.stderr
    assert key not in all_bytes(tmp_path / "b1")
    assert CANARY.encode() not in all_bytes(tmp_path / "b1")
    verified = backup("--verify", str(tmp_path / "b1"), data=data)
    assert verified.returncode == 0, verified.stderr

    keyed = backup("--out", str(tmp_path / "b2"), "--with-key", data=data)
    assert keyed.returncode == 0, keyed.stderr
    assert (tmp_path / "b2" / "data.key").read_bytes() == key
    assert stat.S_IMODE((tmp_path / "b2" / "data.key").stat().st_mode) == 0o600
    assert json.loads((tmp_path / "b2" / "backup.json").read_text())["key"] is True
    assert backup("--verify", str(tmp_path / "b2"), data=data).returncode == 0

    # Restored elsewhere with its key: the bot starts on it and reads the records.
    moved = tmp_path / "elsewhere" / "data"
    restored = backup("--restore", str(tmp_path / "b2"), data=moved)
    assert restored.returncode == 0, restored.stderr
    assert (moved.parent / "data.key").read_bytes() == key
    await run_until_ready(moved, tmp_path, "restored")
    view = await read_store(moved)
    assert [c["data"]["what_happened"] for c in view.concerns] == [CANARY]

    # Restored without its key: the bot refuses, saying the key file is missing.
    bare = tmp_path / "bare" / "data"
    assert backup("--restore", str(tmp_path / "b1"), data=bare).returncode == 0
    result = start(bare)
    assert result.returncode == 2
    assert "is missing" in result.stderr


async def test_a_first_start_cut_off_while_sealing_is_finished_with_the_same_key(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    await seed_plain(data)
    key = new_key()
    # A first start made its key and was killed part-way through sealing with it.
    (tmp_path / "data.key.new").write_text(key + "\n")
    (tmp_path / "data.key.new").chmod(0o600)

    await run_until_ready(data, tmp_path, "resumed")

    assert (tmp_path / "data.key").read_text().strip() == key
    assert not (tmp_path / "data.key.new").exists()
    assert CANARY.encode() not in all_bytes(data)
    view = await read_store(data)
    assert [c["data"]["what_happened"] for c in view.concerns] == [CANARY]
