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

The package, one job a module: ``records`` (message and timer records, ``Delivery``, the
claim rules and limits, the doorbell), ``status`` (/healthz), ``worker`` (the loop, ticks and
claims), ``timers`` (firing a timer), ``delivery`` (delivering one message), ``roles`` (a
message for a role) and ``steps`` (what they share). Everything public is re-exported here.
"""

from __future__ import annotations

from dialogs.outbox.delivery import Delivering
from dialogs.outbox.records import (
    CHANNEL_MESSAGE,
    CLAIM_BATCH,
    CLAIM_RULES,
    DELIVERY_TIMEOUT,
    IN_FLIGHT_GRACE,
    LEASE_SECONDS,
    MAX_BACKOFF,
    OUTBOX,
    OUTBOX_FORMAT,
    READ_TRIES,
    TIMER,
    UNHELD_ROLE_RENDER,
    Delivery,
    Doorbell,
    OutboxMessage,
    Renderer,
    TimerHandler,
    TimerResult,
    UnreadableMessage,
    channel_message_id,
    message,
    timer,
)
from dialogs.outbox.roles import RoleDelivery
from dialogs.outbox.status import OutboxStatus
from dialogs.outbox.steps import WorkerSteps
from dialogs.outbox.timers import TimerFiring
from dialogs.outbox.worker import OutboxWorker

__all__ = [
    "CHANNEL_MESSAGE",
    "CLAIM_BATCH",
    "CLAIM_RULES",
    "DELIVERY_TIMEOUT",
    "IN_FLIGHT_GRACE",
    "LEASE_SECONDS",
    "MAX_BACKOFF",
    "OUTBOX",
    "OUTBOX_FORMAT",
    "READ_TRIES",
    "TIMER",
    "UNHELD_ROLE_RENDER",
    "Delivering",
    "Delivery",
    "Doorbell",
    "OutboxMessage",
    "OutboxStatus",
    "OutboxWorker",
    "Renderer",
    "RoleDelivery",
    "TimerFiring",
    "TimerHandler",
    "TimerResult",
    "UnreadableMessage",
    "WorkerSteps",
    "channel_message_id",
    "message",
    "timer",
]
