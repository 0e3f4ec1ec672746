"""Ports: what the use cases need from the outside world, as async Protocols.

Adapters implement them by technology (``TinyDbStore``, ``LocalDirectory``, later
``GraphDirectory``); fakes implement them in memory. One contract test suite keeps every
implementation honest (``tests/contract``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from policy.audit import AuditEntry, AuditEvent, ChainCheck
from policy.roles import Person, Role

#: The record layout version this code writes. A store holding a newer one refuses to open.
RECORD_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class Record:
    """One stored item (a concern, a filter request…) as plain JSON data.

    ``version`` is the record's own version for optimistic concurrency: writing version ``n``
    succeeds only when the stored version is ``n - 1`` (or absent when ``n`` is 1), so two
    concurrent clicks make one transition.
    """

    kind: str
    id: str
    version: int
    data: Mapping[str, Any]
    schema: int = RECORD_SCHEMA

    def __post_init__(self) -> None:
        if not self.kind or not self.kind.replace("_", "").isalnum():
            raise ValueError(f"record kind {self.kind!r} must be letters, digits and _")
        if not self.id or len(self.id) > 200:
            raise ValueError("record id must be 1-200 characters")
        if self.version < 1:
            raise ValueError("record versions start at 1")

    @property
    def ref(self) -> str:
        """``kind:id``, the way audit entries name an item."""
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Change:
    """One atomic change: records written and audit events appended, all or nothing.

    ``dedupe_key`` (e.g. the Teams activity id) makes the change happen at most once: a second
    commit with the same key raises ``DuplicateRequest`` and changes nothing.
    """

    records: Sequence[Record] = ()
    audit: Sequence[AuditEvent] = ()
    dedupe_key: str | None = None
    #: ``(kind, id, version)`` of records to remove; the stored version must match.
    deletes: Sequence[tuple[str, str, int]] = ()

    def __post_init__(self) -> None:
        if not self.records and not self.audit and not self.deletes:
            raise ValueError("a change must write, delete or audit something")
        refs = [r.ref for r in self.records] + [f"{k}:{i}" for k, i, _ in self.deletes]
        if len(refs) != len(set(refs)):
            raise ValueError("a change may touch each record once")


class StoreError(Exception):
    """The store could not do what was asked. Nothing was changed unless said otherwise."""


class VersionConflict(StoreError):
    """Someone else changed the record first; reload it and decide again."""

    def __init__(self, ref: str, expected: int, found: int) -> None:
        super().__init__(f"{ref}: expected stored version {expected}, found {found}")
        self.ref = ref
        self.expected = expected
        self.found = found


class DuplicateRequest(StoreError):
    """A change with this dedupe key was already committed; ``refs`` are the records it wrote."""

    def __init__(self, key: str, refs: Sequence[str]) -> None:
        super().__init__(f"already done: {key}")
        self.key = key
        self.refs = tuple(refs)


class StoreUnavailable(StoreError):
    """Writing failed (disk full, I/O error). The previous data is intact."""


def count_and_oldest(records: Sequence[Record], time_field: str) -> tuple[int, datetime | None]:
    """``Store.count_oldest`` over records already read (for stores that must read them)."""
    times = []
    for record in records:
        try:
            times.append(datetime.fromisoformat(record.data[time_field]))
        except (KeyError, TypeError, ValueError):
            continue  # counted, with no time to give
    return len(records), min(times, default=None)


def _time_of(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def is_due(value: object, at: datetime) -> bool:
    """Whether a record whose time field holds ``value`` is due at ``at``: its ISO-8601 time
    (with its zone) is at or before ``at``, or it holds no such time (never silently skipped:
    the caller handles it as it would have on reading every record)."""
    when = _time_of(value)
    try:
        return when is None or when <= at
    except TypeError:  # a time without its zone cannot be compared: no such time
        return True


def due_of(records: Iterable[Record], time_field: str, at: datetime) -> list[Record]:
    """``Store.due`` over records already read: the due ones, those without a readable time
    first, then by time (and id)."""
    keyed: list[tuple[tuple[int, datetime, str], Record]] = []
    for record in records:
        value = record.data.get(time_field)
        if is_due(value, at):
            when = _time_of(value)
            readable = when is not None and when.tzinfo is not None
            keyed.append(((1, when, record.id) if readable else (0, at, record.id), record))  # type: ignore[arg-type]
    return [record for _, record in sorted(keyed, key=lambda pair: pair[0])]


class Store(Protocol):
    """Durable records, sequences and the hash-chained audit log.

    A change returned from ``commit`` is on disk (or in the database) before it returns: only
    then may the user be told "received".
    """

    async def get(self, kind: str, item_id: str) -> Record | None:
        """The record, or None."""
        ...

    async def find(self, kind: str, **equals: str | int | bool | None) -> list[Record]:
        """Records of ``kind`` whose top-level data fields equal the given values."""
        ...

    async def count_oldest(self, kind: str, time_field: str) -> tuple[int, datetime | None]:
        """How many records of ``kind`` there are, and the earliest ISO-8601 time (with its
        zone) held in their ``time_field``, or None when none holds one (a record whose field
        is missing or not such a time is counted, without a time): what the outbox's status
        needs, without reading every record where the store can count them itself."""
        ...

    async def due(self, kind: str, time_field: str, at: datetime) -> list[Record]:
        """The records of ``kind`` whose ``time_field`` holds an ISO-8601 time (with its zone)
        at or before ``at``, and those whose field holds no such time (missing or unreadable:
        returned, never skipped), as ``due_of`` orders them: what the outbox's tick needs,
        without reading every timer and message where the store can pick them itself."""
        ...

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        """Apply ``change`` atomically and durably; return the sealed audit entries.

        Raises:
            VersionConflict: a record's stored version is not the one before it.
            DuplicateRequest: ``dedupe_key`` was committed before.
            StoreUnavailable: the write failed; nothing changed.
        """
        ...

    async def next_sequence(self, name: str, *, key: str | None = None) -> int:
        """The next number (1, 2, 3…) of a named sequence, durably; never the same twice.

        With ``key`` (the dedupe key of the change that will use the number), every draw with
        the same key and name gets the same number, however many run at once: copies of one
        form sent together (a double click, a Teams retry) use up one number between them, so
        references stay gap-free. Keys are remembered long enough for copies sent together
        (PostgreSQL: two days; the embedded store: its last 10 000 keys, until it restarts);
        a later copy meets the change's dedupe key instead.
        """
        ...

    async def deduped(self, key: str) -> tuple[str, ...] | None:
        """The refs written by the change committed with dedupe ``key``, or None if none was."""
        ...

    async def audit_log(self) -> list[AuditEntry]:
        """Every audit entry, oldest first."""
        ...

    async def verify_audit(self) -> ChainCheck:
        """Verify the audit chain from the first entry."""
        ...

    async def close(self) -> None:
        """Release files and locks."""
        ...


@dataclass(frozen=True, slots=True)
class ClaimRule:
    """How records of one kind are claimed by ``ClaimingStore.claim_due``.

    ``due_field`` names the data field holding the ISO-8601 time the record falls due. Records
    sharing the value of ``group_field`` (e.g. an outbox message's subject) are never in flight
    on two instances at once, so a card update cannot overtake the post it updates.
    """

    due_field: str
    group_field: str | None = None


@runtime_checkable
class ClaimingStore(Store, Protocol):
    """An optional capability: a store several processes share (PostgreSQL).

    The outbox worker uses it, when the store has it, so that each message is delivered and
    each timer fired by one instance only. Single-process stores (TinyDB, in memory) do not
    need it: one worker, whose ticks never overlap, already does each thing once.
    """

    async def claim_due(
        self, kind: str, now: datetime, *, lease_seconds: float, owner: str, limit: int
    ) -> list[Record]:
        """Lease up to ``limit`` records of ``kind`` that are due at ``now`` to ``owner``.

        A leased record is invisible to other claims until ``lease_seconds`` pass (measured
        by the store's own clock) or the record is written or deleted, whichever comes first;
        so a crashed instance's work is taken over once its leases run out. Records are
        returned oldest due first; none shares a ``ClaimRule.group_field`` value with a record
        that is already leased.

        Raises:
            ValueError: the store has no ``ClaimRule`` for ``kind``.
            StoreUnavailable: the store cannot be reached.
        """
        ...


class Directory(Protocol):
    """Who is who: people and their roles (local directory file, or Microsoft Graph)."""

    async def person(self, object_id: str) -> Person | None:
        """The person with this Entra object id, or None if the directory does not know them.

        Raises:
            DirectoryUnavailable: the directory cannot be asked right now.
        """
        ...

    async def members(self, role: Role) -> tuple[Person, ...]:
        """Everyone holding ``role`` (for 1:1 alerts to each DSL and deputy)."""
        ...


class DirectoryUnavailable(Exception):
    """The directory could not answer (Graph down or slow); try again later."""


class Clock(Protocol):
    """The time, as an aware UTC datetime (a port so that tests can move time)."""

    def now(self) -> datetime:
        """Now, in UTC."""
        ...


@dataclass(slots=True)
class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Now, in UTC."""
        return datetime.now(UTC)


@dataclass(slots=True)
class FixedClock:
    """A clock that stands still until moved (for tests and demos)."""

    at: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 10, 0, tzinfo=UTC))

    def now(self) -> datetime:
        """The set time."""
        return self.at


class StoreCorrupted(StoreError):
    """A store file cannot be read (truncated, garbage, or written by newer code).

    Raised when the store opens: the service refuses to start rather than start empty.
    """


class StoreLocked(StoreError):
    """Another process is already using this store (one writer only)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message the bot sends on its own: an Adaptive Card and/or text."""

    card: Mapping[str, Any] | None = None
    text: str | None = None
    #: The outbox message this is (a card carries it, unseen, so that ``PostFinder`` can tell
    #: whether an attempt cut off by a crash or a time-out reached the channel after all).
    marker: str | None = None


class DeliveryFailed(Exception):
    """Teams did not take the message; try again later (``retry_after`` seconds if it said).

    ``maybe_delivered`` is True when the request may have reached Teams before it failed (a
    time-out, a dropped connection, a gateway error): a retry must first check whether it did.
    """

    def __init__(
        self, reason: str, retry_after: float | None = None, *, maybe_delivered: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class NotReadYet(DeliveryFailed):
    """The channel cannot be read back yet, though nothing is wrong (the reader is still
    getting ready): nothing is known either way, so the post waits and asks again; it is not
    made again on the strength of an unread channel."""


class Messenger(Protocol):
    """Proactive messages: new channel posts, updates to them, and 1:1 messages."""

    async def post(self, conversation_id: str, message: Outgoing) -> str:
        """Post a new message in a channel (or conversation); return its message id.

        Raises:
            DeliveryFailed: not delivered (nothing was posted, as far as Teams said).
        """
        ...

    async def update(self, conversation_id: str, message_id: str, message: Outgoing) -> None:
        """Replace a message the bot posted earlier, for everyone who can see it.

        Raises:
            DeliveryFailed: not updated.
        """
        ...

    async def send_direct(self, person_id: str, message: Outgoing) -> None:
        """Send a 1:1 message to the person with this Entra object id.

        Raises:
            DeliveryFailed: not delivered.
        """
        ...


class PostFinder(Protocol):
    """Reads a channel back: did an earlier attempt at a post reach it after all?

    The Bot Connector has no idempotency key, so a post cut off after Teams took it (the bot
    killed, or the answer lost) cannot simply be sent again. The outbox asks this first.
    """

    #: Seconds after a post before the channel's listing can be trusted to show it.
    settle_seconds: float
    #: Seconds before an attempt that its post may be listed as made (clocks differ): the
    #: listing is read back this far before the attempt.
    margin_seconds: float

    async def find_post(self, conversation_id: str, marker: str, since: datetime) -> str | None:
        """The message id of a post carrying ``marker`` made in the conversation since
        ``since``, or None if there is none.

        Raises:
            NotReadYet: the reader is still getting ready: ask again shortly.
            DeliveryFailed: the channel cannot be read right now.
        """
        ...


@dataclass(frozen=True, slots=True)
class Meeting:
    """A teacher's upcoming online meeting, with the settings the video-call rules check."""

    id: str
    subject: str
    start: datetime
    end: datetime
    organizer_id: str
    attendee_ids: tuple[str, ...] = ()
    #: Teams meeting options (Graph ``onlineMeeting``): who can record, bypass the lobby, present.
    allow_recording: bool = True
    record_automatically: bool = False
    lobby_bypass: str = "organization"
    allowed_presenters: str = "everyone"
    has_external_guests: bool = False


class Calendar(Protocol):
    """Upcoming online meetings (Graph calendar events with an online meeting, or demo data)."""

    async def upcoming(self, person_id: str, *, days: int = 7) -> tuple[Meeting, ...]:
        """The person's online meetings starting in the next ``days`` days, soonest first.

        Raises:
            DirectoryUnavailable: the calendar cannot be asked right now.
        """
        ...


class Notifier(Protocol):
    """Activity-feed notifications for urgent items (Graph ``sendActivityNotification``)."""

    async def notify(self, person_id: str, *, title: str, preview: str, item_ref: str) -> None:
        """Put an alert in the person's Teams activity feed. ``preview`` must hold no
        safeguarding detail (a reference and category at most).

        Raises:
            DeliveryFailed: not delivered; the caller retries through the outbox.
        """
        ...


class Exports(Protocol):
    """Short-lived downloads (CSV exports) for the person who asked for them."""

    async def publish(self, filename: str, content: bytes, *, media_type: str) -> str:
        """Make ``content`` downloadable for a short time; return the link to it."""
        ...


class Webhook(Protocol):
    """The school's own receiver for hand-offs (issue 20): a signed HTTPS post."""

    async def post(self, body: bytes, *, key: str) -> None:
        """Post ``body`` signed, with ``key`` as its idempotency key (the same on every retry).

        Raises:
            DeliveryFailed: the receiver did not accept it (try again later).
        """
        ...
