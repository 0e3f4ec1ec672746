"""Hand-off over real HTTP (issue 20): the DSL clicks "Send to MyConcern" on several concerns;
each pack reaches their 1:1 chat, and each structured record reaches the school's webhook (a
local aiohttp receiver that checks every signature and refuses 30% of posts at random,
seeded) exactly once, across a restart of the bot; the outbox's backoff is driven by moving
the clock, never by sleeping. A wrong or missing secret refuses start-up."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config import DEFAULT_SCHOOL_CONFIG, ConfigError, load_settings
from dialogs import concern as concern_feature
from dialogs.handoff import KIND as HANDOFF_KIND
from dialogs.outbox import OUTBOX
from dialogs.ports import Change, FixedClock, Record
from policy.concerns import Concern, RiskAnswer, Source
from policy.handoff import (
    IDEMPOTENCY_HEADER,
    SCHEMA,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature_matches,
)
from policy.roles import Person, Role
from tests.conftest import Harness, local_env
from tests.support import DSL, TEACHER, FakeConnector, visible_text

SECRET = "k3Y-for-tests-only-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
ENV = "HANDOFF_WEBHOOK_SECRET"
DANIEL = Person(TEACHER, "Daniel Okafor", frozenset({Role.STAFF}))
WHAT = "CANARY-HANDOFF messages asking to meet"
HANDOFFS = 8


@dataclass
class Receiver:
    """The school's own system: checks each signature, and refuses ``fail_rate`` of posts
    (before keeping anything) at random, from a seeded generator."""

    fail_rate: float = 0.3
    rng: random.Random = field(default_factory=lambda: random.Random(20))
    #: Every post that came: (idempotency key, body, signature valid).
    posts: list[tuple[str, bytes, bool]] = field(default_factory=list)
    #: Posts it accepted (answered 200 and kept): (key, body).
    accepted: list[tuple[str, bytes]] = field(default_factory=list)
    #: Which post (its index in ``posts``) each key was accepted by.
    accepted_by: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get(IDEMPOTENCY_HEADER, "")
        valid = signature_matches(
            SECRET,
            request.headers.get(TIMESTAMP_HEADER, ""),
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
        )
        self.posts.append((key, body, valid))
        if not valid:
            return web.Response(status=401)
        if self.rng.random() < self.fail_rate:
            self.refused += 1
            return web.Response(status=503)
        if key in {k for k, _ in self.accepted}:
            return web.Response(status=409)  # already kept: kept once
        self.accepted.append((key, body))
        self.accepted_by[key] = len(self.posts) - 1
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def school_file(tmp_path: Path, url: str) -> Path:
    """The demo school's file, keeping its records in MyConcern with a webhook at ``url``."""
    path = tmp_path / "school.toml"
    shipped = DEFAULT_SCHOOL_CONFIG.read_text(encoding="utf-8")
    assert shipped.count("\n[handoff]\n") == 1
    ours = f'[handoff]\nsystem = "MyConcern"\nwebhook_url = "{url}"\nwebhook_secret_env = "{ENV}"\n'
    path.write_text(shipped.replace("[handoff]\n", ours, 1), encoding="utf-8")
    return path


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = Receiver()
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def handoff_bot(
    tmp_path: Path, receiver: Receiver, connector: FakeConnector
) -> AsyncIterator[Harness]:
    settings = load_settings(
        local_env(
            tmp_path / "data",
            SCHOOL_CONFIG=str(school_file(tmp_path, receiver.url)),
            **{ENV: SECRET},
        )
    )
    clock = FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    running = Harness(settings, connector, clock)
    await running.start()
    yield running
    await running.stop()


async def seed(h: Harness, count: int) -> list[str]:
    """``count`` concerns reported by a teacher (through the Store port, as the feature keeps
    them); their references."""
    at = h.clock.now() - timedelta(hours=1)
    records = []
    for n in range(1, count + 1):
        concern = Concern(
            ref=f"OSC-2026-{n:04d}",
            source=Source.STAFF,
            category="cyberbullying",
            urgent=False,
            reporter_id=DANIEL.id,
            reporter_name=DANIEL.name,
            created_at=at,
            year_group="Year 8",
            involved="Poppy (8B)",
            what_happened=WHAT,
            where="A messaging app",
            happened_on=at.date().isoformat(),
            immediate_risk=RiskAnswer.NO,
        ).with_event(DANIEL, at, "reported", "Reported")
        records.append(
            Record(concern_feature.KIND, concern.ref, 1, concern_feature.encode(concern))
        )
    await h.parts.store.commit(Change(records=records))
    return [r.id for r in records]


def handoff_data(card: dict[str, Any]) -> dict[str, Any]:
    for element in card["body"]:
        for action in element.get("actions", []) if element.get("type") == "ActionSet" else []:
            if action.get("verb") == "concern.handoff":
                return dict(action["data"])
    raise AssertionError("no hand-off button")


def packs(connector: FakeConnector) -> list[str]:
    """The hand-off pack cards posted, as the conversation each went to."""
    found = []
    for post in connector.posted:
        for attachment in post.get("attachments", []):
            if "Hand-off pack" in visible_text(attachment["content"]):
                found.append(post["_conversation"])
    return found


async def test_every_handoff_reaches_the_dsl_and_the_webhook_exactly_once(
    handoff_bot: Harness, receiver: Receiver, connector: FakeConnector
) -> None:
    h = handoff_bot
    refs = await seed(h, HANDOFFS)
    for ref in refs:
        detail = await h.click(DSL, "concern.open", {"ref": ref, "ver": 1})
        after = await h.click(DSL, "concern.handoff", handoff_data(detail))
        assert "Handed off to MyConcern by Fiona Blake" in visible_text(after)

    # The receiver refuses 30% of posts: retries with backoff, across a restart, clock moved.
    for round_number in range(40):
        await h.settle()
        if len(receiver.accepted) == HANDOFFS and not await h.parts.store.find(OUTBOX):
            break
        if round_number == 2:
            await h.restart()
        h.advance(minutes=7)
    await h.settle()

    handoffs = await h.parts.store.find(HANDOFF_KIND)
    assert len(handoffs) == HANDOFFS
    # Every post was signed with the school's secret.
    assert all(valid for _, _, valid in receiver.posts)
    # Retries really happened, and every hand-off was accepted exactly once: as many accepted
    # posts as hand-offs, one distinct idempotency key each, and no post after an acceptance.
    assert receiver.refused > 0
    keys = [k for k, _ in receiver.accepted]
    assert len(keys) == HANDOFFS
    assert set(keys) == {r.id for r in handoffs}
    assert len({k for k, _, _ in receiver.posts}) == HANDOFFS
    for key in keys:
        attempts = [i for i, (k, _, _) in enumerate(receiver.posts) if k == key]
        assert attempts[-1] == receiver.accepted_by[key]  # nothing posted after the success
        bodies = {body for k, body, _ in receiver.posts if k == key}
        assert len(bodies) == 1  # a retry sends the same bytes
    record = json.loads(receiver.accepted[0][1])
    assert record["schema"] == SCHEMA
    assert record["handoff"]["system"] == "MyConcern"
    assert record["concern"]["what_happened"] == WHAT
    assert not [m for m in await h.parts.store.find(OUTBOX) if m.data["delivery"] == "webhook"]

    # Each pack went to the DSL's own 1:1 chat, once per hand-off, and nowhere else.
    assert packs(connector) == [f"a:dm-{DSL}"] * HANDOFFS


def _settings_env(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    return local_env(tmp_path / "data", SCHOOL_CONFIG=str(school_file(tmp_path, url)), **extra)


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("short-secret", "too short"),
        ("change-me-change-me-change-me-change-me", "placeholder"),
    ],
)
def test_start_up_is_refused_with_a_missing_or_wrong_secret(
    tmp_path: Path, secret: str | None, words: str
) -> None:
    extra = {} if secret is None else {ENV: secret}
    with pytest.raises(ConfigError) as refused:
        load_settings(_settings_env(tmp_path, "http://127.0.0.1:9/hook", **extra))

    message = "\n".join(refused.value.problems)
    assert ENV in message and words in message
    if secret:
        assert secret not in message  # the secret is never quoted


def test_start_up_is_refused_for_plain_http_outside_local_mode(tmp_path: Path) -> None:
    env = _settings_env(
        tmp_path,
        "http://records.example.org/hook",
        **{ENV: SECRET, "BOT_MODE": "production"},
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    assert any("handoff.webhook_url" in p and "https" in p for p in refused.value.problems)
    assert not any(SECRET in p for p in refused.value.problems)


def test_plain_http_to_another_host_is_refused_even_in_local_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_settings_env(tmp_path, "http://records.example.org/hook", **{ENV: SECRET}))
    assert any("loopback" in p for p in refused.value.problems)
