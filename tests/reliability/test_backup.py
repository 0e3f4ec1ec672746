"""Backups (``python -m ops backup``, ``script/backup``) and the restore drill of
docs/backup-and-restore.md, against the real server process.

- A backup taken while the bot is writing holds every item acknowledged before it began, and is
  one point in time (every record has its audit entry and every audit entry its record).
- Many backups taken during a stream of commits are each consistent (store level, so that
  hundreds of commits fit in a few seconds), including those that caught a journal.
- The drill: the store is damaged, the bot refuses to start; move the folder aside, restore the
  last backup, start the bot: every item acknowledged before the backup is there.
- A backup whose files were changed or damaged is refused, and nothing is ever overwritten.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dialogs.ports import Change, Record
from ops.backup import BackupError, make_backup, restore, verify_backup
from policy.audit import AuditEvent
from store.tinydb_store import TinyDbStore
from tests.reliability.common import (
    BotProcess,
    ProcessExited,
    RecordingConnector,
    StoreView,
    concern_submit,
    filter_submit,
    post_activity,
    read_store,
    received_ref,
)
from tests.support import ROOT

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def backup_command(*args: str) -> tuple[int, str]:
    """``python -m ops backup ARGS`` in a subprocess, without blocking the event loop (the fake
    Bot Connector in this process must keep answering the bot meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ops",
        "backup",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


class Writer:
    """Teachers reporting concerns and asking for filter changes, as fast as the bot answers."""

    def __init__(self, bot: BotProcess, connector: RecordingConnector) -> None:
        self.bot = bot
        self.connector = connector
        self.acknowledged: list[tuple[float, str, str, str]] = []  # (when, kind, token, ref)
        self.stopping = False
        self._serial = 0

    async def run(self, clients: int = 3) -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self._client(session) for _ in range(clients)))

    async def _client(self, session: aiohttp.ClientSession) -> None:
        while not self.stopping:
            self._serial += 1
            token = f"B{self._serial:05d}"
            kind = "concern" if self._serial % 3 else "filter"
            activity = (
                concern_submit(self.connector.url, token, "grooming", urgent=True)
                if kind == "concern"
                else filter_submit(self.connector.url, token)
            )
            status, body = await post_activity(session, self.bot.base, activity)
            ref = received_ref(status, body)
            assert ref is not None, (status, body)
            self.acknowledged.append((time.monotonic(), kind, token, ref))

    def before(self, moment: float) -> list[tuple[float, str, str, str]]:
        return [a for a in self.acknowledged if a[0] < moment]


def assert_one_point_in_time(view: StoreView) -> None:
    """Every record has its one creation entry in the audit log, and every entry its record."""
    for records, subject, action in (
        (view.concerns, "concern", "concern.report"),
        (view.filters, "filter_request", "filter.request"),
    ):
        ids = {r["id"] for r in records}
        audited = {e.item.partition(":")[2] for e in view.audit if e.action == action}
        assert ids == audited, f"{subject}: records and audit log are from different moments"


def assert_holds(view: StoreView, items: list[tuple[float, str, str, str]]) -> None:
    for _when, kind, token, ref in items:
        found = view.by_token(token, kind)
        assert [f["id"] for f in found] == [ref], f"{ref} ({token}) is not in the restored store"


@pytest.fixture
async def connector() -> Any:
    fake = RecordingConnector()
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_backup_taken_while_the_bot_writes_restores_every_acknowledged_item(
    tmp_path: Path, connector: RecordingConnector
) -> None:
    data = tmp_path / "data"
    bot = BotProcess(data, tmp_path / "bot.log")
    bot.start()
    await bot.wait_ready()
    writer = Writer(bot, connector)
    writing = asyncio.create_task(writer.run())
    try:
        await asyncio.sleep(1.5)
        began = time.monotonic()
        status, output = await backup_command(
            "--out", str(tmp_path / "backup"), "--data-dir", str(data)
        )
        ended = time.monotonic()
        await asyncio.sleep(0.5)
    finally:
        writer.stopping = True
        await writing
    assert status == 0, output
    must_have = writer.before(began)
    during = len(writer.before(ended)) - len(must_have)
    manifest = json.loads((tmp_path / "backup" / "backup.json").read_text())
    assert await bot.astop() == 0

    shutil.rmtree(data)  # the wipe
    status, restored = await backup_command(
        "--restore", str(tmp_path / "backup"), "--data-dir", str(data)
    )
    assert status == 0, restored
    again = BotProcess(data, tmp_path / "bot-restored.log")
    again.start()
    await again.wait_ready()
    async with aiohttp.ClientSession() as session, session.get(f"{again.base}/healthz") as r:
        health = await r.json()
    assert await again.astop() == 0
    view = await read_store(data)

    print(
        f"\nbackup while writing: took {ended - began:.2f} s (attempts: {manifest['attempts']}), "
        f"{len(must_have)} items acknowledged before it began, {during} during it, "
        f"{len(writer.acknowledged)} in all; restored and started: "
        f"{len(view.concerns)} concerns + {len(view.filters)} filter requests, audit "
        f"{health['store']['audit_chain']} ({len(view.audit)} entries)"
    )
    print(f"backup command said: {output.strip().splitlines()[-1]}")
    assert len(must_have) > 10
    assert_holds(view, must_have)
    assert_one_point_in_time(view)
    assert view.chain_ok and health["store"]["audit_chain"] == "ok"


async def test_the_restore_drill_after_the_store_is_damaged(
    tmp_path: Path, connector: RecordingConnector
) -> None:
    """docs/backup-and-restore.md, "The restore drill", step by step."""
    data = tmp_path / "data"
    bot = BotProcess(data, tmp_path / "bot.log")
    bot.start()
    await bot.wait_ready()
    writer = Writer(bot, connector)
    writing = asyncio.create_task(writer.run(clients=2))
    await asyncio.sleep(1.0)
    began = time.monotonic()
    status, output = await backup_command(
        "--out", str(tmp_path / "nightly"), "--data-dir", str(data)
    )
    writer.stopping = True
    await writing
    assert status == 0, output
    assert await bot.astop() == 0

    # Something goes wrong: a record file is cut short. The bot refuses to start.
    concern_file = data / "records" / "concern.json"
    concern_file.write_bytes(concern_file.read_bytes()[:100])
    broken = BotProcess(data, tmp_path / "bot-broken.log")
    broken.start()
    with pytest.raises(ProcessExited) as refused:
        await broken.wait_ready()
    assert refused.value.status == 2 and "concern.json is damaged" in refused.value.output

    # 1. the bot is stopped (it refused); 2. move the damaged folder aside
    aside = tmp_path / "data.damaged-2026-11-23"
    data.rename(aside)
    # 3. check the backup and put it in place
    assert (await backup_command("--verify", str(tmp_path / "nightly")))[0] == 0
    status, output = await backup_command(
        "--restore", str(tmp_path / "nightly"), "--data-dir", str(data)
    )
    assert status == 0, output
    # 4. start the bot
    restarted = BotProcess(data, tmp_path / "bot-restarted.log")
    restarted.start()
    await restarted.wait_ready()
    assert await restarted.astop() == 0
    view = await read_store(data)

    print(f"\nrestore drill: {output.strip().splitlines()[-1]}")
    assert aside.exists() and (aside / "records" / "concern.json").stat().st_size == 100
    # What the backup holds comes back: everything acknowledged before the backup began.
    must_have = writer.before(began)
    assert len(must_have) > 5
    assert_holds(view, must_have)
    assert_one_point_in_time(view)
    assert view.chain_ok


async def test_backups_taken_during_a_stream_of_commits_are_each_one_point_in_time(
    tmp_path: Path,
) -> None:
    store = await TinyDbStore.open(tmp_path / "data")
    stop = asyncio.Event()
    commits = 0

    async def write() -> None:
        nonlocal commits
        while not stop.is_set():
            commits += 1
            ref = f"OSC-2026-{commits:04d}"
            outbox = Record("outbox", f"m{commits}", 1, {"subject": f"concern:{ref}"})
            done = [("outbox", f"m{commits - 1}", 1)] if commits > 1 else []
            await store.commit(
                Change(
                    records=[Record("concern", ref, 1, {"n": commits}), outbox],
                    deletes=done,
                    audit=[AuditEvent("t", "concern.report", f"concern:{ref}", "ok", AT)],
                )
            )

    writing = asyncio.create_task(write())
    results = []
    try:
        for n in range(15):
            await asyncio.sleep(0.05)
            summary = await asyncio.to_thread(make_backup, tmp_path / "data", tmp_path / f"b{n}")
            results.append(summary)
    finally:
        stop.set()
        await writing
        await store.close()

    journals = 0
    for n, summary in enumerate(results):
        copy = tmp_path / f"check{n}"
        shutil.copytree(tmp_path / f"b{n}" / "data", copy)
        journals += int(summary.journal)
        opened = await TinyDbStore.open(copy)  # replays a journal the backup caught, if any
        concerns = {r.id for r in await opened.find("concern")}
        outbox = await opened.find("outbox")
        audited = {e.item.partition(":")[2] for e in await opened.audit_log()}
        check = await opened.verify_audit()
        await opened.close()
        assert concerns == audited
        assert len(outbox) == 1 and outbox[0].data["subject"] == f"concern:{max(concerns)}"
        assert check.ok
    attempts = [
        json.loads((tmp_path / f"b{n}" / "backup.json").read_text())["attempts"] for n in range(15)
    ]
    print(
        f"\n15 backups during {commits} commits: all verify and are one point in time; "
        f"attempts per backup {sorted(attempts)}; {journals} caught a journal (replayed on open)"
    )


async def one_concern(folder: Path) -> None:
    store = await TinyDbStore.open(folder)
    await store.commit(
        Change(
            records=[Record("concern", "OSC-2026-0001", 1, {"status": "new"})],
            audit=[AuditEvent("t", "concern.report", "concern:OSC-2026-0001", "ok", AT)],
        )
    )
    await store.close()


def test_a_changed_or_damaged_backup_is_refused_and_nothing_is_overwritten(
    tmp_path: Path,
) -> None:
    asyncio.run(one_concern(tmp_path / "data"))
    make_backup(tmp_path / "data", tmp_path / "backup")
    with pytest.raises(BackupError, match="not empty"):
        make_backup(tmp_path / "data", tmp_path / "backup")
    with pytest.raises(BackupError, match="not a bot data folder"):
        make_backup(tmp_path / "nowhere", tmp_path / "other")

    before = (tmp_path / "data" / "records" / "concern.json").read_bytes()
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "backup", tmp_path / "data")  # a live folder is never overwritten
    assert (tmp_path / "data" / "records" / "concern.json").read_bytes() == before

    copied = tmp_path / "backup" / "data" / "records" / "concern.json"
    copied.write_bytes(copied.read_bytes().replace(b"new", b"old"))
    with pytest.raises(BackupError, match=r"differ from its manifest: records/concern\.json"):
        verify_backup(tmp_path / "backup")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ops",
            "backup",
            "--restore",
            str(tmp_path / "backup"),
            "--data-dir",
            str(tmp_path / "fresh"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot restore" in result.stderr and "differ from its manifest" in result.stderr
    assert not (tmp_path / "fresh").exists()

    copied.write_bytes(b'{"_default": {"1": {"id": ')
    with pytest.raises(BackupError, match=r"concern\.json is damaged"):
        verify_backup(tmp_path / "backup")
