"""The real product, in this process, on a fresh copy of a pre-filled data folder: the app
``create_app`` builds (real botbuilder adapter, real TinyDB files, the outbox worker running in
the background) served by aiohttp on loopback, as ``python -m bot`` serves it."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, Self

import aiohttp
from aiohttp import web

from bench.school import FORMS, form_request, submit_data
from bot.app import COMPONENTS, create_app
from bot.config import load_settings
from dialogs.ports import FixedClock


def local_env(data_dir: Path, directory: Path, **extra: str) -> dict[str, str]:
    """Local mode with the benchmark's school directory and ``data_dir``."""
    return {
        "BOT_DATA_DIR": str(data_dir),
        "LOCAL_DIRECTORY": str(directory),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


class ProductServer:
    """``async with ProductServer(...) as bot``: the bot on a copy of ``template``."""

    def __init__(self, template: Path, work: Path, directory: Path, now: datetime) -> None:
        self.template = template
        self.work = work
        self.directory = directory
        self.clock = FixedClock(now)
        self.url = ""
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None

    async def prepare(self) -> None:
        """Make the data folder: a fresh copy of ``template``."""
        if self.work.exists():
            await asyncio.to_thread(shutil.rmtree, self.work)
        await asyncio.to_thread(shutil.copytree, self.template, self.work)

    def env(self) -> dict[str, str]:
        """The environment the bot reads its settings from."""
        return local_env(self.work, self.directory)

    async def __aenter__(self) -> Self:
        await self.prepare()
        settings = load_settings(self.env())
        self.app = await create_app(settings, clock=self.clock)
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/api/messages"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await asyncio.to_thread(shutil.rmtree, self.work, True)

    @property
    def parts(self) -> Any:
        assert self.app is not None
        return self.app[COMPONENTS]

    async def pending_outbox(self) -> int:
        """Outbox messages not yet delivered."""
        return len(await self.parts.store.find("outbox"))


async def form_templates(
    session: aiohttp.ClientSession, url: str, service_url: str
) -> dict[str, Any]:
    """The submit buttons' data from the real form cards (``concern.start`` etc.)."""
    templates: dict[str, Any] = {}
    for start_verb, data, submit_verb in FORMS:
        activity = form_request(start_verb, data, service_url)
        async with session.post(
            url, data=json.dumps(activity), headers={"Content-Type": "application/json"}
        ) as response:
            body = await response.json(content_type=None)
        if response.status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"{start_verb}: HTTP {response.status}")
        templates[submit_verb] = submit_data(body["value"], submit_verb)
    return templates
