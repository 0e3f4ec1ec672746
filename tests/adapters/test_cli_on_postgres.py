"""The command-line tools on PostgreSQL (``DATABASE_URL`` set), beside a running bot.

``python -m ops reports`` (governors, review-pack) and ``python -m ops filter-log`` open the
store with ``bot.storage.open_store(settings, read_only=True)``: on PostgreSQL they read the
school's records through read-only connections while the bot runs on the same database, and
write exactly what they write from the embedded store given the same records (each test runs
both, the embedded store beside a running bot too). ``python -m ops backup`` refuses to copy a
data folder that holds none of the records, and says how PostgreSQL is backed up instead.

Each test has a fresh database of its own (dropped after it); see ``tests/scale/postgres.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_settings
from dialogs.ports import FixedClock
from store.crypto import new_key
from tests.adapters.test_reports_cli import assert_pngs, everything_in, rows_of
from tests.conftest import Harness, local_env
from tests.e2e.test_reports_over_http import SECRETS, seed
from tests.scale.postgres import fresh_database
from tests.support import ROOT, FakeConnector

#: Variables of the developer's shell that must not reach the commands.
_AMBIENT = ("Microsoft", "BOT_", "DATABASE_URL", "SCHOOL_CONFIG", "LOCAL_DIRECTORY")


def command(module: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m <module> ARGS`` as a scheduled job runs it, with exactly ``env`` added."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_AMBIENT)}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, **env},
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
async def on_postgres(
    postgres_url: str, key: str, tmp_path: Path, connector: FakeConnector
) -> AsyncIterator[Harness]:
    """The bot running on PostgreSQL (records sealed with ``key``), with the seeded records."""
    env = local_env(tmp_path / "unused-data", DATABASE_URL=postgres_url, BOT_ENCRYPTION_KEY=key)
    running = Harness(
        load_settings(env), connector, FixedClock(datetime(2026, 11, 23, 10, tzinfo=UTC))
    )
    await running.start()
    await seed(running.parts.store, extra=6)
    yield running
    await running.stop()


@pytest.fixture
async def on_tinydb(harness: Harness) -> Harness:
    """The bot running on the embedded store, with the same seeded records."""
    await seed(harness.parts.store, extra=6)
    return harness


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


async def test_the_governors_report_reads_postgres_while_the_bot_runs(
    on_postgres: Harness, on_tinydb: Harness, postgres_url: str, key: str, tmp_path: Path
) -> None:
    audit_before = len(await on_postgres.parts.store.audit_log())
    term = ("governors", "--term", "Autumn 2026")

    from_postgres = command(
        "ops",
        "reports",
        *term,
        "--out",
        str(tmp_path / "pg"),
        DATABASE_URL=postgres_url,
        BOT_ENCRYPTION_KEY=key,
    )
    from_tinydb = command(
        "ops",
        "reports",
        *term,
        "--out",
        str(tmp_path / "tiny"),
        "--data-dir",
        str(on_tinydb.settings.data_dir),
    )

    assert from_postgres.returncode == 0, from_postgres.stderr
    assert from_tinydb.returncode == 0, from_tinydb.stderr
    assert "wrote 7 files" in from_postgres.stderr
    assert_pngs(tmp_path / "pg")
    summary = json.loads((tmp_path / "pg" / "summary.json").read_text())
    same = json.loads((tmp_path / "tiny" / "summary.json").read_text())
    assert summary.pop("generated_at") and same.pop("generated_at")  # the minute each ran
    assert summary == same
    assert rows_of(summary, "concerns_by_category")["Total"] == "12"
    assert [s for s in SECRETS if s in everything_in(tmp_path / "pg")] == []
    # Read-only: the running bot's database is exactly as it was.
    assert len(await on_postgres.parts.store.audit_log()) == audit_before


async def test_the_review_pack_and_the_filter_log_read_postgres_while_the_bot_runs(
    on_postgres: Harness, on_tinydb: Harness, postgres_url: str, key: str, tmp_path: Path
) -> None:
    pg = {"DATABASE_URL": postgres_url, "BOT_ENCRYPTION_KEY": key}
    tiny = ("--data-dir", str(on_tinydb.settings.data_dir))

    pack = command("ops", "reports", "review-pack", "--out", str(tmp_path / "pack-pg"), **pg)
    pack_tiny = command(
        "ops", "reports", "review-pack", "--out", str(tmp_path / "pack-tiny"), *tiny
    )
    log = command("ops", "filter-log", "--out", str(tmp_path / "log-pg.csv"), **pg)
    log_tiny = command("ops", "filter-log", "--out", str(tmp_path / "log-tiny.csv"), *tiny)

    for result in (pack, pack_tiny, log, log_tiny):
        assert result.returncode == 0, result.stderr
    for name in (
        "filter-change-log.csv",
        "currently-allowed.csv",
        "never-unblockable.txt",
        "filtering-checks.csv",
    ):
        assert (tmp_path / "pack-pg" / name).read_text() == (
            tmp_path / "pack-tiny" / name
        ).read_text(), name
    rows = csv_rows(tmp_path / "log-pg.csv")
    assert rows == csv_rows(tmp_path / "log-tiny.csv")
    assert [(r["reference"], r["event"]) for r in rows][:3] == [
        ("FLT-2026-0002", "requested"),
        ("FLT-2026-0002", "reason approved"),
        ("FLT-2026-0002", "change approved"),
    ]
    assert "wrote 3 requests" in log.stderr


async def test_sealed_records_in_postgres_need_the_bot_s_key(
    on_postgres: Harness, postgres_url: str, tmp_path: Path
) -> None:
    keyless = command(
        "ops", "filter-log", "--out", str(tmp_path / "log.csv"), DATABASE_URL=postgres_url
    )
    wrong = command(
        "ops",
        "reports",
        "review-pack",
        "--out",
        str(tmp_path / "pack"),
        DATABASE_URL=postgres_url,
        BOT_ENCRYPTION_KEY=new_key(),
    )

    assert keyless.returncode == 2 and "no key is configured" in keyless.stderr
    assert wrong.returncode == 2 and "cannot make the report" in wrong.stderr
    assert not (tmp_path / "log.csv").exists() and not (tmp_path / "pack").exists()


def test_a_data_folder_is_refused_when_the_records_are_in_postgres(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "records").mkdir()
    # Never contacted: each command refuses before it opens anything.
    url = "postgresql://nobody@127.0.0.1:1/none"

    report = command(
        "ops",
        "reports",
        "review-pack",
        "--data-dir",
        str(data),
        "--out",
        str(tmp_path / "pack"),
        DATABASE_URL=url,
    )
    log = command(
        "ops",
        "filter-log",
        "--data-dir",
        str(data),
        "--out",
        str(tmp_path / "l.csv"),
        DATABASE_URL=url,
    )
    backup = command(
        "ops", "backup", "--data-dir", str(data), "--out", str(tmp_path / "b"), DATABASE_URL=url
    )
    restore = command(
        "ops",
        "backup",
        "--restore",
        str(tmp_path / "b"),
        "--data-dir",
        str(tmp_path / "new"),
        DATABASE_URL=url,
    )

    for refused in (report, log):
        assert refused.returncode == 2, refused.stderr
        assert "--data-dir: the records are in PostgreSQL" in refused.stderr
    assert backup.returncode == 2
    assert "cannot back up: DATABASE_URL is set" in backup.stderr
    assert "pg_dump" in backup.stderr and "point-in-time restore" in backup.stderr
    assert "docs/backup-and-restore.md" in backup.stderr
    assert restore.returncode == 2 and "cannot restore: DATABASE_URL is set" in restore.stderr
    assert not (tmp_path / "b").exists() and not (tmp_path / "new").exists()
    assert not (tmp_path / "pack").exists() and not (tmp_path / "l.csv").exists()
