"""Cards for feedback to the pupil who reported (issue 20; 004 §2 "those involved will be
provided with feedback").

For the DSL or a deputy: the "Message the pupil" card (ready-made messages or their own words,
one follow-up question at a time, and what has been sent so far, each marked truthfully
"delivered" or "waiting to be delivered"), and the notices that a message was delivered or that
the pupil answered (the answer itself only behind "Open": never in a channel).

For the pupil: the message, the question with a box for their answer (words only: "Please don't
send pictures"), and the thank-you after answering. Short, warm, plain words: every sentence of
ours is held to the pupil cards' Year 5 reading level by ``tests/unit/test_pupil_feedback.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    ShowCardAction,
)

from cards.common import (
    attention,
    card,
    entered_box,
    execute,
    heading,
    menu_button,
    para,
    safe_text,
    show_card,
    text_box,
)
from policy.actions import Verb
from policy.pupil_feedback import (
    ADULT,
    ADULT_LIMIT,
    ANSWER_LIMIT,
    MESSAGE_LIMIT,
    QUESTION_LIMIT,
    says_today,
)

#: Said to the pupil on every card from school, as on the worry card.
NO_PICTURES = "Please don't send pictures. An adult will talk to you."
IN_DANGER = "If you are in danger now, tell an adult near you or call 999."
#: Said when the answer could not be saved: it has NOT been sent.
ANSWER_NOT_SENT = "Sorry, your answer was not sent. Please try again in a minute."
#: The value of "write my own" in the ready-made messages list.
OWN = "own"


@dataclass(frozen=True, slots=True)
class Sent:
    """One message or question sent to the pupil, as the DSL's card lists it."""

    when: str
    by: str
    kind: str  # "message" or "question"
    text: str
    #: "Delivered", or the truth about a message Teams has not taken yet.
    status: str


# ----- for the DSL -------------------------------------------------------------------------------


def template_choices(templates: Sequence[str], *, school_day: bool = True) -> list[Choice]:
    """The ready-made messages, ``{adult}`` shown as "[name]", then "write my own"; outside the
    school day, none that promises something "today"."""
    return [
        *(
            Choice(title=t.replace(ADULT, "[name]"), value=f"t{i}")
            for i, t in enumerate(templates)
            if school_day or not says_today(t)
        ),
        Choice(title="None: I will write my own (below)", value=OWN),
    ]


def feedback_card(
    ref: str,
    *,
    version: int,
    templates: Sequence[str],
    adult: str,
    sent: Sequence[Sent] = (),
    question_open: bool = False,
    closed: bool = False,
    values: Mapping[str, str] | None = None,
    note: str | None = None,
    problem: str | None = None,
    school_day: bool = True,
) -> dict[str, Any]:
    """The "Message the pupil" card for the DSL or a deputy, for pupil report ``ref``
    (``school_day``: False after school, when no message promising "today" is offered).

    Args:
        ref: The report's reference.
        version: The report's record version (its buttons carry it).
        templates: The school's ready-made messages (``{adult}`` is the name below).
        adult: The name ``{adult}`` becomes unless they type another (their first name).
        sent: What has been sent so far (answers are in the report's chronology).
        question_open: The pupil has not answered the last question (no new one yet).
        closed: The report is closed (nothing more can be sent).
        values: What they typed (shown again when nothing was sent).
        note: Our words at the top (for example "queued").
        problem: Why nothing was sent, in red at the top.
    """
    values = values or {}
    ids: dict[str, str | int] = {"ref": ref, "ver": version}
    body = [*_feedback_top(ref, note=note, problem=problem), *_sent_so_far(sent)]
    actions: list[Any] = []
    if closed:
        body.append(para("This report is closed, so nothing more can be sent.", emphasis=True))
    else:
        actions.append(_send_message(values, templates, adult, ids, school_day=school_day))
        if question_open:
            body.append(para(QUESTION_WAITING, emphasis=True))
        else:
            actions.append(_ask_question(values, ids))
    actions.append(execute("Back to the report", Verb.CONCERN_OPEN, ids={**ids, "view": "detail"}))
    return card(body, actions)


#: Said on the DSL's card while the pupil has not answered the last question.
QUESTION_WAITING = (
    "Your question is waiting for the pupil's answer. You can ask another one when they have "
    "answered."
)


def _feedback_top(ref: str, *, note: str | None, problem: str | None) -> list[CardElement]:
    """The card's title, why nothing was sent (``problem``), our ``note`` and the advice."""
    top: list[CardElement] = [heading(f"Message the pupil: {ref}")]
    if problem:
        top.append(attention(problem))
    if note:
        top.append(para(note, emphasis=True))
    top.append(
        para(
            "The pupil who made this report gets your message in their private chat with the "
            "bot. Use short, simple words. Never ask for pictures.",
            subtle=True,
        )
    )
    return top


def _sent_so_far(sent: Sequence[Sent]) -> list[CardElement]:
    """What has been sent to the pupil, each with who sent it, when and its status."""
    if not sent:
        return []
    shown: list[CardElement] = [para("Sent so far", emphasis=True)]
    for item in sent:
        what = "Question" if item.kind == "question" else "Message"
        shown.append(
            Container(
                separator=True,
                items=[
                    para(
                        f"{what} from {safe_text(item.by, limit=80)}, {item.when}: {item.status}",
                        subtle=True,
                    ),
                    para(safe_text(item.text, limit=QUESTION_LIMIT + MESSAGE_LIMIT)),
                ],
            )
        )
    shown.append(para("The pupil's answers are in the report's chronology.", subtle=True))
    return shown


def _send_message(
    values: Mapping[str, str],
    templates: Sequence[str],
    adult: str,
    ids: Mapping[str, str | int],
    *,
    school_day: bool,
) -> ShowCardAction:
    """The "Send a message" button: a ready-made message, the name for it, or their own."""
    choices = template_choices(templates, school_day=school_day)
    message_inputs: list[CardElement] = [
        ChoiceSetInput(
            id="template",
            label="A ready-made message",
            style="expanded",
            choices=choices,
            value=values.get("template") or choices[0].value,
        ),
        text_box(
            "adult",
            "The name to use for [name]",
            limit=ADULT_LIMIT,
            value=values.get("adult") or adult,
            placeholder="For example: Mrs Patel",
        ),
        entered_box(
            values,
            "message",
            "Or write your own message (sent instead of the ready-made one)",
            limit=MESSAGE_LIMIT,
            placeholder="Short and simple, as for a young child",
            multiline=True,
        ),
    ]
    return show_card(
        "Send a message",
        message_inputs,
        execute("Send to the pupil", Verb.PUPIL_FEEDBACK_SEND, style="positive", ids=ids),
    )


def _ask_question(values: Mapping[str, str], ids: Mapping[str, str | int]) -> ShowCardAction:
    """The "Ask a question" button: one open question, answered in words only."""
    return show_card(
        "Ask a question",
        [
            entered_box(
                values,
                "question",
                "One open question (not a leading one)",
                limit=QUESTION_LIMIT,
                placeholder="For example: Can you tell me more about what happened?",
                multiline=True,
            ),
            para("The pupil gets a box to answer in, with words only.", subtle=True),
        ],
        execute("Ask the pupil", Verb.PUPIL_FEEDBACK_ASK, ids=ids),
    )


def feedback_button(ref: str, version: int) -> ActionSet:
    """The "Message the pupil" button on a pupil report's detail card."""
    return ActionSet(
        actions=[
            execute(
                "Message the pupil", Verb.PUPIL_FEEDBACK_START, ids={"ref": ref, "ver": version}
            )
        ]
    )


def delivered_text(ref: str, kind: str) -> str:
    """The DSL's notice that their message (or question) reached the pupil's chat."""
    what = "question" if kind == "question" else "message"
    return f"Delivered: your {what} to the pupil who made {ref} is in their chat now."


def answered_card(ref: str, version: int) -> dict[str, Any]:
    """The asker's 1:1 notice that the pupil answered (the answer only behind "Open")."""
    ids: dict[str, str | int] = {"ref": ref, "ver": version}
    return card(
        [
            heading(f"The pupil answered your question on {ref}"),
            para("Open the report to read the answer. It is in the chronology."),
        ],
        [
            execute("Open", Verb.CONCERN_OPEN, ids={**ids, "view": "detail"}),
            execute("Message the pupil", Verb.PUPIL_FEEDBACK_START, ids=ids),
        ],
    )


def answered_note(ref: str) -> str:
    """The DSL channel's note that the pupil answered (never the answer itself)."""
    return (
        f"The pupil who made {ref} answered a question from the safeguarding team. "
        "Open the report to read it."
    )


# ----- for the pupil ----------------------------------------------------------------------------


def pupil_message_card(text: str, day: str) -> dict[str, Any]:
    """A message from the DSL to the pupil who reported (``day``: when they sent the worry)."""
    return card(
        [
            heading("A message from school"),
            para(f"This is about the worry you sent on {day}.", subtle=True),
            para(safe_text(text, limit=MESSAGE_LIMIT)),
            para(IN_DANGER, subtle=True),
        ],
        [execute("See my reports", Verb.MY_REPORTS), menu_button("Back")],
    )


def pupil_question_card(
    ref: str,
    number: int,
    question: str,
    day: str,
    *,
    value: str | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    """A question from the DSL, with a box for the pupil's answer (words only)."""
    body: list[CardElement] = [heading("A question from school")]
    if problem:
        body += [attention(problem), para("Nothing has been sent yet.", emphasis=True)]
    body += [
        para(f"This is about the worry you sent on {day}.", subtle=True),
        para(safe_text(question, limit=QUESTION_LIMIT)),
        text_box(
            "answer",
            "Your answer",
            limit=ANSWER_LIMIT,
            value=value or None,
            placeholder="Write your answer here.",
            multiline=True,
        ),
        para(NO_PICTURES, emphasis=True),
        para("You don't have to answer. You can talk to an adult you trust instead."),
        para(IN_DANGER, subtle=True),
    ]
    send = execute(
        "Send my answer", Verb.PUPIL_FEEDBACK_ANSWER, style="positive", ref=ref, q=number
    )
    return card(body, [send, menu_button("Back", send_inputs=False)])


def answer_sent_card(*, already: bool = False) -> dict[str, Any]:
    """What the pupil sees after answering (``already``: this question was answered before)."""
    words = "We already have your answer." if already else "Your answer has been sent."
    return card(
        [
            heading("Thank you"),
            para(words),
            para("An adult will read it."),
            para(IN_DANGER, subtle=True),
        ],
        [execute("See my reports", Verb.MY_REPORTS), menu_button("Back")],
    )
