"""Fixtures: settings for the demo school, a fake Bot Connector and the real bot over HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.config import Settings, load_settings
from dialogs.ports import FixedClock
from tests.support import FakeConnector, card_action, message


def local_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for local mode with the demo school and ``data_dir``."""
    env = {"BOT_DATA_DIR": str(data_dir)}
    env.update(extra)
    return env


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(local_env(tmp_path / "data"))


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    await fake.start()
    yield fake
    await fake.stop()


class BotClient:
    """Posts activities to the running bot's /api/messages, as Teams would."""

    def __init__(self, base: str, session: aiohttp.ClientSession, app: Any) -> None:
        self.base = base
        self.session = session
        self.app = app

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        async with self.session.post(f"{self.base}/api/messages", json=activity) as response:
            text = await response.text()
            try:
                body = await response.json(content_type=None) if text else None
            except ValueError:
                body = text
            return response.status, body


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[BotClient]:
    """The real bot (real botbuilder adapter, real TinyDB files) on a real aiohttp server."""
    app = await create_app(settings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield BotClient(str(server.make_url("")).rstrip("/"), session, app)
    await server.close()


@pytest.fixture(autouse=True)
def _no_ambient_bot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests build settings from explicit dicts; make sure a developer's shell can't leak in.
    for name in list(os.environ):
        if name.startswith("Microsoft") or name in {"BOT_MODE", "BOT_DATA_DIR", "PORT", "HOST"}:
            monkeypatch.delenv(name, raising=False)


class Harness:
    """The real bot on a real HTTP server, with a clock the test moves and a restart button.

    The outbox worker runs in the background as in production; ``settle`` also runs its ticks
    directly so that a test can move the clock and see what becomes due.
    """

    def __init__(self, settings: Settings, connector: FakeConnector, clock: FixedClock) -> None:
        self.settings = settings
        self.connector = connector
        self.clock = clock
        self.app: Any = None
        self._server: TestServer | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.app = await create_app(self.settings, clock=self.clock)
        self._server = TestServer(self.app, host="127.0.0.1")
        await self._server.start_server()
        self._session = aiohttp.ClientSession()
        # The channel read-back builds Graph's models in a thread at start-up and answers "not
        # yet" until then: tests begin once it is ready, as a running bot soon is.
        finder = self.parts.worker.finder
        if finder is not None and hasattr(finder, "prepare"):
            await finder.prepare()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._server is not None:
            await self._server.close()
        self._server = self._session = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def parts(self) -> Any:
        from bot.app import COMPONENTS

        return self.app[COMPONENTS]

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        assert self._server is not None and self._session is not None
        url = str(self._server.make_url("/api/messages"))
        async with self._session.post(url, json=activity) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text else None)

    async def click(
        self, who: str, verb: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Click an Action.Execute button as ``who``; returns the card Teams would show."""
        payload = {"verb": verb, "v": 1, **(data or {})}
        status, body = await self.post(
            card_action(who, verb, self.connector.url, data=payload, **kwargs)
        )
        assert status == 200, body
        assert body["type"] == "application/vnd.microsoft.card.adaptive", body
        return dict(body["value"])

    async def say(self, who: str, text: str, **kwargs: Any) -> int:
        status, _ = await self.post(message(who, text, self.connector.url, **kwargs))
        return status

    async def settle(self) -> None:
        """Run the outbox until nothing more is due now."""
        for _ in range(20):
            if not await self.parts.worker.tick():
                return

    def advance(self, **delta: float) -> None:
        self.clock.at += timedelta(**delta)


@pytest.fixture
async def harness(settings: Settings, connector: FakeConnector) -> AsyncIterator[Harness]:
    clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # a Monday in term
    running = Harness(settings, connector, clock)
    await running.start()
    yield running
    await running.stop()
