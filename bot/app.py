"""The composition root and the web app: everything is built here, once, and closed on exit.

Routes: ``POST /api/messages`` (Bot Framework activities) and ``GET /healthz``.
``CloudAdapter.process()`` in botbuilder-integration-aiohttp 4.17 answers every invoke with
HTTP 500 (``'dict' object has no attribute 'is_xml_model'``), so the body is parsed here,
``process_activity`` is called directly, and the invoke response is written as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

from bot.adapter import (
    ActivityDeserializer,
    CachingAuthentication,
    ServiceUrlNotAllowed,
    build_adapter,
)
from bot.auth import AuthUnavailable, Rejected, authenticate, warm_keys
from bot.auth import install as install_auth
from bot.body import BadBody, may_hold_unstorable
from bot.body import parse as parse_body
from bot.config import Settings, describe
from bot.exports import WebExports, exports_for
from bot.features import build_features
from bot.logs import correlation_id, quiet_sdks
from bot.message_action import MessageActionHandler
from bot.messenger import BotMessenger
from bot.services import PeopleServices, build_people_services
from bot.storage import open_store
from bot.teams_bot import TeamsBot
from bot.undelivered import REPLY_BUDGET, Backlog, UndeliveredReplies
from bot.webhook import SignedWebhook
from dialogs.feature import Deps
from dialogs.message_action import MessageActions
from dialogs.monitoring import MonitoringHandlers
from dialogs.outbox import Doorbell, OutboxWorker
from dialogs.ports import (
    Clock,
    Directory,
    Messenger,
    Outgoing,
    Store,
    StoreError,
    StoreUnavailable,
    SystemClock,
)
from dialogs.router import Router
from policy.monitoring import (
    MAX_ALERT_BODY,
    PROVIDER_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Unauthorised,
    verify,
)
from policy.text import clean_value

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # 1 MiB: Teams activities are far smaller

#: The deserialiser for botbuilder's schema, built once: ``Activity.deserialize`` builds a new
#: one (and its table of every schema class) for each call. It keeps no state per call.
_ACTIVITIES = ActivityDeserializer(Activity._infer_class_models())  # type: ignore[no-untyped-call]


@dataclass(slots=True)
class Components:
    """What the bootstrap built, kept on the app for the handlers and for shutdown."""

    settings: Settings
    store: Store
    directory: Directory
    router: Router
    adapter: CloudAdapter
    auth: CachingAuthentication
    bot: TeamsBot
    worker: OutboxWorker
    exports: WebExports
    tenant_id: str
    #: Directory, calendar and notifier with their background checks (Graph in production).
    people: PeopleServices | None = None
    #: Turn replies that could not be sent in time, sent later (issue 22, item 4).
    undelivered: UndeliveredReplies | None = None
    clock: Clock = field(default_factory=SystemClock)
    backlog: Backlog | None = None
    #: Monitoring alerts in (``POST /api/monitoring/alerts``, issue 21).
    monitoring: MonitoringHandlers | None = None


COMPONENTS = web.AppKey("components", Components)
WORKER_TASK = web.AppKey("worker_task", asyncio.Task)
REPLIES_TASK = web.AppKey("replies_task", asyncio.Task)
KEYS_TASK = web.AppKey("keys_task", asyncio.Task)


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
        store = await open_store(settings)
    doorbell = Doorbell()
    # In memory for the embedded store; in the store when it is shared (several instances).
    exports = exports_for(store, settings.public_url, clock)
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
    router = Router(
        school=deps.school,
        directory=deps.directory,
        store=deps.store,
        clock=deps.clock,
        features=features,
        doorbell=doorbell,
    )
    install_auth(settings.openid_metadata_url)
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
        notifier=people.notifier,
        clock=deps.clock,
        renderers={
            **{k: v for f in features for k, v in f.renderers.items()},
            **router.renderers,
        },
        timers={k: v for f in features for k, v in f.timers.items()},
        doorbell=doorbell,
        interval=worker_interval,
        finder=people.finder,
        school=settings.school,
        webhook=_handoff_webhook(settings, deps.clock),
    )
    undelivered = UndeliveredReplies(
        store, adapter, auth, deps.clock, app_id=settings.app_id, interval=worker_interval * 5
    )
    direct = messenger or bot_messenger

    async def confirm_directly(person_id: str, card: Mapping[str, Any]) -> None:
        await direct.send_direct(person_id, Outgoing(card=card))

    message_actions = MessageActionHandler(
        MessageActions(
            router, school=deps.school, directory=directory, store=store, clock=deps.clock
        ),
        confirm=confirm_directly,
    )
    bot = TeamsBot(
        router,
        on_activity=bot_messenger.remember,
        keep_unsent=undelivered.keep,
        reply_budget=REPLY_BUDGET,
        message_actions=message_actions,
    )
    return Components(
        settings,
        store,
        directory,
        router,
        adapter,
        auth,
        bot,
        worker,
        exports,
        people.tenant_id.lower(),
        people=people,
        undelivered=undelivered,
        clock=deps.clock,
        backlog=Backlog(store, deps.clock),
        monitoring=MonitoringHandlers(deps),
    )


def _handoff_webhook(settings: Settings, clock: Clock) -> SignedWebhook | None:
    """The school's hand-off webhook (issue 20), when its file sets one."""
    secret = settings.handoff_webhook_secret
    if not settings.school.handoff.webhook or secret is None:
        return None
    return SignedWebhook(
        settings.school.handoff.webhook_url.strip(), secret.get_secret_value(), clock
    )


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


# Printable ASCII without "/", with a letter or digit (ids sit in the reply URLs' paths).
_ID = re.compile(r"(?=.*[A-Za-z0-9])[!-.0-~]{1,512}")


def _is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def tenant_of(activity: Activity) -> str | None:
    """The tenant Teams says the activity comes from (channel data, else the conversation)."""
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant")
    if isinstance(tenant, dict) and isinstance(tenant.get("id"), str):
        return str(tenant["id"]).lower()
    conversation_tenant = getattr(activity.conversation, "tenant_id", None)
    return str(conversation_tenant).lower() if conversation_tenant else None


def _bad_request(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def messages(request: web.Request) -> web.StreamResponse:
    """``POST /api/messages``: one Bot Framework activity in, 200/201 (+ invoke body) out."""
    parts: Components = request.app[COMPONENTS]
    if request.content_type != "application/json":
        return _bad_request("expected application/json", 415)
    raw = await request.read()
    try:
        body: Any = parse_body(raw, request.charset)
    except BadBody as exc:
        return _bad_request(exc.reason, exc.status)
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return _bad_request("body is not an activity")
    # Lone surrogates and NUL cannot be stored (UTF-8, PostgreSQL): replaced here, at the edge,
    # so every text field of every flow is saved as the person wrote it, less those characters.
    if may_hold_unstorable(raw):
        body = clean_value(body)
    try:
        activity = _ACTIVITIES("Activity", body)
    except Exception:  # noqa: BLE001 (msrest raises many kinds for malformed input)
        return _bad_request("body is not an activity")
    if activity.type in {"message", "invoke", "conversationUpdate"} and not (
        _is_id(activity.id)
        and _is_id(getattr(activity.conversation, "id", None))
        and _is_id(getattr(activity.from_property, "id", None))
    ):
        # Teams always sends these; without them (or with ids no reply URL can carry) no
        # reply could be addressed.
        return _bad_request("activity is missing its id, conversation or sender")
    correlation_id.set(activity.id)
    # Authenticate before anything else runs: every failure is a 401, never a 500.
    try:
        identity = await authenticate(
            parts.auth, activity, request.headers.get("Authorization", "")
        )
    except Rejected as exc:
        log.warning("auth_rejected: %s (activity %s)", exc, activity.id)
        return _bad_request("unauthorized", 401)
    except AuthUnavailable:
        log.error("auth_unavailable: signing keys could not be fetched (activity %s)", activity.id)
        return _bad_request("authentication is unavailable, try again", 503)
    if not parts.auth.service_urls.allowed(activity.service_url):
        log.warning("service_url_rejected (activity %s)", activity.id)
        return _bad_request("service URL not allowed", 403)
    if tenant_of(activity) != parts.tenant_id:
        # Other tenants can message any bot: no reply, no side effect, one log line.
        log.warning("tenant_rejected (activity %s)", activity.id)
        return _bad_request("this bot serves another organisation", 403)
    try:
        response = await parts.adapter.process_activity(identity, activity, parts.bot.on_turn)
    except ServiceUrlNotAllowed:
        return _bad_request("service URL not allowed", 403)
    if response is not None:
        return web.json_response(data=response.body, status=response.status)
    return web.Response(status=201)


async def monitoring_alerts(request: web.Request) -> web.Response:
    """``POST /api/monitoring/alerts``: one alert from the school's monitoring system.

    Checked before anything is read into the store: the body's size (at most
    ``MAX_ALERT_BODY``), the provider (configured, with a secret), the HMAC-SHA256 signature
    over the timestamp and the body, and the timestamp's age (401 for any of those); then the
    JSON and the documented format (400). Nothing is stored for a refused request.
    """
    parts: Components = request.app[COMPONENTS]
    if parts.monitoring is None:
        return _bad_request("monitoring alerts are not taken here", 404)
    if request.content_length is not None and request.content_length > MAX_ALERT_BODY:
        return _bad_request("body too large", 413)
    raw = await request.read()
    if len(raw) > MAX_ALERT_BODY:
        return _bad_request("body too large", 413)
    provider = request.headers.get(PROVIDER_HEADER, "")
    secret = parts.settings.monitoring_secrets.get(provider)
    if secret is None or parts.settings.school.monitoring.provider(provider) is None:
        log.warning("monitoring_rejected: unknown provider")
        return _bad_request("unauthorized", 401)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    try:
        verify(
            secret.get_secret_value().encode("utf-8"),
            request.headers.get(TIMESTAMP_HEADER, ""),
            raw,
            signature,
            parts.clock.now(),
        )
    except Unauthorised as exc:
        log.warning("monitoring_rejected: %s (provider %s)", exc.code, provider)
        return _bad_request("unauthorized", 401)
    if request.content_type != "application/json":
        return _bad_request("expected application/json", 415)
    try:
        body: Any = parse_body(raw, request.charset)
    except BadBody as exc:
        return _bad_request(exc.reason, exc.status)
    try:
        cleaned = clean_value(body) if may_hold_unstorable(raw) else body
        received = await parts.monitoring.receive(provider, signature, cleaned)
    except StoreUnavailable:
        return _bad_request("the alert could not be saved, try again", 503)
    return web.json_response(dict(received.body), status=received.status)


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: liveness and the state of the parts a DSL depends on.

    ``outbox`` counts what the store holds right now (messages and timed-out turn replies not
    yet delivered), so it is true during a long delivery round and straight after a restart;
    ``status`` turns "degraded" once the oldest has waited ``OUTBOX_DEGRADED_AFTER_SECONDS``.
    """
    parts: Components = request.app[COMPONENTS]
    check = getattr(parts.store, "audit_check", None)
    audit = "ok" if check is None or check.ok else f"broken at entry {check.first_bad_seq}"
    backlog = parts.backlog or Backlog(parts.store, parts.clock)
    try:
        pending, oldest = await backlog.read()
        outbox: dict[str, Any] = {"pending": pending, "oldest_pending_seconds": round(oldest)}
        degraded = oldest > parts.settings.outbox_degraded_after_seconds
    except StoreError as exc:  # the backlog cannot be read: nobody can say it is fine
        outbox = {"pending": None, "oldest_pending_seconds": None, "error": type(exc).__name__}
        degraded = True
    outbox["last_failure"] = parts.worker.status.last_failure or None
    outbox["unheld_roles"] = dict(parts.worker.status.unheld_roles)
    return web.json_response(
        {
            "status": "degraded" if degraded else "ok",
            "mode": parts.settings.mode.value,
            "school": parts.settings.school.name,
            "store": {"audit_chain": audit},
            "people": parts.people.health() if parts.people is not None else None,
            "outbox": outbox,
        }
    )


async def create_app(settings: Settings, **ports: Any) -> web.Application:
    """The aiohttp application with every component built (see ``bootstrap``)."""
    quiet_sdks()
    parts = await bootstrap(settings, **ports)
    app = web.Application(client_max_size=MAX_BODY)
    app[COMPONENTS] = parts
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/monitoring/alerts", monitoring_alerts)
    app.router.add_get("/exports/{token}", parts.exports.handle)
    # The shared shelf sweeps expired exports; it stops before the store closes (on_cleanup).
    app.on_startup.append(parts.exports.start)
    app.on_shutdown.append(parts.exports.stop)

    async def start_worker(app: web.Application) -> None:
        app[WORKER_TASK] = asyncio.create_task(parts.worker.run(), name="outbox")
        if parts.undelivered is not None:
            app[REPLIES_TASK] = asyncio.create_task(parts.undelivered.run(), name="replies")
        if not settings.is_local:
            # Off the event loop and bounded: start-up never waits on Microsoft's key endpoint.
            app[KEYS_TASK] = asyncio.create_task(warm_keys(), name="signing-keys")

    async def close(app: web.Application) -> None:
        for key in (WORKER_TASK, REPLIES_TASK, KEYS_TASK):
            task = app.get(key)
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

    # Graph: the safeguarding-team check runs in the background (start-up never waits on
    # Graph); /healthz shows its result. The Graph client and credential close last.
    async def start_people(app: web.Application) -> None:
        if parts.people is not None:
            parts.people.start()

    async def close_people(app: web.Application) -> None:
        if parts.people is not None:
            await parts.people.close()

    app.on_startup.append(start_people)
    app.on_cleanup.append(close_people)
    log.info("bot ready: %s", describe(settings))
    if not settings.encryption_keys:
        log.warning("records are NOT encrypted at rest (no BOT_ENCRYPTION_KEY and no local key)")
    elif settings.local_key_file is not None:
        log.info("records are encrypted at rest with the local key in %s", settings.local_key_file)
    for provider in settings.school.monitoring.providers:
        if provider.id not in settings.monitoring_secrets:
            log.warning(
                "monitoring provider %s has no secret (%s is not set): its alerts are refused",
                provider.id,
                provider.secret_env,
            )
    if settings.is_local:
        log.warning(
            "LOCAL MODE: inbound authentication is OFF. Listening on %s only; replies go to "
            "loopback service URLs only; people and roles come from %s",
            settings.host,
            settings.local_directory_path,
        )
    return app
