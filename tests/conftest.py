"""Fixtures: settings for the demo school, a fake Bot Connector and the real bot over HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import create_app
from bot.config import Settings, load_settings
from tests.support import FakeConnector


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
