"""A sensitive-lesson notice's edges through the use-case layer: the same form sent twice is
one notice with one pair of channel cards, the form kept (and NOT said sent) when the store is
down, and the form never used in a channel."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs.monitoring import NOTICE_KIND
from tests.dialogs.conftest import School
from tests.dialogs.test_video_call_clicks import store_down
from tests.support import DSL_CHANNEL, IT_CHANNEL, TEACHER, button, visible_text

STAFF_ROOM = "19:staff@thread.tacv2"
FIELDS = {
    "class_name": "8B",
    "topic": "extremism",
    "day": "2026-11-23",
    "start": "10:00",
    "end": "11:00",
    "reason": "Prevent lesson: how extremists recruit online",
}


async def filled_form(s: School) -> dict[str, Any]:
    form = await s.click(TEACHER, "notice.start")
    return {**button(form, "notice.submit"), **FIELDS}


async def test_the_same_notice_sent_twice_is_one_notice(school: School) -> None:
    data = await filled_form(school)

    first = await school.click(TEACHER, "notice.submit", data)
    second = await school.click(TEACHER, "notice.submit", data)
    await school.settle()

    assert "Notice sent" in visible_text(first)
    assert visible_text(second) == visible_text(first)
    assert len(await school.find(NOTICE_KIND)) == 1
    for channel in (DSL_CHANNEL, IT_CHANNEL):
        assert len(school.messenger.shown(channel)) == 1
    assert [e.action for e in await school.audit()] == ["notice.submit"]


async def test_when_the_store_is_down_the_notice_is_not_said_sent(
    school: School, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = await filled_form(school)
    store_down(school, monkeypatch)

    card = await school.click(TEACHER, "notice.submit", data)
    await school.settle()

    assert "It could not be saved just now, so it was NOT sent. Try again." in visible_text(card)
    assert "Notice sent" not in visible_text(card)
    assert school.messenger.posted == []


@pytest.mark.parametrize("verb", ["notice.start", "notice.submit"])
async def test_the_notice_form_is_never_used_in_a_channel(school: School, verb: str) -> None:
    reply = await school.act(
        TEACHER, verb, {"form": "abc", **FIELDS}, scope="channel", conversation_id=STAFF_ROOM
    )
    await school.settle()

    assert (reply.card, reply.text) == (
        None,
        "Please tell me about a lesson in a private chat with me.",
    )
    assert await school.find(NOTICE_KIND) == []
    assert school.messenger.posted == []
