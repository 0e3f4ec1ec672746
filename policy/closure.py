"""Closing a concern safely (issue 20): an outcome, a reason, the checklist reviewed, and for a
serious concern a second senior person.

Rules: a concern closes with an outcome from the school's list and a reason, and every checklist
item still open for its category is answered: done, or not needed with a reason (001 §1.3.2 "a
record of concerns/incidents and actions"; 001 §9.1–9.6, 003 "Procedures"). A category the school
marks serious (``Category.serious``: by default nude imagery, indecent images, grooming and
exploitation, radicalisation and concerns about staff) is only proposed for closure by one
person; a second senior person (the DSL, a deputy or the headteacher, one who may handle the
concern, never the one who proposed it) confirms it or sends it back with a reason: "Have more
than one senior member of staff involved in this process. This is vital to protect individuals
if accusations are subsequently reported" (000 §12.3, 002 §16; allegations 001 §8, 003). A
concern about the headteacher keeps its route: only the chair of governors (or the school's
fallback for that role) handles and confirms it; the headteacher never does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypedDict, Unpack

from policy.categories import Category
from policy.concerns import (
    ACTIONS,
    OUTCOMES,
    Closure,
    Concern,
    ConcernStatus,
    InvalidTransition,
    ItemReview,
    acknowledge,
    checklist,
    private_role,
    require_message_and_assessment,
)
from policy.roles import SAFEGUARDING_LEADS, Person, Role

#: Who counts as a senior person for a second confirmation (000 §12.3, 002 §16).
SENIOR_ROLES: frozenset[Role] = SAFEGUARDING_LEADS | {Role.HEADTEACHER}

#: How a checklist item is answered on the close form.
DONE = "done"
NOT_NEEDED = "not_needed"

#: Chronology kinds this module writes (the governors' report and incident log count them).
PROPOSED = "closure_proposed"
CONFIRMED = "closure_confirmed"
SENT_BACK = "closure_sent_back"


def is_serious(category: Category) -> bool:
    """Whether closing a concern of ``category`` needs a second senior person."""
    return category.serious


def is_proposed(concern: Concern) -> bool:
    """True while a closure is proposed and waits for a second senior person."""
    return concern.status is not ConcernStatus.CLOSED and concern.closure is not None


def open_items(concern: Concern, category: Category) -> tuple[str, ...]:
    """The category's checklist items not yet recorded as done, in checklist order."""
    return tuple(a for a in checklist(category) if a not in concern.actions_done)


def review(
    concern: Concern, category: Category, answers: Mapping[str, tuple[str, str]]
) -> tuple[ItemReview, ...]:
    """Every open checklist item answered: ``answers`` maps an action id to (``DONE`` or
    ``NOT_NEEDED``, reason). "Not needed" needs a reason; an item left unanswered is refused."""
    reviewed: list[ItemReview] = []
    for action in open_items(concern, category):
        state, reason = answers.get(action, ("", ""))
        label = ACTIONS.get(action, action)
        if state == DONE:
            reviewed.append(ItemReview(action, True))
        elif state == NOT_NEEDED:
            if not reason.strip():
                raise InvalidTransition(
                    f'give a reason why "{label}" is not needed', code="not-needed reason missing"
                )
            reviewed.append(ItemReview(action, False, reason.strip()))
        else:
            raise InvalidTransition(
                f'say whether "{label}" was done or is not needed',
                code="checklist item not answered",
            )
    return tuple(reviewed)


def may_confirm(
    person: Person, concern: Concern, category: Category, unheld_fallback: tuple[Role, ...] = ()
) -> bool:
    """Whether ``person`` is a senior person who may confirm (or send back) this concern's
    closure: never the proposer; the DSL, a deputy or the headteacher; for a concern about the
    headteacher, the chair of governors (or the role's fallback), never the headteacher."""
    if person.is_pupil or concern.closure is None or person.id == concern.closure.proposed_by_id:
        return False
    if private_role(concern, category) is Role.CHAIR_OF_GOVERNORS:
        senior = {Role.CHAIR_OF_GOVERNORS, *unheld_fallback} - {Role.HEADTEACHER}
    else:
        senior = set(SENIOR_ROLES | set(unheld_fallback))
    return bool(person.roles & senior)


def _check_can_close(
    concern: Concern,
    category: Category,
    outcome: str,
    reason: str,
    message: str,
    outcomes: Sequence[str],
) -> None:
    if concern.status is ConcernStatus.CLOSED:
        raise InvalidTransition(f"{concern.ref} is already closed", code="already closed")
    if concern.closure is not None:
        raise InvalidTransition(
            f"closing it was already proposed by {concern.closure.proposed_by_name}: a second "
            "senior person confirms it or sends it back",
            code="closure already proposed",
        )
    if outcome not in outcomes or outcome not in OUTCOMES:
        raise InvalidTransition("choose an outcome from the list", code="outcome missing")
    if not reason.strip():
        raise InvalidTransition("give the reason for closing it", code="closure reason missing")
    require_message_and_assessment(concern, category, message)


def _reviewed(concern: Concern, by: Person, at: datetime, items: Sequence[ItemReview]) -> Concern:
    """The concern with the checklist review recorded: items done join ``actions_done``; each
    item not needed, with its reason, goes in the chronology."""
    if concern.status is ConcernStatus.NEW:
        concern = acknowledge(concern, by, at)
    done = tuple(i.action for i in items if i.done)
    if done:
        concern = replace(concern, actions_done=(*concern.actions_done, *done)).with_event(
            by, at, "action", "; ".join(ACTIONS[a] for a in done)
        )
    for item in items:
        if not item.done:
            text = f"Not needed: {ACTIONS[item.action]}. Reason: {item.reason}"
            concern = concern.with_event(by, at, "not_needed", text)
    return concern


def _closed(concern: Concern, closure: Closure, at: datetime) -> Concern:
    return replace(
        concern,
        status=ConcernStatus.CLOSED,
        outcome=closure.outcome,
        outcome_message=closure.message,
        closed_at=at,
        closure=closure,
    )


class ClosureForm(TypedDict):
    """What the close form gives the rules: the outcome (one of ``outcomes``, the school's
    list), the reason, the message for the reporter and each open checklist item's answer
    (state, reason)."""

    outcome: str
    reason: str
    message: str
    answers: Mapping[str, tuple[str, str]]
    outcomes: Sequence[str]


def _closing(
    concern: Concern,
    category: Category,
    by: Person,
    at: datetime,
    form: ClosureForm,
    *,
    serious: bool,
) -> tuple[Concern, Closure]:
    """The checks closing makes (``serious``: the way for a serious category, proposing; else
    closing in one step), then the concern with its checklist reviewed and the closure."""
    outcome, reason, message = form["outcome"], form["reason"], form["message"]
    _check_can_close(concern, category, outcome, reason, message, form["outcomes"])
    if is_serious(category) and not serious:
        raise InvalidTransition(
            "this kind of concern needs a second senior person to confirm closing it: use "
            '"Propose closure"',
            code="second person needed",
        )
    if serious and not is_serious(category):
        raise InvalidTransition(
            'this concern does not need a second person: use "Close concern"',
            code="no second person needed",
        )
    items = review(concern, category, form["answers"])
    closure = Closure(outcome, reason.strip(), message.strip(), by.id, by.name, at, items)
    return _reviewed(concern, by, at, items), closure


def close_now(
    concern: Concern, category: Category, by: Person, *, at: datetime, **form: Unpack[ClosureForm]
) -> Concern:
    """Close a concern that is not serious in one step (outcome, reason, checklist reviewed)."""
    reviewed, closure = _closing(concern, category, by, at, form, serious=False)
    text = f"Closed: {OUTCOMES[closure.outcome]}. Reason: {closure.reason}"
    return _closed(reviewed, closure, at).with_event(by, at, "closed", text)


def propose(
    concern: Concern, category: Category, by: Person, *, at: datetime, **form: Unpack[ClosureForm]
) -> Concern:
    """Propose closing a serious concern; it stays open until a second senior person confirms."""
    reviewed, closure = _closing(concern, category, by, at, form, serious=True)
    text = f"Closure proposed: {OUTCOMES[closure.outcome]}. Reason: {closure.reason}"
    return replace(reviewed, closure=closure).with_event(by, at, PROPOSED, text)


def _waiting(concern: Concern) -> Closure:
    if concern.status is ConcernStatus.CLOSED:
        raise InvalidTransition(f"{concern.ref} is already closed", code="already closed")
    if concern.closure is None:
        raise InvalidTransition(
            "nobody has proposed closing it (or it was sent back)", code="no closure proposed"
        )
    return concern.closure


def _check_second_person(
    concern: Concern,
    category: Category,
    by: Person,
    closure: Closure,
    unheld_fallback: tuple[Role, ...],
    what: str,
) -> None:
    if by.id == closure.proposed_by_id:
        raise InvalidTransition(
            f"you proposed closing it, so a second senior person must {what}",
            code="own proposal",
        )
    if not may_confirm(by, concern, category, unheld_fallback):
        raise InvalidTransition(
            f"only a second senior person (the DSL, a deputy DSL or the headteacher) may {what}",
            code="not a senior person",
        )


def confirm(
    concern: Concern,
    category: Category,
    by: Person,
    at: datetime,
    unheld_fallback: tuple[Role, ...] = (),
) -> Concern:
    """A second senior person confirms the proposed closure: the concern is closed."""
    closure = _waiting(concern)
    _check_second_person(concern, category, by, closure, unheld_fallback, "confirm it")
    confirmed = replace(closure, confirmed_by_id=by.id, confirmed_by_name=by.name, confirmed_at=at)
    text = (
        f"Closure confirmed (proposed by {closure.proposed_by_name}). Closed: "
        f"{OUTCOMES.get(closure.outcome, closure.outcome)}"
    )
    return _closed(concern, confirmed, at).with_event(by, at, CONFIRMED, text)


def send_back(
    concern: Concern,
    category: Category,
    by: Person,
    reason: str,
    at: datetime,
    unheld_fallback: tuple[Role, ...] = (),
) -> Concern:
    """A second senior person sends the proposed closure back, with a reason: it stays open."""
    closure = _waiting(concern)
    _check_second_person(concern, category, by, closure, unheld_fallback, "send it back")
    if not reason.strip():
        raise InvalidTransition(
            "give a reason for sending it back", code="send-back reason missing"
        )
    text = f"Closure sent back (proposed by {closure.proposed_by_name}). Reason: {reason.strip()}"
    return replace(concern, closure=None).with_event(by, at, SENT_BACK, text)


def confirmed_by_second_person(concern: Concern) -> bool:
    """Closed, and the closure confirmed by a second senior person."""
    closure = concern.closure
    return (
        concern.status is ConcernStatus.CLOSED
        and closure is not None
        and closure.confirmed_by_id is not None
    )


def sends_back(concern: Concern) -> int:
    """How many times a proposed closure of this concern was sent back."""
    return sum(1 for e in concern.chronology if e.kind == SENT_BACK)
