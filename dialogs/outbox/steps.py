"""The worker's shared steps: a bounded outside call, the subject of a message, and a
message done or tried again later (with backoff)."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TypeVar

from dialogs.outbox.records import (
    CLAIM_BATCH,
    DELIVERY_TIMEOUT,
    IN_FLIGHT_GRACE,
    LEASE_SECONDS,
    MAX_BACKOFF,
    OUTBOX,
    Doorbell,
    OutboxMessage,
    Renderer,
    TimerHandler,
)
from dialogs.outbox.status import OutboxStatus
from dialogs.ports import (
    Change,
    Clock,
    DeliveryFailed,
    Directory,
    Messenger,
    Notifier,
    PostFinder,
    Record,
    Store,
    Webhook,
)
from policy.school import SchoolPolicy

log = logging.getLogger("dialogs.outbox")  # one logger for the outbox, as before


T = TypeVar("T")


@dataclass(slots=True)
class WorkerSteps:
    """The outbox worker's settings and state (``OutboxWorker``'s fields), and the steps every
    part of the worker uses."""

    store: Store
    messenger: Messenger
    directory: Directory
    notifier: Notifier | None
    clock: Clock
    renderers: Mapping[str, Renderer]
    timers: Mapping[str, TimerHandler]
    #: Reads a channel back, so a post cut off by a crash or a time-out is not made twice.
    finder: PostFinder | None = None
    doorbell: Doorbell = field(default_factory=Doorbell)
    interval: float = 1.0
    status: OutboxStatus = field(default_factory=OutboxStatus)
    #: Who holds this worker's claims (a shared store only); unique per process.
    owner: str = field(default_factory=lambda: f"worker-{uuid.uuid4().hex[:12]}")
    lease_seconds: float = LEASE_SECONDS
    delivery_timeout: float = DELIVERY_TIMEOUT
    claim_batch: int = CLAIM_BATCH
    in_flight_grace: float = IN_FLIGHT_GRACE
    #: The school's role names and fallbacks (who gets a message for a role nobody holds).
    school: SchoolPolicy | None = None
    #: The school's hand-off webhook (issue 20), if it has one.
    webhook: Webhook | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Outbox ids whose last post this process gave up on, with when (``time.monotonic``).
    _abandoned: dict[str, float] = field(default_factory=dict)
    #: Outbox ids this process could not read (and has said so once).
    _unreadable: set[str] = field(default_factory=set)

    async def _call(self, call: Awaitable[T]) -> T:
        """An outside call (Teams, Graph, the directory), bounded: a hung peer must neither
        stall every other delivery nor outlive a claim's lease."""
        try:
            async with asyncio.timeout(self.delivery_timeout):
                return await call
        except TimeoutError:
            raise DeliveryFailed("timed out", maybe_delivered=True) from None

    async def _subject(self, ref: str) -> Record | None:
        kind, _, item_id = ref.partition(":")
        return await self.store.get(kind, item_id)

    async def _done(self, item: OutboxMessage, *keep: Record) -> None:
        await self.store.commit(Change(records=keep, deletes=[(OUTBOX, item.id, item.revision)]))
        log.info("delivered %s for %s", item.render, item.subject)

    async def _later(
        self,
        item: OutboxMessage,
        reason: str,
        retry_after: float | None,
        *,
        in_doubt: bool | None = None,
        read_failures: int | None = None,
    ) -> None:
        """Try ``item`` again later. ``in_doubt``: whether the attempt just made may have
        reached Teams (True keeps its ``sending_at`` mark, False clears it, None leaves it).
        ``read_failures``: reads of the channel that failed in a row, for this mark."""
        attempts = item.attempts + 1
        delay = min(MAX_BACKOFF, 2.0 ** min(attempts, 10)) * random.uniform(0.8, 1.2)  # noqa: S311
        if retry_after is not None:
            delay = min(max(retry_after, 0.0), 600.0)
        later = replace(
            item,
            attempts=attempts,
            last_error=reason,
            next_at=(self.clock.now() + timedelta(seconds=delay)).isoformat(),
            sending_at=None if in_doubt is False else item.sending_at,
            read_failures=item.read_failures if read_failures is None else read_failures,
        ).to_record(item.revision + 1)
        self.status.last_failure = reason
        log.warning(
            "delivery of %s for %s failed (%s), attempt %d; retrying in %.0fs",
            item.render,
            item.subject,
            reason,
            attempts,
            delay,
        )
        await self.store.commit(Change(records=[later]))
