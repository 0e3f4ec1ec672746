""" "help" lists every command and button the person may use, and every one it lists works
(issue 18), over real HTTP into /api/messages with the demo directory's people.

For each demo role: type "help" in the private chat; the commands it lists are exactly the ones
that, typed by that person, run something (rather than falling back to the menu or a refusal);
the buttons on it are the person's menu; and typing each listed command runs it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from cards.welcome import COMMAND_HELP, PUPIL_COMMAND_HELP
from tests.conftest import Harness
from tests.support import (
    CHAIR_OF_GOVERNORS,
    DEPUTY_DSL,
    DEPUTY_HEAD,
    DSL,
    DSL_CHANNEL,
    HEAD_OF_DEPARTMENT,
    HEADTEACHER,
    IT,
    PUPIL,
    TEACHER,
    YOUNG_PUPIL,
    assert_valid_card,
    card_buttons,
    dm,
    everything,
    visible_text,
)

ROLES = {
    "pupil": PUPIL,
    "young pupil": YOUNG_PUPIL,
    "teacher": TEACHER,
    "head of department": HEAD_OF_DEPARTMENT,
    "headteacher": HEADTEACHER,
    "deputy head": DEPUTY_HEAD,
    "DSL": DSL,
    "deputy DSL": DEPUTY_DSL,
    "IT": IT,
    "chair of governors": CHAIR_OF_GOVERNORS,
}
#: Every command the bot understands, in anyone's words, and the button it stands for.
EVERY_COMMAND = sorted(
    {(c.typed, verb) for verb, c in COMMAND_HELP.items()}
    | {(c.typed, verb) for verb, c in PUPIL_COMMAND_HELP.items()}
)


async def answer(h: Harness, who: str, text: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Type ``text`` as ``who``; every message the bot posted in reply."""
    before = len(h.connector.posted)
    assert await h.say(who, text, **kwargs) in (200, 201)
    return h.connector.posted[before:]


def shown(replies: list[dict[str, Any]]) -> str:
    return "\n".join(
        visible_text(a["attachments"][0]["content"]) if a.get("attachments") else a["text"]
        for a in replies
    )


def listed(card: dict[str, Any]) -> list[str]:
    """The commands a help card tells the person to type."""
    return re.findall(r"Type “([^”]+)”", visible_text(card))


@pytest.mark.parametrize("role", list(ROLES))
async def test_help_lists_exactly_the_commands_the_role_can_run(
    harness: Harness, role: str
) -> None:
    who = ROLES[role]
    [reply] = await answer(harness, who, "help")
    card = reply["attachments"][0]["content"]
    assert_valid_card(card)
    offered = listed(card)

    # A command "runs" for this person when typing it does what pressing its button does.
    runs = []
    for typed, verb in EVERY_COMMAND:
        replies = await answer(harness, who, typed)
        clicked = await harness.click(who, verb.value)
        assert replies, typed
        if shown(replies) == visible_text(clicked) and card_buttons(
            replies[-1]["attachments"][0]["content"]
        ) == card_buttons(clicked):
            runs.append(typed)

    assert sorted(offered) == sorted(runs)
    assert "help" in offered and "menu" in offered
    # Every button on the menu is on the help card too (and nothing the menu does not offer).
    [menu] = await answer(harness, who, "menu")
    menu_buttons = {b for b in card_buttons(menu["attachments"][0]["content"]) if b[1] != "help"}
    assert {b for b in card_buttons(card) if b[1] != "menu"} == menu_buttons


async def test_each_role_sees_its_own_commands(harness: Harness) -> None:
    texts = {}
    for role in ("pupil", "teacher", "DSL", "IT", "headteacher", "deputy head"):
        [reply] = await answer(harness, ROLES[role], "help")
        texts[role] = listed(reply["attachments"][0]["content"])

    assert texts["pupil"] == ["I'm worried", "my reports", "menu", "help"]
    assert "report a concern" in texts["teacher"] and "open items" not in texts["teacher"]
    assert {"open items", "incident log", "chronology", "governors report"} <= set(texts["DSL"])
    assert "filter log" in texts["IT"] and "incident log" not in texts["IT"]
    assert "governors report" in texts["headteacher"]
    assert "withdrawn pupils" in texts["deputy head"]
    for role in texts:
        if role != "pupil":
            assert "I'm worried" not in texts[role]


async def test_help_in_a_channel_shows_nothing_personal(harness: Harness) -> None:
    replies = await answer(harness, DSL, "help", scope="channel", conversation_id=DSL_CHANNEL)

    assert {a["_conversation"] for a in replies} == {DSL_CHANNEL}
    text = shown(replies)
    assert "Anything private I send to your private chat." in text
    assert "OSC-" not in everything(replies)
    assert harness.connector.to(dm(DSL)) == []


def test_a_typed_command_that_help_does_not_describe_stops_the_bot_starting() -> None:
    from dialogs.feature import Feature
    from dialogs.router import Router
    from policy.actions import Verb

    nothing: Any = None
    undescribed = Feature(phrases=[(r"\bapplied\b", Verb.FILTER_APPLIED)])
    with pytest.raises(ValueError, match="help does not match the typed commands"):
        Router(
            school=nothing, directory=nothing, store=nothing, clock=nothing, features=[undescribed]
        )
