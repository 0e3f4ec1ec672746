"""The "Blocked but I need it for teaching" form's edges through the use-case layer: each
problem shown beside its field, the same form sent twice making one report, the form kept when
the store is down (nothing said sent), and the form never shown in a channel."""

from __future__ import annotations

import pytest

from tests.dialogs.conftest import School
from tests.dialogs.test_overblocking import FRANK, IMPACT, report
from tests.dialogs.test_video_call_clicks import store_down
from tests.support import IT_CHANNEL, TEACHER, button, card_texts, visible_text

STAFF_ROOM = "19:staff@thread.tacv2"


async def test_each_problem_is_shown_and_nothing_is_saved(school: School) -> None:
    card = await report(school, lesson="  ", impact="too short")
    long = await report(school, lesson="x" * 5000)
    await school.settle()

    assert "Give the lesson or topic." in visible_text(card)
    assert "Say in a sentence how the block got in the way." in visible_text(card)
    assert "Please keep this under" in visible_text(long)
    assert await school.find("overblock_report") == []
    assert school.messenger.posted == []
    assert await school.audit() == []


async def test_the_same_form_sent_twice_is_one_report(school: School) -> None:
    form = await school.click(TEACHER, "overblock.start")
    data = {
        **button(form, "overblock.submit"),
        "site": FRANK,
        "lesson": "PSHE: drugs and risk",
        "impact": IMPACT,
    }

    first = await school.click(TEACHER, "overblock.submit", data)
    second = await school.click(TEACHER, "overblock.submit", data)
    await school.settle()

    assert card_texts(first)[0] == card_texts(second)[0] == "Sent to IT: OBR-2026-0001"
    assert len(await school.find("overblock_report")) == 1
    assert len(school.messenger.cards(IT_CHANNEL)) == 1
    assert [e.action for e in await school.audit()] == ["overblock.report"]


async def test_when_the_store_is_down_the_form_comes_back_and_nothing_is_sent(
    school: School, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_down(school, monkeypatch)

    card = await report(school)
    await school.settle()

    assert "Your report could not be saved just now. Please try again." in visible_text(card)
    assert "Sent to IT" not in visible_text(card)
    assert IMPACT in str(card)  # what they wrote is kept in the form
    assert school.messenger.posted == []


@pytest.mark.parametrize("verb", ["overblock.start", "overblock.submit"])
async def test_the_form_is_never_used_in_a_channel(school: School, verb: str) -> None:
    reply = await school.act(
        TEACHER,
        verb,
        {"form": "abc", "site": FRANK, "lesson": "PSHE", "impact": IMPACT},
        scope="channel",
        conversation_id=STAFF_ROOM,
    )

    assert reply.card is None
    assert reply.text == "Please tell me about a blocked site in a private chat with me."
    assert await school.find("overblock_report") == []
