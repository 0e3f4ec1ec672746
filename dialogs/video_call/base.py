"""The video-call handlers' shared base: limits, what a check starts, a meeting's attendees,
and the ports and steps every subject uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from dialogs.ports import (
    Record,
)
from policy.audit import AuditEvent
from policy.roles import Person
from policy.video_calls import (
    RuleId,
)

#: How far ahead "Check my next lessons" looks, and how many meetings it shows.
NEXT_DAYS = 7
MAX_MEETINGS = 10


@dataclass(slots=True)
class _Started:
    """What a check starts, collected for its one atomic change, and the lines that say so."""

    records: list[Record] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    log_ref: str = ""
    #: The check's dedupe key: copies of one click sent at once draw the same references.
    key: str | None = None
    #: To-dos of the verdict the bot has done itself (asked for permission to record).
    done: list[RuleId] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Attendees:
    """Who attends a meeting, from the directory (never from the calendar's names)."""

    pupils: tuple[Person, ...]
    staff: int
    others: int
