"""Firing due timers: each in one atomic change with what it causes."""

from __future__ import annotations

from datetime import datetime

from dialogs.outbox.records import TIMER, TimerResult
from dialogs.outbox.steps import WorkerSteps
from dialogs.ports import (
    Change,
    Record,
    VersionConflict,
)


class TimerFiring(WorkerSteps):
    """Fires a due timer."""

    __slots__ = ()

    async def _fire(self, item: Record, now: datetime) -> None:
        handler = self.timers.get(item.data["name"])
        subject = await self._subject(item.data["subject"])
        result = TimerResult() if handler is None else await handler(subject, item, now)
        if result.again_at is None:
            change = Change(
                records=[*result.records, *result.outbox],
                audit=result.audit,
                deletes=[(TIMER, item.id, item.version)],
            )
        else:
            moved = Record(
                TIMER,
                item.id,
                item.version + 1,
                {**item.data, "due_at": result.again_at.isoformat()},
            )
            change = Change(records=[moved, *result.records, *result.outbox], audit=result.audit)
        try:
            await self.store.commit(change)
        except VersionConflict:
            return  # fired elsewhere, or changed meanwhile: the next tick sees the new state
