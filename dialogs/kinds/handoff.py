"""A hand-off of a concern to another school or service, as stored."""

from __future__ import annotations

#: One record per hand-off (its id is the hand-off's id).
KIND = "handoff"


def subject_of(handoff_id: str) -> str:
    """``handoff:<id>``: how the outbox names a hand-off."""
    return f"{KIND}:{handoff_id}"
