"""A concern nobody acknowledges: reminders, escalation up the on-call chain (out-of-hours
cover), and the LADO clock of a concern about a member of staff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cards.common import school_time
from cards.concern import detail_card
from dialogs.concern.base import ConcernBase
from dialogs.kinds.concern import KIND, bot, encode, subject_of
from dialogs.outbox import Delivery, TimerResult, message
from dialogs.ports import DirectoryUnavailable, Outgoing, Record
from policy.audit import AuditEvent
from policy.categories import Category, Route
from policy.concerns import Concern, ConcernStatus
from policy.on_call import (
    ESCALATED,
    LADO_REMINDER,
    escalates,
    lado_due,
    lado_private_role,
    lado_running,
    next_step,
    role_of,
    sent_to,
    steps_taken,
)
from policy.roles import Role

#: The concern feature's logger, under the name it had before the split.
log = logging.getLogger("dialogs.concern")


class Escalation(ConcernBase):
    """The timers of a concern: reminders, the on-call chain and the LADO clock."""

    async def on_unacknowledged(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """Still not acknowledged: remind every handler (and nudge the channel), then later."""
        found = self._concern(subject)
        if found is None or found[0].status is not ConcernStatus.NEW:
            return TimerResult()  # acknowledged or gone: the timer ends
        concern, category = found
        ref = subject_of(concern.ref)
        if escalates(concern, category) and subject is not None:
            return await self._escalate(subject, concern, category, now)
        if category.route is Route.HEADTEACHER:
            role = Role.CHAIR_OF_GOVERNORS if concern.about_headteacher else Role.HEADTEACHER
            out = [message(Delivery.DIRECT_TO_ROLE, role.value, ref, "concern.reminder", now)]
        else:
            out = [
                message(Delivery.DIRECT_TO_ROLE, Role.DSL.value, ref, "concern.reminder", now),
                message(
                    Delivery.DIRECT_TO_ROLE, Role.DEPUTY_DSL.value, ref, "concern.reminder", now
                ),
                message(Delivery.CHANNEL_NOTE, self._channel("dsl"), ref, "concern.nudge", now),
            ]
        log.info("concern %s unacknowledged: reminders sent", concern.ref)
        return TimerResult(
            outbox=out,
            audit=[AuditEvent("system", "concern.reminder", ref, "sent", now)],
            again_at=self._reminder_due(concern, now),
        )

    async def _reach(
        self, who: tuple[str, ...], subject: str, render: str, title: str, now: datetime
    ) -> list[Record]:
        """1:1 and activity-feed messages to everyone ``who`` names (``on_call`` is whoever is
        on call now). Never to nobody: with no one named, the DSL and deputies (whose own
        fallback the outbox applies)."""
        targets = []
        for target in self._expand(who, now):
            if role_of(target) is None and not await self._known(target):
                log.error("the rota names %s, whom the directory does not know", target)
                continue
            targets.append(target)
        targets = targets or [Role.DSL.value, Role.DEPUTY_DSL.value]
        out: list[Record] = []
        for target in targets:
            to_role = role_of(target) is not None
            out.append(
                message(
                    Delivery.DIRECT_TO_ROLE if to_role else Delivery.DIRECT,
                    target,
                    subject,
                    render,
                    now,
                )
            )
            out.append(
                message(
                    Delivery.FEED_TO_ROLE if to_role else Delivery.FEED,
                    target,
                    subject,
                    "concern.feed",
                    now,
                    x_title=title,
                )
            )
        return out

    async def _known(self, person_id: str) -> bool:
        """Whether the directory knows this person (if it cannot say now, assume so: the
        message waits and is tried again rather than being dropped)."""
        try:
            return await self._deps.directory.person(person_id) is not None
        except DirectoryUnavailable:
            return True

    async def _escalate(
        self, subject: Record, concern: Concern, category: Category, now: datetime
    ) -> TimerResult:
        """One step up the chain (004 flowchart "DO NOT DELAY"): the step's people get the
        reminder 1:1 and in their activity feed, the channel is nudged, the step goes in the
        chronology and on the channel card, and the next step is set. The last step repeats
        to its people: it never ends at a channel reminder."""
        taken = steps_taken(concern)
        step = next_step(self._school, taken)
        ref = subject_of(concern.ref)
        names = await self._names(step.who, now)
        position = f"step {step.number} of {len(self._school.on_call.chain)}"
        why = f"not acknowledged, {position}" + (", repeated" if taken >= step.number else "")
        updated = concern.with_event(bot(), now, ESCALATED, sent_to(names, why))
        record = Record(KIND, concern.ref, subject.version + 1, encode(updated))
        title = f"Urgent concern {concern.ref} is not acknowledged"
        out = [
            *await self._reach(step.who, ref, "concern.reminder", title, now),
            message(Delivery.CHANNEL_NOTE, self._channel("dsl"), ref, "concern.nudge", now),
            *self._update_messages(category, updated, now),
        ]
        log.info("concern %s unacknowledged: escalated (%s)", concern.ref, position)
        return TimerResult(
            records=[record],
            outbox=out,
            audit=[AuditEvent("system", "concern.escalate", ref, position, now)],
            again_at=now + next_step(self._school, taken + 1).after,
        )

    async def on_lado_clock(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """A concern about a member of staff whose LADO contact is not recorded by its time
        (001 §8, 003): remind its handler (the headteacher, or the chair of governors when it
        is about the headteacher), in the chronology and the audit, again and again until
        "LADO informed" is recorded or the concern is closed."""
        found = self._concern(subject)
        if found is None or subject is None or not lado_running(found[0]):
            return TimerResult()  # LADO informed, closed or gone: the clock stops
        concern, _ = found
        ref = subject_of(concern.ref)
        role = lado_private_role(concern)
        names = await self._names((role.value,), now)
        why = "the LADO has not been recorded as informed"
        updated = concern.with_event(bot(), now, LADO_REMINDER, sent_to(names, why))
        record = Record(KIND, concern.ref, subject.version + 1, encode(updated))
        title = f"LADO not yet informed: {concern.ref}"
        log.info("concern %s: LADO clock reminder sent", concern.ref)
        return TimerResult(
            records=[record],
            outbox=await self._reach((role.value,), ref, "concern.lado", title, now),
            audit=[AuditEvent("system", "concern.lado_reminder", ref, "sent", now)],
            again_at=now + timedelta(minutes=self._school.lado.repeat_minutes),
        )

    async def render_lado(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The LADO reminder: the concern in full, privately, to its handler."""
        found = self._concern(subject)
        if found is None or subject is None or not lado_running(found[0]):
            return None
        due = lado_due(found[0].created_at, self._school)
        return Outgoing(
            card=detail_card(
                *found,
                self._school,
                version=subject.version,
                note=(
                    f"The LADO has not been recorded as informed. It was due by "
                    f"{school_time(due, self._school.zone)}. Please contact the LADO today, "
                    'then record "LADO informed" below. You will be reminded until you do.'
                ),
            )
        )
