"""The lines the video-call verdict card adds about what the check started (000 §6, §8)."""

from __future__ import annotations

from datetime import datetime

from policy.school import SchoolPolicy
from policy.video_calls import (
    DEPUTY_HEAD,
    CallLog,
    RecordingRequest,
)


def _local_hm(at: datetime, school: SchoolPolicy) -> str:
    return f"{at.astimezone(school.zone):%H:%M}"


def request_sent_text(request: RecordingRequest) -> str:
    """The verdict card's line for a recording request just sent (000 §8)."""
    return (
        f"I've asked the {DEPUTY_HEAD} for permission to record this call ({request.ref}). "
        "Their answer will come to you here. Don't record until they agree."
    )


def request_waiting_text(request: RecordingRequest) -> str:
    """The verdict card's line when this call's request is already waiting for a decision."""
    return (
        f"You already asked for permission to record this call ({request.ref}): it is "
        f"waiting for the {DEPUTY_HEAD}'s decision. Don't record until they agree."
    )


def log_due_text(call_log: CallLog, school: SchoolPolicy, *, new: bool) -> str:
    """The verdict card's line about the 1:1 call log to come (000 §6)."""
    if not new:
        return (
            f"This call's log ({call_log.ref}) is already waiting: I'll remind you until you "
            "send it."
        )
    return (
        f"When the call ends ({_local_hm(call_log.planned_end, school)}), I'll send you a card "
        f"here to log it ({call_log.ref}) for the {DEPUTY_HEAD} and your head of department."
    )


NO_OTHER_DECIDER = (
    "Permission to record must come from someone other than the person recording, and no one "
    f"else holds the {DEPUTY_HEAD} role here. Ask the headteacher who should give it, and "
    "don't record until then."
)
SELF_DECLARED = (
    f"You said the {DEPUTY_HEAD} has already agreed. Their permission must come from them, so "
    "I've sent them this request to confirm: wait for their answer before you record."
)
NOBODY_TO_DECIDE = (
    f"Nobody holds the {DEPUTY_HEAD} role at the moment, so nobody can give permission yet. "
    "The safeguarding team has been told. Don't record until permission is given."
)
DECIDED_BY_ANOTHER = f"As you asked yourself, another {DEPUTY_HEAD} must decide it."
ASK_ONCE_ALLOWED = (
    f"Once the call is allowed, check it again and I'll ask the {DEPUTY_HEAD} for permission "
    "to record it."
)
