"""The period of study: "now allowed" when it starts, "re-block now" when it ends, then a
daily reminder, and the DSL told once a re-block is two school days overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

from dialogs.filter_request.base import FilterBase
from dialogs.filter_request.kinds import KIND, decode, encode, subject_of
from dialogs.handling import still_in
from dialogs.outbox import Delivery, TimerResult, message
from dialogs.ports import Record
from policy.audit import AuditEvent
from policy.filtering import FilterStatus, reblock_due
from policy.roles import Role


class PeriodHandlers(FilterBase):
    """The period's timers."""

    async def on_period_start(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """On the period's first day: "Now allowed" to the requester, if the exception is still
        applied (nothing if it was re-blocked or ended meanwhile)."""
        request = still_in(subject, decode, FilterStatus.APPLIED)
        if request is None:
            return TimerResult()
        ref = subject_of(request.ref)
        return TimerResult(
            outbox=[message(Delivery.DIRECT, request.requester_id, ref, "filter.now_allowed", now)],
            audit=[AuditEvent("system", "filter.period_start", ref, "requester told", now)],
        )

    # ----- the period ends ----------------------------------------------------------------------

    async def on_period_end(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """At the end date: IT gets "Re-block now"; then a daily reminder until it is done, and
        the DSL is told once it is two school days overdue."""
        if subject is None:
            return TimerResult()
        request = decode(subject)
        ref = subject_of(request.ref)
        it_channel = self._school.channels.it_channel_id
        if request.status in {FilterStatus.APPLIED, FilterStatus.APPROVED}:
            ended = reblock_due(request, now)
            record = Record(KIND, request.ref, subject.version + 1, encode(ended))
            out = [
                message(Delivery.CHANNEL_UPDATE, c, ref, "filter.request", now)
                for c in self._channels(ended)
            ]
            if ended.status is FilterStatus.REBLOCK_DUE:
                out.append(message(Delivery.CHANNEL_POST, it_channel, ref, "filter.reblock", now))
                again: datetime | None = now + timedelta(days=1)
            else:
                out.append(message(Delivery.CHANNEL_UPDATE, it_channel, ref, "filter.apply", now))
                again = None
            return TimerResult(
                records=[record],
                outbox=out,
                audit=[AuditEvent("system", "filter.period_end", ref, ended.status.value, now)],
                again_at=again,
            )
        if request.status is not FilterStatus.REBLOCK_DUE:
            return TimerResult()  # re-blocked (or otherwise finished): the timer ends
        overdue = self.school_days_overdue(request, now)
        out = [
            message(Delivery.CHANNEL_UPDATE, it_channel, ref, "filter.reblock", now),
            message(Delivery.CHANNEL_NOTE, it_channel, ref, "filter.reblock_reminder", now),
        ]
        records: list[Record] = []
        told = any(step.action == "DSL told: re-block overdue" for step in request.history)
        if overdue >= 2 and not told:
            out.append(
                message(Delivery.DIRECT_TO_ROLE, Role.DSL.value, ref, "filter.reblock_overdue", now)
            )
            noted = request.step(None, now, "DSL told: re-block overdue", f"{overdue} school days")
            records.append(Record(KIND, request.ref, subject.version + 1, encode(noted)))
        return TimerResult(
            records=records,
            outbox=out,
            audit=[
                AuditEvent(
                    "system", "filter.reblock_reminder", ref, f"overdue {overdue} school days", now
                )
            ],
            again_at=now + timedelta(days=1),
        )
