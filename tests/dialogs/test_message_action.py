""" "Report this message" through the use-case layer (``MessageActions.fetch``/``submit``):
prefilled from the message, the same verbs, checks and dedupe as the private chat, a pupil gets
the worry card, files never used (fast twin of tests/e2e/test_message_action_over_http.py; the
HTTP suite keeps the invoke shapes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dialogs.message_action import ReportedMessage
from tests.dialogs.conftest import School
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT,
    PUPIL,
    STRANGER,
    TEACHER,
    dm,
    everything,
    visible_text,
)

CLASS_CHANNEL = "19:class-9c@thread.tacv2"
LINK = "https://teams.microsoft.com/l/message/19:class-9c@thread.tacv2/1763891880000"
WORDS = "meet me after school, dont tell anyone CANARY-6161"
MESSAGE = ReportedMessage(
    text=WORDS,
    author_id=PUPIL,
    author_name="Ava Thompson",
    sent_at=datetime(2026, 11, 23, 9, 58, tzinfo=UTC),
    link=LINK,
)


def submit_data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    for action in card.get("actions", []):
        # (The bot layer turns these into Action.Submit for the dialog; not this layer's job.)
        if action.get("data", {}).get("verb") == verb or action.get("verb") == verb:
            return dict(action["data"])
    raise AssertionError(f"no {verb} button")


def field(card: dict[str, Any], field_id: str) -> Any:
    [found] = [e for e in card["body"] if e.get("id") == field_id]
    return found.get("value")


def in_class(s: School, who: str) -> Any:
    return s.turn(who, scope="channel", conversation_id=CLASS_CHANNEL)


async def fetch(s: School, who: str, message: ReportedMessage = MESSAGE) -> dict[str, Any]:
    reply, _ = await s.message_actions.fetch(in_class(s, who), message)
    assert reply.card is not None
    return dict(reply.card)


async def submit(s: School, who: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    reply, made = await s.message_actions.submit(in_class(s, who), data)
    assert reply.card is not None
    return dict(reply.card), made


async def the_form(s: School) -> tuple[dict[str, Any], dict[str, Any]]:
    first = await fetch(s, TEACHER)
    form, made = await submit(
        s, TEACHER, {**submit_data(first, "concern.start"), "category": "grooming"}
    )
    assert not made
    filled = {
        "immediate_risk": "no",
        **{k: field(form, k) for k in ("involved", "year_group", "what_happened", "where", "url")},
        "happened_on": "2026-11-23",
    }
    return form, filled


async def test_the_first_card_shows_the_words_and_the_files_rule_and_stores_nothing(
    school: School,
) -> None:
    first = await fetch(school, TEACHER)

    assert "CANARY-6161" in visible_text(first)
    assert "Pictures and files in the message are not saved or shown here." in visible_text(first)
    assert await school.find("concern") == []
    assert await school.audit() == []


async def test_the_form_is_prefilled_from_the_message_and_the_pupil_author(
    school: School,
) -> None:
    form, _ = await the_form(school)

    assert field(form, "involved") == "Ava Thompson"
    assert field(form, "year_group") == "Year 8"
    assert "A message in Teams from Ava Thompson, sent 23 Nov 2026 at 09:58" in field(
        form, "what_happened"
    )
    assert field(form, "url") == LINK
    assert field(form, "where") == "Microsoft Teams"


async def test_a_staff_author_is_not_put_in_who_is_involved(school: School) -> None:
    first = await fetch(
        school, DSL, ReportedMessage(text=WORDS, author_id=TEACHER, author_name="Daniel Okafor")
    )
    form, _ = await submit(
        school, DSL, {**submit_data(first, "concern.start"), "category": "fraud"}
    )

    assert not field(form, "involved")


async def test_a_problem_is_shown_in_the_dialog_and_nothing_sent(school: School) -> None:
    form, filled = await the_form(school)

    again, made = await submit(
        school, TEACHER, {**submit_data(form, "concern.submit"), **filled, "where": ""}
    )

    assert not made
    assert "Nothing has been sent yet" in visible_text(again)
    assert await school.find("concern") == []


async def test_sending_makes_a_concern_routed_like_any_other_and_never_to_the_message_channel(
    school: School,
) -> None:
    form, filled = await the_form(school)
    send = {**submit_data(form, "concern.submit"), **filled}

    done, made = await submit(school, TEACHER, send)
    again, made_again = await submit(school, TEACHER, send)  # a double click
    await school.settle()

    assert made and not made_again
    assert "Received: OSC-2026-0001" in visible_text(done)
    assert "Received: OSC-2026-0001" in visible_text(again)
    [record] = await school.find("concern")
    assert "CANARY-6161" in record.data["what_happened"]
    assert record.data["urgent"] is True  # grooming
    [card] = school.messenger.cards(DSL_CHANNEL)
    assert "CANARY" not in everything(card)
    for person in (DSL, DEPUTY_DSL):
        assert school.messenger.to(dm(person))
    assert school.messenger.to(CLASS_CHANNEL) == []


async def test_a_picture_in_the_message_is_counted_never_used(school: School) -> None:
    first = await fetch(school, TEACHER, ReportedMessage(text=WORDS, files=1))

    text = visible_text(first)
    assert "This message has a picture or a file. It was not opened or saved." in text


async def test_a_pupil_gets_the_worry_card_with_the_messages_words(school: School) -> None:
    reply, pupil = await school.message_actions.fetch(
        in_class(school, PUPIL), ReportedMessage(text=WORDS, author_id=TEACHER)
    )

    assert pupil and reply.card is not None
    card = dict(reply.card)
    assert field(card, "words") == WORDS
    send = submit_data(card, "worry.submit")
    done, made = await submit(
        school, PUPIL, {**send, "kind": "stranger", "words": WORDS, "safe": "yes", "adult": ""}
    )

    assert made
    assert "Your worry has been sent." in visible_text(done)
    [record] = await school.find("concern")
    assert record.data["source"] == "pupil"


async def test_staff_who_may_not_report_and_strangers_are_refused(school: School) -> None:
    stranger = await fetch(school, STRANGER)

    assert WORDS not in everything(stranger)
    assert [e.outcome for e in await school.audit()] == ["refused: not in the directory"]
    # IT staff may report concerns too: the dialog opens for them.
    assert "CANARY-6161" in visible_text(await fetch(school, IT))
