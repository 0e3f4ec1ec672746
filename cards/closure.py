"""The close form and the "closure proposed" state of a concern (issue 20, "Closing safely").

The close form asks for an outcome from the school's list, a reason, the reporter's message and,
for each checklist item still open, "Done" or "Not needed" with a reason. A serious concern is
proposed for closure; until a second senior person confirms it, the channel card and the detail
show "Closure proposed by …", and the detail offers "Confirm closure" and "Send back" to anyone
but the proposer (the server checks again whoever clicks: ``policy.closure``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, Container, TextInput

from cards.common import execute, facts, note_box, para, safe_text, school_time, show_card
from policy.actions import Verb
from policy.categories import Category
from policy.closure import DONE, NOT_NEEDED, is_proposed, is_serious, open_items
from policy.concerns import ACTIONS, OUTCOMES, Concern
from policy.school import SchoolPolicy

#: Longest text accepted in each field of the close form (and a send-back reason).
CLOSE_LIMITS = {"reason": 1000, "message": 500, "item_reason": 300}


def item_field(action: str) -> str:
    """The close form's input id for an open checklist item ("done" or "not_needed")."""
    return f"item_{action}"


def item_reason_field(action: str) -> str:
    """The close form's input id for why an open checklist item is not needed."""
    return f"item_{action}_reason"


def proposed_words(concern: Concern, school: SchoolPolicy) -> str | None:
    """``Closure proposed by Jane Smith, Sun 6 Dec 2026, 14:02`` while a closure waits for a
    second senior person; None otherwise."""
    closure = concern.closure
    if closure is None or not is_proposed(concern):
        return None
    who = safe_text(closure.proposed_by_name, limit=80)
    return f"Closure proposed by {who}, {school_time(closure.proposed_at, school.zone)}"


def close_inputs(
    concern: Concern, category: Category, outcomes: Sequence[str]
) -> list[CardElement]:
    """The close form: outcome, reason, the reporter's message, the open checklist items."""
    body: list[CardElement] = [
        ChoiceSetInput(
            id="outcome",
            label="Outcome",
            style="compact",
            is_required=True,
            error_message="Choose the outcome.",
            choices=[Choice(title=OUTCOMES[v], value=v) for v in outcomes if v in OUTCOMES],
        ),
        TextInput(
            id="reason",
            label="Reason for closing (kept in the record)",
            is_multiline=True,
            is_required=True,
            error_message="Give the reason for closing it.",
            max_length=CLOSE_LIMITS["reason"],
        ),
        TextInput(
            id="message",
            label="Message for the person who reported it (no details)",
            is_multiline=True,
            is_required=True,
            error_message="Write a short message for the person who reported it.",
            max_length=CLOSE_LIMITS["message"],
        ),
    ]
    still_open = open_items(concern, category)
    if still_open:
        body.append(
            para(
                "Checklist items still open: mark each one done, or not needed and say why.",
                emphasis=True,
            )
        )
    for action in still_open:
        body += [
            ChoiceSetInput(
                id=item_field(action),
                label=ACTIONS[action],
                style="expanded",
                is_required=True,
                error_message=f"Say whether this was done or is not needed: {ACTIONS[action]}.",
                choices=[
                    Choice(title="Done", value=DONE),
                    Choice(title="Not needed", value=NOT_NEEDED),
                ],
            ),
            TextInput(
                id=item_reason_field(action),
                label="If not needed: why?",
                max_length=CLOSE_LIMITS["item_reason"],
            ),
        ]
    return body


def closure_actions(
    concern: Concern,
    category: Category,
    ids: Mapping[str, str | int],
    outcomes: Sequence[str],
    viewer_id: str | None = None,
) -> list[Any]:
    """The closing buttons for an open concern: "Close" (one step), "Propose closure" (a serious
    concern), or, once proposed, "Confirm closure" and "Send back" (never for the proposer)."""
    closure = concern.closure
    if closure is not None and is_proposed(concern):
        if viewer_id is not None and viewer_id == closure.proposed_by_id:
            return []
        return [
            execute("Confirm closure", Verb.CONCERN_CONFIRM_CLOSE, style="positive", ids=ids),
            show_card(
                "Send back",
                [note_box("Why is it being sent back?", CLOSE_LIMITS["reason"], field_id="reason")],
                execute("Send back", Verb.CONCERN_SEND_BACK, ids=ids),
            ),
        ]
    inputs = close_inputs(concern, category, outcomes)
    if is_serious(category):
        inputs.insert(
            0,
            para(
                "This kind of concern needs a second senior person (the DSL, a deputy or the "
                "headteacher) to confirm closing it. It stays open until they do.",
                subtle=True,
            ),
        )
        button = execute("Propose closure", Verb.CONCERN_PROPOSE_CLOSE, ids=ids)
        return [show_card("Propose closure", inputs, button)]
    button = execute("Close concern", Verb.CONCERN_CLOSE, style="destructive", ids=ids)
    return [show_card("Close", inputs, button)]


def proposal_box(
    concern: Concern, school: SchoolPolicy, viewer_id: str | None = None
) -> list[CardElement]:
    """In the detail view while a closure is proposed: who proposed it and when, the outcome,
    the reason and what happens next."""
    words = proposed_words(concern, school)
    closure = concern.closure
    if words is None or closure is None:
        return []
    if viewer_id is not None and viewer_id == closure.proposed_by_id:
        next_step = (
            "Waiting for a second senior person to confirm it. You cannot confirm your own "
            "proposal."
        )
    else:
        next_step = "A second senior person confirms it, or sends it back with a reason."
    return [
        Container(
            style="warning",
            items=[
                para(words, emphasis=True),
                facts(
                    [
                        ("Outcome", OUTCOMES.get(closure.outcome, closure.outcome)),
                        ("Reason", safe_text(closure.reason, limit=CLOSE_LIMITS["reason"])),
                    ]
                ),
                para(next_step, subtle=True),
            ],
        )
    ]
