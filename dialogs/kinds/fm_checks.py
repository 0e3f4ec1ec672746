"""A filtering-and-monitoring check, as stored (its kind and prefix are the policy's)."""

from __future__ import annotations

from dialogs.codec import RecordCodec
from dialogs.ports import Record
from policy.fm_checks import KIND, PREFIX, FmCheck

__all__ = ["CODEC", "KIND", "PREFIX", "decode"]

CODEC = RecordCodec(KIND, FmCheck)


def decode(record: Record) -> FmCheck:
    """The check a record holds."""
    return CODEC.decode(record)
