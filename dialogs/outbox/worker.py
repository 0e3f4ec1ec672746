"""The outbox worker: its loop and ticks, and claims on a shared store (its settings and state
are ``steps.WorkerSteps``'s fields)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from dialogs.outbox.delivery import Delivering
from dialogs.outbox.records import (
    OUTBOX,
    TIMER,
    OutboxMessage,
    UnreadableMessage,
)
from dialogs.outbox.timers import TimerFiring
from dialogs.ports import (
    ClaimingStore,
    Record,
)

log = logging.getLogger("dialogs.outbox")  # one logger for the outbox, as before


@dataclass(slots=True)
class OutboxWorker(TimerFiring, Delivering):
    """Delivers outbox messages and fires timers; safe to stop and start at any moment."""

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
        self.status.pending, oldest = await self.store.count_oldest(OUTBOX, "created_at")
        self.status.oldest_pending_seconds = (
            0.0 if oldest is None else (self.clock.now() - oldest).total_seconds()
        )
        self.status.delivered += delivered
        return delivered

    async def _single_tick(self) -> int:
        """One process owns the store: read the due timers and messages (and any whose time
        cannot be read, handled as before), act on the due ones."""
        now = self.clock.now()
        for item in sorted(
            await self.store.due(TIMER, "due_at", now), key=lambda r: r.data["due_at"]
        ):
            if datetime.fromisoformat(item.data["due_at"]) <= now:
                await self._fire(item, now)
        delivered = 0
        for queued in self._readable(
            await self.store.due(OUTBOX, "next_at", self.clock.now()), report=True
        ):
            if datetime.fromisoformat(queued.next_at) <= self.clock.now():
                delivered += await self._deliver(queued)
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
            for queued in self._readable(batch, report=True):
                if not self._lease_covers(started):
                    break
                delivered += await self._deliver(queued)
            if len(batch) < self.claim_batch:
                break
        return delivered

    def _readable(self, records: Iterable[Record], *, report: bool = False) -> list[OutboxMessage]:
        """The outbox records, each read once into an ``OutboxMessage``, oldest first. One this
        code cannot read (a later layout, or damaged) is left queued, never deleted: it may be
        a later version's, and it may be the only copy of a safeguarding message. With
        ``report`` it is logged, once per process, by id and layout only (never its data)."""
        readable: list[OutboxMessage] = []
        for record in records:
            try:
                readable.append(OutboxMessage.from_record(record))
            except UnreadableMessage as exc:
                if report and record.id not in self._unreadable:
                    self._unreadable.add(record.id)
                    self.status.last_failure = "unreadable outbox message"
                    log.error("%s: left queued, not delivered", exc)
        return sorted(readable, key=lambda m: (m.created_at, m.id))

    async def _claim(self, store: ClaimingStore, kind: str, now: datetime) -> list[Record]:
        return await store.claim_due(
            kind, now, lease_seconds=self.lease_seconds, owner=self.owner, limit=self.claim_batch
        )

    def _lease_covers(self, claimed_at: float) -> bool:
        # A delivery makes at most three bounded outside calls (render, look for an earlier
        # attempt, send) and its commits: start one only while three time-outs fit in the lease.
        elapsed = time.monotonic() - claimed_at
        return elapsed + 3 * self.delivery_timeout < self.lease_seconds
