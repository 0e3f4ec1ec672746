"""Feedback to the pupil who reported (issue 20): the rules (who may write, reading level,
length, one open question at a time, a child's words for a report's state), the school file's
templates, and the cards (valid Adaptive Card 1.5; every sentence a pupil reads at the pupil
cards' Year 5 level, scored by ``textstat`` exactly as ``test_pupil_readability`` does)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import textstat

from bot.config import ConfigError, load_school_policy
from cards.pupil_feedback import (
    ANSWER_NOT_SENT,
    Sent,
    answer_sent_card,
    answered_card,
    answered_note,
    delivered_text,
    feedback_button,
    feedback_card,
    pupil_message_card,
    pupil_question_card,
)
from policy.concerns import Concern, ConcernStatus, Source
from policy.pupil_feedback import (
    ANSWER,
    DEFAULT_TEMPLATES,
    QUESTION,
    READING_BAR,
    TO_PUPIL,
    answer_problem,
    closed_problem,
    fill,
    first_name,
    may_message_pupil,
    message_problem,
    open_question,
    pupil_state_words,
    question_problem,
    reading_grade,
    template_problem,
    too_hard,
)
from policy.roles import Person, Role
from tests.support import ROOT, assert_valid_card
from tests.unit.test_pupil_readability import BAR, pupil_sentences, sentences, texts

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PUPIL = Person("p", "Ava Thompson", frozenset({Role.PUPIL}), "Year 8")
DSL = Person("d", "Fiona Blake", frozenset({Role.DSL, Role.STAFF}))
DEPUTY = Person("e", "Tom Hughes", frozenset({Role.DEPUTY_DSL, Role.STAFF}))
TEACHER = Person("t", "Daniel Okafor", frozenset({Role.STAFF}))
HEAD = Person("h", "Helen Carter", frozenset({Role.HEADTEACHER, Role.STAFF}))
HARD = "Safeguarding professionals will investigate the circumstances of your disclosure."
DAY = "Mon 23 Nov 2026"


def concern(source: Source = Source.PUPIL) -> Concern:
    return Concern(
        ref="OSC-2026-0001",
        source=source,
        category="cyberbullying",
        urgent=False,
        reporter_id=PUPIL.id,
        reporter_name=PUPIL.name,
        created_at=AT,
        year_group="Year 8",
        involved=PUPIL.name,
        what_happened="words",
    )


# ----- rules -------------------------------------------------------------------------------------


def test_only_the_dsl_and_deputies_write_and_only_to_a_pupil_s_own_report() -> None:
    assert may_message_pupil(DSL, concern()) and may_message_pupil(DEPUTY, concern())
    assert not may_message_pupil(TEACHER, concern())
    assert not may_message_pupil(HEAD, concern())
    assert not may_message_pupil(PUPIL, concern())
    assert not may_message_pupil(DSL, concern(Source.STAFF))
    odd = Person("x", "Pupil Helper", frozenset({Role.PUPIL, Role.DSL}))
    assert not may_message_pupil(odd, concern())  # a pupil's access is never widened


def test_every_sentence_of_the_pupil_cards_passes_the_reading_check() -> None:
    # The bar is the pupil cards' own level: a message is never harder than what they read.
    assert all(too_hard(s) is None for s in pupil_sentences())
    worst = max(reading_grade(s) for s in pupil_sentences())
    assert READING_BAR - 1 < worst <= READING_BAR


def test_jargon_is_too_hard_and_the_dsl_is_told_which_sentence() -> None:
    problem = message_problem(f"Thank you for telling us. {HARD}")

    assert problem is not None and problem.code == "too hard to read"
    assert HARD in problem.words and problem.words.startswith("Nothing was sent.")
    assert "Thank you for telling us." not in problem.words


def test_everyday_messages_pass() -> None:
    for text in (
        "You did the right thing. Mr Hughes will see you at lunch.",
        "Can you tell me who sent the messages?",
        "Your teacher will talk to you at lunchtime tomorrow.",
        *(fill(t, "Mrs Patel") for t in DEFAULT_TEMPLATES),
    ):
        assert message_problem(text) is None, text


def test_nothing_sent_to_a_pupil_asks_for_images() -> None:
    for text in (
        "Can you send me a screenshot of it?",
        "Please show us the photos.",
        "Did he send you a picture?",
        "Send the video to Mrs Patel.",
    ):
        problem = message_problem(text)
        assert problem is not None and problem.code == "mentions images", text
        assert "never asks a pupil for images" in problem.words


def test_empty_and_long_messages_are_refused() -> None:
    assert message_problem("  ") is not None
    long = message_problem("Hi. " * 100)
    assert long is not None and long.code == "too long" and "300" in long.words


def test_the_shipped_templates_read_easily_and_take_the_name() -> None:
    assert all(template_problem(t) is None for t in DEFAULT_TEMPLATES)
    assert fill(DEFAULT_TEMPLATES[0], "Mrs  Patel") == (
        "Thank you for telling us. Mrs Patel will come and find you today."
    )
    assert first_name(DSL) == "Fiona"
    assert template_problem(HARD) is not None
    assert template_problem("x" * 301) is not None
    assert template_problem("Send {adult} the photo.") is not None
    assert template_problem("Hello. {adult} will see you.") is None  # short, short words
    assert too_hard("Well done!") is None and too_hard("Investigation.") is not None


def test_one_question_open_at_a_time() -> None:
    c = concern()
    assert open_question(c) is None and question_problem(c, "Who was it?") is None
    asked = c.with_event(DSL, AT, QUESTION, "Question for the pupil: Who was it?")
    assert open_question(asked) == 1
    refused = question_problem(asked, "And then?")
    assert refused is not None and refused.code == "question already open"
    told = asked.with_event(DSL, AT, TO_PUPIL, "Message sent to the pupil: Thank you.")
    assert open_question(told) == 1  # a message does not close the question
    answered = told.with_event(PUPIL, AT, ANSWER, "The pupil answered question 1: a boy")
    assert open_question(answered) is None
    again = answered.with_event(DSL, AT, QUESTION, "Question for the pupil: When?")
    assert open_question(again) == 2


def test_a_closed_report_takes_no_more_messages() -> None:
    assert closed_problem(concern()) is None
    closed = closed_problem(replace(concern(), status=ConcernStatus.CLOSED))
    assert closed is not None and closed.code == "concern closed"


def test_answers_have_the_worry_card_s_limits() -> None:
    assert answer_problem("") == "Please write your answer in the box."
    assert answer_problem("a" * 2000) is None
    assert answer_problem("a" * 2001) == "Please write less than 2000 letters."


def test_a_report_s_state_in_a_child_s_words() -> None:
    assert [pupil_state_words(s) for s in ConcernStatus] == [
        "We've got it",
        "Someone is looking after it",
        "Finished",
    ]


# ----- the school file ---------------------------------------------------------------------------


def test_a_school_template_too_hard_to_read_is_refused(tmp_path: Path) -> None:
    demo = (ROOT / "config" / "school.toml").read_text(encoding="utf-8")
    path = tmp_path / "school.toml"
    path.write_text(
        demo + f'\n[pupil_feedback]\ntemplates = ["{HARD}", "Hello. {{adult}} will see you."]\n',
        encoding="utf-8",
    )

    with pytest.raises(ConfigError) as raised:
        load_school_policy(path)

    problems = "\n".join(raised.value.problems)
    assert "pupil_feedback.templates, message 1: is too hard to read" in problems
    assert "message 2" not in problems


def test_a_misspelt_setting_is_refused(tmp_path: Path) -> None:
    demo = (ROOT / "config" / "school.toml").read_text(encoding="utf-8")
    path = tmp_path / "school.toml"
    path.write_text(demo + '\n[pupil_feedback]\ntemplate = ["Hi."]\n', encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        load_school_policy(path)

    assert "pupil_feedback" in "\n".join(raised.value.problems)


def test_a_school_s_own_templates_are_used(tmp_path: Path) -> None:
    demo = (ROOT / "config" / "school.toml").read_text(encoding="utf-8")
    path = tmp_path / "school.toml"
    path.write_text(
        demo + '\n[pupil_feedback]\ntemplates = ["Thank you. {adult} will see you."]\n',
        encoding="utf-8",
    )

    school = load_school_policy(path)

    assert school.pupil_feedback.templates == ("Thank you. {adult} will see you.",)


def test_the_demo_school_ships_the_default_templates() -> None:
    school = load_school_policy(ROOT / "config" / "school.toml")
    assert school.pupil_feedback.templates == DEFAULT_TEMPLATES


# ----- cards -------------------------------------------------------------------------------------


def pupil_feedback_cards() -> list[dict[str, Any]]:
    """Every card this feature shows a pupil (with a message made from each template)."""
    return [
        *(pupil_message_card(fill(t, "Mrs Patel"), DAY) for t in DEFAULT_TEMPLATES),
        pupil_question_card("OSC-2026-0001", 1, "Who was it?", DAY),
        pupil_question_card(
            "OSC-2026-0001", 1, "Who was it?", DAY, value="a", problem=answer_problem("")
        ),
        pupil_question_card("OSC-2026-0001", 1, "Who was it?", DAY, problem=ANSWER_NOT_SENT),
        pupil_question_card(
            "OSC-2026-0001", 1, "Who was it?", DAY, problem=answer_problem("a" * 2001)
        ),
        answer_sent_card(),
        answer_sent_card(already=True),
    ]


def staff_cards() -> list[dict[str, Any]]:
    sent = [
        Sent("Mon 23 Nov 2026, 10:00", "Fiona Blake", "message", "Thank you.", "Delivered"),
        Sent("Mon 23 Nov 2026, 10:05", "Fiona Blake", "question", "Who?", "Waiting"),
    ]
    common: dict[str, Any] = {"version": 3, "templates": DEFAULT_TEMPLATES, "adult": "Fiona"}
    return [
        feedback_card("OSC-2026-0001", **common),
        feedback_card("OSC-2026-0001", **common, sent=sent, question_open=True, note="Queued."),
        feedback_card("OSC-2026-0001", **common, closed=True, problem="Nothing was sent."),
        feedback_card("OSC-2026-0001", **common, values={"template": "own", "message": HARD}),
        answered_card("OSC-2026-0001", 4),
    ]


def test_every_card_is_valid_adaptive_card_1_5() -> None:
    for card in [*pupil_feedback_cards(), *staff_cards()]:
        assert_valid_card(card)
    assert_valid_card(
        {
            "type": "AdaptiveCard",
            "version": "1.5",
            "body": [
                feedback_button("OSC-2026-0001", 2).model_dump(exclude_none=True, by_alias=True)
            ],
        }
    )


def test_every_sentence_a_pupil_reads_is_at_or_below_a_year_5_reading_level() -> None:
    found = {s for c in pupil_feedback_cards() for t in texts(c) for s in sentences(t)}
    too_hard_for_them = [(textstat.flesch_kincaid_grade(s), s) for s in found]
    assert not [(g, s) for g, s in too_hard_for_them if g > BAR], too_hard_for_them
    joined = " ".join(found)
    assert "Please don't send pictures." in joined
    assert "You don't have to answer." in joined


def test_the_dsl_s_notices_never_carry_the_pupil_s_words() -> None:
    assert "OSC-2026-0001" in answered_note("OSC-2026-0001")
    assert delivered_text("OSC-2026-0001", "question").startswith("Delivered: your question")
    card = answered_card("OSC-2026-0001", 4)
    assert {a["verb"] for a in card["actions"]} == {"concern.open", "feedback.start"}


def test_check_config_shows_the_messages_a_pupil_can_be_sent() -> None:
    from policy.preview import preview

    shown = preview(load_school_policy(ROOT / "config" / "school.toml"))

    assert "Messages to a pupil who reported" in shown
    assert "  - Thank you for telling us. {adult} will come and find you today." in shown
