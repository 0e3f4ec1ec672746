"""A "blocked but I need it for teaching" report, as stored (issue 21)."""

from __future__ import annotations

from dialogs.codec import RecordCodec
from policy.overblocking import OverblockReport

KIND = "overblock_report"
#: ``OBR-2026-0001``.
PREFIX = "OBR"
CODEC: RecordCodec[OverblockReport] = RecordCodec(KIND, OverblockReport)
encode = CODEC.encode
decode = CODEC.decode
subject_of = CODEC.subject
