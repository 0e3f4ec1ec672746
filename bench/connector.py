"""A lean local Bot Connector: answers like Teams, keeps counts only (no bodies are kept or
parsed, except the member id of a new 1:1 conversation), so it is never the bottleneck."""

from __future__ import annotations

import json

from aiohttp import web


class LeanConnector:
    """``POST /v3/conversations[/{cid}/activities[/{aid}]]`` and ``PUT`` updates, on loopback."""

    def __init__(self) -> None:
        self.posted = 0
        self.updated = 0
        self.created = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._reply)
        app.router.add_post("/v3/conversations/{cid}/activities", self._reply)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _create(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self.created += 1
        return web.json_response({"id": f"a:dm-{body['members'][0]['id']}"})

    async def _reply(self, request: web.Request) -> web.Response:
        await request.read()
        self.posted += 1
        return web.json_response({"id": f"posted-{self.posted}"})

    async def _update(self, request: web.Request) -> web.Response:
        await request.read()
        self.updated += 1
        return web.json_response({"id": request.match_info["aid"]})
