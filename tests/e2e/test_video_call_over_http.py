"""Over real HTTP into /api/messages: checking a video call, quick rule answers, and the Deputy
Head (Academic)'s list of withdrawn pupils (000 §6, §8, §10; 001 §2.4).

The server's clock is real; the dates below are the dates the calls are planned for (data),
so they do not depend on today: Monday 23 and Saturday 28 November 2026.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import COMPONENTS
from cards.common import safe_text
from dialogs.ports import Store
from policy.clauses import cite
from policy.video_calls import pupil_contact_rule_text, recording_rule_text
from tests.conftest import BotClient
from tests.support import (
    CALL_FORM,
    DEPUTY_HEAD,
    PUPIL,
    TEACHER,
    FakeConnector,
    assert_valid_card,
    card_action,
    card_buttons,
    card_texts,
    message,
)

#: What Teams sends for a filled-in form: every input as a string, plus the button's data.
LESSON: dict[str, str] = dict(CALL_FORM)


def submit(sender: str, url: str, **fields: str) -> dict[str, Any]:
    """The invoke Teams sends when ``sender`` clicks "Check this call"."""
    return card_action(
        sender, "call.submit", url, data={"verb": "call.submit", "v": 1, **LESSON, **fields}
    )


def withdrawn_list(who: str, url: str, op: str, pupil: str) -> dict[str, Any]:
    """The invoke Teams sends when ``who`` clicks Add (``op`` "add") or Remove ("remove") on
    the withdrawn-pupils card with ``pupil`` typed in."""
    data = {"verb": "call.withdrawn", "v": 1, "op": op, "pupil": pupil}
    return card_action(who, "call.withdrawn", url, data=data)


def store_of(bot: BotClient) -> Store:
    store: Store = bot.app[COMPONENTS].store
    return store


async def answer(bot: BotClient, activity: dict[str, Any]) -> dict[str, Any]:
    """Post an invoke and return the card it answers with (checked against the schema)."""
    status, body = await bot.post(activity)
    assert status == 200
    assert body["statusCode"] == 200
    card: dict[str, Any] = body["value"]
    assert_valid_card(card)
    return card


def input_ids(card: dict[str, Any]) -> list[str]:
    return [e["id"] for e in card["body"] if str(e.get("type", "")).startswith("Input.")]


async def test_a_teacher_clicking_check_a_video_call_gets_the_form(
    bot: BotClient, connector: FakeConnector
) -> None:
    card = await answer(bot, card_action(TEACHER, "call.start", connector.url))

    assert card_texts(card)[0] == "Check a video call"
    assert {"date", "start", "duration", "platform", "who", "pupils", "recorded"} <= set(
        input_ids(card)
    )
    assert ("Check this call", "call.submit") in card_buttons(card)
    platform = next(e for e in card["body"] if e.get("id") == "platform")
    assert [c["title"] for c in platform["choices"]] == ["Microsoft Teams", "Other"]


async def test_a_saturday_lesson_is_not_allowed_with_the_reason(
    bot: BotClient, connector: FakeConnector
) -> None:
    card = await answer(bot, submit(TEACHER, connector.url, date="2026-11-28"))

    texts = card_texts(card)
    assert texts[0] == "⛔ Not allowed"
    assert any("Sat 28 Nov 2026 is not a school day" in t for t in texts)
    assert (
        "⛔ Not allowed: School day (Online Safety Policy: Remote teaching and learning)" in texts
    )
    [record] = await store_of(bot).find("call_check")
    assert record.data["verdict"] == "not_allowed"
    assert record.data["rules"]["school_day"] == "not_allowed"
    assert record.data["actor"] == TEACHER
    [entry] = await store_of(bot).audit_log()
    assert (entry.actor, entry.action, entry.item, entry.outcome) == (
        TEACHER,
        "call.check",
        record.ref,
        "not_allowed",
    )


async def test_a_weekday_morning_teams_lesson_is_allowed(
    bot: BotClient, connector: FakeConnector
) -> None:
    card = await answer(bot, submit(TEACHER, connector.url))

    texts = card_texts(card)
    assert texts[0] == "✅ Allowed"
    assert not any(t.startswith(("⛔", "⚠️")) for t in texts)
    assert ("Check another call", "call.start") in card_buttons(card)
    [record] = await store_of(bot).find("call_check")
    assert (record.data["date"], record.data["start"], record.data["verdict"]) == (
        "2026-11-23",
        "10:00",
        "allowed",
    )
    assert set(record.data["rules"].values()) == {"pass"}


async def test_bad_input_reshows_the_form_with_every_problem_and_stores_nothing(
    bot: BotClient, connector: FakeConnector
) -> None:
    card = await answer(
        bot, submit(TEACHER, connector.url, date="", duration="0", pupils="Ben Ali")
    )

    texts = card_texts(card)
    assert "Please fix the items marked in red." in texts
    problems = [e for e in card["body"] if e.get("color") == "Attention"][1:]
    assert [p["text"] for p in problems] == [
        safe_text("Choose the date of the call."),
        safe_text("Enter a whole number of minutes between 5 and 480."),
    ]
    # Each problem sits right under its own field, and what was entered is kept.
    body = card["body"]
    for field_id, problem in (("date", problems[0]), ("duration", problems[1])):
        index = next(i for i, e in enumerate(body) if e.get("id") == field_id)
        assert body[index + 1] is problem
    pupils = next(e for e in body if e.get("id") == "pupils")
    assert pupils["value"] == "Ben Ali"
    assert await store_of(bot).find("call_check") == []
    assert await store_of(bot).audit_log() == []


async def test_a_pupil_sending_call_submit_is_refused_and_audited(
    bot: BotClient, connector: FakeConnector
) -> None:
    card = await answer(bot, submit(PUPIL, connector.url))

    assert "Sorry, you can't do that here" in card_texts(card)
    assert await store_of(bot).find("call_check") == []
    assert [(e.actor, e.action, e.outcome) for e in await store_of(bot).audit_log()] == [
        (PUPIL, "call.submit", "refused: role does not allow it")
    ]


@pytest.mark.parametrize(
    ("typed", "title", "rule"),
    [
        ("can I record a lesson?", "Recording a lesson", recording_rule_text),
        ("Recording", "Recording a lesson", recording_rule_text),
        ("when can I call pupils?", "When you can call or contact pupils", pupil_contact_rule_text),
        ("contact pupils at home", "When you can call or contact pupils", pupil_contact_rule_text),
    ],
    ids=["record-a-lesson", "recording", "call-pupils", "contact-at-home"],
)
async def test_typed_questions_get_the_rule_in_plain_words(
    bot: BotClient, connector: FakeConnector, typed: str, title: str, rule: Any
) -> None:
    status, _ = await bot.post(message(TEACHER, typed, connector.url))

    assert status in (200, 201)
    [card] = connector.cards()
    assert_valid_card(card)
    school = bot.app[COMPONENTS].settings.school
    # Shown with the school's own clause names, never the seed files' numbers (issue 19).
    assert card_texts(card) == [title, cite(safe_text(rule(school), limit=2000), school.clauses)]
    assert "§" not in " ".join(card_texts(card))


async def test_a_withdrawn_pupil_makes_a_call_naming_them_not_allowed(
    bot: BotClient, connector: FakeConnector
) -> None:
    added = await answer(bot, withdrawn_list(DEPUTY_HEAD, connector.url, "add", "Ava  Thompson"))
    assert "• Ava Thompson" in card_texts(added)
    assert [t for t, _ in card_buttons(added)] == [
        "Add to the list",
        "Remove from the list",
        "Back to the menu",
    ]

    card = await answer(
        bot,
        submit(TEACHER, connector.url, who="named", pupils="Leo Martin, ava thompson"),
    )

    texts = card_texts(card)
    assert texts[0] == "⛔ Not allowed"
    assert (
        "⛔ Not allowed: Withdrawn pupils (Online Safety Policy: Remote teaching and learning)"
        in texts
    )
    blockers = [t for t in texts if t.startswith("⛔ ") and not t.startswith("⛔ Not allowed")]
    assert len(blockers) == 1, blockers
    assert "ava thompson is withdrawn from video calls" in blockers[0]
    assert "Leo Martin" not in " ".join(blockers)
    log = await store_of(bot).audit_log()
    assert [(e.actor, e.action, e.item, e.outcome) for e in log] == [
        (DEPUTY_HEAD, "withdrawn.add", "withdrawn_pupils:list", "ok"),
        (TEACHER, "call.check", log[1].item, "not_allowed"),
    ]
    for entry in log:  # the audit trail never holds a pupil's name
        assert "thompson" not in str(entry.to_dict()).lower()
        assert "leo" not in str(entry.to_dict()).lower()

    removed = await answer(
        bot, withdrawn_list(DEPUTY_HEAD, connector.url, "remove", "AVA THOMPSON")
    )
    assert "No pupils are on the list." in card_texts(removed)
    stored = await store_of(bot).get("withdrawn_pupils", "list")
    assert stored is not None
    assert (stored.version, stored.data["pupils"]) == (2, [])


async def test_someone_other_than_the_deputy_head_cannot_change_the_withdrawn_list(
    bot: BotClient, connector: FakeConnector
) -> None:
    card = await answer(bot, withdrawn_list(TEACHER, connector.url, "add", "Ava Thompson"))

    assert "That isn't available to you" in card_texts(card)
    assert await store_of(bot).get("withdrawn_pupils", "list") is None
    assert [(e.actor, e.action, e.outcome) for e in await store_of(bot).audit_log()] == [
        (TEACHER, "call.withdrawn", "refused: role does not allow it")
    ]


async def test_a_retried_submit_is_answered_again_but_stored_once(
    bot: BotClient, connector: FakeConnector
) -> None:
    activity = submit(TEACHER, connector.url, date="2026-11-28")

    first = await answer(bot, activity)
    again = await answer(bot, activity)

    assert card_texts(first)[0] == card_texts(again)[0] == "⛔ Not allowed"
    assert len(await store_of(bot).find("call_check")) == 1
    assert [e.action for e in await store_of(bot).audit_log()] == ["call.check"]


async def test_typing_my_next_lessons_checks_the_calendar(
    bot: BotClient, connector: FakeConnector
) -> None:
    status, _ = await bot.post(message(TEACHER, "my next lessons", connector.url))

    assert status in (200, 201)
    [card] = connector.cards()
    assert_valid_card(card)
    # The demo calendar is dated (late November 2026) and this server's clock is real, so
    # which meetings are listed depends on today: tests/e2e/test_video_call_followups_over_http.py
    # checks them with a fixed clock.
    assert card_texts(card)[0] == "Your next lessons"
    assert ("Check again", "call.next") in card_buttons(card)
    assert await store_of(bot).audit_log() == []


async def test_the_verdict_offers_to_check_the_next_lessons(
    bot: BotClient, connector: FakeConnector
) -> None:
    card = await answer(bot, submit(TEACHER, connector.url))

    assert ("Check my next lessons", "call.next") in card_buttons(card)
