"""Every sentence a pupil reads scores at or below a UK Year 5 reading level.

The bar: UK Year 5 is age 9–10, which is US grade 4. The Flesch–Kincaid grade (``textstat``, a
well-kept implementation of a standard formula) is a US school grade, so a sentence passes at
grade 4.0 or below: the level of a reader at the *start* of grade 4, i.e. the youngest pupils in
Year 5. That is stricter than "anything in grade 4" (< 5.0), on purpose: the worry card is for
ages 7–16, so the youngest readers set the bar.

What counts as pupil-facing: every text on the cards a pupil can get (the worry card, with
every problem shown; the "sent" card for each answer to "Are you safe right now?"; the welcome
and help cards; the refusal, not-ready and private-chat cards; "My reports"; the words said
when a pupil sends a picture): TextBlocks, question labels, placeholders, error messages, choice
titles and button titles, nested cards included. Fact rows are left out: on pupil cards they
hold references and dates, not sentences. Emoji (pictures-as-words) are removed before scoring;
web addresses and phone numbers are scored as written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
import textstat

from cards.concern import my_reports_card
from cards.pupil import ATTACHMENT_NOT_SAVED, NOT_SENT, PROBLEMS, worry_card, worry_sent_card
from cards.welcome import (
    help_card,
    not_allowed_card,
    not_ready_card,
    private_chat_only_card,
    welcome_card,
)
from policy.concerns import RiskAnswer
from policy.roles import Person, Role
from tests.support import assert_valid_card

#: Flesch–Kincaid grade of a UK Year 5 reader (US grade 4, at its start).
BAR = 4.0

PUPILS = (
    Person("p", "Ava Thompson", frozenset({Role.PUPIL}), "Year 8"),
    Person("y", "Leo Martin", frozenset({Role.PUPIL}), "Year 4"),
)
_TEXT_KEYS = ("text", "label", "placeholder", "errorMessage", "title")


def pupil_cards() -> list[dict[str, Any]]:
    """Every card a pupil can be shown."""
    cards = [
        worry_card("form-1"),
        worry_card("form-1", {}, {**PROBLEMS, "form": NOT_SENT}),
        worry_card("form-1", {}, PROBLEMS),
        *(worry_sent_card(risk) for risk in RiskAnswer),
        private_chat_only_card(),
        my_reports_card([], pupil=True),
    ]
    for pupil in PUPILS:
        cards += [
            welcome_card(pupil, school_name="Oakfield", in_channel=False),
            welcome_card(
                pupil, school_name="Oakfield", in_channel=False, note="Here is what I can do."
            ),
            help_card(pupil, school_name="Oakfield"),
            not_allowed_card(pupil),
            not_ready_card(pupil),
        ]
    return cards


def texts(node: Any) -> Iterator[str]:
    """Every piece of text a reader sees in a card (not fact rows: see the module docstring)."""
    if isinstance(node, dict):
        if node.get("type") == "FactSet":
            return
        for key in _TEXT_KEYS:
            if isinstance(node.get(key), str):
                yield node[key]
        for key, value in node.items():
            if key not in _TEXT_KEYS and key != "data":
                yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def without_pictures(text: str) -> str:
    """The text with emoji (and their joiners and variation selectors) taken out."""
    kept = (
        c
        for c in text
        if unicodedata.category(c) not in {"So", "Sk", "Cs"} and c not in "\u200d\ufe0f"
    )
    return " ".join("".join(kept).split())


def sentences(text: str) -> list[str]:
    """Sentences: split after . ! or ? followed by a space (so "childline.org.uk" stays whole)."""
    plain = re.sub(r"\\(.)", r"\1", without_pictures(text))  # Markdown escapes from safe_text
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", plain) if s.strip()]


def pupil_sentences() -> list[str]:
    found = [s for c in pupil_cards() for t in texts(c) for s in sentences(t)]
    found += sentences(ATTACHMENT_NOT_SAVED)
    return list(dict.fromkeys(found))


def test_every_pupil_card_is_valid() -> None:
    for card in pupil_cards():
        assert_valid_card(card)


def test_the_collection_covers_the_questions_choices_and_signposts() -> None:
    found = " ".join(pupil_sentences())
    for expected in (
        "What kind of thing happened?",
        "Someone I don't know got in touch with me",
        "Tell us what happened, in your own words",
        "Are you safe right now?",
        "Who would you like to talk to?",
        "Please don't send pictures.",
        "Report Remove",
        "Click CEOP",
        "Message me in a private chat",
        "Sorry, you can't do that here",
        "I didn't save your picture.",
    ):
        assert expected in found
    assert not re.search(r"[\U0001F300-\U0001FAFF]", found)  # the emoji were taken out


def test_every_pupil_sentence_is_at_or_below_a_year_5_reading_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    scored = sorted(
        ((textstat.flesch_kincaid_grade(s), s) for s in pupil_sentences()), reverse=True
    )
    worst_score, worst = scored[0]
    with capsys.disabled():
        print(
            f"\npupil text: {len(scored)} sentences; worst Flesch–Kincaid grade {worst_score:.1f}"
            f" (bar {BAR}, UK Year 5): {worst!r}"
        )
    too_hard = [(score, s) for score, s in scored if score > BAR]
    assert not too_hard, too_hard


def test_the_check_would_catch_a_hard_sentence() -> None:
    hard = "Safeguarding professionals will investigate the circumstances of your disclosure."
    assert textstat.flesch_kincaid_grade(hard) > BAR
