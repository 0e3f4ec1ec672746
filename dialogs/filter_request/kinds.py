"""The filter request's stored kind, its codec, and its timers' names."""

from __future__ import annotations

from dialogs.codec import RecordCodec
from policy.filtering import FilterRequest

KIND = "filter_request"
PERIOD_END = "filter.period_end"
PERIOD_START = "filter.period_start"
CODEC: RecordCodec[FilterRequest] = RecordCodec(KIND, FilterRequest)


encode = CODEC.encode


decode = CODEC.decode


#: ``filter_request:<ref>``.
subject_of = CODEC.subject
