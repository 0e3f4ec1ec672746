"""What the outbox stores and how features add to it: message and timer records (a message
read once, typed, as ``OutboxMessage``), how a message travels (``Delivery``), what a timer
causes (``TimerResult``), the claim rules and the limits, and the doorbell that wakes the
worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dialogs.ports import (
    ClaimRule,
    Outgoing,
    Record,
)
from policy.audit import AuditEvent

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


#: The layout of an outbox message's stored data this code writes and reads. A record without
#: the ``v`` key is layout 1 (every record written before the key existed); layout 1 is
#: written without it, so the stored shape is the same as before.
OUTBOX_FORMAT = 1
#: The stored keys an ``OutboxMessage`` reads into its own fields (the rest are kept as they
#: are, in ``extra``: the renderers' ``x_`` values).
_OWN_KEYS = frozenset(
    {
        "v",
        "delivery",
        "target",
        "subject",
        "render",
        "attempts",
        "next_at",
        "created_at",
        "last_error",
        "sending_at",
        "read_failures",
    }
)


class UnreadableMessage(ValueError):
    """An outbox record this code cannot read: a later layout (``v``) or a damaged one. The
    worker leaves it queued (never deletes it) and logs its id and layout, never its data."""

    def __init__(self, record_id: str, why: str) -> None:
        super().__init__(f"outbox message {record_id}: {why}")
        self.record_id = record_id
        self.why = why


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One outbox message, read once from its record (``from_record``) where the worker loads
    it, and written back with ``to_record`` (the same stored shape as ``to_data``)."""

    #: The record's id and version (each write of the record adds one).
    id: str
    revision: int
    delivery: Delivery
    #: A channel, a person's id, a role's value or "webhook", as ``delivery`` says.
    target: str
    #: What it is about, ``kind:id``.
    subject: str
    #: The renderer that draws it, at delivery time.
    render: str
    next_at: str
    created_at: str
    attempts: int = 0
    last_error: str = ""
    #: When a post was last about to be made (so a crash leaves a mark), if one was.
    sending_at: str | None = None
    #: Reads of the channel that failed in a row, for the ``sending_at`` mark.
    read_failures: int | None = None
    #: Every other stored key, as stored (the renderers' ``x_`` values).
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: The stored layout (``OUTBOX_FORMAT``).
    version: int = OUTBOX_FORMAT

    @property
    def extras(self) -> dict[str, Any]:
        """The renderers' values (``x_`` keys), as a copy for a role's messages carries them."""
        return {k: v for k, v in self.extra.items() if k.startswith("x_")}

    def to_data(self) -> dict[str, Any]:
        """The stored data: the keys and order ``message`` has always written."""
        data: dict[str, Any] = {
            "delivery": self.delivery.value,
            "target": self.target,
            "subject": self.subject,
            "render": self.render,
            "attempts": self.attempts,
            "next_at": self.next_at,
            "created_at": self.created_at,
            "last_error": self.last_error,
            **self.extra,
        }
        if self.sending_at is not None:
            data["sending_at"] = self.sending_at
        if self.read_failures is not None:
            data["read_failures"] = self.read_failures
        if self.version != OUTBOX_FORMAT:
            data["v"] = self.version
        return data

    def to_record(self, revision: int | None = None) -> Record:
        """The record to store (at ``revision``, by default the one it was read at)."""
        return Record(
            OUTBOX, self.id, self.revision if revision is None else revision, self.to_data()
        )

    @classmethod
    def from_record(cls, record: Record) -> OutboxMessage:
        """Read a stored message; ``UnreadableMessage`` for a layout other than this code's
        (a record without ``v`` is layout 1) or a record missing what every message has."""
        data = record.data
        version = data.get("v", OUTBOX_FORMAT)
        if type(version) is not int:  # never its value in the log: it could be anything
            raise UnreadableMessage(record.id, "a layout that is not a number")
        if version != OUTBOX_FORMAT:
            raise UnreadableMessage(record.id, f"layout {version}, not known to this version")
        try:
            delivery = Delivery(str(data.get("delivery")))
        except ValueError:
            raise UnreadableMessage(record.id, "no known delivery") from None
        text = {k: data.get(k) for k in ("target", "subject", "render", "next_at")}
        missing = sorted(k for k, v in text.items() if not isinstance(v, str))
        if missing:
            raise UnreadableMessage(record.id, f"no {', '.join(missing)}")
        attempts = data.get("attempts", 0)
        read_failures = data.get("read_failures")
        sending_at = data.get("sending_at")
        if not isinstance(attempts, int) or not isinstance(read_failures, int | None):
            raise UnreadableMessage(record.id, "counts that are not numbers")
        return cls(
            id=record.id,
            revision=record.version,
            delivery=delivery,
            target=str(text["target"]),
            subject=str(text["subject"]),
            render=str(text["render"]),
            next_at=str(text["next_at"]),
            created_at=str(data.get("created_at") or text["next_at"]),
            attempts=attempts,
            last_error=str(data.get("last_error", "")),
            sending_at=str(sending_at) if sending_at else None,
            read_failures=read_failures,
            extra={k: v for k, v in data.items() if k not in _OWN_KEYS},
            version=version,
        )


def message(
    delivery: Delivery,
    target: str,
    subject: str,
    render: str,
    now: datetime,
    **extra: str,
) -> Record:
    """A new outbox record: deliver ``render`` of ``subject`` (``kind:id``) to ``target``."""
    return OutboxMessage(
        id=uuid.uuid4().hex,
        revision=1,
        delivery=delivery,
        target=target,
        subject=subject,
        render=render,
        next_at=now.isoformat(),
        created_at=now.isoformat(),
        extra=extra,
    ).to_record()


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
