"""Permission to record an online lesson (000 §8; 001 §2.4)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from policy.errors import InvalidSubmission, NotAllowed, PolicyError
from policy.roles import Person, Role
from policy.school import SchoolPolicy
from policy.video_calls.plan import (
    DEPUTY_HEAD,
    Audience,
    _platforms_text,
    days_text,
    hours_text,
    teaching_hours,
)

# ---------------------------------------------------------------------------------------------
# Permission to record (000 §8; 001 §2.4)
# ---------------------------------------------------------------------------------------------


class RequestStatus(StrEnum):
    """Where a recording request is."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class Decision(StrEnum):
    """What the Deputy Head (Academic) decided."""

    APPROVE = "approve"
    DECLINE = "decline"


#: Longest reason for declining.
MAX_DECISION_REASON = 500


class AlreadyDone(PolicyError):
    """The item is no longer waiting for this (already decided, already submitted)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingRequest:
    """A request to the Deputy Head (Academic) for permission to record an online lesson.

    000 §8: "staff wishing to record an online lesson must seek permission from the Deputy Head
    (Academic)". Holds what the decider needs (who, when, with whom, why), no pupil names.
    """

    ref: str
    requester_id: str
    requester_name: str
    start: datetime
    end: datetime
    audience: Audience
    pupil_count: int
    platform: str
    reason: str
    created_at: datetime
    call_check_id: str = ""
    meeting_id: str = ""
    status: RequestStatus = RequestStatus.PENDING
    decided_by_id: str = ""
    decided_by_name: str = ""
    decided_at: datetime | None = None
    decision_reason: str = ""

    def covers(self, start: datetime, meeting_id: str = "") -> bool:
        """Whether this request is for the call starting at ``start`` (or that meeting)."""
        if meeting_id and self.meeting_id == meeting_id:
            return True
        return self.start == start


def why_not_decider(person: Person, request: RecordingRequest) -> str | None:
    """Why ``person`` may not decide ``request``, or None when they may.

    Only the Deputy Head (Academic) gives permission (000 §8), and never for their own request:
    permission is a second person's check, so a Deputy Head (Academic) who wants to record
    needs another holder of the role.
    """
    if person.is_pupil or Role.DEPUTY_HEAD_ACADEMIC not in person.roles:
        return f"not the {DEPUTY_HEAD}"
    if person.id == request.requester_id:
        return "own request"
    return None


def decide_recording(
    request: RecordingRequest, by: Person, decision: Decision, reason: str, at: datetime
) -> RecordingRequest:
    """Approve or decline a pending recording request (000 §8).

    Raises:
        NotAllowed: ``by`` is not the Deputy Head (Academic), or asked for it themselves.
        AlreadyDone: it was already decided.
        InvalidSubmission: declined without a reason, or the reason is too long ("reason").
    """
    why_not = why_not_decider(by, request)
    if why_not is not None:
        raise NotAllowed("decide a recording request", why_not)
    if request.status is not RequestStatus.PENDING:
        raise AlreadyDone(f"{request.ref} was already {request.status.value}")
    reason = " ".join(reason.split())
    if decision is Decision.DECLINE and not reason:
        raise InvalidSubmission({"reason": "Give the reason for declining."})
    if len(reason) > MAX_DECISION_REASON:
        raise InvalidSubmission({"reason": f"Keep the reason to {MAX_DECISION_REASON} characters."})
    return replace(
        request,
        status=RequestStatus.APPROVED if decision is Decision.APPROVE else RequestStatus.DECLINED,
        decided_by_id=by.id,
        decided_by_name=by.name,
        decided_at=at,
        decision_reason=reason,
    )


def recording_conditions() -> tuple[str, ...]:
    """What a member of staff must still do once permission to record is given (001 §2.4)."""
    return (
        "Get written permission to record from everyone taking part (001 §2.4).",
        "Give everyone the reason for recording (001 §2.4).",
        "Make it clear to everyone at the start that the call is being recorded (001 §2.4).",
        "Store the recording securely, where only those authorised can see it (001 §2.4; 000 §8).",
        "Pupils must never record or take screenshots (000 §6).",
    )


# ---------------------------------------------------------------------------------------------
# Quick answers
# ---------------------------------------------------------------------------------------------


def recording_rule_text(school: SchoolPolicy) -> str:
    """The recording rule in plain words (000 §6, §8; 001 §2.4), from the configuration."""
    calls = school.video_calls
    return (
        f"You may record an online lesson only with permission from the {DEPUTY_HEAD} "
        "(000 §8). Everyone taking part must give written permission, you must give the "
        "reason, and you must make it clear to everyone at the start that the call is being "
        "recorded. Store the recording securely (001 §2.4). Never record a 1:1 call with a "
        "pupil (000 §8). Pupils must never record or take screenshots (000 §6). Use only "
        f"{_platforms_text(school)}, on {days_text(calls.teaching_days)} between "
        f"{hours_text(teaching_hours(school))} (000 §6; 001 §2.4)."
    )
