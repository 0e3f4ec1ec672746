"""Feedback to the pupil who reported, end to end (issue 20 "Done when": a pupil receives the
DSL's message and their answer joins the report): real HTTP into /api/messages, Teams-shaped
invokes, the real botbuilder adapter, real TinyDB files, the outbox delivering to a fake Bot
Connector, and the clock moved for the delivery check."""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness
from tests.e2e.test_pupil_report_over_http import actions_in, stored, worry
from tests.support import (
    DSL,
    DSL_CHANNEL,
    PUPIL,
    assert_valid_card,
    click_button,
    dm,
    everything,
    visible_text,
)

ANSWER = "It was a boy called CANARY-5521 in the game"


async def feedback_form(h: Harness) -> dict[str, Any]:
    [record] = await stored(h)
    detail = await h.click(DSL, "concern.open", {"ref": record.id, "ver": record.version})
    [start] = [a["data"] for a in actions_in(detail) if a.get("verb") == "feedback.start"]
    return await h.click(DSL, "feedback.start", start)


def pupil_cards(h: Harness, heading: str) -> list[dict[str, Any]]:
    return [c for c in h.connector.cards(dm(PUPIL)) if heading in visible_text(c)]


async def test_a_pupil_receives_the_dsl_s_message_and_their_answer_joins_the_report(
    harness: Harness,
) -> None:
    await worry(harness)
    await harness.settle()

    form = await feedback_form(harness)
    queued = await click_button(
        harness, DSL, form, "feedback.send", template="t0", adult="Mrs Patel"
    )
    assert "Queued: it will be delivered" in visible_text(queued)
    await harness.settle()

    [message] = pupil_cards(harness, "A message from school")
    assert_valid_card(message)
    assert "Mrs Patel will come and find you today." in visible_text(message)
    harness.advance(seconds=30)  # the delivery check falls due
    await harness.settle()
    await harness.settle()
    delivered = [a.get("text", "") for a in harness.connector.to(dm(DSL))]
    assert any(t.startswith("Delivered: your message") for t in delivered)

    asked = await click_button(
        harness,
        DSL,
        await feedback_form(harness),
        "feedback.ask",
        question="Can you tell me more about what happened?",
    )
    assert "Queued" in visible_text(asked)
    await harness.settle()
    [question] = pupil_cards(harness, "A question from school")
    assert_valid_card(question)
    thanks = await click_button(harness, PUPIL, question, "feedback.answer", answer=ANSWER)
    assert "Your answer has been sent." in visible_text(thanks)
    await harness.settle()

    [record] = await stored(harness)
    lines = [e["text"] for e in record.data["chronology"]]
    assert any(line.startswith("Message sent to the pupil: Thank you") for line in lines)
    assert "Question for the pupil: Can you tell me more about what happened?" in lines
    assert f"The pupil answered question 1: {ANSWER}" in lines
    notices = [c for c in harness.connector.cards(dm(DSL)) if "answered your question" in str(c)]
    assert notices and ANSWER not in everything(notices)
    assert "CANARY-5521" not in everything(harness.connector.to(DSL_CHANNEL))
    assert "CANARY-5521" not in everything(harness.connector.updated)
    actions = {e.action: e.outcome for e in await harness.parts.store.audit_log()}
    assert actions["pupil_feedback.message"] == "ok"
    assert actions["pupil_feedback.question"] == "ok"
    assert actions["pupil_feedback.answer"] == "ok"
