"""``BotMessenger``: the Messenger port over the Bot Connector (proactive posts, updates, 1:1).

Uses botbuilder's own connector client and cached credentials; in local mode only loopback
service URLs are allowed (``bot.adapter``). The client used here makes no retries of its own:
a failed POST is never silently repeated (that could post a card twice); the outbox retries
with backoff instead, and survives restarts.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from botbuilder.core import CardFactory, MessageFactory
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters

from bot.adapter import CachingAuthentication
from dialogs.ports import (
    Change,
    DeliveryFailed,
    Outgoing,
    Record,
    Store,
    StoreError,
    VersionConflict,
)

log = logging.getLogger(__name__)

STATE = "bot_state"
SERVICE = "service"
#: HTTP statuses after which a message may have been delivered all the same.
MAYBE_TAKEN = frozenset({408, 502, 504})


#: The id given to the unseen element that carries an outbox message's marker in its card.
MARKER_PREFIX = "delivery-"


def marked_card(card: Mapping[str, Any], marker: str | None) -> dict[str, Any]:
    """``card`` with ``marker`` in an invisible element (Graph returns a posted card's JSON,
    so ``GraphPostFinder`` can find it; nobody sees it in Teams)."""
    copy = dict(card)
    if marker:
        copy["body"] = [
            *card.get("body", ()),
            {"type": "TextBlock", "id": MARKER_PREFIX + marker, "text": " ", "isVisible": False},
        ]
    return copy


def outgoing_activity(message: Outgoing) -> Activity:
    """A message activity for an outgoing card and/or text."""
    if message.card is not None:
        card = marked_card(message.card, message.marker)
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        if message.text:
            activity.text = message.text
        return activity
    return MessageFactory.text(message.text or "")


def _failure(exc: Exception) -> DeliveryFailed:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    retry_after: float | None = None
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("Retry-After")
    try:
        retry_after = float(raw) if raw else None
    except (TypeError, ValueError):
        retry_after = None
    reason = f"HTTP {status}" if status else exc.__class__.__name__
    # With no answer (time-out, dropped connection) or a gateway's error, Teams may have taken
    # the message; a clear refusal (4xx, 500, 503) means it did not.
    maybe = not status or status in MAYBE_TAKEN
    return DeliveryFailed(reason, retry_after, maybe_delivered=maybe)


class BotMessenger:
    """Sends proactive messages through the Bot Connector."""

    def __init__(
        self,
        adapter: CloudAdapter,
        auth: CachingAuthentication,
        store: Store,
        *,
        app_id: str,
        tenant_id: str,
    ) -> None:
        self._adapter = adapter
        self._auth = auth
        self._store = store
        self._app_id = app_id
        self._tenant_id = tenant_id
        self._service_url: str | None = None
        self._bot_id: str | None = f"28:{app_id}" if app_id else None
        self._version = 0
        #: The (service URL, bot id) the store holds, as far as this process knows.
        self._saved: tuple[str | None, str | None] = (None, None)

    async def load(self) -> None:
        """Recall the service URL learnt from earlier activities (it survives restarts)."""
        record = await self._store.get(STATE, SERVICE)
        if record is not None:
            self._version = record.version
            self._service_url = record.data.get("service_url") or self._service_url
            self._bot_id = self._bot_id or record.data.get("bot_id")
            self._saved = (record.data.get("service_url"), record.data.get("bot_id"))

    async def remember(self, service_url: str | None, bot_id: str | None) -> None:
        """Keep the service URL (and, in local mode, the bot's id) Teams last used."""
        if not service_url:
            return
        bot_id = self._bot_id if self._app_id else (bot_id or self._bot_id)
        if (service_url, bot_id) == self._saved:
            return
        # Used at once, even if it cannot be saved now; saving is tried again next turn.
        self._service_url, self._bot_id = service_url, bot_id
        try:
            record = Record(
                STATE, SERVICE, self._version + 1, {"service_url": service_url, "bot_id": bot_id}
            )
            await self._store.commit(Change(records=[record]))
            self._version = record.version
            self._saved = (service_url, bot_id)
        except VersionConflict:  # another instance saved one first: take its version
            with contextlib.suppress(StoreError):
                await self.load()
        except StoreError as exc:  # never fail the user's turn for this
            log.warning("could not save the Teams service URL: %s", exc.__class__.__name__)

    @property
    def ready(self) -> bool:
        """Whether a service URL is known (no proactive message can go before one is)."""
        return bool(self._service_url)

    async def _client(self) -> Any:
        if not self._service_url:  # another instance, sharing the store, may have learnt it
            await self.load()
        if not self._service_url:
            raise DeliveryFailed("no Teams service URL known yet (waiting for a first message)")
        claims = self._adapter.create_claims_identity(self._app_id)
        factory = self._auth.create_connector_factory(claims)
        return await self._auth.connector_client(
            factory, self._service_url, self._auth.get_originating_audience(), proactive=True
        )

    async def post(self, conversation_id: str, message: Outgoing) -> str:
        client = await self._client()
        activity = outgoing_activity(message)
        try:
            response = await client.conversations.send_to_conversation(conversation_id, activity)
        except Exception as exc:  # noqa: BLE001 (msrest raises many kinds; all mean "not sent")
            raise _failure(exc) from None
        return str(response.id)

    async def update(self, conversation_id: str, message_id: str, message: Outgoing) -> None:
        client = await self._client()
        activity = outgoing_activity(message)
        activity.id = message_id
        try:
            await client.conversations.update_activity(conversation_id, message_id, activity)
        except Exception as exc:  # noqa: BLE001
            raise _failure(exc) from None

    async def send_direct(self, person_id: str, message: Outgoing) -> None:
        client = await self._client()
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=self._bot_id),
            members=[ChannelAccount(id=person_id)],
            tenant_id=self._tenant_id,
            channel_data={"tenant": {"id": self._tenant_id}},
        )
        try:
            conversation = await client.conversations.create_conversation(parameters)
            await client.conversations.send_to_conversation(
                conversation.id, outgoing_activity(message)
            )
        except Exception as exc:  # noqa: BLE001
            raise _failure(exc) from None
