"""Permission to record: the request to the Deputy Head (Academic) and the decision (000 §8;
001 §2.4)."""

from __future__ import annotations

from typing import Any

from microsoft_teams.cards import (
    CardElement,
    TextBlock,
    TextInput,
)

from cards.common import (
    card,
    execute,
    facts,
    heading,
    para,
    safe_text,
    school_time,
    show_card,
)
from cards.video_call.form import _check_or_menu, _problem, _subheading
from cards.video_call.plan_rules import _span
from policy.actions import Verb
from policy.school import SchoolPolicy
from policy.video_calls import (
    DEPUTY_HEAD,
    MAX_DECISION_REASON,
    Audience,
    Decision,
    RecordingRequest,
    RequestStatus,
    recording_conditions,
)

# ---------------------------------------------------------------------------------------------
# Permission to record (000 §8; 001 §2.4)
# ---------------------------------------------------------------------------------------------

#: Input id of the reason box on the Decline show-card.
DECISION_REASON_FIELD = "reason"


def _audience_text(audience: Audience, pupil_count: int) -> str:
    if audience is Audience.CLASS:
        return "A class"
    if audience is Audience.STAFF_ONLY:
        return "Staff only"
    return f"{pupil_count} named pupil{'s' if pupil_count != 1 else ''}"


def _request_facts(request: RecordingRequest, school: SchoolPolicy) -> list[tuple[str, str]]:
    return [
        ("Reference", request.ref),
        ("Teacher", safe_text(request.requester_name, limit=100)),
        ("When", _span(request.start, request.end, school)),
        ("With", _audience_text(request.audience, request.pupil_count)),
        ("Platform", safe_text(request.platform, limit=100)),
        ("Reason", safe_text(request.reason or "Not given")),
    ]


def _decided_line(request: RecordingRequest, school: SchoolPolicy) -> str:
    words = "Approved" if request.status is RequestStatus.APPROVED else "Declined"
    when = school_time(request.decided_at, school.zone) if request.decided_at else ""
    return f"{words} by {safe_text(request.decided_by_name, limit=100)}, {when}."


def recording_request_card(
    request: RecordingRequest,
    school: SchoolPolicy,
    *,
    version: int,
    note: str | None = None,
    problem: str | None = None,
    decidable: bool = True,
) -> dict[str, Any]:
    """The 1:1 card asking the Deputy Head (Academic) for permission to record (000 §8).

    Shows who, when, with whom and why (no pupil names). While it is pending and ``decidable``
    it has Approve, and Decline in a show-card that asks for the reason; each button carries
    only ``ref``, ``ver`` and ``decision``. Once decided it says who decided and when.
    """
    body: list[CardElement] = []
    if note:
        body.append(para(safe_text(note), subtle=True))
    if problem:
        body.append(_problem(problem))
    body += [
        heading(f"Permission to record a lesson: {request.ref}"),
        para(
            f"{safe_text(request.requester_name, limit=100)} asks for your permission, as "
            f"{DEPUTY_HEAD}, to record an online lesson (000 §8).",
        ),
        facts(_request_facts(request, school)),
    ]
    actions: list[Any] = []
    if request.status is RequestStatus.PENDING:
        body.append(
            para(
                "If you approve, they will be reminded to get everyone's written permission, "
                "give the reason, say at the start that it is recorded and store the recording "
                "securely (001 §2.4).",
                subtle=True,
            )
        )
        if decidable:
            actions = _decision_buttons(request, version)
    else:
        body.append(para(_decided_line(request, school), emphasis=True))
        if request.decision_reason:
            body.append(para(f"Reason: {safe_text(request.decision_reason)}"))
    return card(body, actions)


def _decision_buttons(request: RecordingRequest, version: int) -> list[Any]:
    """Approve, and Decline in a show-card asking for the reason; each carries only ``ref``,
    ``ver`` and ``decision``."""
    ids: dict[str, str | int] = {"ref": request.ref, "ver": version}
    approve = execute(
        "Approve",
        Verb.RECORDING_DECIDE,
        style="positive",
        ids=ids,
        decision=Decision.APPROVE.value,
    )
    approve.associated_inputs = "none"
    decline = show_card(
        "Decline",
        [
            TextInput(
                id=DECISION_REASON_FIELD,
                label="Why are you declining? (the teacher will see this)",
                is_multiline=True,
                is_required=True,
                error_message="Give the reason for declining.",
                max_length=MAX_DECISION_REASON,
            )
        ],
        execute(
            "Decline",
            Verb.RECORDING_DECIDE,
            style="destructive",
            ids=ids,
            decision=Decision.DECLINE.value,
        ),
    )
    return [approve, decline]


def recording_decision_card(request: RecordingRequest, school: SchoolPolicy) -> dict[str, Any]:
    """What the member of staff hears once the Deputy Head (Academic) has decided.

    On approval: the conditions that still apply (written permission of everyone, the reason,
    announced at the start, stored securely: 001 §2.4; pupils never record: 000 §6).
    """
    approved = request.status is RequestStatus.APPROVED
    title = (
        f"✅ You may record this lesson: {request.ref}"
        if approved
        else f"⛔ Permission to record declined: {request.ref}"
    )
    headline = heading(title)
    headline.color = "Default" if approved else "Attention"
    body: list[CardElement] = [
        headline,
        facts(
            [
                ("When", _span(request.start, request.end, school)),
                ("With", _audience_text(request.audience, request.pupil_count)),
                ("Decided by", safe_text(request.decided_by_name, limit=100)),
            ]
        ),
    ]
    if approved:
        body.append(_subheading("Before and during the call you must"))
        body += [
            TextBlock(text=f"• {line}", wrap=True, spacing="None")
            for line in recording_conditions()
        ]
        body.append(para(f"Your reason: {safe_text(request.reason)}", subtle=True))
    else:
        if request.decision_reason:
            body.append(para(f"Reason: {safe_text(request.decision_reason)}"))
        body.append(para("Do not record this call."))
    return card(
        body,
        _check_or_menu(),
    )
