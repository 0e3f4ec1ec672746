"""The video-call feature's quick answers, the withdrawn-pupils list and "Check my next lessons"
through the use-case layer (the fast twin of the parts of tests/e2e/test_video_call*_over_http.py
that had none here): the rule questions typed in plain words, the Deputy Head's list of pupils
withdrawn by their parents (kept in a private chat, changed by them only, audited without names)
and each Teams meeting on the demo calendar judged on its attendees and settings."""

from __future__ import annotations

from typing import Any

import pytest

from cards.common import safe_text
from policy.clauses import cite
from policy.video_calls import pupil_contact_rule_text, recording_rule_text
from tests.dialogs.conftest import School
from tests.support import (
    DEPUTY_HEAD,
    HEAD_OF_DEPARTMENT,
    PUPIL,
    TEACHER,
    YOUNG_PUPIL,
    card_buttons,
    card_texts,
    dm,
    everything,
    visible_text,
)

WITHDRAWN = ("withdrawn_pupils", "list")


async def withdrawn(s: School, who: str, op: str, pupil: str, **where: Any) -> dict[str, Any]:
    return await s.click(who, "call.withdrawn", {"op": op, "pupil": pupil}, **where)


async def audit(s: School) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.item, e.outcome) for e in await s.audit()]


def shown_text(card: dict[str, Any]) -> list[str]:
    """The card's texts as read (markdown escapes of what was typed taken out)."""
    return [t.replace("\\", "") for t in card_texts(card)]


def meeting_blocks(card: dict[str, Any]) -> dict[str, str]:
    """Subject -> everything shown for that meeting."""
    return {
        block["items"][0]["text"].replace("\\", ""): visible_text({"body": block["items"]})
        for block in card["body"]
        if block.get("type") == "Container"
    }


# ----- quick answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "title", "rule"),
    [
        ("can I record a lesson?", "Recording a lesson", recording_rule_text),
        ("recording", "Recording a lesson", recording_rule_text),
        (
            "when can I call pupils?",
            "When you can call or contact pupils",
            pupil_contact_rule_text,
        ),
        (
            "contacting pupils at home",
            "When you can call or contact pupils",
            pupil_contact_rule_text,
        ),
    ],
    ids=["record-a-lesson", "recording", "call-pupils", "contact-at-home"],
)
async def test_typed_questions_get_the_rule_in_plain_words(
    school: School, typed: str, title: str, rule: Any
) -> None:
    [reply] = await school.say(TEACHER, typed)

    assert reply.card is not None
    policy = school.deps.school
    texts = card_texts(dict(reply.card))
    # The school's own clause names, never the seed files' section numbers (issue 19).
    assert texts == [title, cite(safe_text(rule(policy), limit=2000), policy.clauses)]
    assert "§" not in " ".join(texts)
    assert await school.audit() == []


# ----- the withdrawn-pupils list --------------------------------------------------------------


async def test_the_deputy_head_adds_and_removes_a_withdrawn_pupil_audited_without_the_name(
    school: School,
) -> None:
    shown = await school.click(DEPUTY_HEAD, "call.withdrawn")
    assert "No pupils are on the list." in card_texts(shown)

    added = await withdrawn(school, DEPUTY_HEAD, "add", "Ava  Thompson")

    assert "• Ava Thompson" in shown_text(added)
    assert [t for t, _ in card_buttons(added)] == [
        "Add to the list",
        "Remove from the list",
        "Back to the menu",
    ]
    again = await withdrawn(school, DEPUTY_HEAD, "add", "ava thompson")
    assert "ava thompson is already on the list." in shown_text(again)

    removed = await withdrawn(school, DEPUTY_HEAD, "remove", "AVA THOMPSON")

    assert "No pupils are on the list." in card_texts(removed)
    stored = await school.store.get(*WITHDRAWN)
    assert stored is not None
    assert (stored.version, stored.data["pupils"]) == (2, [])
    assert await audit(school) == [
        (DEPUTY_HEAD, "withdrawn.add", "withdrawn_pupils:list", "ok"),
        (DEPUTY_HEAD, "withdrawn.remove", "withdrawn_pupils:list", "ok"),
    ]
    assert "thompson" not in everything([e.to_dict() for e in await school.audit()]).lower()


async def test_removing_a_pupil_not_on_the_list_or_adding_no_name_changes_nothing(
    school: School,
) -> None:
    missing = await withdrawn(school, DEPUTY_HEAD, "remove", "Leo Martin")
    blank = await withdrawn(school, DEPUTY_HEAD, "add", "   ")
    too_long = await withdrawn(school, DEPUTY_HEAD, "add", "A" * 500)

    assert "Leo Martin is not on the list." in shown_text(missing)
    assert "Enter the pupil's full name." in visible_text(blank)
    assert "characters" in visible_text(too_long)
    assert await school.store.get(*WITHDRAWN) is None
    assert await school.audit() == []


async def test_someone_other_than_the_deputy_head_cannot_change_the_withdrawn_list(
    school: School,
) -> None:
    card = await withdrawn(school, TEACHER, "add", "Ava Thompson")

    assert "That isn't available to you" in card_texts(card)
    assert await school.store.get(*WITHDRAWN) is None
    assert [(a, v, o) for a, v, _, o in await audit(school)] == [
        (TEACHER, "call.withdrawn", "refused: role does not allow it")
    ]


async def test_the_withdrawn_list_is_never_shown_in_a_channel(school: School) -> None:
    await withdrawn(school, DEPUTY_HEAD, "add", "Ava Thompson")

    card = await withdrawn(
        school, DEPUTY_HEAD, "show", "", scope="channel", conversation_id="19:staff@thread.tacv2"
    )

    assert "Ava Thompson" not in visible_text(card)
    assert "Message me in a private chat to get started." in card_texts(card)


async def test_typing_withdrawn_list_shows_it(school: School) -> None:
    await withdrawn(school, DEPUTY_HEAD, "add", "Ava Thompson")

    [reply] = await school.say(DEPUTY_HEAD, "show me the withdrawn list")

    assert reply.card is not None
    assert "• Ava Thompson" in shown_text(dict(reply.card))


# ----- "Check my next lessons" ------------------------------------------------------------------


async def test_check_my_next_lessons_judges_each_teams_meeting_and_its_settings(
    school: School,
) -> None:
    [typed] = await school.say(TEACHER, "check my next lessons")
    card = await school.click(TEACHER, "call.next")

    assert typed.card == card
    assert card_texts(card)[0] == "Your next lessons"
    blocks = meeting_blocks(card)
    assert list(blocks) == [
        "Year 8 Computing: algorithms",
        "Year 8 revision (recorded for absent pupils)",
        "Careers talk with a visiting engineer",
    ]
    lesson, revision, careers = blocks.values()
    assert "2 pupils, 1 member of staff" in lesson
    assert "⚠️ Allowed once you:" in lesson
    assert "⛔" not in lesson
    assert "⛔ Not allowed" in revision
    assert 'turn off "Record and transcribe automatically"' in revision
    assert "2 pupils, 2 members of staff" in careers
    assert 'set "Who can bypass the lobby?" to "People in my organisation"' in careers
    # Reading the calendar changes nothing.
    assert await school.find("call_check") == []
    assert await school.audit() == []


@pytest.mark.parametrize("listed", ["Ava Thompson", YOUNG_PUPIL], ids=["by-name", "by-id"])
async def test_a_withdrawn_pupil_in_a_meeting_makes_it_not_allowed_naming_only_them(
    school: School, listed: str
) -> None:
    await withdrawn(school, DEPUTY_HEAD, "add", listed)
    named, other = (
        ("Ava Thompson", "Leo Martin") if listed != YOUNG_PUPIL else ("Leo Martin", "Ava Thompson")
    )

    lesson = meeting_blocks(await school.click(TEACHER, "call.next"))[
        "Year 8 Computing: algorithms"
    ]

    assert "⛔ Not allowed" in lesson
    assert f"{named} is withdrawn from video calls by their parents" in lesson
    assert other not in lesson


async def test_someone_with_no_meetings_is_told_so(school: School) -> None:
    card = await school.click(HEAD_OF_DEPARTMENT, "call.next")

    assert "You have no Teams meetings in the next 7 days." in visible_text(card)


async def test_next_lessons_asked_in_a_channel_are_sent_to_the_private_chat(
    school: School,
) -> None:
    reply = await school.act(
        TEACHER, "call.next", scope="channel", conversation_id="19:staff@thread.tacv2"
    )
    await school.settle()

    assert (reply.card, reply.text) == (None, "I've sent you that in a private chat.")
    assert school.messenger.to("19:staff@thread.tacv2") == []
    [card] = school.messenger.cards(dm(TEACHER))
    assert card_texts(card)[0] == "Your next lessons"
    assert "Year 8 Computing: algorithms" in meeting_blocks(card)


async def test_a_pupil_cannot_check_next_lessons(school: School) -> None:
    card = await school.click(PUPIL, "call.next")

    assert "Sorry, you can't do that here" in card_texts(card)
    assert [(a, o) for a, _, _, o in await audit(school)] == [
        (PUPIL, "refused: role does not allow it")
    ]
