"""The video-call feature's stored kinds, timer and outbox render names, and the codecs of
the records it keeps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import TypeAdapter

from dialogs.codec import RecordCodec
from policy.video_calls import (
    CallLog,
    RecordingRequest,
)

CALL_CHECK_KIND = "call_check"
WITHDRAWN_KIND = "withdrawn_pupils"
WITHDRAWN_ID = "list"
RECORDING_KIND = "recording_request"
CALL_LOG_KIND = "call_log"
#: ``REC-2026-0001`` (a recording request), ``LOG-2026-0001`` (a call log).
RECORDING_PREFIX, CALL_LOG_PREFIX = "REC", "LOG"
#: The timer that asks for a 1:1 call log at the planned end, then reminds each school day.
LOG_DUE = "call_log.due"
#: Outbox render names.
RENDER_REQUEST = "call.recording.request"
RENDER_DECIDED = "call.recording.decided"
RENDER_LOG_FORM = "call_log.form"
RENDER_LOG_REMINDER = "call_log.reminder"
RENDER_LOG_SUBMITTED = "call_log.submitted"

_REF = re.compile(r"^[A-Z]{3}-\d{4}-\d{4,}$")

T = TypeVar("T")

REQUEST_CODEC: TypeAdapter[RecordingRequest] = TypeAdapter(RecordingRequest)
LOG_CODEC: TypeAdapter[CallLog] = TypeAdapter(CallLog)


#: Recording requests and call logs belong to one person each: the requester, the teacher.
REQUESTS = RecordCodec(
    RECORDING_KIND, RecordingRequest, owner=("requester", lambda r: r.requester_id)
)
LOGS = RecordCodec(CALL_LOG_KIND, CallLog, owner=("teacher", lambda c: c.teacher_id))


def _to(data: Mapping[str, Any], person_id: str) -> bool:
    """Whether an outbox message is addressed to ``person_id`` (its ``target``)."""
    return str(data.get("target", "")).casefold() == person_id.casefold()
