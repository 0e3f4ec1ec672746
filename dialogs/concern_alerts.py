"""What every feature that raises a concern owes it (staff reports, pupil reports, monitoring
alerts): its first alerts (channel cards, 1:1 alerts, whoever is on call), the chronology line
saying who was alerted, its LADO clock, and the names of the people a message reaches.
"""

from __future__ import annotations

from datetime import datetime

from dialogs.feature import Deps
from dialogs.kinds.concern import (
    LADO_CLOCK,
    bot,
    subject_of,
)
from dialogs.outbox import Delivery, message, timer
from dialogs.ports import (
    DirectoryUnavailable,
    Record,
)
from dialogs.urgent import direct_alerts
from policy.categories import Category, Route
from policy.concerns import (
    Concern,
    route,
)
from policy.on_call import (
    ALERTED,
    escalates,
    is_person_id,
    lado_clock_applies,
    lado_due,
    next_step,
    on_call_at,
    role_of,
    routine_reminder_at,
    sent_to,
)
from policy.school import ON_CALL, SchoolPolicy


def reminder_due(school: SchoolPolicy, concern: Concern, from_time: datetime) -> datetime:
    """When an unacknowledged concern raised for a pupil (a pupil report, a monitoring alert)
    is chased: the same rule as staff concerns (urgent at the chain's first step, others after
    ``routine_unacknowledged_school_days``, in school hours)."""
    if concern.urgent:  # the first step up the chain (``policy.on_call``)
        return from_time + next_step(school, 0).after
    return routine_reminder_at(from_time, school)  # school days, in contact hours


class ConcernAlerts:
    """The first alerts, timers and names a new concern owes, over ``deps``."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._school = deps.school

    def first_messages(self, concern: Concern, category: Category, now: datetime) -> list[Record]:
        """The outbox messages a new concern owes: channel cards and 1:1 alerts."""
        subject = subject_of(concern.ref)
        routing = route(
            category, urgent=concern.urgent, about_headteacher=concern.about_headteacher
        )
        out: list[Record] = []
        for channel in routing.channels:
            target = self.channel(channel)
            render = "concern.channel" if channel == "dsl" else "concern.it"
            out.append(message(Delivery.CHANNEL_POST, target, subject, render, now))
        private = category.route is Route.HEADTEACHER
        # An urgent concern about a child goes first to whoever is on call now (in school
        # hours, by default, the DSL and deputies: ``policy.on_call``).
        targets = (
            on_call_at(now, self._school).who if escalates(concern, category) else ()
        ) or tuple(r.value for r in routing.direct)
        # The urgent path (dialogs.urgent), shared with monitoring alerts: the chat, and for an
        # urgent concern the bell in Teams as well, so an urgent report is never missed.
        out += direct_alerts(
            targets,
            subject,
            alert_render="concern.private" if private else "concern.alert",
            feed_render="concern.feed" if concern.urgent else None,
            title=f"Urgent concern {concern.ref}",
            now=now,
        )
        return out

    async def with_first_alert(
        self, concern: Concern, category: Category, now: datetime
    ) -> Concern:
        """Out of hours, ``concern`` with a chronology line saying who is on call and was
        alerted first (in school hours the DSL and deputies have it, as always)."""
        if not escalates(concern, category):
            return concern
        cover = on_call_at(now, self._school)
        if cover.in_hours:
            return concern
        names = await self.names(cover.who, now)
        return concern.with_event(bot(), now, ALERTED, sent_to(names, f"on call: {cover.why}"))

    def lado_timer(self, concern: Concern, category: Category, now: datetime) -> list[Record]:
        """The LADO clock a concern about a member of staff starts (001 §8, 003)."""
        if not lado_clock_applies(category):
            return []
        return [timer(LADO_CLOCK, subject_of(concern.ref), lado_due(now, self._school))]

    async def names(self, who: tuple[str, ...], now: datetime) -> list[str]:
        """The names of the people ``who`` reaches (roles resolved now; best effort)."""
        names: list[str] = []
        for token in self.expand(who, now):
            role = role_of(token)
            try:
                if role is not None:
                    people = await self._deps.directory.members(role)
                    names += [p.name for p in people] or [f"the {self._school.role_name(role)}"]
                else:
                    person = await self._deps.directory.person(token)
                    names.append(person.name if person else "someone the directory does not know")
            except DirectoryUnavailable:
                names.append(
                    f"the {self._school.role_name(role)}" if role else "the person on call"
                )
        return list(dict.fromkeys(names))

    def expand(self, who: tuple[str, ...], now: datetime) -> list[str]:
        """``who`` with ``on_call`` replaced by whoever is on call at ``now``, each once."""
        out: list[str] = []
        for token in who:
            out += on_call_at(now, self._school).who if token == ON_CALL else [token]
        return [t for t in dict.fromkeys(out) if role_of(t) is not None or is_person_id(t)]

    def channel(self, name: str) -> str:
        channels = self._school.channels
        return channels.dsl_channel_id if name == "dsl" else channels.it_channel_id
