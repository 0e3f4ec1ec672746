"""The composition root and the web app: everything is built here, once, and closed on exit.

Routes: ``POST /api/messages`` (Bot Framework activities) and ``GET /healthz``.
``CloudAdapter.process()`` in botbuilder-integration-aiohttp 4.17 answers every invoke with
HTTP 500 (``'dict' object has no attribute 'is_xml_model'``), so the body is parsed here,
``process_activity`` is called directly, and the invoke response is written as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

from bot.adapter import CachingAuthentication, ServiceUrlNotAllowed, build_adapter, is_loopback_url
from bot.config import Settings, describe
from bot.exports import ExportShelf
from bot.messenger import BotMessenger
from bot.services import build_people_services
from bot.teams_bot import TeamsBot
from dialogs.outbox import Doorbell, OutboxWorker
from dialogs.ports import Clock, Directory, Messenger, Store, SystemClock
from dialogs.registry import Deps, build_features
from dialogs.service import Dialogs
from store.tinydb_store import TinyDbStore

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # 1 MiB: Teams activities are far smaller


@dataclass(slots=True)
class Components:
    """What the bootstrap built, kept on the app for the handlers and for shutdown."""

    settings: Settings
    store: Store
    directory: Directory
    dialogs: Dialogs
    adapter: CloudAdapter
    auth: CachingAuthentication
    bot: TeamsBot
    worker: OutboxWorker
    exports: ExportShelf


COMPONENTS = web.AppKey("components", Components)
WORKER_TASK = web.AppKey("worker_task", asyncio.Task)


async def bootstrap(
    settings: Settings,
    *,
    store: Store | None = None,
    directory: Directory | None = None,
    clock: Clock | None = None,
    messenger: Messenger | None = None,
    worker_interval: float = 1.0,
) -> Components:
    """Build every component for ``settings``. Ports may be passed in (tests use fakes).

    Raises:
        StoreLocked, StoreCorrupted: the data folder cannot be used; nothing is started.
        DirectoryFileError: the local directory file is missing or wrong.
    """
    clock = clock or SystemClock()
    people = build_people_services(settings, clock)
    directory = directory or people.directory
    if store is None:
        store = await TinyDbStore.open(settings.data_dir)
    doorbell = Doorbell()
    exports = ExportShelf(settings.public_url)
    deps = Deps(
        school=settings.school,
        store=store,
        directory=directory,
        clock=clock,
        doorbell=doorbell,
        calendar=people.calendar,
        notifier=people.notifier,
        exports=exports,
    )
    features = build_features(deps)
    dialogs = Dialogs(
        school=deps.school,
        directory=deps.directory,
        store=deps.store,
        clock=deps.clock,
        features=features,
    )
    adapter, auth = build_adapter(settings)
    adapter.on_turn_error = _on_turn_error
    bot_messenger = BotMessenger(
        adapter,
        auth,
        store,
        app_id=settings.app_id,
        tenant_id=people.tenant_id,
    )
    await bot_messenger.load()
    worker = OutboxWorker(
        store=store,
        messenger=messenger or bot_messenger,
        directory=directory,
        clock=deps.clock,
        renderers={k: v for f in features for k, v in f.renderers.items()},
        timers={k: v for f in features for k, v in f.timers.items()},
        doorbell=doorbell,
        interval=worker_interval,
    )
    bot = TeamsBot(dialogs, on_activity=bot_messenger.remember)
    return Components(settings, store, directory, dialogs, adapter, auth, bot, worker, exports)


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    # Log the kind of failure and ids only: never message text, names or card data.
    # Exception messages can quote user input, so only the class and the code location are kept.
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames))
    log.error(
        "turn failed: %s at %s (activity %s)", error.__class__.__name__, where, context.activity.id
    )
    if context.activity.type != "message":
        return
    try:
        await context.send_activity(
            "Sorry, something went wrong and I couldn't finish that. Please try again. "
            "If a child is in immediate danger, call 999."
        )
    except Exception as again:  # noqa: BLE001 (the connector itself may be what failed)
        log.error("could not tell the sender about the failure: %s", again.__class__.__name__)


def _bad_request(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def messages(request: web.Request) -> web.StreamResponse:
    """``POST /api/messages``: one Bot Framework activity in, 200/201 (+ invoke body) out."""
    parts: Components = request.app[COMPONENTS]
    if request.content_type != "application/json":
        return _bad_request("expected application/json", 415)
    try:
        body: Any = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad_request("body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return _bad_request("body is not an activity")
    try:
        activity = Activity().deserialize(body)
    except Exception:  # noqa: BLE001 (msrest raises many kinds for malformed input)
        return _bad_request("body is not an activity")
    if parts.settings.is_local and not is_loopback_url(activity.service_url):
        return _bad_request("local mode accepts loopback service URLs only", 403)
    auth_header = request.headers.get("Authorization", "")
    try:
        response = await parts.adapter.process_activity(auth_header, activity, parts.bot.on_turn)
    except ServiceUrlNotAllowed:
        return _bad_request("service URL not allowed", 403)
    except PermissionError:
        log.warning("auth_rejected (activity %s)", activity.id)
        return _bad_request("unauthorized", 401)
    if response is not None:
        return web.json_response(data=response.body, status=response.status)
    return web.Response(status=201)


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: liveness and the state of the parts a DSL depends on."""
    parts: Components = request.app[COMPONENTS]
    check = getattr(parts.store, "audit_check", None)
    audit = "ok" if check is None or check.ok else f"broken at entry {check.first_bad_seq}"
    return web.json_response(
        {
            "status": "ok",
            "mode": parts.settings.mode.value,
            "school": parts.settings.school.name,
            "store": {"audit_chain": audit},
            "outbox": {
                "pending": parts.worker.status.pending,
                "oldest_pending_seconds": round(parts.worker.status.oldest_pending_seconds),
                "last_failure": parts.worker.status.last_failure or None,
            },
        }
    )


async def create_app(settings: Settings, **ports: Any) -> web.Application:
    """The aiohttp application with every component built (see ``bootstrap``)."""
    parts = await bootstrap(settings, **ports)
    app = web.Application(client_max_size=MAX_BODY)
    app[COMPONENTS] = parts
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/exports/{token}", parts.exports.handle)

    async def start_worker(app: web.Application) -> None:
        app[WORKER_TASK] = asyncio.create_task(parts.worker.run(), name="outbox")

    async def close(app: web.Application) -> None:
        task = app.get(WORKER_TASK)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await parts.auth.close()
        finally:
            await parts.store.close()

    app.on_startup.append(start_worker)
    app.on_cleanup.append(close)
    log.info("bot ready: %s", describe(settings))
    if settings.is_local:
        log.warning(
            "LOCAL MODE: inbound authentication is OFF. Listening on %s only; replies go to "
            "loopback service URLs only; people and roles come from %s",
            settings.host,
            settings.local_directory_path,
        )
    return app
