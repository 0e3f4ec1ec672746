"""Round trips to PostgreSQL per concern submit, counted (issue 25): the real app in this
process on a fresh migrated database (local mode, the benchmark's school), ``--turns`` concern
submits at concurrency 1 through HTTP, every statement psycopg sends counted by its first words.
Counts, not timings, so they hold on a busy machine.

    .venv/bin/python -m bench.pg_statements [--turns 20]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import tempfile
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection, AsyncCursor

from bench.connector import LeanConnector
from bench.load import client_session, drive
from bench.product import ProductServer, form_templates, local_env
from bench.run import NOW
from bench.school import Turns, answer_ok, write_directory
from tests.scale.postgres import new_database

COUNTS: collections.Counter[str] = collections.Counter()


def _label(query: Any, conn: Any) -> str:
    if isinstance(query, bytes):
        text = query.decode()
    elif isinstance(query, str):
        text = query
    else:
        text = query.as_string(conn)
    return " ".join(text.split()[:5])[:70]


def _count_statements() -> None:
    """Count every statement the store sends (execute, and each row of executemany)."""
    execute = AsyncConnection.execute
    cursor_execute = AsyncCursor.execute
    executemany = AsyncCursor.executemany

    async def conn_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        COUNTS[_label(query, self)] += 1
        return await execute(self, query, params, **kw)

    async def cur_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        COUNTS[_label(query, self.connection)] += 1
        return await cursor_execute(self, query, params, **kw)

    async def cur_executemany(self: Any, query: Any, rows: Any, **kw: Any) -> Any:
        rows = list(rows)
        COUNTS["(executemany) " + _label(query, self.connection)] += 1
        return await executemany(self, query, rows, **kw)

    AsyncConnection.execute = conn_execute  # type: ignore[method-assign]
    AsyncCursor.execute = cur_execute  # type: ignore[method-assign]
    AsyncCursor.executemany = cur_executemany  # type: ignore[method-assign,assignment]


class _PgServer(ProductServer):
    def __init__(self, url: str, work: Path, directory: Path) -> None:
        super().__init__(work, work / "data", directory, NOW)
        self.database_url = url

    async def prepare(self) -> None:
        """Nothing to copy: the store is the fresh database."""

    def env(self) -> dict[str, str]:
        return local_env(self.work, self.directory, DATABASE_URL=self.database_url)


async def count(turns: int, turn: str) -> None:
    connector = LeanConnector()
    await connector.start()
    with (
        tempfile.TemporaryDirectory(prefix="bench-pgs-") as folder,
        new_database(prefix="osb_bench") as url,
    ):
        work = Path(folder)
        directory = write_directory(work / "directory.json")
        async with _PgServer(url, work, directory) as bot, client_session(1) as session:
            forms = await form_templates(session, bot.url, connector.url)
            build = Turns(connector.url, NOW.date(), forms, []).build(turn)

            def ok(_i: int, status: int, body: bytes) -> bool:
                return answer_ok(turn, status, body)

            await drive(session, bot.url, build, turns=3, concurrency=1, check=ok)
            await asyncio.sleep(1.5)  # the outbox delivers the warm-up's cards
            _count_statements()
            sample = await drive(
                session, bot.url, build, turns=turns, concurrency=1, check=ok, offset=3
            )
            await asyncio.sleep(1.5)  # and the measured turns' cards
        await connector.stop()
    total = sum(COUNTS.values())
    sys.stdout.write(
        f"{turn}: {sample.turns} turns, {sample.errors} errors, "
        f"p50 {sample.percentile(50):.1f} ms; "
        f"statements per turn {total / turns:.1f} (with the outbox's):\n"
    )
    for label, n in COUNTS.most_common():
        sys.stdout.write(f"  {n / turns:6.2f}  {label}\n")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_statements")
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--turn", default="concern_submit")
    args = parser.parse_args()
    asyncio.run(count(args.turns, args.turn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
