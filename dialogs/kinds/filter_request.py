"""A web-filter change request, as stored: its kind, codec, subject and reference prefix.

Written by the filter request and over-blocking features; read by reports and "My reports".
"""

from __future__ import annotations

from dialogs.codec import RecordCodec
from policy.filtering import FilterRequest

KIND = "filter_request"
#: ``FLT-2026-0001``.
PREFIX = "FLT"
CODEC: RecordCodec[FilterRequest] = RecordCodec(KIND, FilterRequest)


encode = CODEC.encode


decode = CODEC.decode


#: ``filter_request:<ref>``.
subject_of = CODEC.subject
