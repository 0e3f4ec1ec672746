"""The outbox worker: its settings, its loop and ticks, and claims on a shared store."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dialogs.outbox.delivery import Delivering
from dialogs.outbox.records import (
    CLAIM_BATCH,
    DELIVERY_TIMEOUT,
    IN_FLIGHT_GRACE,
    LEASE_SECONDS,
    OUTBOX,
    TIMER,
    Doorbell,
    Renderer,
    TimerHandler,
)
from dialogs.outbox.status import OutboxStatus
from dialogs.outbox.timers import TimerFiring
from dialogs.ports import (
    ClaimingStore,
    Clock,
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


@dataclass(slots=True)
class OutboxWorker(TimerFiring, Delivering):
    """Delivers outbox messages and fires timers; safe to stop and start at any moment."""

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

    async def run(self) -> None:
        """Deliver forever (until cancelled); a failure never stops the loop."""
        while True:
            try:
                await self.tick()
            except Exception as exc:  # noqa: BLE001 (the loop must survive anything)
                self.status.last_failure = exc.__class__.__name__
                log.error("outbox tick failed: %s", exc.__class__.__name__)
            await self.doorbell.wait(self.interval)

    async def tick(self) -> int:
        """Fire due timers, then try every due message once. Returns messages delivered.

        Ticks never overlap (two at once could deliver the same message twice).
        """
        async with self._lock:
            return await self._tick()

    async def _tick(self) -> int:
        if isinstance(self.store, ClaimingStore):
            delivered = await self._claimed_tick(self.store)
        else:
            delivered = await self._single_tick()
        remaining = await self.store.find(OUTBOX)
        self.status.pending = len(remaining)
        self.status.oldest_pending_seconds = max(
            (
                (self.clock.now() - datetime.fromisoformat(r.data["created_at"])).total_seconds()
                for r in remaining
            ),
            default=0.0,
        )
        self.status.delivered += delivered
        return delivered

    async def _single_tick(self) -> int:
        """One process owns the store: read every timer and message, act on the due ones."""
        now = self.clock.now()
        for item in sorted(await self.store.find(TIMER), key=lambda r: r.data["due_at"]):
            if datetime.fromisoformat(item.data["due_at"]) <= now:
                await self._fire(item, now)
        pending = sorted(await self.store.find(OUTBOX), key=lambda r: (r.data["created_at"], r.id))
        delivered = 0
        for item in pending:
            if datetime.fromisoformat(item.data["next_at"]) <= self.clock.now():
                delivered += await self._deliver(item)
        return delivered

    async def _claimed_tick(self, store: ClaimingStore) -> int:
        """Several instances share the store: act only on what this worker has claimed.

        Each batch is worked through only while its lease still covers a whole delivery; what
        is left waits for the lease to run out and is claimed again (by any instance).
        """
        now = self.clock.now()
        fired: set[str] = set()
        for _ in range(100):  # bounded: a tick never runs forever
            batch = await self._claim(store, TIMER, now)
            started = time.monotonic()
            fresh = sorted(
                (r for r in batch if r.id not in fired), key=lambda r: (r.data["due_at"], r.id)
            )
            for item in fresh:  # each timer fires at most once per tick, as with one process
                if not self._lease_covers(started):
                    break
                fired.add(item.id)
                await self._fire(item, now)
            if len(batch) < self.claim_batch or not fresh:
                break
        delivered = 0
        for _ in range(100):
            batch = await self._claim(store, OUTBOX, self.clock.now())
            started = time.monotonic()
            for item in sorted(batch, key=lambda r: (r.data["created_at"], r.id)):
                if not self._lease_covers(started):
                    break
                delivered += await self._deliver(item)
            if len(batch) < self.claim_batch:
                break
        return delivered

    async def _claim(self, store: ClaimingStore, kind: str, now: datetime) -> list[Record]:
        return await store.claim_due(
            kind, now, lease_seconds=self.lease_seconds, owner=self.owner, limit=self.claim_batch
        )

    def _lease_covers(self, claimed_at: float) -> bool:
        # A delivery makes at most three bounded outside calls (render, look for an earlier
        # attempt, send) and its commits: start one only while three time-outs fit in the lease.
        elapsed = time.monotonic() - claimed_at
        return elapsed + 3 * self.delivery_timeout < self.lease_seconds
