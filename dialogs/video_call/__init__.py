"""Check a video call, its follow-ups, quick answers, the withdrawn list and the next lessons.

By subject: stored kinds and codecs (``kinds``), reading the cards' inputs (``forms``), the
verdict's follow-up lines (``texts``) and the handlers (``handlers``). Everything public is
re-exported here.
"""

from __future__ import annotations

from dialogs.kinds.video_call import (
    CALL_CHECK_KIND,
    CALL_LOG_KIND,
    LOG_CODEC,
    LOG_DUE,
    LOGS,
    RECORDING_KIND,
    RENDER_DECIDED,
    RENDER_LOG_FORM,
    RENDER_LOG_REMINDER,
    RENDER_LOG_SUBMITTED,
    RENDER_REQUEST,
    REQUEST_CODEC,
    REQUESTS,
    WITHDRAWN_ID,
    WITHDRAWN_KIND,
    T,
)
from dialogs.video_call.base import (
    MAX_MEETINGS,
    NEXT_DAYS,
    VideoCallBase,
)
from dialogs.video_call.call_log import (
    CallLogHandlers,
)
from dialogs.video_call.forms import (
    MAX_PUPILS,
    parse_call_log,
    parse_call_plan,
)
from dialogs.video_call.handlers import (
    PHRASES,
    VideoCallHandlers,
    feature,
)
from dialogs.video_call.meeting_settings import (
    MeetingHandlers,
)
from dialogs.video_call.recording import (
    RecordingHandlers,
)
from dialogs.video_call.texts import (
    ASK_ONCE_ALLOWED,
    DECIDED_BY_ANOTHER,
    NO_OTHER_DECIDER,
    NOBODY_TO_DECIDE,
    SELF_DECLARED,
    log_due_text,
    request_sent_text,
    request_waiting_text,
)

__all__ = [
    "ASK_ONCE_ALLOWED",
    "CALL_CHECK_KIND",
    "CALL_LOG_KIND",
    "DECIDED_BY_ANOTHER",
    "LOGS",
    "LOG_CODEC",
    "LOG_DUE",
    "MAX_MEETINGS",
    "MAX_PUPILS",
    "NEXT_DAYS",
    "NOBODY_TO_DECIDE",
    "NO_OTHER_DECIDER",
    "PHRASES",
    "RECORDING_KIND",
    "RENDER_DECIDED",
    "RENDER_LOG_FORM",
    "RENDER_LOG_REMINDER",
    "RENDER_LOG_SUBMITTED",
    "RENDER_REQUEST",
    "REQUESTS",
    "REQUEST_CODEC",
    "SELF_DECLARED",
    "WITHDRAWN_ID",
    "WITHDRAWN_KIND",
    "CallLogHandlers",
    "MeetingHandlers",
    "RecordingHandlers",
    "T",
    "VideoCallBase",
    "VideoCallHandlers",
    "feature",
    "log_due_text",
    "parse_call_log",
    "parse_call_plan",
    "request_sent_text",
    "request_waiting_text",
]
