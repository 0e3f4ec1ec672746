"""Recording checks of the filtering and monitoring systems, and reminding when one is due.

IT, the online safety lead, the DSL or a deputy records what was checked (the standard list in
``policy.fm_checks`` plus the school's own items), what was found, the actions that resulted
and when the next check is due. The record, a note to the DSL and IT channels and the reminder
timer are saved in one change. When the next check is due, IT's channel and the online safety
lead (or, where the school has none, the DSL) are reminded at the start of teaching hours, and
again every week until a newer check is recorded. The review pack and the governors' report
read the records (``dialogs.reports``, ``ops.reports``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from cards.fm_checks import check_channel_note, check_due, check_form, check_recorded
from dialogs.codec import text_field
from dialogs.feature import Deps, Feature
from dialogs.handling import NOT_SAVED, FeatureHandlers, open_form
from dialogs.kinds import next_reference
from dialogs.kinds.fm_checks import CODEC, decode
from dialogs.outbox import Delivery, TimerResult, message, timer
from dialogs.ports import Change, DuplicateRequest, Outgoing, Record, StoreUnavailable
from dialogs.router import ActionContext, Reply, Scope
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.fm_checks import (
    KIND,
    LIMITS,
    PREFIX,
    RESULT_WORDS,
    FmCheck,
    check_items,
    default_next_due,
    latest,
    validate_check,
)
from policy.roles import Role
from policy.school import SchoolPolicy
from policy.school_calendar import add_school_days, is_school_day
from policy.text import clean_text, csv_text
from policy.video_calls import teaching_starts_at

log = logging.getLogger(__name__)

#: The timer that reminds when the next check is due (one per check; it ends once a newer
#: check is on record).
DUE = "fm_check.due"
RENDER_NOTE = "fm_check.note"
RENDER_DUE = "fm_check.due"
#: School days between reminders while a check is overdue (a week).
REMIND_EVERY_SCHOOL_DAYS = 5
PRIVATE_ONLY = "Please record checks in a private chat with me."


async def load_checks(deps: Deps) -> list[FmCheck]:
    """Every recorded check."""
    return [decode(r) for r in await deps.store.find(KIND)]


CSV_COLUMNS = (
    "reference",
    "checked_on",
    "recorded_at",
    "checked_by",
    "item",
    "result",
    "what_was_wrong",
    "actions",
    "next_due",
)


def checks_csv(checks: Sequence[FmCheck], school: SchoolPolicy) -> str:
    """Every check as CSV for the review pack: one row per item checked, oldest first (when,
    who, what was tested, the result and the actions that resulted, as the DfE standards ask
    a record to show)."""
    return csv_text(
        CSV_COLUMNS,
        (
            (
                check.ref,
                check.checked_on.isoformat(),
                check.recorded_at.astimezone(school.zone).isoformat(timespec="minutes"),
                check.by_name,
                check.label(item),
                RESULT_WORDS[result],
                check.found,
                check.actions,
                "" if check.next_due is None else check.next_due.isoformat(),
            )
            for check in sorted(checks, key=lambda c: (c.checked_on, c.recorded_at))
            for item, result in check.results.items()
        ),
    )


def checks_readme(checks: Sequence[FmCheck], school: SchoolPolicy, now: datetime) -> str:
    """The review pack README's part about checks: where the school stands."""
    today = now.astimezone(school.zone).date()
    last = latest(checks)
    if last is None:
        standing = (
            "No check has been recorded with the bot yet. Record each check with "
            '"Record a filtering check" in a private chat with the bot.'
        )
    else:
        problems = sum(1 for c in checks if c.problems)
        standing = (
            f"{len(checks)} checks recorded, {problems} of them found a problem. The latest was "
            f"on {last.checked_on:%d %b %Y} by {last.by_name} ({last.ref})."
        )
        if last.next_due is not None:
            late = (today - last.next_due).days
            standing += f" The next is due on {last.next_due:%d %b %Y}" + (
                f": {late} days overdue." if late > 0 else "."
            )
    return f"""
Filtering and monitoring checks
{standing}
- filtering-checks.csv: every check recorded with the bot, one row per thing checked: when
  the check took place, who did it, what was checked, the result, what was wrong and the
  actions that resulted, and when the next check was due.
"""


class CheckHandlers(FeatureHandlers):
    """The check feature's use cases."""

    def _items(self) -> dict[str, str]:
        return check_items(self._school.filtering_checks.extra_items)

    def _today(self) -> date:
        return self._clock.now().astimezone(self._school.zone).date()

    async def start(self, ctx: ActionContext) -> Reply:
        """The form, with today as the day of the check and the usual interval to the next."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text=PRIVATE_ONLY)
        today = self._today()
        interval = self._school.filtering_checks.interval_months
        values = {
            "checked_on": today.isoformat(),
            "next_due": self._school_day_from(default_next_due(today, interval)).isoformat(),
        }
        return Reply(
            card=check_form(self._school, self._items(), form_id=uuid.uuid4().hex, values=values)
        )

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate; save the record, the channel notes and the reminder; confirm."""
        opened = await open_form(
            self._deps,
            ctx,
            "fm_check",
            not_private=Reply(text=PRIVATE_ONLY),
            no_form=lambda: self.start(ctx),
            confirm=self._confirm,
        )
        if isinstance(opened, Reply):
            return opened
        items = self._items()
        values = self._values(ctx, items)
        now = self._clock.now()
        problems, results, checked_on, next_due = validate_check(values, items, self._today())
        if problems:
            return self._form_again(items, opened.form_id, values, problems)
        year = now.astimezone(self._school.zone).year
        check = FmCheck(
            ref=await next_reference(self._store, PREFIX, year, opened.key),
            by_id=ctx.person.id,
            by_name=ctx.person.name,
            recorded_at=now,
            checked_on=checked_on,
            results=results,
            labels=items,
            found=values["found"],
            actions=values["actions"],
            next_due=next_due,
        )
        try:
            await self._store.commit(
                self._saved(ctx, check, opened.key, now, self._due_at(next_due))
            )
        except DuplicateRequest as dup:
            return await self._confirm(dup.refs[0])
        except StoreUnavailable:
            problems = {"actions": NOT_SAVED}
            return self._form_again(items, opened.form_id, values, problems)
        self._deps.doorbell.ring()
        log.info("filtering check %s recorded (%d problems)", check.ref, len(check.problems))
        return Reply(card=check_recorded(check, self._school))

    def _values(self, ctx: ActionContext, items: Mapping[str, str]) -> dict[str, str]:
        """What the form says: each item's answer and the dates, and the notes cleaned and cut
        to their limits."""
        values = {name: text_field(ctx.data, name) for name in (*items, "checked_on", "next_due")}
        for name in ("found", "actions"):
            values[name] = clean_text(text_field(ctx.data, name))[: LIMITS[name]]
        return values

    def _form_again(
        self,
        items: Mapping[str, str],
        form_id: str,
        values: Mapping[str, str],
        problems: Mapping[str, str],
    ) -> Reply:
        """The form again, as it was filled in, with its problems."""
        form = check_form(self._school, items, form_id=form_id, values=values, problems=problems)
        return Reply(card=form)

    def _saved(
        self, ctx: ActionContext, check: FmCheck, key: str, now: datetime, due_at: datetime
    ) -> Change:
        """The check's record, its notes to the DSL and IT channels, its reminder when the next
        one falls due (``due_at``) and the audit entry, in one change saved once (``key``)."""
        subject = CODEC.subject(check.ref)
        channels = self._school.channels
        outbox = [
            message(Delivery.CHANNEL_NOTE, channel, subject, RENDER_NOTE, now)
            for channel in (channels.dsl_channel_id, channels.it_channel_id)
        ]
        return Change(
            records=[
                Record(KIND, check.ref, 1, CODEC.encode(check)),
                *outbox,
                timer(DUE, subject, due_at),
            ],
            audit=[
                AuditEvent(
                    ctx.person.id,
                    "fm_check.record",
                    subject,
                    "ok: problems found" if check.problems else "ok",
                    now,
                )
            ],
            dedupe_key=key,
        )

    async def _confirm(self, ref: str) -> Reply:
        _, _, item_id = ref.partition(":")
        record = await self._store.get(KIND, item_id)
        if record is None:  # cannot happen: the change that used the key wrote it
            return Reply(text="That check was recorded.")
        return Reply(card=check_recorded(decode(record), self._school))

    def _school_day_from(self, day: date) -> date:
        """``day``, or the first school day after it (a check falls due when people are in)."""
        for _ in range(60):  # the longest holiday is well under 60 days
            if is_school_day(day, self._school):
                return day
            day += timedelta(days=1)
        return day

    def _due_at(self, day: date) -> datetime:
        """The start of teaching hours on ``day``, or on the next school day after it."""
        start = teaching_starts_at(day, self._school)
        if is_school_day(day, self._school):
            return start
        return self._next_school_start(start, 1)

    def _next_school_start(self, after: datetime, days: int) -> datetime:
        day = add_school_days(after, days, self._school).astimezone(self._school.zone).date()
        return teaching_starts_at(day, self._school)

    # ----- outbox and timer ---------------------------------------------------------------------

    async def render_note(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The note in the DSL and IT channels."""
        if subject is None:
            return None
        return Outgoing(card=check_channel_note(decode(subject), self._school))

    async def render_due(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The reminder that a check is due (nothing once a newer check is on record)."""
        if subject is None:
            return None
        check = decode(subject)
        newest = latest(await load_checks(self._deps))
        if newest is not None and newest.ref != check.ref:
            return None
        due = check.next_due or check.checked_on
        overdue = max(0, (self._today() - due).days)
        return Outgoing(card=check_due(check, due, overdue))

    async def on_due(self, subject: Record | None, item: Record, now: datetime) -> TimerResult:
        """The next check is due: remind IT and the online safety lead; again every week
        until a newer check is recorded."""
        if subject is None:
            return TimerResult()
        check = decode(subject)
        newest = latest(await load_checks(self._deps))
        if newest is not None and newest.ref != check.ref:
            return TimerResult()  # a newer check is on record: this reminder ends
        ref = CODEC.subject(check.ref)
        # The online safety lead where the school has one, else the DSL (000 §3.5: the DSL
        # leads on the review of filtering and monitoring).
        lead = (
            Role.ONLINE_SAFETY_LEAD if self._school.roles.get(Role.ONLINE_SAFETY_LEAD) else Role.DSL
        )
        log.info("filtering check due after %s: reminders sent", check.ref)
        return TimerResult(
            outbox=[
                message(
                    Delivery.CHANNEL_NOTE, self._school.channels.it_channel_id, ref, RENDER_DUE, now
                ),
                message(Delivery.DIRECT_TO_ROLE, lead.value, ref, RENDER_DUE, now),
            ],
            audit=[AuditEvent("system", "fm_check.reminder", ref, "sent", now)],
            again_at=self._next_school_start(now, REMIND_EVERY_SCHOOL_DAYS),
        )


def feature(deps: Deps) -> Feature:
    """Filtering and monitoring checks: the form, the record, the channel notes, reminders."""
    h = CheckHandlers(deps)
    return Feature(
        routes={Verb.FM_CHECK_START: h.start, Verb.FM_CHECK_SUBMIT: h.submit},
        phrases=[(r"\b(filtering|monitoring)( and monitoring)? check\b", Verb.FM_CHECK_START)],
        renderers={RENDER_NOTE: h.render_note, RENDER_DUE: h.render_due},
        timers={DUE: h.on_due},
    )
