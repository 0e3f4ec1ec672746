"""The hand-off's webhook through the use-case layer (issue 20): each hand-off's structured
record posted to the school's receiver with the hand-off id as its key, retried while the
receiver refuses, never twice once accepted, and nothing posted when the school has no webhook
(the fast twin of tests/e2e/test_handoff_webhook_over_http.py's delivery)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import pytest

from dialogs.outbox import OUTBOX
from dialogs.ports import DeliveryFailed
from policy.handoff import SCHEMA, Handoff
from policy.school import SchoolPolicy
from tests.dialogs.conftest import School
from tests.dialogs.test_concern import STORY
from tests.dialogs.test_handoff import handoff_button, reported
from tests.support import DSL


@dataclass
class RecordingWebhook:
    """The Webhook port: keeps each accepted post (body, key); refuses while ``down``."""

    posts: list[tuple[bytes, str]] = field(default_factory=list)
    down: bool = False
    refused: int = 0

    async def post(self, body: bytes, *, key: str) -> None:
        if self.down:
            self.refused += 1
            raise DeliveryFailed("the receiver answered 503")
        self.posts.append((body, key))


@pytest.fixture
def receiver() -> RecordingWebhook:
    return RecordingWebhook()


@pytest.fixture
def hooked(demo_school: SchoolPolicy, school: School, receiver: RecordingWebhook) -> School:
    """The demo school handing off to MyConcern, with a webhook."""
    handoff = Handoff(system="MyConcern", webhook_url="https://records.example/hook")
    s = School(replace(demo_school, handoff=handoff), school.directory)
    s.worker.webhook = receiver
    return s


async def webhook_messages(s: School) -> list[object]:
    return [m for m in await s.find(OUTBOX) if m.data["delivery"] == "webhook"]


async def test_a_handoff_posts_its_record_to_the_webhook_once_keyed_by_its_id(
    hooked: School, receiver: RecordingWebhook
) -> None:
    ref, detail = await reported(hooked)
    press = handoff_button(detail)

    await hooked.click(DSL, "concern.handoff", press)
    await hooked.click(DSL, "concern.handoff", press)  # a second click: one hand-off
    await hooked.settle()
    hooked.advance(hours=1)
    await hooked.settle()

    [(body, key)] = receiver.posts
    data = json.loads(body)
    [record] = await hooked.find("handoff")
    assert key == record.id == data["handoff"]["id"]
    assert data["schema"] == SCHEMA
    assert data["concern"]["reference"] == ref
    assert data["concern"]["what_happened"] == STORY
    assert data["handoff"]["system"] == "MyConcern"
    assert await webhook_messages(hooked) == []


async def test_a_refusing_receiver_gets_the_same_body_again_later(
    hooked: School, receiver: RecordingWebhook
) -> None:
    _, detail = await reported(hooked)
    receiver.down = True
    await hooked.click(DSL, "concern.handoff", handoff_button(detail))
    await hooked.settle()
    assert receiver.refused == 1
    assert receiver.posts == []
    assert len(await webhook_messages(hooked)) == 1  # kept, not dropped

    receiver.down = False
    hooked.advance(hours=1)
    await hooked.settle()

    [(body, key)] = receiver.posts
    [record] = await hooked.find("handoff")
    assert key == record.id
    assert json.loads(body)["handoff"]["id"] == record.id
    assert await webhook_messages(hooked) == []


async def test_without_a_webhook_nothing_is_owed_to_one(school: School) -> None:
    _, detail = await reported(school)

    await school.click(DSL, "concern.handoff", handoff_button(detail))

    assert await webhook_messages(school) == []
