"""The video-call handlers' shared base: limits, what a check starts, a meeting's attendees,
and the ports and steps every subject uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dialogs.feature import Deps
from dialogs.handling import FeatureHandlers, refuse
from dialogs.kinds import next_reference
from dialogs.ports import (
    Record,
)
from dialogs.router import ActionContext
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.roles import Person
from policy.video_calls import (
    CallPlan,
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
class _Check:
    """One check of a call: who made it, their plan, the check's id, the calendar meeting it
    is about ("" if none) and when."""

    person: Person
    plan: CallPlan
    check_id: str
    meeting_id: str
    now: datetime


@dataclass(frozen=True, slots=True)
class _Attendees:
    """Who attends a meeting, from the directory (never from the calendar's names)."""

    pupils: tuple[Person, ...]
    staff: int
    others: int


class VideoCallBase(FeatureHandlers):
    """The ports and shared steps of the video-call handlers."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._directory = deps.directory
        self._calendar = deps.calendar

    async def _reference(self, prefix: str, now: datetime, key: str | None) -> str:
        year = now.astimezone(self._school.zone).year
        return await next_reference(self._store, prefix, year, key)

    async def _refuse(self, ctx: ActionContext, verb: Verb, why: str, item: str = "") -> None:
        """Audit a refusal: who, which verb, which item, why (no names, no text)."""
        await refuse(self._deps, ctx, why, item, action=verb.value)
