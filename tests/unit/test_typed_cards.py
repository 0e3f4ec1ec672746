"""The replies to typed words and the "Report this message" card (issue 18): valid Adaptive
Cards 1.5, help links a tap can use, pupil words at a Year 5 reading level, and the dialog's
buttons turned into Action.Submit with the same data."""

from __future__ import annotations

from typing import Any

import textstat

from bot.message_action import as_dialog_card, reported_message
from cards.help_links import CEOP_URL, CHILDLINE_TEL, EMERGENCY_TEL
from cards.message_action import report_message_card
from cards.typed import (
    STAFF_LIMIT,
    concern_offer_card,
    disclosure_sent_card,
    pupil_typed_card,
)
from dialogs.typed import not_sent_card
from policy.school import SchoolPolicy
from tests.support import assert_valid_card, card_buttons, visible_text
from tests.unit.test_pupil_readability import BAR, sentences, texts


def school() -> SchoolPolicy:
    from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy

    return load_school_policy(DEFAULT_SCHOOL_CONFIG)


def pupil_cards() -> list[dict[str, Any]]:
    return [
        disclosure_sent_card(added=False),
        disclosure_sent_card(added=True),
        pupil_typed_card("hello"),
        not_sent_card(),
    ]


def open_urls(card: Any) -> list[str]:
    if isinstance(card, dict):
        found = [card["url"]] if card.get("type") == "Action.OpenUrl" else []
        return found + [u for v in card.values() for u in open_urls(v)]
    if isinstance(card, list):
        return [u for v in card for u in open_urls(v)]
    return []


def test_every_pupil_reply_is_valid_has_the_help_links_and_reads_at_year_5() -> None:
    for card in pupil_cards():
        assert_valid_card(card)
        assert {EMERGENCY_TEL, CHILDLINE_TEL, CEOP_URL} <= set(open_urls(card))
        assert "Childline is free. Call 0800 1111" in visible_text(card)
        for text in texts(card):
            for sentence in sentences(text):
                grade = textstat.flesch_kincaid_grade(sentence)
                assert grade <= BAR, (sentence, grade)


def test_the_pupil_reply_never_says_sent_when_nothing_was() -> None:
    typed = visible_text(pupil_typed_card("hello"))
    assert "Nothing is sent until you press it." in typed
    assert "sent your message" not in typed
    assert "was not sent" in visible_text(not_sent_card())


def test_the_staff_offer_leads_with_999_only_when_the_words_show_risk() -> None:
    risky = concern_offer_card(school(), "text", risky=True, typed_length=4)
    calm = concern_offer_card(school(), "text", risky=False, typed_length=4)
    for card in (risky, calm):
        assert_valid_card(card)
        assert [t for t, _ in card_buttons(card)] == [
            "Report this as a concern",
            "No, show the menu",
        ]
    assert visible_text(risky).startswith("If a child is in immediate danger, call 999")
    assert visible_text(calm).startswith("Do you want to report this as a concern?")
    assert "characters" not in visible_text(calm)


def test_a_long_paste_is_cut_to_the_form_and_the_person_is_told() -> None:
    card = concern_offer_card(school(), "x" * STAFF_LIMIT, risky=False, typed_length=20_000)
    assert "Your message was 20,000 characters" in visible_text(card)
    [box] = [e for e in card["body"] if e.get("id") == "what_happened"]
    assert box["maxLength"] == STAFF_LIMIT == len(box["value"])


def test_the_report_message_card_in_a_dialog_uses_submit_with_the_same_data() -> None:
    card = report_message_card(
        school(), "hello", {"what_happened": "hello", "where": "Microsoft Teams"}, files=1
    )
    assert_valid_card(card)
    assert "This message has a picture or a file" in visible_text(card)
    dialog = as_dialog_card(card)
    assert_valid_card(dialog)
    [next_button] = dialog["actions"]
    assert next_button["type"] == "Action.Submit"
    assert next_button["data"]["verb"] == "concern.start"
    assert next_button["data"]["what_happened"] == "hello"


def test_a_teams_message_body_is_read_as_text_and_its_pictures_only_counted() -> None:
    message = reported_message(
        {
            "body": {
                "contentType": "html",
                "content": "<p>Hi &amp; bye</p><p>second <b>line</b></p><img src='x'>",
            },
            "attachments": [{"contentType": "image/png"}],
            "from": {"user": {"id": "u1", "displayName": "Ava"}},
            "createdDateTime": "2026-11-23T09:58:00.000Z",
            "linkToMessage": "javascript:alert(1)",
        }
    )
    assert message.text == "Hi & bye\nsecond line"
    assert message.files == 2
    assert message.author_id == "u1"
    assert message.link == ""


def test_the_pupils_help_and_sent_cards_link_every_help_line_report_remove_included() -> None:
    from cards.help_links import CHILDLINE_URL, REPORT_REMOVE_URL
    from cards.pupil import worry_sent_card
    from cards.welcome import help_card
    from policy.concerns import RiskAnswer
    from policy.roles import Person, Role

    pupil = Person("p1", "Ava Thompson", frozenset({Role.PUPIL}))
    for shown in (
        help_card(pupil, school_name="Demo School"),
        *(worry_sent_card(risk) for risk in RiskAnswer),
    ):
        assert_valid_card(shown)
        text = visible_text(shown)
        assert "Childline" in text and "Click CEOP" in text and "Report Remove" in text
        assert {EMERGENCY_TEL, CHILDLINE_TEL, CHILDLINE_URL, CEOP_URL, REPORT_REMOVE_URL} <= set(
            open_urls(shown)
        )
