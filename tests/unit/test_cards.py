"""Every card the bot can send is a valid Adaptive Card 1.5, and user text stays text."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pytest

from cards.common import safe_text
from cards.welcome import (
    help_card,
    no_access_card,
    not_allowed_card,
    not_ready_card,
    private_chat_only_card,
    welcome_card,
)
from policy.roles import Person, Role
from tests.support import ROOT, assert_valid_card, card_texts

PEOPLE = {
    "pupil": Person("p", "Ava Thompson", frozenset({Role.PUPIL}), "Year 8"),
    "teacher": Person("t", "Daniel Okafor", frozenset({Role.STAFF})),
    "dsl": Person("d", "Fiona Blake", frozenset({Role.STAFF, Role.DSL})),
    "it": Person("i", "Nadia Khan", frozenset({Role.STAFF, Role.IT})),
}


@pytest.mark.parametrize(
    ("who", "in_channel"), list(product(PEOPLE, [False, True])), ids=lambda v: str(v)
)
def test_welcome_cards_are_valid(who: str, in_channel: bool) -> None:
    card = welcome_card(PEOPLE[who], school_name="Oakfield", in_channel=in_channel, note="Hi")
    assert_valid_card(card)


@pytest.mark.parametrize("who", list(PEOPLE))
def test_help_refusal_and_not_ready_cards_are_valid(who: str) -> None:
    for card in (
        help_card(PEOPLE[who], school_name="Oakfield"),
        not_allowed_card(PEOPLE[who]),
        not_ready_card(PEOPLE[who]),
    ):
        assert_valid_card(card)


def test_fixed_cards_are_valid() -> None:
    assert_valid_card(no_access_card("the IT office"))
    assert_valid_card(private_chat_only_card())


def test_pupil_help_signposts_childline_and_ceop() -> None:
    text = " ".join(card_texts(help_card(PEOPLE["pupil"], school_name="Oakfield")))
    assert "0800 1111" in text
    assert "CEOP" in text
    assert "999" in text


def test_user_text_cannot_draw_links_images_or_mentions() -> None:
    hostile = (
        "[click me](https://evil.example) ![x](https://evil.example/p.png) <at>Head</at> **b**"
    )

    shown = safe_text(hostile)

    assert "](" not in shown.replace("\\](", "")
    assert "\\[click me\\]\\(https://evil\\.example\\)" in shown
    assert "<at>" not in shown
    assert "\\*\\*b\\*\\*" in shown


def test_long_text_is_capped() -> None:
    shown = safe_text("a" * 20_000)
    assert len(shown) == 500
    assert shown.endswith("…")


def test_a_hostile_directory_name_is_escaped_on_the_welcome_card() -> None:
    person = Person("t", "[Mr](https://evil.example) Okafor", frozenset({Role.STAFF}))
    card = welcome_card(person, school_name="Oakfield", in_channel=False)
    assert not any("[Mr](" in text for text in card_texts(card))


def test_the_test_schema_copy_is_the_official_one() -> None:
    shared = ROOT.parent / "shared" / "schemas" / "adaptive-cards" / "1.5.0" / "adaptive-card.json"
    ours = ROOT / "tests" / "schemas" / "adaptive-card-1.5.json"
    if shared.exists():  # ../shared sits beside the clone on developer machines and in CI
        assert ours.read_bytes() == shared.read_bytes()
    assert Path(ours).stat().st_size > 10_000
