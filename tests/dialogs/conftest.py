"""The fast tier: each feature's handlers driven through the use-case layer.

``Router`` and the features are built as ``bot.app.bootstrap`` builds them (``Deps`` ->
``build_features`` -> ``Router``), over the in-memory store, the demo school's local directory
(``config/demo-directory.json``), a fixed clock and an outbox drained in-process into a
``RecordingMessenger``. No aiohttp, no botbuilder, no files written: a test runs in milliseconds.
The HTTP suites in ``tests/e2e`` keep the edges (activities, invokes, the Bot Connector).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from bot.features import build_features
from dialogs.feature import Deps
from dialogs.message_action import MessageActions
from dialogs.outbox import OUTBOX, OutboxWorker
from dialogs.ports import DeliveryFailed, FixedClock, Outgoing, Record
from dialogs.router import Reply, Router, Scope, Turn
from graph.local_directory import LocalCalendar, LocalDirectory, LocalNotifier
from policy.audit import AuditEntry
from policy.school import SchoolPolicy
from store.memory import InMemoryStore
from tests.support import ROOT, dm, visible_text

#: A Monday in term, 10:00 UTC (as the HTTP harness).
MONDAY_TEN = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@dataclass
class RecordingMessenger:
    """The Messenger port, remembering what would have reached Teams (conversation, card)."""

    posted: list[tuple[str, Outgoing]] = field(default_factory=list)
    updated: list[tuple[str, str, Outgoing]] = field(default_factory=list)
    #: While set, every delivery fails as Teams failing would (nothing reaches anyone).
    failing: DeliveryFailed | None = None
    failures: int = 0

    def _check(self) -> None:
        if self.failing is not None:
            self.failures += 1
            raise self.failing

    async def post(self, conversation_id: str, message: Outgoing) -> str:
        self._check()
        self.posted.append((conversation_id, message))
        return f"msg-{len(self.posted)}"

    async def update(self, conversation_id: str, message_id: str, message: Outgoing) -> None:
        self._check()
        self.updated.append((conversation_id, message_id, message))

    async def send_direct(self, person_id: str, message: Outgoing) -> None:
        self._check()
        self.posted.append((dm(person_id), message))

    def conversations(self) -> set[str]:
        """Every conversation something was posted to (1:1 chats as ``dm(person)``)."""
        return {c for c, _ in self.posted}

    def to(self, conversation: str) -> list[Outgoing]:
        """Every message posted to ``conversation``."""
        return [m for c, m in self.posted if c == conversation]

    def latest(self, conversation: str, heading_part: str) -> dict[str, Any]:
        """The newest version (posted or updated) of a card in ``conversation`` whose heading
        holds ``heading_part``."""
        versions = [m for c, m in self.posted if c == conversation]
        versions += [m for c, _, m in self.updated if c == conversation]
        for message in reversed(versions):
            if (
                message.card is not None
                and heading_part in visible_text(dict(message.card)).splitlines()[0]
            ):
                return dict(message.card)
        raise AssertionError(f"no card with {heading_part!r} in {conversation}")

    def shown(self, conversation: str) -> list[dict[str, Any]]:
        """What ``conversation`` shows now: each card posted there, as last updated."""
        latest: list[dict[str, Any]] = []
        for number, (where, message) in enumerate(self.posted, start=1):
            if where != conversation or message.card is None:
                continue
            updates = [m for _, i, m in self.updated if i == f"msg-{number}" and m.card]
            latest.append(dict((updates[-1] if updates else message).card or {}))
        return latest

    def texts(self, conversation: str) -> list[str]:
        """Every plain-text message posted to ``conversation``."""
        return [m.text for c, m in self.posted if c == conversation and m.text]

    def cards(self, conversation: str | None = None) -> list[dict[str, Any]]:
        """Every card posted (to ``conversation`` if given), in order."""
        return [
            dict(m.card)
            for c, m in self.posted
            if m.card is not None and (conversation is None or c == conversation)
        ]


@dataclass
class ExportsShelf:
    """The Exports port: keeps what was published and hands back a link."""

    files: dict[str, bytes] = field(default_factory=dict)
    #: link -> (media type, text) of everything published.
    links: dict[str, tuple[str, str]] = field(default_factory=dict)

    async def publish(self, filename: str, content: bytes, *, media_type: str) -> str:
        self.files[filename] = content
        link = f"https://bot.example/exports/{len(self.links) + 1}/{filename}"
        self.links[link] = (media_type, content.decode("utf-8-sig"))
        return link

    def download(self, link: str) -> tuple[str, str]:
        """(media type, text) behind ``link``."""
        return self.links[link]


class School:
    """The demo school's bot without Teams: say, click, drain the outbox, look in the store."""

    def __init__(self, school: SchoolPolicy, directory: LocalDirectory) -> None:
        self.clock = FixedClock(MONDAY_TEN)
        self.store = InMemoryStore()
        self.directory = directory
        self.messenger = RecordingMessenger()
        self.notifier = LocalNotifier()
        self.exports = ExportsShelf()
        self.deps = Deps(
            school=school,
            store=self.store,
            directory=directory,
            clock=self.clock,
            calendar=LocalCalendar(directory, self.clock),
            notifier=self.notifier,
            exports=self.exports,
        )
        features = build_features(self.deps)
        self.router = Router(
            school=school,
            directory=directory,
            store=self.store,
            clock=self.clock,
            features=features,
        )
        self.worker = OutboxWorker(
            store=self.store,
            messenger=self.messenger,
            directory=directory,
            notifier=self.notifier,
            clock=self.clock,
            # As bootstrap: the features' renderers and Router' own (answers sent privately).
            renderers={
                **{k: v for f in features for k, v in f.renderers.items()},
                **self.router.renderers,
            },
            timers={k: v for f in features for k, v in f.timers.items()},
            school=school,
        )
        self.message_actions = MessageActions(
            self.router, school=school, directory=directory, store=self.store, clock=self.clock
        )
        self._activity = 0

    def turn(
        self,
        who: str | None,
        *,
        scope: str = "personal",
        conversation_id: str = "",
        trigger: str = "manual",
        activity_id: str = "",
    ) -> Turn:
        """A turn from ``who`` (a fresh activity id each time, as Teams gives, unless
        ``activity_id`` is given: a Teams retry sends the same one)."""
        self._activity += 1
        return Turn(
            actor_id=who,
            scope=Scope(scope),
            activity_id=activity_id or f"activity-{self._activity}",
            conversation_id=conversation_id or f"a:personal-{who}",
            automatic=trigger == "automatic",
        )

    async def act(
        self, who: str | None, verb: str, data: Mapping[str, Any] | None = None, **where: Any
    ) -> Reply:
        """``who`` clicks an Action.Execute button; the whole reply."""
        payload = {"verb": verb, "v": 1, **(data or {})}
        return await self.router.on_action(self.turn(who, **where), verb, payload)

    async def click(
        self, who: str | None, verb: str, data: Mapping[str, Any] | None = None, **where: Any
    ) -> dict[str, Any]:
        """``who`` clicks; the card they then see (as the HTTP harness's ``click``)."""
        reply = await self.act(who, verb, data, **where)
        assert reply.card is not None, reply
        return dict(reply.card)

    async def say(
        self, who: str | None, text: str, *, attachments: int = 0, **where: Any
    ) -> list[Reply]:
        """``who`` types ``text`` (with ``attachments`` files); the replies."""
        return await self.router.on_message(self.turn(who, **where), text, attachments=attachments)

    async def settle(self) -> None:
        """Run the outbox until nothing more is due now (a message to a role first becomes one
        message per member, so a tick that delivered nothing but changed the outbox goes on)."""
        for _ in range(20):
            before = {r.id for r in await self.store.find(OUTBOX)}
            delivered = await self.worker.tick()
            after = {r.id for r in await self.store.find(OUTBOX)}
            if not delivered and before == after:
                return

    def advance(self, **delta: float) -> None:
        self.clock.at += timedelta(**delta)

    async def find(self, kind: str, **equals: Any) -> list[Record]:
        return await self.store.find(kind, **equals)

    async def audit(self) -> list[AuditEntry]:
        return list(await self.store.audit_log())


@pytest.fixture(scope="session")
def demo_school() -> SchoolPolicy:
    return load_school_policy(DEFAULT_SCHOOL_CONFIG)


@pytest.fixture(scope="session")
def demo_directory(demo_school: SchoolPolicy) -> LocalDirectory:
    return LocalDirectory.load(ROOT / "config" / "demo-directory.json", demo_school.role_groups())


@pytest.fixture
def school(demo_school: SchoolPolicy, demo_directory: LocalDirectory) -> School:
    return School(demo_school, demo_directory)
