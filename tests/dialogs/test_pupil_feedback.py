"""Feedback to the pupil who reported (issue 20) through the use-case layer: the DSL's message
(ready-made or written, checked for reading level), one follow-up question at a time, the
pupil's answer joining the report, truthful delivery, refusals audited, and "My reports" in a
child's words (fast twin of tests/e2e/test_pupil_feedback_over_http.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dialogs.ports import DeliveryFailed
from tests.dialogs.conftest import School
from tests.dialogs.test_concern import report
from tests.dialogs.test_pupil_report import actions_in, worry
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    PUPIL,
    TEACHER,
    YOUNG_PUPIL,
    assert_valid_card,
    click_button,
    dm,
    everything,
    visible_text,
)

REF = "OSC-2026-0001"
HARD = "Safeguarding professionals will investigate the circumstances of your disclosure."
QUESTION = "Can you tell me who sent the messages?"
ANSWER = "It was a boy called CANARY-7731 in the game"


def verbs(card: dict[str, Any]) -> set[str]:
    return {str(a.get("verb")) for a in actions_in(card)}


async def pupil_report(s: School) -> None:
    await worry(s)
    await s.settle()


async def feedback_form(s: School, who: str = DSL) -> dict[str, Any]:
    """``who`` opens the report in their 1:1 chat and clicks "Message the pupil"."""
    record = (await s.find("concern"))[0]
    detail = await s.click(who, "concern.open", {"ref": record.id, "ver": record.version})
    [start] = [a["data"] for a in actions_in(detail) if a.get("verb") == "feedback.start"]
    return await s.click(who, "feedback.start", start)


async def chronology(s: School) -> list[dict[str, Any]]:
    [record] = [r for r in await s.find("concern") if r.id == REF]
    return list(record.data["chronology"])


async def ask(s: School, question: str = QUESTION, who: str = DSL) -> dict[str, Any]:
    form = await feedback_form(s, who)
    return await click_button(s, who, form, "feedback.ask", question=question)


async def audit_of(s: School, action: str) -> list[str]:
    return [e.outcome for e in await s.audit() if e.action == action]


async def test_a_ready_made_message_is_queued_then_delivered_to_the_pupil(school: School) -> None:
    await pupil_report(school)
    form = await feedback_form(school)
    assert_valid_card(form)
    assert "Thank you for telling us. [name] will come and find you today." in everything(form)

    after = await click_button(school, DSL, form, "feedback.send", template="t0", adult="Mrs Patel")

    assert_valid_card(after)
    shown = visible_text(after)
    # Told the truth: queued, not "sent", until Teams has taken it.
    assert "Queued: it will be delivered" in shown and "Waiting to be delivered" in shown
    await school.settle()
    [to_pupil] = [c for c in school.messenger.cards(dm(PUPIL)) if "A message from" in str(c)]
    assert_valid_card(to_pupil)
    assert "Thank you for telling us. Mrs Patel will come and find you today." in visible_text(
        to_pupil
    )
    assert "If you are in danger now" in visible_text(to_pupil)
    assert not any("Delivered" in t for t in school.messenger.texts(dm(DSL)))

    school.advance(seconds=30)
    await school.settle()

    assert school.messenger.texts(dm(DSL))[-1] == (
        f"Delivered: your message to the pupil who made {REF} is in their chat now."
    )
    again = await feedback_form(school)
    assert "Delivered" in visible_text(again)
    lines = [e["text"] for e in await chronology(school)]
    assert (
        "Message sent to the pupil: Thank you for telling us. Mrs Patel will come and find you "
        "today." in lines
    )
    assert await audit_of(school, "pupil_feedback.message") == ["ok"]
    assert await audit_of(school, "pupil_feedback.delivered.1") == ["ok"]
    # Writing to the pupil acknowledged the report: the pupil sees someone is on it.
    mine = visible_text(await school.click(PUPIL, "reports.mine"))
    assert "Your worry: someone is looking after it" in mine


async def test_the_sender_s_first_name_is_used_when_no_name_is_typed(school: School) -> None:
    await pupil_report(school)
    form = await feedback_form(school, DEPUTY_DSL)

    await click_button(school, DEPUTY_DSL, form, "feedback.send", template="t1")
    await school.settle()

    texts = " ".join(visible_text(c) for c in school.messenger.cards(dm(PUPIL)))
    assert "Tom will come and talk to you soon." in texts


async def test_a_written_message_too_hard_to_read_is_refused_nothing_sent_and_audited(
    school: School,
) -> None:
    await pupil_report(school)
    form = await feedback_form(school)
    before = await chronology(school)

    after = await click_button(school, DSL, form, "feedback.send", template="own", message=HARD)

    shown = visible_text(after)
    assert "Nothing was sent." in shown and "too hard for a young pupil to read" in shown
    assert HARD in everything(after)  # what they wrote is kept on the card to change
    await school.settle()
    assert not [c for c in school.messenger.cards(dm(PUPIL)) if "A message from" in str(c)]
    assert await chronology(school) == before
    assert await audit_of(school, "feedback.send") == ["refused: rule: too hard to read"]
    assert HARD not in everything([e.outcome for e in await school.audit()])


async def test_a_written_message_that_reads_easily_is_sent_as_written(school: School) -> None:
    await pupil_report(school)
    form = await feedback_form(school)
    words = "You did the right thing. Mr Hughes will see you at lunch."

    await click_button(school, DSL, form, "feedback.send", message=words)
    await school.settle()

    texts = " ".join(visible_text(c) for c in school.messenger.cards(dm(PUPIL)))
    assert words in texts


async def test_too_long_a_message_is_refused(school: School) -> None:
    await pupil_report(school)
    form = await feedback_form(school)

    after = await click_button(school, DSL, form, "feedback.send", message="Hi. " * 100)

    assert "Keep it under 300 characters" in visible_text(after)
    assert await audit_of(school, "feedback.send") == ["refused: rule: too long"]


async def test_someone_who_is_not_the_dsl_or_a_deputy_is_refused_and_audited(
    school: School,
) -> None:
    await pupil_report(school)
    record = (await school.find("concern"))[0]
    ids = {"ref": record.id, "ver": record.version}

    for verb in ("feedback.start", "feedback.send", "feedback.ask"):
        refused = await school.click(TEACHER, verb, {**ids, "template": "t0", "question": "Hi?"})
        assert "feedback" not in verbs(refused)
    # A pupil cannot write to another pupil, and cannot answer a question that is not theirs.
    await school.click(PUPIL, "feedback.send", {**ids, "template": "t0"})
    await ask(school)
    await school.click(YOUNG_PUPIL, "feedback.answer", {"ref": REF, "q": 1, "answer": "hi"})

    assert await audit_of(school, "feedback.start") == ["refused: role does not allow it"]
    assert await audit_of(school, "feedback.send") == ["refused: role does not allow it"] * 2
    assert await audit_of(school, "feedback.answer") == [
        "refused: not a question about their own report"
    ]
    assert "hi" not in [e["text"] for e in await chronology(school)]


async def test_a_question_is_answered_and_the_answer_joins_the_report(school: School) -> None:
    await pupil_report(school)
    await ask(school)
    await school.settle()
    [question] = [c for c in school.messenger.cards(dm(PUPIL)) if "A question from" in str(c)]
    assert_valid_card(question)
    assert QUESTION in visible_text(question)
    assert "Please don't send pictures." in visible_text(question)
    assert "Action.Submit" not in everything(question)  # only the answer box, no file input

    thanks = await click_button(school, PUPIL, question, "feedback.answer", answer=ANSWER)

    assert "Your answer has been sent." in visible_text(thanks)
    lines = [e["text"] for e in await chronology(school)]
    assert f"Question for the pupil: {QUESTION}" in lines
    assert f"The pupil answered question 1: {ANSWER}" in lines
    await school.settle()
    [notice] = [c for c in school.messenger.cards(dm(DSL)) if "answered your question" in str(c)]
    assert_valid_card(notice)
    assert ANSWER not in everything(notice)
    assert f"The pupil who made {REF} answered a question" in " ".join(
        school.messenger.texts(DSL_CHANNEL)
    )
    # Nothing the pupil wrote reaches the channel: it stays behind "Open".
    assert "CANARY-7731" not in everything(
        [m.card or m.text for c, m in school.messenger.posted if c == DSL_CHANNEL]
        + [m.card for c, _, m in school.messenger.updated if c == DSL_CHANNEL]
    )
    record = (await school.find("concern"))[0]
    detail = await school.click(DSL, "concern.open", {"ref": record.id, "ver": record.version})
    assert "CANARY-7731" in visible_text(detail)
    assert await audit_of(school, "pupil_feedback.answer") == ["ok"]


async def test_the_same_answer_sent_twice_joins_once(school: School) -> None:
    await pupil_report(school)
    await ask(school)
    await school.settle()
    [question] = [c for c in school.messenger.cards(dm(PUPIL)) if "A question from" in str(c)]

    await click_button(school, PUPIL, question, "feedback.answer", answer=ANSWER)
    again = await click_button(school, PUPIL, question, "feedback.answer", answer=ANSWER)

    assert "We already have your answer." in visible_text(again)
    answers = [e for e in await chronology(school) if e["kind"] == "pupil_answer"]
    assert len(answers) == 1


async def test_an_empty_or_too_long_answer_is_shown_again_and_nothing_joins(
    school: School,
) -> None:
    await pupil_report(school)
    await ask(school)
    await school.settle()
    [question] = [c for c in school.messenger.cards(dm(PUPIL)) if "A question from" in str(c)]

    empty = await click_button(school, PUPIL, question, "feedback.answer", answer="  ")
    long = await click_button(school, PUPIL, question, "feedback.answer", answer="a" * 2001)

    assert "Please write your answer in the box." in visible_text(empty)
    assert "Please write less than 2000 letters." in visible_text(long)
    assert "Nothing has been sent yet." in visible_text(long)
    assert not [e for e in await chronology(school) if e["kind"] == "pupil_answer"]


async def test_a_second_question_is_refused_while_the_first_is_open(school: School) -> None:
    await pupil_report(school)
    await ask(school)
    form = await feedback_form(school)
    assert "feedback.ask" not in verbs(form)  # the card says it is waiting
    assert "waiting for the pupil's answer" in visible_text(form)
    record = (await school.find("concern"))[0]

    refused = await school.click(
        DSL, "feedback.ask", {"ref": REF, "ver": record.version, "question": "And then?"}
    )

    assert "only one question can be open at a time" in visible_text(refused)
    assert [e["kind"] for e in await chronology(school)].count("question_to_pupil") == 1
    assert await audit_of(school, "feedback.ask") == ["refused: rule: question already open"]
    # Once answered, a new question can be asked.
    await school.settle()
    [question] = [c for c in school.messenger.cards(dm(PUPIL)) if "A question from" in str(c)]
    await click_button(school, PUPIL, question, "feedback.answer", answer=ANSWER)
    await ask(school, "What happened next?")
    assert [e["kind"] for e in await chronology(school)].count("question_to_pupil") == 2


async def test_a_staff_report_has_no_pupil_feedback_button_and_a_crafted_click_is_refused(
    school: School,
) -> None:
    await report(school, "cyberbullying")
    record = (await school.find("concern"))[0]
    ids = {"ref": record.id, "ver": record.version}

    detail = await school.click(DSL, "concern.open", ids)
    refused = await school.click(DSL, "feedback.send", {**ids, "template": "t0"})

    assert not {v for v in verbs(detail) if v.startswith("feedback.")}
    assert "Message the pupil" not in visible_text(detail)
    assert "feedback.send" not in verbs(refused)
    assert await audit_of(school, "feedback.send") == ["refused: not a pupil report"]
    await school.settle()
    assert not school.messenger.cards(dm(TEACHER))[1:]  # only their "received" card, if any


async def test_undelivered_the_dsl_is_never_told_delivered(school: School) -> None:
    await pupil_report(school)
    form = await feedback_form(school)
    school.messenger.failing = DeliveryFailed("Teams is down")

    await click_button(school, DSL, form, "feedback.send", template="t0")
    for _ in range(3):
        school.advance(seconds=400)
        await school.settle()

    school.messenger.failing = None
    assert not any("Delivered" in t for t in school.messenger.texts(dm(DSL)))
    waiting = visible_text(await feedback_form(school))
    assert "Waiting to be delivered (Teams has not taken it yet, tried" in waiting
    assert "Delivered" not in waiting
    # When Teams is back, it arrives, and only then is the DSL told (a long wait is looked at
    # every five minutes).
    school.advance(seconds=400)
    await school.settle()
    assert "A message from" in str(school.messenger.cards(dm(PUPIL)))
    school.advance(minutes=5)
    await school.settle()
    assert any("Delivered" in t for t in school.messenger.texts(dm(DSL)))


async def test_my_reports_shows_each_state_in_a_child_s_words(school: School) -> None:
    await pupil_report(school)
    assert "Your worry: we've got it" in visible_text(await school.click(PUPIL, "reports.mine"))
    [card] = school.messenger.cards(DSL_CHANNEL)
    await click_button(school, DSL, card, "concern.ack", channel=DSL_CHANNEL)

    mine = await school.click(PUPIL, "reports.mine")

    assert "Your worry: someone is looking after it" in visible_text(mine)
    assert "Fiona" not in visible_text(mine) and "cknowledged" not in visible_text(mine)


async def test_a_question_asking_for_a_screenshot_is_never_sent(school: School) -> None:
    await pupil_report(school)

    refused = await ask(school, "Can you send me a screenshot of the chat?")

    assert "never asks a pupil for images" in visible_text(refused)
    assert "feedback.ask" in verbs(refused)  # they can ask again, in other words
    assert await audit_of(school, "feedback.ask") == ["refused: rule: mentions images"]
    await school.settle()
    assert not [c for c in school.messenger.cards(dm(PUPIL)) if "A question from" in str(c)]
    assert "question_to_pupil" not in [e["kind"] for e in await chronology(school)]


async def test_after_school_no_message_promises_today(school: School) -> None:
    # 21:00 on a Monday in term: "will come and find you today" would not be true.
    school.clock.at = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
    await pupil_report(school)
    form = await feedback_form(school)
    assert_valid_card(form)
    assert "will come and find you today" not in everything(form)
    assert "[name] will come and talk to you soon." in everything(form)

    after = await click_button(school, DSL, form, "feedback.send", template="t0", adult="Mrs Patel")

    assert 'That message says "today", and the school day is over' in visible_text(after)
    await school.settle()
    assert not [c for c in school.messenger.cards(dm(PUPIL)) if "A message from" in str(c)]
    assert await audit_of(school, "feedback.send") == ["refused: rule: today after school"]
    # The same message in the school day is offered and sent (the test above).
    school.clock.at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert "[name] will come and find you today." in everything(await feedback_form(school))
