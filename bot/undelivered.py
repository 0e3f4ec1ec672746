"""Turn replies that could not be sent in time, kept and sent later (issue 22, item 4).

A turn's reply goes back to the service URL the activity came from. When that endpoint is slow
or hung, the turn must not hold on to it (nor to the sender's HTTP request): after
``REPLY_BUDGET`` seconds the unsent replies are saved here, in the store, and the turn ends.
``UndeliveredReplies.run`` then sends them in the background, each call bounded, one service
URL never holding up another, with backoff, surviving restarts. A reply the Connector refuses
for good (403, 404: the bot was removed, the chat is gone) is dropped with one log line.

Nothing twice, as far as the Connector allows: each record is claimed (a version bump) before
it is sent, so two instances never send it both; replies already sent are counted. A reply cut
off by the time-out may still have reached Teams: it may then arrive twice (a second copy of the
bot's answer, never of anyone's report), which is better than never.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationReference

from bot.adapter import PROACTIVE_TIMEOUT, CachingAuthentication
from dialogs.outbox import OUTBOX, Doorbell
from dialogs.ports import Change, Clock, Record, Store, StoreError, VersionConflict

log = logging.getLogger(__name__)

KIND = "undelivered_reply"
#: Seconds a turn may spend sending its replies before they are kept here instead.
REPLY_BUDGET = 5.0
#: Seconds a claimed record is left to the instance sending it.
LEASE = timedelta(seconds=60)
MAX_BACKOFF = 300.0
#: Connector statuses after which trying again can help (anything else 4xx is final).
RETRYABLE = frozenset({408, 412, 429, 500, 502, 503, 504})


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a Connector failure (None: no answer at all)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def worth_keeping(exc: BaseException) -> bool:
    """Whether a reply that failed this way should be kept and sent again later."""
    if isinstance(exc, TimeoutError):
        return True
    status = status_of(exc)
    return status is None or status in RETRYABLE or status >= 500


class UndeliveredReplies:
    """Keeps unsent turn replies in the store and sends them in the background."""

    def __init__(
        self,
        store: Store,
        adapter: CloudAdapter,
        auth: CachingAuthentication,
        clock: Clock,
        *,
        app_id: str,
        interval: float = 5.0,
    ) -> None:
        self._store = store
        self._adapter = adapter
        self._auth = auth
        self._clock = clock
        self._app_id = app_id
        self.interval = interval
        self._doorbell = Doorbell()
        self._lock = asyncio.Lock()

    async def keep(self, incoming: Activity, replies: Sequence[Activity], reason: str) -> None:
        """Save ``replies`` to ``incoming``'s conversation, to be sent later.

        Raises:
            StoreError: they could not be saved (the turn then fails as it would have).
        """
        reference = TurnContext.get_conversation_reference(incoming)
        now = self._clock.now()
        record = Record(
            KIND,
            uuid.uuid4().hex,
            1,
            {
                "reference": reference.serialize(),
                "replies": [r.serialize() for r in replies],
                "sent": 0,
                "attempts": 0,
                "created_at": now.isoformat(),
                "next_at": (now + timedelta(seconds=self.interval)).isoformat(),
                "last_error": reason,
            },
        )
        await self._store.commit(Change(records=[record]))
        log.warning(
            "turn reply not sent in time (%s): kept to send later (activity %s)",
            reason,
            incoming.id,
        )
        self._doorbell.ring()

    async def run(self) -> None:
        """Send due replies for ever (until cancelled); a failure never stops the loop."""
        while True:
            try:
                await self.deliver_due()
            except Exception as exc:  # noqa: BLE001 (the loop must survive anything)
                log.error("undelivered replies: %s", exc.__class__.__name__)
            await self._doorbell.wait(self.interval)

    async def deliver_due(self) -> int:
        """Try every due record once, one lane per service URL. Returns records finished."""
        async with self._lock:
            now = self._clock.now()
            lanes: dict[str, list[Record]] = defaultdict(list)
            for record in await self._store.find(KIND):
                if datetime.fromisoformat(record.data["next_at"]) <= now:
                    lanes[str(record.data["reference"].get("serviceUrl"))].append(record)
            done = await asyncio.gather(
                *(
                    self._lane(sorted(rs, key=lambda r: r.data["created_at"]))
                    for rs in lanes.values()
                )
            )
            return sum(done)

    async def _lane(self, records: list[Record]) -> int:
        done = 0
        for record in records:
            done += await self._deliver(record)
        return done

    async def _deliver(self, record: Record) -> int:
        now = self._clock.now()
        claimed = Record(
            KIND,
            record.id,
            record.version + 1,
            {**record.data, "next_at": (now + LEASE).isoformat()},
        )
        try:
            await self._store.commit(Change(records=[claimed]))
        except VersionConflict:
            return 0  # another instance has it
        reference = ConversationReference().deserialize(claimed.data["reference"])
        replies: list[dict[str, Any]] = list(claimed.data["replies"])
        sent = int(claimed.data["sent"])
        try:
            client = await self._client(reference.service_url)
            for raw in replies[sent:]:
                activity = TurnContext.apply_conversation_reference(
                    Activity().deserialize(raw), reference
                )
                async with asyncio.timeout(PROACTIVE_TIMEOUT):
                    await client.conversations.send_to_conversation(
                        reference.conversation.id, activity
                    )
                sent += 1
        except Exception as exc:  # noqa: BLE001 (msrest raises many kinds)
            return await self._failed(claimed, sent, exc)
        await self._finish(claimed)
        return 1

    async def _client(self, service_url: str) -> Any:
        claims = self._adapter.create_claims_identity(self._app_id)
        factory = self._auth.create_connector_factory(claims)
        return await self._auth.connector_client(
            factory, service_url, self._auth.get_originating_audience(), proactive=True
        )

    async def _finish(self, record: Record) -> None:
        try:
            await self._store.commit(Change(deletes=[(KIND, record.id, record.version)]))
        except StoreError as exc:
            log.error("a sent reply could not be cleared: %s", exc.__class__.__name__)

    async def _failed(self, record: Record, sent: int, exc: Exception) -> int:
        status = status_of(exc)
        reason = f"HTTP {status}" if status else exc.__class__.__name__
        if not worth_keeping(exc):
            log.warning("turn reply refused by Teams (%s): dropped", reason)
            await self._finish(record)
            return 1
        attempts = int(record.data["attempts"]) + 1
        delay = min(MAX_BACKOFF, self.interval * 2**attempts)
        retry = Record(
            KIND,
            record.id,
            record.version + 1,
            {
                **record.data,
                "sent": sent,
                "attempts": attempts,
                "last_error": reason,
                "next_at": (self._clock.now() + timedelta(seconds=delay)).isoformat(),
            },
        )
        try:
            await self._store.commit(Change(records=[retry]))
        except StoreError as err:
            log.error("could not record a failed reply: %s", err.__class__.__name__)
        log.info("turn reply still not sent (%s): trying again in %.0f s", reason, delay)
        return 0


class Backlog:
    """What is still to be delivered, read from the store (issue 22, item 9): outbox messages
    and kept turn replies, counted and aged, whatever any worker's last round saw. Read at most
    once per ``MAX_STALENESS`` seconds, so a busy monitor cannot load the store."""

    MAX_STALENESS = 1.0

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._read_at = float("-inf")
        #: (records pending, when the oldest was made) as last read.
        self._last: tuple[int, datetime | None] = (0, None)
        self._lock = asyncio.Lock()

    async def read(self) -> tuple[int, float]:
        """(pending, seconds the oldest has waited).

        Raises:
            StoreError: the store could not be read.
        """
        async with self._lock:
            loop = asyncio.get_running_loop()
            if loop.time() - self._read_at >= self.MAX_STALENESS:
                records = [*await self._store.find(OUTBOX), *await self._store.find(KIND)]
                made = [
                    datetime.fromisoformat(r.data["created_at"])
                    for r in records
                    if isinstance(r.data.get("created_at"), str)
                ]
                self._last = (len(records), min(made, default=None))
                self._read_at = loop.time()
        count, oldest = self._last
        if oldest is None:
            return count, 0.0
        return count, max((self._clock.now() - oldest).total_seconds(), 0.0)
