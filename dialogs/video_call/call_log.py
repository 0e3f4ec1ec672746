"""The 1:1 call log: expecting it, the form, reminders and sending it (000 §6)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cards.video_call import (
    EVERY_HEAD,
    LogField,
    call_log_card,
    call_log_record_card,
    call_log_sent_card,
)
from cards.welcome import not_allowed_card, private_chat_only_card
from dialogs.codec import input_text
from dialogs.handling import Handling, Refusal, decide, record_for, still_in
from dialogs.kinds.video_call import (
    _REF,
    CALL_LOG_KIND,
    CALL_LOG_PREFIX,
    LOG_DUE,
    LOGS,
    RENDER_LOG_FORM,
    RENDER_LOG_REMINDER,
    RENDER_LOG_SUBMITTED,
    _to,
)
from dialogs.outbox import Delivery, TimerResult, message, timer
from dialogs.ports import (
    DirectoryUnavailable,
    Outgoing,
    Record,
)
from dialogs.router import ActionContext, Reply, Scope
from dialogs.video_call.base import VideoCallBase, _Check, _Started
from dialogs.video_call.forms import parse_call_log
from dialogs.video_call.texts import (
    log_due_text,
)
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.errors import InvalidSubmission
from policy.roles import Role
from policy.video_calls import (
    DEPUTY_HEAD,
    CallLog,
    LogStatus,
    next_log_reminder,
    submit_call_log,
)

log = logging.getLogger(__package__)  # "dialogs.video_call", as before the split

_ALREADY_SENT = Refusal("already submitted", "This log was already sent.")


@dataclass(frozen=True, slots=True)
class _LoadedLog:
    """A call log reloaded for a click."""

    record: Record
    call_log: CallLog
    #: (id, name) of every head of department; None when the directory cannot answer now.
    heads: tuple[tuple[str, str], ...] | None
    #: Where the log went, in words (once it was sent).
    recipients: str
    #: Sent by this click.
    sent_now: bool = False


def _closed_log(loaded: _LoadedLog) -> Refusal | None:
    return None if loaded.call_log.status is LogStatus.PENDING else _ALREADY_SENT


def _recipients_text(head_name: str | None) -> str:
    """Where a submitted log went, in words: to the chosen head of department (``head_name``;
    "" when not known) or, when none was chosen (None), every head of department."""
    if head_name is None:
        return f"the {DEPUTY_HEAD} and every head of department"
    name = head_name or "your head of department"
    return f"the {DEPUTY_HEAD} and {name} (head of department)"


class CallLogHandlers(VideoCallBase):
    """Expecting, reminding about and sending the 1:1 call log."""

    async def _expect_log(self, check: _Check, started: _Started) -> None:
        """Start the log of a 1:1 call with a pupil (000 §6) and its timer at the planned end,
        unless this call's log is already waiting."""
        person, plan, now = check.person, check.plan, check.now
        waiting = [
            LOGS.decode(r)
            for r in await self._store.find(
                CALL_LOG_KIND, teacher=person.id, status=LogStatus.PENDING.value
            )
        ]
        existing = next((c for c in waiting if c.covers(plan.start, check.meeting_id)), None)
        if existing is not None:
            started.lines.append(log_due_text(existing, self._school, new=False))
            started.log_ref = existing.ref
            return
        call_log = await self._new_log(check, started.key)
        subject = LOGS.subject(call_log.ref)
        started.records += [
            Record(CALL_LOG_KIND, call_log.ref, 1, LOGS.encode(call_log)),
            timer(LOG_DUE, subject, call_log.planned_end),
        ]
        started.audit.append(AuditEvent(person.id, "call.log.request", subject, "pending", now))
        started.lines.append(log_due_text(call_log, self._school, new=True))
        started.log_ref = call_log.ref

    async def _new_log(self, check: _Check, key: str | None) -> CallLog:
        person, plan, now = check.person, check.plan, check.now
        return CallLog(
            ref=await self._reference(CALL_LOG_PREFIX, now, key),
            teacher_id=person.id,
            teacher_name=person.name,
            pupils=plan.pupils,
            planned_start=plan.start,
            planned_duration=plan.duration,
            created_at=now,
            call_check_id=check.check_id,
            meeting_id=check.meeting_id,
        )

    async def _heads(self) -> list[tuple[str, str]]:
        """(id, name) of every head of department, from the directory.

        Raises:
            DirectoryUnavailable: the directory cannot be asked right now.
        """
        return [(p.id, p.name) for p in await self._directory.members(Role.HEAD_OF_DEPARTMENT)]

    async def _last_head(self, teacher_id: str) -> str:
        """The head of department this person sent their last log to ("" if none)."""
        sent = [
            LOGS.decode(r)
            for r in await self._store.find(
                CALL_LOG_KIND, teacher=teacher_id, status=LogStatus.SUBMITTED.value
            )
        ]
        sent.sort(key=lambda c: c.submitted_at or c.created_at)
        return sent[-1].entry.head_of_department_id if sent and sent[-1].entry else ""

    async def _log_values(
        self, call_log: CallLog, heads: Sequence[tuple[str, str]]
    ) -> dict[str, Any]:
        """The log card's inputs, filled in from the check (000 §6)."""
        local = call_log.planned_start.astimezone(self._school.zone)
        ids = [pid for pid, _ in heads]
        last = await self._last_head(call_log.teacher_id)
        head = last if last in ids else (ids[0] if len(ids) == 1 else EVERY_HEAD)
        return {
            LogField.NAMES: ", ".join([call_log.teacher_name, *call_log.pupils]),
            LogField.DATE: local.date().isoformat(),
            LogField.START: f"{local:%H:%M}",
            LogField.DURATION: str(int(call_log.planned_duration.total_seconds() // 60)),
            LogField.HEAD_OF_DEPARTMENT: head,
        }

    async def _recipients(self, call_log: CallLog) -> str:
        """Where a submitted log went, in words."""
        head_id = call_log.entry.head_of_department_id if call_log.entry else ""
        if not head_id:
            return _recipients_text(None)
        try:
            head = await self._directory.person(head_id)
        except DirectoryUnavailable:
            head = None
        return _recipients_text(head.name if head is not None else "")

    async def _load_log(self, ctx: ActionContext) -> _LoadedLog | Reply:
        """The log a click names, in a private chat with the member of staff who made the
        check (anyone else refused, and audited), with the heads of department to choose from
        (none when the directory cannot answer now)."""
        verb = Verb.CALL_LOG_SUBMIT
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        record = await record_for(self._deps, ctx, CALL_LOG_KIND, action=verb.value, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        call_log = LOGS.decode(record)
        if call_log.teacher_id != ctx.person.id:
            await self._refuse(ctx, verb, "not the member of staff who made the call", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        try:
            heads: tuple[tuple[str, str], ...] | None = tuple(await self._heads())
        except DirectoryUnavailable:
            heads = None
        recipients = ""
        if call_log.status is LogStatus.SUBMITTED:
            recipients = await self._recipients(call_log)
        return _LoadedLog(record, call_log, heads, recipients)

    def _log_view(
        self,
        ctx: ActionContext,
        loaded: _LoadedLog,
        *,
        note: str | None = None,
        problem: str | None = None,
        problems: Mapping[str, str] | None = None,
    ) -> Reply:
        """The sent log once it was sent; until then the log card again, with what was sent
        and any problems."""
        call_log = loaded.call_log
        if call_log.status is LogStatus.SUBMITTED:
            if loaded.sent_now:
                log.info("call log %s submitted", call_log.ref)
            return Reply(
                card=call_log_sent_card(
                    call_log, self._school, recipients=loaded.recipients, note=note
                )
            )
        return Reply(
            card=call_log_card(
                call_log,
                self._school,
                version=loaded.record.version,
                heads=loaded.heads or (),
                values=ctx.data,
                problems=problems,
                note=note or problem,
            )
        )

    async def _log_rejected(self, ctx: ActionContext, loaded: _LoadedLog, exc: Exception) -> Reply:
        """Input to put right: the log card again with its problems (nothing refused)."""
        problems = exc.problems if isinstance(exc, InvalidSubmission) else None
        return self._log_view(ctx, loaded, problems=problems)

    @property
    def _call_log(self) -> Handling[_LoadedLog]:
        return Handling(
            self._load_log,
            self._log_view,
            "This card was out of date, so nothing was sent. Please send it again.",
            InvalidSubmission,
            closed=_closed_log,
            changed=_ALREADY_SENT,
            rejected=self._log_rejected,
            not_saved="The log could not be saved just now, so it has NOT been sent. Please try "
            "again in a minute.",
        )

    async def submit_log(self, ctx: ActionContext) -> Reply:
        """Send a 1:1 call log to the Deputy Head (Academic) and the head of department.

        000 §6: staff "record details (e.g. names, date, time/duration, purpose, outcome) and
        submit to the Deputy Head (Academic) and Head of department". The log is reloaded by
        ``ref``; only the member of staff who made the check may send it, once, from a current
        card; the input is validated here again. The log, its audit entry and the 1:1
        messages (to every Deputy Head (Academic), and to the chosen head of department or,
        when none is chosen, every head of department) are one atomic change.
        """

        def make(loaded: _LoadedLog, now: datetime) -> tuple[_LoadedLog, list[Record]]:
            chosen = input_text(ctx.data, LogField.HEAD_OF_DEPARTMENT) or EVERY_HEAD
            if loaded.heads is None and chosen != EVERY_HEAD:
                raise InvalidSubmission(
                    {
                        LogField.HEAD_OF_DEPARTMENT: "I can't check the directory just now. "
                        "Please try again in a minute."
                    }
                )
            heads = loaded.heads or ()
            entry = parse_call_log(
                ctx.data,
                self._school,
                today=now.astimezone(self._school.zone).date(),
                heads=[pid for pid, _ in heads],
            )
            submitted = submit_call_log(loaded.call_log, ctx.person, entry, now)
            record = loaded.record
            updated = Record(record.kind, record.id, record.version + 1, LOGS.encode(submitted))
            head = entry.head_of_department_id
            recipients = _recipients_text(dict(heads).get(head, "") if head else None)
            after = _LoadedLog(updated, submitted, loaded.heads, recipients, sent_now=True)
            return after, [updated, *self._log_messages(record.ref, head, now)]

        verb = Verb.CALL_LOG_SUBMIT.value
        return await decide(self._call_log, self._deps, ctx, action=verb, change=make)

    @staticmethod
    def _log_messages(subject: str, head_id: str, now: datetime) -> list[Record]:
        """A sent log, for every Deputy Head (Academic) and the chosen head of department (or,
        when none is chosen, every head of department)."""
        deputy = Role.DEPUTY_HEAD_ACADEMIC.value
        return [
            message(Delivery.DIRECT_TO_ROLE, deputy, subject, RENDER_LOG_SUBMITTED, now),
            message(Delivery.DIRECT, head_id, subject, RENDER_LOG_SUBMITTED, now)
            if head_id
            else message(
                Delivery.DIRECT_TO_ROLE,
                Role.HEAD_OF_DEPARTMENT.value,
                subject,
                RENDER_LOG_SUBMITTED,
                now,
            ),
        ]

    async def _render_log(self, subject: Record | None, *, reminder: bool) -> Outgoing | None:
        call_log = still_in(subject, LOGS.decode, LogStatus.PENDING)
        if subject is None or call_log is None:
            return None
        heads = await self._heads()  # DirectoryUnavailable: the outbox tries again later
        return Outgoing(
            card=call_log_card(
                call_log,
                self._school,
                version=subject.version,
                heads=heads,
                values=await self._log_values(call_log, heads),
                reminder=reminder,
            )
        )

    async def render_log_form(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The "Log this call" card, after the planned end; nothing once it was sent."""
        return await self._render_log(subject, reminder=False)

    async def render_log_reminder(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The overdue "Log this call" card; nothing once it was sent."""
        return await self._render_log(subject, reminder=True)

    async def render_log_submitted(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The submitted log, for the Deputy Head (Academic) and the head of department (the
        member of staff who sent it already has it)."""
        call_log = still_in(subject, LOGS.decode, LogStatus.SUBMITTED)
        if call_log is None or _to(data, call_log.teacher_id):
            return None
        return Outgoing(card=call_log_record_card(call_log, self._school))

    async def on_log_due(self, subject: Record | None, item: Record, now: datetime) -> TimerResult:
        """The planned end of a 1:1 call: ask for the log; later, remind each school day.

        The first firing (at the planned end) sends the "Log this call" card; if the log is
        still not sent, the next school day's start of teaching hours sends a reminder, and so
        on daily until it is sent (000 §6). A sent or missing log ends the timer.
        """
        call_log = still_in(subject, LOGS.decode, LogStatus.PENDING)
        if call_log is None:
            return TimerResult()
        first = datetime.fromisoformat(item.data["due_at"]) <= call_log.planned_end
        ref = LOGS.subject(call_log.ref)
        render = RENDER_LOG_FORM if first else RENDER_LOG_REMINDER
        log.info("call log %s %s", call_log.ref, "asked for" if first else "reminded")
        return TimerResult(
            outbox=[message(Delivery.DIRECT, call_log.teacher_id, ref, render, now)],
            audit=[
                AuditEvent(
                    "system", "call.log.ask" if first else "call.log.reminder", ref, "sent", now
                )
            ],
            again_at=next_log_reminder(now, self._school),
        )
