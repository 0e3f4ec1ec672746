"""``python -m ops filter-log``: the filtering change log as CSV, for governors' annual review.

Reads the store without stopping the bot (read-only: no lock taken, nothing written) and
writes every request, decision, application and re-block with who, what, why and when. The
store is the embedded one in ``--data-dir`` (default ``$BOT_DATA_DIR`` or ``data``), or, with
``DATABASE_URL`` set, the school's records in PostgreSQL (read-only connections).

    script/filter-log --out filter-log.csv [--since 2026-09-01]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from datetime import date
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.storage import open_store, with_data_dir
from dialogs.feature import Deps
from dialogs.filter_request import filter_log_csv
from dialogs.kinds.filter_request import KIND, decode
from dialogs.ports import FixedClock, StoreError
from graph.local_directory import DirectoryFileError, LocalDirectory

log = logging.getLogger("ops.filter_log")


async def export(settings: Settings, since: date | None) -> tuple[str, int]:
    """The log as CSV text, and how many requests it covers.

    Raises:
        StoreError: the store cannot be read.
    """
    store = await open_store(settings, read_only=True)
    try:
        requests = [decode(r) for r in await store.find(KIND)]
    finally:
        await store.close()
    if since is not None:
        requests = [r for r in requests if r.created_at.date() >= since]
    deps = Deps(
        school=settings.school,
        store=store,
        directory=LocalDirectory({}, ""),
        clock=FixedClock(),
    )
    return filter_log_csv(requests, deps), len(requests)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m ops filter-log",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument("--data-dir", type=Path, default=None, help="the bot's data folder")
    parser.add_argument("--since", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    args = parser.parse_args(argv)
    try:
        settings = with_data_dir(load_settings(os.environ), args.data_dir)
        text, count = asyncio.run(export(settings, args.since))
    except (ConfigError, StoreError, DirectoryFileError) as exc:
        log.error("cannot export: %s", exc)
        return 2
    args.out.write_text(text, encoding="utf-8")
    log.info("wrote %d requests to %s", count, args.out)
    return 0
