"""The video-call feature's stored kinds, timer and outbox render names, and the codecs of
the records it keeps."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from dialogs.ports import (
    Record,
)
from policy.video_calls import (
    CallLog,
    RecordingRequest,
)

CALL_CHECK_KIND = "call_check"
WITHDRAWN_KIND = "withdrawn_pupils"
WITHDRAWN_ID = "list"
RECORDING_KIND = "recording_request"
CALL_LOG_KIND = "call_log"
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


class _OwnedCodec(Generic[T]):
    """A record's data for an item that belongs to one person: the item's JSON and a top-level
    field holding the person's id, to find a person's items by."""

    def __init__(self, adapter: TypeAdapter[T], field: str, owner: Callable[[T], str]) -> None:
        self._adapter = adapter
        self._field = field
        self._owner = owner

    def encode(self, item: T) -> dict[str, Any]:
        data: dict[str, Any] = self._adapter.dump_python(item, mode="json")
        data[self._field] = self._owner(item)
        return data

    def decode(self, record: Record) -> T:
        return self._adapter.validate_python(
            {k: v for k, v in record.data.items() if k != self._field}
        )


_REQUESTS = _OwnedCodec(REQUEST_CODEC, "requester", lambda r: r.requester_id)
_LOGS = _OwnedCodec(LOG_CODEC, "teacher", lambda c: c.teacher_id)
_encode_request, _decode_request = _REQUESTS.encode, _REQUESTS.decode
_encode_log, _decode_log = _LOGS.encode, _LOGS.decode


def _subject(kind: str, ref: str) -> str:
    """``kind:ref``: how audit entries and outbox messages name an item."""
    return f"{kind}:{ref}"


def _to(data: Mapping[str, Any], person_id: str) -> bool:
    """Whether an outbox message is addressed to ``person_id`` (its ``target``)."""
    return str(data.get("target", "")).casefold() == person_id.casefold()
