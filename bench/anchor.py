"""The two references every product turn is compared with, on the same machine in the same run:

* the anchor: botbuilder 4.17.1's own echo bot, as the SDK sample builds it (``CloudAdapter``
  over ``ConfigurationBotFrameworkAuthentication`` with an empty app id, i.e. auth off, and the
  standard ``adapter.process(request, bot)`` aiohttp route), replying through the connector;
* the floor: a raw aiohttp handler that parses the activity and POSTs one reply with one
  long-lived ``ClientSession``; and the same with an fsync'd file write per turn.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)


class EchoBot(ActivityHandler):  # type: ignore[misc]
    """The SDK sample's echo bot."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        text = turn_context.activity.text
        await turn_context.send_activity(MessageFactory.text(f"Echo: {text}"))


def echo_app() -> web.Application:
    """The echo sample's app: ``POST /api/messages`` -> ``adapter.process(request, bot)``."""
    config = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        response: web.Response = await adapter.process(request, bot)
        return response

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app


def floor_app(journal: Path | None = None) -> web.Application:
    """The floor: parse the activity, POST one reply to the connector, answer 200.

    With ``journal``, each turn is first appended to that file and fsync'd (a durable write).
    """
    app = web.Application()
    session_key = web.AppKey("session", aiohttp.ClientSession)
    fd_key = web.AppKey("fd", int)

    async def start(app: web.Application) -> None:
        app[session_key] = aiohttp.ClientSession()
        if journal is not None:
            app[fd_key] = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def stop(app: web.Application) -> None:
        await app[session_key].close()
        if journal is not None:
            os.close(app[fd_key])

    async def messages(request: web.Request) -> web.Response:
        activity: dict[str, Any] = await request.json()
        if journal is not None:
            os.write(app[fd_key], json.dumps(activity).encode() + b"\n")
            os.fsync(app[fd_key])
        conversation = activity["conversation"]["id"]
        reply = {
            "type": "message",
            "text": f"Echo: {activity.get('text', '')}",
            "from": activity["recipient"],
            "recipient": activity["from"],
            "conversation": activity["conversation"],
            "replyToId": activity["id"],
        }
        url = (
            f"{activity['serviceUrl'].rstrip('/')}/v3/conversations/"
            f"{quote(conversation, safe='')}/activities/{quote(activity['id'], safe='')}"
        )
        async with app[session_key].post(url, json=reply) as answer:
            await answer.read()
        return web.Response(status=200)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/api/messages", messages)
    return app
