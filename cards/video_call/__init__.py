"""Video-call cards: the "Check a video call" form, the verdict, quick rule answers, the
Deputy Head (Academic)'s list of withdrawn pupils, permission to record, the 1:1 call log and
"Check my next lessons" (000 §6, §8, §10; 001 §2.4).

By subject: shared input ids and builders (``form``), the call plan (``plan_rules``),
permission to record (``recording``), the 1:1 call log (``call_log``) and a real meeting's
settings (``meeting_settings``). Everything public is re-exported here.
"""

from __future__ import annotations

from cards.video_call.call_log import (
    EVERY_HEAD,
    MAX_LOG_TEXT,
    LogField,
    call_log_card,
    call_log_record_card,
    call_log_sent_card,
)
from cards.video_call.form import (
    FORM_FIELDS,
    MAX_MINUTES,
    MAX_NAMES_LENGTH,
    MAX_PUPIL_NAME,
    MAX_REASON_LENGTH,
    MIN_MINUTES,
    OTHER_PLATFORM,
    OUTCOME_STYLE,
    PUPIL_FIELD,
    PURPOSE_CHOICES,
    VERDICT_HEADING,
    WHERE_CHOICES,
    WHO_CHOICES,
    Color,
    Field,
    Purpose,
    form_values,
)
from cards.video_call.meeting_settings import (
    calendar_unavailable_card,
    next_lessons_card,
)
from cards.video_call.plan_rules import (
    call_check_form,
    call_verdict_card,
    rule_answer_card,
    withdrawn_pupils_card,
)
from cards.video_call.recording import (
    DECISION_REASON_FIELD,
    recording_decision_card,
    recording_request_card,
)

__all__ = [
    "DECISION_REASON_FIELD",
    "EVERY_HEAD",
    "FORM_FIELDS",
    "MAX_LOG_TEXT",
    "MAX_MINUTES",
    "MAX_NAMES_LENGTH",
    "MAX_PUPIL_NAME",
    "MAX_REASON_LENGTH",
    "MIN_MINUTES",
    "OTHER_PLATFORM",
    "OUTCOME_STYLE",
    "PUPIL_FIELD",
    "PURPOSE_CHOICES",
    "VERDICT_HEADING",
    "WHERE_CHOICES",
    "WHO_CHOICES",
    "Color",
    "Field",
    "LogField",
    "Purpose",
    "calendar_unavailable_card",
    "call_check_form",
    "call_log_card",
    "call_log_record_card",
    "call_log_sent_card",
    "call_verdict_card",
    "form_values",
    "next_lessons_card",
    "recording_decision_card",
    "recording_request_card",
    "rule_answer_card",
    "withdrawn_pupils_card",
]
