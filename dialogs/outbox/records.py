"""What the outbox stores and how features add to it: message and timer records, how a
message travels (``Delivery``), what a timer causes (``TimerResult``), the claim rules and
the limits, and the doorbell that wakes the worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
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
