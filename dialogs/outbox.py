"""The durable outbox and timers: nothing told "received" is ever lost on the way out.

A use case saves its item and the messages it owes in one atomic change (outbox records), and
only then answers the user. ``OutboxWorker`` delivers them in the background with retries and
backoff until Teams takes them; outbox records live in the store, so deliveries survive a
restart. Timers (reminders) are records too: due timers fire once, in one atomic change with
the messages they cause.

Messages are rendered at delivery time from the item's current state, so a channel card always
shows the latest, and the outbox itself holds no safeguarding detail.

Several instances (a store with the ``ClaimingStore`` capability, i.e. PostgreSQL): each tick
claims due timers and messages under a lease instead of reading them all, so each message is
delivered, and each timer fired, by one instance. Messages about one subject are never in
flight on two instances at once (``CLAIM_RULES``), so an update never overtakes the post it
updates. If an instance dies, its leases run out and another instance takes its work over; a
delivery is bounded well inside the lease.

Nothing twice: the Bot Connector has no idempotency key, so a channel post cut off after Teams
took it (the process killed before the outbox recorded it, or the answer lost to a time-out)
must not simply be sent again. Before such a post the outbox record is marked ``sending_at``
and the card carries the message's id, unseen (``Outgoing.marker``); a later attempt that finds
the mark asks the channel first (``PostFinder``: Microsoft Graph in production) and keeps the
post it finds instead of making another. Without a ``PostFinder`` (the Playground), delivery is
at-least-once: a second card rather than none.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

from dialogs.ports import (
    Change,
    ClaimingStore,
    ClaimRule,
    Clock,
    DeliveryFailed,
    Directory,
    DirectoryUnavailable,
    Messenger,
    Notifier,
    NotReadYet,
    Outgoing,
    PostFinder,
    Record,
    Store,
    StoreError,
    VersionConflict,
    Webhook,
)
from policy.audit import AuditEvent
from policy.clauses import cite, cite_all, reword
from policy.roles import SAFEGUARDING_LEADS, Role
from policy.school import DEFAULT_ROLE_NAMES, SchoolPolicy

log = logging.getLogger(__name__)

OUTBOX = "outbox"
TIMER = "timer"
CHANNEL_MESSAGE = "channel_message"
MAX_BACKOFF = 300.0

#: How a shared store claims this module's records: messages by ``next_at``, one in flight per
#: subject; timers by ``due_at``.
CLAIM_RULES: Mapping[str, ClaimRule] = {
    OUTBOX: ClaimRule(due_field="next_at", group_field="subject"),
    TIMER: ClaimRule(due_field="due_at"),
}
#: A claim lasts this long; a crashed instance's work is taken over after it.
LEASE_SECONDS = 30.0
#: Teams, Graph or the directory get this long per call while a claim is held (well inside the
#: lease, so no other instance can take the message over while it is being sent).
DELIVERY_TIMEOUT = 8.0
#: Reads of the channel (for a post that may have reached Teams) tried before posting anyway.
READ_TRIES = 3
#: Records claimed at a time.
CLAIM_BATCH = 10
#: Seconds to leave a request this process gave up on (a time-out) before asking whether it
#: reached Teams after all: it may still be on its way.
IN_FLIGHT_GRACE = 5.0
#: The alert the DSL team gets when a message's role has no holder (rendered by the worker).
UNHELD_ROLE_RENDER = "outbox.unheld_role"

T = TypeVar("T")


class Delivery(StrEnum):
    """How an outbox message travels."""

    #: A new card in a channel; its message id is kept so later changes update it.
    CHANNEL_POST = "channel_post"
    #: Re-render the channel card for everyone (``update_activity`` on the kept message id).
    CHANNEL_UPDATE = "channel_update"
    #: A new message in a channel that is not kept (a reminder nudge).
    CHANNEL_NOTE = "channel_note"
    #: A 1:1 message to one person.
    DIRECT = "direct"
    #: A 1:1 message to every holder of a role, resolved from the directory at delivery time.
    DIRECT_TO_ROLE = "direct_role"
    #: An activity-feed alert (Teams' bell) to one person: reference and category only.
    FEED = "feed"
    #: An activity-feed alert to every holder of a role.
    FEED_TO_ROLE = "feed_role"
    #: A signed post of the rendered text (a JSON body) to the school's webhook (issue 20);
    #: ``x_key`` is its idempotency key, the same on every attempt.
    WEBHOOK = "webhook"


Renderer = Callable[[Record | None, Mapping[str, Any]], Awaitable[Outgoing | None]]


@dataclass(frozen=True, slots=True)
class TimerResult:
    """What a firing timer causes: record changes, messages, audit entries, and when to fire
    again (if ever), all committed in one atomic change."""

    records: Sequence[Record] = ()
    outbox: Sequence[Record] = ()
    audit: Sequence[AuditEvent] = ()
    again_at: datetime | None = None


TimerHandler = Callable[[Record | None, Record, datetime], Awaitable[TimerResult]]


class Doorbell:
    """Rung after a change adds outbox messages, so the worker delivers at once."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        """Wake the worker."""
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Wait until rung or ``seconds`` pass."""
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return
        finally:
            self._event.clear()


def message(
    delivery: Delivery,
    target: str,
    subject: str,
    render: str,
    now: datetime,
    **extra: str,
) -> Record:
    """A new outbox record: deliver ``render`` of ``subject`` (``kind:id``) to ``target``."""
    return Record(
        OUTBOX,
        uuid.uuid4().hex,
        1,
        {
            "delivery": delivery.value,
            "target": target,
            "subject": subject,
            "render": render,
            "attempts": 0,
            "next_at": now.isoformat(),
            "created_at": now.isoformat(),
            "last_error": "",
            **extra,
        },
    )


def timer(name: str, subject: str, due_at: datetime) -> Record:
    """A new timer record (one per subject and name)."""
    return Record(
        TIMER,
        f"{subject}|{name}",
        1,
        {"name": name, "subject": subject, "due_at": due_at.isoformat()},
    )


def channel_message_id(subject: str, channel: str, render: str) -> str:
    """The id of the record that keeps a channel card's message id (one per subject, channel
    and kind of card, so a request card and its task cards are updated separately)."""
    return f"{subject}|{channel}|{render}"


@dataclass(slots=True)
class OutboxStatus:
    """What /healthz shows about deliveries."""

    pending: int = 0
    oldest_pending_seconds: float = 0.0
    last_failure: str = ""
    delivered: int = 0
    #: Roles nobody holds (seen when a message for them was delivered) -> messages that went
    #: to the role's fallback instead. A role leaves this once someone holds it again.
    unheld_roles: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class OutboxWorker:
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

    async def _call(self, call: Awaitable[T]) -> T:
        """An outside call (Teams, Graph, the directory), bounded: a hung peer must neither
        stall every other delivery nor outlive a claim's lease."""
        try:
            async with asyncio.timeout(self.delivery_timeout):
                return await call
        except TimeoutError:
            raise DeliveryFailed("timed out", maybe_delivered=True) from None

    async def _fire(self, item: Record, now: datetime) -> None:
        handler = self.timers.get(item.data["name"])
        subject = await self._subject(item.data["subject"])
        result = TimerResult() if handler is None else await handler(subject, item, now)
        if result.again_at is None:
            change = Change(
                records=[*result.records, *result.outbox],
                audit=result.audit,
                deletes=[(TIMER, item.id, item.version)],
            )
        else:
            moved = Record(
                TIMER,
                item.id,
                item.version + 1,
                {**item.data, "due_at": result.again_at.isoformat()},
            )
            change = Change(records=[moved, *result.records, *result.outbox], audit=result.audit)
        try:
            await self.store.commit(change)
        except VersionConflict:
            return  # fired elsewhere, or changed meanwhile: the next tick sees the new state

    async def _subject(self, ref: str) -> Record | None:
        kind, _, item_id = ref.partition(":")
        return await self.store.get(kind, item_id)

    async def _deliver(self, item: Record) -> int:
        data = item.data
        delivery = Delivery(data["delivery"])
        try:
            if delivery in {Delivery.DIRECT_TO_ROLE, Delivery.FEED_TO_ROLE}:
                await self._expand_role(item)
                return 0
            subject = await self._subject(data["subject"])
            renderer = self.renderers.get(data["render"])
            if data["render"] == UNHELD_ROLE_RENDER:
                outgoing: Outgoing | None = Outgoing(text=str(data.get("x_text", "")))
            elif renderer is None:
                outgoing = None
            else:
                outgoing = await self._call(renderer(subject, data))
            if delivery is Delivery.WEBHOOK:
                return await self._post_webhook(item, outgoing)
            if outgoing is not None and self.school is not None:
                outgoing = self._in_school_words(outgoing, self.school)
            if outgoing is None:
                await self._done(item)  # nothing to say any more (or nobody knows how)
                return 0
            if delivery is Delivery.CHANNEL_POST:
                posted = await self._post_once(item, outgoing)
                if posted is None:
                    return 0
                item, message_id, found = posted
                keep = Record(
                    CHANNEL_MESSAGE,
                    channel_message_id(data["subject"], data["target"], data["render"]),
                    1,
                    {"message_id": message_id, "conversation": data["target"]},
                )
                if found:  # the card found shows the item as it was then: bring it up to date
                    refresh = message(
                        Delivery.CHANNEL_UPDATE,
                        data["target"],
                        data["subject"],
                        data["render"],
                        self.clock.now(),
                    )
                    await self._done(item, keep, refresh)
                    self.doorbell.ring()
                else:
                    await self._done(item, keep)
            elif delivery is Delivery.CHANNEL_UPDATE:
                kept = await self.store.get(
                    CHANNEL_MESSAGE,
                    channel_message_id(data["subject"], data["target"], data["render"]),
                )
                if kept is not None:  # no post yet: the post will show the latest anyway
                    await self._call(
                        self.messenger.update(data["target"], kept.data["message_id"], outgoing)
                    )
                await self._done(item)
            elif delivery is Delivery.CHANNEL_NOTE:
                posted = await self._post_once(item, outgoing)
                if posted is None:
                    return 0
                await self._done(posted[0])
            elif delivery is Delivery.FEED:
                if self.notifier is not None:
                    await self._call(
                        self.notifier.notify(
                            data["target"],
                            title=str(data.get("x_title") or "Online safety"),
                            preview=outgoing.text or "",
                            item_ref=data["subject"],
                        )
                    )
                await self._done(item)
            else:
                await self._call(self.messenger.send_direct(data["target"], outgoing))
                await self._done(item)
            return 1
        except (DeliveryFailed, DirectoryUnavailable) as exc:
            retry_after = getattr(exc, "retry_after", None)
            await self._later(item, getattr(exc, "reason", exc.__class__.__name__), retry_after)
            return 0
        except StoreError as exc:
            self.status.last_failure = exc.__class__.__name__
            return 0

    async def _post_webhook(self, item: Record, outgoing: Outgoing | None) -> int:
        """Post a rendered body to the webhook, exactly as rendered (never reworded); the
        message is done once the receiver accepts it, and never posted again after that.
        Without a webhook configured it waits (the setting may come back), never dropped."""
        if outgoing is None or outgoing.text is None:
            await self._done(item)  # nothing to post any more
            return 0
        if self.webhook is None:
            await self._later(item, "no webhook is configured", MAX_BACKOFF)
            return 0
        key = str(item.data.get("x_key") or item.id)
        await self._call(self.webhook.post(outgoing.text.encode("utf-8"), key=key))
        await self._done(item)
        return 1

    async def _post_once(self, item: Record, outgoing: Outgoing) -> tuple[Record, str, bool] | None:
        """Post ``outgoing`` for ``item`` unless an earlier attempt already did; the outbox
        record as it now stands, the message id and whether it was an earlier post found in
        the channel, or None if the post must wait (then the record is already rescheduled).
        Only card posts are marked and checked (a text note has nowhere to carry the mark);
        without a ``PostFinder`` every attempt simply posts.
        """
        target = item.data["target"]
        marked = self.finder is not None and outgoing.card is not None
        earlier = item.data.get("sending_at")
        if marked and earlier:
            assert self.finder is not None
            gave_up = self._abandoned.get(item.id)
            if gave_up is not None and time.monotonic() - gave_up < self.in_flight_grace:
                return None  # that request may still reach Teams: ask on a later tick
            since = datetime.fromisoformat(earlier)
            wait = (since - self.clock.now()).total_seconds() + self.finder.settle_seconds
            if wait > 0:  # the channel's listing may not show that attempt yet
                await self._later(item, "checking whether Teams took an earlier attempt", wait)
                return None
            try:
                found = await self._call(
                    self.finder.find_post(
                        target, item.id, since - timedelta(seconds=self.finder.margin_seconds)
                    )
                )
            except NotReadYet as exc:  # nothing known yet: ask again, never post blind
                await self._later(item, exc.reason, exc.retry_after)
                return None
            except DeliveryFailed as exc:
                # A read that failed or ran out of time says nothing about the channel: ask
                # again (a slow or busy moment passes, and posting now would put a second card
                # in front of the DSL). If the channel still cannot be read after
                # READ_TRIES attempts, then for a safeguarding card a possible second copy is
                # better than a delay of unknown length.
                tries = int(item.data.get("read_failures", 0)) + 1
                if tries < READ_TRIES:
                    log.warning(
                        "could not check whether %s for %s was posted (%s); asking again",
                        item.data["render"],
                        item.data["subject"],
                        exc.reason,
                    )
                    await self._later(
                        item,
                        f"could not read the channel back ({exc.reason})",
                        exc.retry_after,
                        read_failures=tries,
                    )
                    return None
                log.warning(
                    "could not check whether %s for %s was posted (%s, %d times); posting it",
                    item.data["render"],
                    item.data["subject"],
                    exc.reason,
                    tries,
                )
                found = None
            self._abandoned.pop(item.id, None)
            if found is not None:
                log.info("%s for %s was already posted", item.data["render"], item.data["subject"])
                return item, found, True
        if marked:
            item = await self._mark_sending(item)
            outgoing = replace(outgoing, marker=item.id)
        try:
            message_id = await self._call(self.messenger.post(target, outgoing))
        except DeliveryFailed as exc:
            in_doubt = marked and exc.maybe_delivered
            if in_doubt:
                self._abandoned[item.id] = time.monotonic()
            await self._later(item, exc.reason, exc.retry_after, in_doubt=in_doubt)
            return None
        self._abandoned.pop(item.id, None)
        return item, message_id, False

    async def _mark_sending(self, item: Record) -> Record:
        """Record, durably, that a post is about to be made (so a crash leaves a mark).

        The message falls due again only after a lease's length: writing a record ends its
        claim on a shared store, and no other instance may take it up while this one posts.
        """
        now = self.clock.now()
        marked = Record(
            OUTBOX,
            item.id,
            item.version + 1,
            {
                **{k: v for k, v in item.data.items() if k != "read_failures"},
                "sending_at": now.isoformat(),
                "next_at": (now + timedelta(seconds=self.lease_seconds)).isoformat(),
            },
        )
        await self.store.commit(Change(records=[marked]))
        return marked

    @staticmethod
    def _in_school_words(outgoing: Outgoing, school: SchoolPolicy) -> Outgoing:
        """The school's clause names and role titles, never seed-file numbers."""
        words = school.own_words()
        card = outgoing.card
        if card is not None:
            card = cast(Mapping[str, Any], cite_all(card, school.clauses, words))
        text = outgoing.text
        if text is not None:
            text = reword(cite(text, school.clauses), words)
        return replace(outgoing, card=card, text=text)

    def _role_name(self, role: Role) -> str:
        return self.school.role_name(role) if self.school else DEFAULT_ROLE_NAMES[role]

    def _fallback_for(self, role: Role) -> tuple[Role, ...]:
        if self.school is not None:
            return self.school.fallback_for(role)
        return tuple(r for r in (Role.DSL, Role.DEPUTY_DSL) if r is not role)

    async def _holders(self, roles: Sequence[Role]) -> list[Any]:
        people: dict[str, Any] = {}
        for role in roles:
            for person in await self._call(self.directory.members(role)):
                people.setdefault(person.id, person)
        return list(people.values())

    async def _expand_role(self, item: Record) -> None:
        """One copy for every holder of the role. A role nobody holds is never a message to
        nobody: it goes to the role's fallback (the DSL and deputies unless the school names
        another; never a channel), the DSL team is told who is missing, and ``/healthz``
        counts it. With nobody in the fallback either, it waits and is tried again."""
        role = Role(item.data["target"])
        people = await self._holders([role])
        now = self.clock.now()
        alerts: list[Record] = []
        if people:
            self.status.unheld_roles.pop(role.value, None)
        else:
            fallback = self._fallback_for(role)
            people = await self._holders(fallback)
            if not people:
                self.status.unheld_roles[role.value] = self.status.unheld_roles.get(role.value, 0)
                log.error("no one holds role %s or its fallback: a message waits", role.value)
                await self._later(item, f"nobody holds the role {role.value} or its fallback", None)
                return
            self.status.unheld_roles[role.value] = self.status.unheld_roles.get(role.value, 0) + 1
            log.error("no one holds role %s: a message went to its fallback", role.value)
            if item.data["delivery"] == Delivery.DIRECT_TO_ROLE:
                alerts = await self._unheld_alerts(item, role, fallback, people, now)
        single = (
            Delivery.FEED if item.data["delivery"] == Delivery.FEED_TO_ROLE else Delivery.DIRECT
        )
        copies = [
            message(
                single,
                person.id,
                item.data["subject"],
                item.data["render"],
                now,
                **{k: v for k, v in item.data.items() if k.startswith("x_")},
            )
            for person in people
        ]
        await self.store.commit(
            Change(records=[*copies, *alerts], deletes=[(OUTBOX, item.id, item.version)])
        )
        if alerts:
            self.doorbell.ring()

    async def _unheld_alerts(
        self,
        item: Record,
        role: Role,
        fallback: Sequence[Role],
        people: Sequence[Any],
        now: datetime,
    ) -> list[Record]:
        """ "Nobody holds the role X" for the DSL team (or, without one, those who got it)."""
        name = self._role_name(role)
        went_to = " and ".join(self._role_name(r) for r in fallback)
        _, _, ref = str(item.data["subject"]).partition(":")
        text = (
            f"Nobody holds the role {name} in the directory, so a message for them "
            f"({ref}) went to the {went_to} instead. Please add the right person to the "
            f"{name} group, or tell the school's IT team."
        )
        team = await self._holders(sorted(SAFEGUARDING_LEADS)) or list(people)
        return [
            message(
                Delivery.DIRECT,
                person.id,
                item.data["subject"],
                UNHELD_ROLE_RENDER,
                now,
                x_text=text,
                x_role=role.value,
            )
            for person in team
        ]

    async def _done(self, item: Record, *keep: Record) -> None:
        await self.store.commit(Change(records=keep, deletes=[(OUTBOX, item.id, item.version)]))
        log.info("delivered %s for %s", item.data["render"], item.data["subject"])

    async def _later(
        self,
        item: Record,
        reason: str,
        retry_after: float | None,
        *,
        in_doubt: bool | None = None,
        read_failures: int | None = None,
    ) -> None:
        """Try ``item`` again later. ``in_doubt``: whether the attempt just made may have
        reached Teams (True keeps its ``sending_at`` mark, False clears it, None leaves it).
        ``read_failures``: reads of the channel that failed in a row, for this mark."""
        attempts = int(item.data["attempts"]) + 1
        delay = min(MAX_BACKOFF, 2.0 ** min(attempts, 10)) * random.uniform(0.8, 1.2)  # noqa: S311
        if retry_after is not None:
            delay = min(max(retry_after, 0.0), 600.0)
        data = {
            **item.data,
            "attempts": attempts,
            "last_error": reason,
            "next_at": (self.clock.now() + timedelta(seconds=delay)).isoformat(),
        }
        if in_doubt is False:
            data.pop("sending_at", None)
        if read_failures is not None:
            data["read_failures"] = read_failures
        later = Record(OUTBOX, item.id, item.version + 1, data)
        self.status.last_failure = reason
        log.warning(
            "delivery of %s for %s failed (%s), attempt %d; retrying in %.0fs",
            item.data["render"],
            item.data["subject"],
            reason,
            attempts,
            delay,
        )
        await self.store.commit(Change(records=[later]))
