"""``python -m bench.hung``: other users' turns with one hung Teams endpoint (issue 22, item 4).

The real bot in this process (local mode, real TinyDB files) answers "hi" from 8 users at a
time through a lean local Connector: first alone (the normal p99), then while 8 more users keep
messaging from a service URL that accepts connections and never answers. Prints both p99s, the
errors, and how the hung users' turns ended (their replies kept and sent later).

    python -m bench.hung [--turns 400] [--concurrency 8] [--hung 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.connector import LeanConnector
from bench.load import Sample, client_session, drive
from bot.app import COMPONENTS, create_app
from bot.config import load_settings
from bot.undelivered import KIND, REPLY_BUDGET

TENANT = "5c400000-0000-4000-8000-000000000000"
_ids = itertools.count(1)


def person(n: int) -> str:
    """A demo school person's object id (1-10)."""
    return f"5c400000-0000-4000-8000-{n:012d}"


def hi(who: str, service_url: str) -> dict[str, Any]:
    """A Teams "hi" from ``who`` in their 1:1 chat with the bot."""
    return {
        "type": "message",
        "id": f"hung-bench-{next(_ids)}",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{who}", "aadObjectId": who},
        "recipient": {"id": "28:online-safety-bot"},
        "conversation": {"id": f"a:personal-{who}", "conversationType": "personal"},
        "channelData": {"tenant": {"id": TENANT}},
        "text": "hi",
    }


class HungEndpoint:
    """Accepts every connection, reads what is sent, never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None
        self._held: list[asyncio.StreamWriter] = []
        self._changed = asyncio.Condition()

    async def holding(self, count: int) -> None:
        """Wait until ``count`` connections are being held."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.connections >= count)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._held.append(writer)
        async with self._changed:
            self._changed.notify_all()
        while await reader.read(65536):
            pass

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()


async def run(turns: int, concurrency: int, hung_users: int) -> dict[str, Any]:
    connector, hung = LeanConnector(), HungEndpoint()
    await connector.start()
    await hung.start()
    with tempfile.TemporaryDirectory(prefix="bench-hung-") as data:
        settings = load_settings({"BOT_DATA_DIR": str(Path(data)), "LOG_LEVEL": "ERROR"})
        app = await create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/api/messages"
        normal_users = [person(n) for n in range(1, 10)]

        def build(i: int) -> dict[str, Any]:
            return hi(normal_users[i % len(normal_users)], connector.url)

        def answered(_: int, status: int, __: bytes) -> bool:
            return status in {200, 201}

        try:
            async with client_session(concurrency + hung_users) as session:
                await drive(session, url, build, turns=20, concurrency=2, check=answered)
                normal = await drive(
                    session, url, build, turns=turns, concurrency=concurrency, check=answered
                )
                hung_turns: list[float] = []
                hung_errors = 0
                stop = asyncio.Event()

                async def hung_user(n: int) -> None:
                    nonlocal hung_errors
                    while not stop.is_set():
                        sent = time.perf_counter()
                        body = hi(person(n % 9 + 1), hung.url)
                        async with session.post(url, json=body) as response:
                            await response.read()
                            if response.status not in {200, 201}:
                                hung_errors += 1
                        hung_turns.append(time.perf_counter() - sent)

                users = [asyncio.create_task(hung_user(n)) for n in range(hung_users)]
                await hung.holding(min(hung_users, 4))
                beside = await drive(
                    session, url, build, turns=turns, concurrency=concurrency, check=answered
                )
                stop.set()
                await asyncio.gather(*users)
                kept = len(await app[COMPONENTS].store.find(KIND))
        finally:
            await runner.cleanup()
            await hung.stop()
            await connector.stop()
    return {
        "normal": normal,
        "beside": beside,
        "hung_turns": hung_turns,
        "hung_errors": hung_errors,
        "kept": kept,
        "hung_connections": hung.connections,
    }


def _p(sample: Sample) -> str:
    return f"p50 {sample.percentile(50):.0f} ms, p99 {sample.percentile(99):.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hung", description=__doc__)
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hung", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    quiet = logging.getLogger("bot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # one line per kept reply otherwise
    try:
        result = asyncio.run(run(args.turns, args.concurrency, args.hung))
    finally:
        quiet.setLevel(level)  # as it was (the benchmark also runs inside the test suite)
    normal, beside = result["normal"], result["beside"]
    hung_sample = Sample(latencies=result["hung_turns"])
    sys.stdout.write(
        f"other users' 'hi' ({args.turns} turns, {args.concurrency} at a time):\n"
        f"  normal:                                  {_p(normal)}, errors {normal.errors}\n"
        f"  beside {args.hung} users on a hung service URL: {_p(beside)}, "
        f"errors {beside.errors}\n"
        f"hung users' turns: {hung_sample.turns} ended, {_p(hung_sample)} "
        f"(reply budget {REPLY_BUDGET:.0f} s), errors {result['hung_errors']}; "
        f"{result['kept']} replies kept to send later\n"
    )
    return 0 if normal.errors == beside.errors == result["hung_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
