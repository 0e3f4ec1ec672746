"""One hung Teams endpoint never stalls anyone else (issue 22, item 4).

Eight users' messages come from a service URL that accepts connections and never answers.
Before: msrest sent every reply in the event loop's shared thread pool (the store's too), so
the hung replies held every thread and another user's "hi" waited 198 s. Now each service URL
has its own lane and every call is bounded; a reply that cannot be sent in time is kept and
sent later, so the hung users' turns end too, and their replies are not lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest

from bot.app import COMPONENTS
from bot.undelivered import KIND
from tests.conftest import Harness
from tests.support import TEACHER, FakeConnector, demo_id, message

HUNG_USERS = 8


@dataclass
class HungEndpoint:
    """A loopback socket that accepts every connection, reads what is sent and never answers
    (until ``answering`` is set: then it takes each request as Teams would)."""

    connections: int = 0
    answering: bool = False
    #: Paths of the requests answered.
    answered: list[str] = field(default_factory=list)
    url: str = ""
    _server: asyncio.Server | None = None
    _held: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._held.append(writer)
        while not self.answering:
            if not await reader.read(65536):
                return  # never answered; the bot gave up and closed
        while True:  # a connection opened after Teams came back: one request after another
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the bot closed the connection
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            self.answered.append(unquote(head.split(b" ")[1].decode()))
            body = b'{"id": "1"}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()


@pytest.fixture
async def hung() -> AsyncIterator[HungEndpoint]:
    endpoint = HungEndpoint()
    await endpoint.start()
    yield endpoint
    await endpoint.stop()


async def wait_until(condition: Any, limit: float = 120.0) -> None:
    """Poll ``condition`` (a generous limit: only a stall, never a slow machine, reaches it)."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.02)


async def test_another_users_hi_is_answered_while_replies_to_a_hung_endpoint_wait(
    harness: Harness, connector: FakeConnector, hung: HungEndpoint
) -> None:
    # The hung users' turns may wait as long as they like: they must simply not hold anyone up.
    harness.parts.bot._reply_budget = 600.0
    stuck = [
        asyncio.create_task(harness.post(message(demo_id(100 + n), "hi", hung.url)))
        for n in range(HUNG_USERS)
    ]
    await wait_until(lambda: hung.connections >= 4)  # their replies are being sent, and hang

    async with asyncio.timeout(120):  # normally a tenth of a second; before: 198 s
        status = await harness.say(TEACHER, "hi")

    assert status in {200, 201}
    assert [a["_conversation"] for a in connector.posted] == [f"a:personal-{TEACHER}"]
    # Answered while the hung ones still wait (each call is bounded, 10 s, so some may end).
    assert not all(task.done() for task in stuck)
    for task in stuck:
        task.cancel()
    await asyncio.gather(*stuck, return_exceptions=True)


async def test_a_reply_that_cannot_be_sent_in_time_is_kept_and_sent_when_teams_answers(
    harness: Harness, connector: FakeConnector, hung: HungEndpoint
) -> None:
    harness.parts.bot._reply_budget = 0.5  # a stand-in for the 5 s budget, to keep this quick

    status, _ = await harness.post(message(TEACHER, "hi", hung.url))

    assert status in {200, 201}  # the turn ended; the reply was not lost
    store = harness.app[COMPONENTS].store
    [kept] = await store.find(KIND)
    assert kept.data["reference"]["serviceUrl"] == hung.url
    assert connector.posted == []
    async with harness._session.get(str(harness._server.make_url("/healthz"))) as response:
        assert (await response.json())["outbox"]["pending"] == 1

    hung.answering = True  # Teams answers again
    harness.advance(seconds=10)  # past the first retry's backoff
    await harness.parts.undelivered.deliver_due()

    assert hung.answered == [f"/v3/conversations/a:personal-{TEACHER}/activities"]
    assert await store.find(KIND) == []
