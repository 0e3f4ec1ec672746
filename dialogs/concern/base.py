"""The concern feature's shared base: loading a concern for a click, the view after it, one
transition through ``decide`` and the outbox messages a change owes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from cards.concern import stale_card_note
from dialogs.concern_alerts import ConcernAlerts
from dialogs.concern_view import ConcernView, channel_update, load_concern
from dialogs.feature import Deps
from dialogs.handling import FeatureHandlers, Handling, decide
from dialogs.kinds.concern import KIND, Loaded, decode, encode, subject_of
from dialogs.outbox import Delivery, message
from dialogs.ports import DirectoryUnavailable, Record
from dialogs.router import ActionContext, Reply
from policy.categories import Category, Route
from policy.closure import is_proposed
from policy.concerns import (
    Concern,
    ConcernStatus,
    InvalidTransition,
    Source,
    may_handle,
    private_role,
)
from policy.on_call import (
    escalates,
    next_step,
    routine_reminder_at,
    steps_taken,
    tried,
)
from policy.roles import SAFEGUARDING_LEADS, Person, Role


class ConcernBase(FeatureHandlers):
    """What every part of the concern feature shares: loading a concern for a click, the
    view after it, one transition through ``decide`` and the messages a change owes."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._view = ConcernView(deps.school)
        self._handling = Handling(self._load, self._view, stale_card_note(), InvalidTransition)
        self._alerts = ConcernAlerts(deps)

    async def _names(self, who: tuple[str, ...], now: datetime) -> list[str]:
        return await self._alerts.names(who, now)

    def _expand(self, who: tuple[str, ...], now: datetime) -> list[str]:
        return self._alerts.expand(who, now)

    def _channel(self, name: str) -> str:
        return self._alerts.channel(name)

    def _role_names(self) -> dict[Role, str]:
        return {role: self._school.role_name(role) for role in Role}

    def _staff_signposts(self) -> tuple[tuple[str, str], ...]:
        return tuple((s.name, s.contact) for s in self._school.signposts_for("staff"))

    async def _unheld_fallback(self, role: Role | None) -> tuple[Role, ...]:
        """The roles that receive ``role``'s concerns while nobody holds it (else none)."""
        if role is None:
            return ()
        try:
            if await self._deps.directory.members(role):
                return ()
        except DirectoryUnavailable:
            return ()
        return self._school.fallback_for(role)

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        return await load_concern(
            self._deps, ctx, self._may_act, refused_as="not a handler of this concern"
        )

    async def _may_act(self, person: Person, found: Loaded) -> Loaded | None:
        """The concern with who handles it while its private role is unheld (or while its
        closing, proposed by that role's only holder, awaits a second person), if ``person``
        handles it or is the cover it was sent to (else None)."""
        concern, category = found.concern, found.category
        fallback = await self._unheld_fallback(
            private_role(concern, category)
        ) or await self._closure_fallback(concern, category)
        if not may_handle(person, concern, category, fallback) and not self._covering(
            person, concern, category
        ):
            return None
        return replace(found, fallback=fallback)

    def _covering(self, person: Person, concern: Concern, category: Category) -> bool:
        """Someone the school's cover names (the rota or the chain: a headteacher at the top,
        a deputy by name) may act on a concern about a child once it has been sent to them."""
        if category.route is Route.HEADTEACHER or not tried(concern):
            return False
        cover = self._school.on_call
        named = {
            *cover.in_hours,
            *cover.out_of_hours,
            *(t for e in cover.rota for t in e.who),
            *(t for s in cover.chain for t in s.who),
        }
        return person.id in named or any(r.value in named for r in person.roles)

    async def _closure_fallback(self, concern: Concern, category: Category) -> tuple[Role, ...]:
        """While closing a concern about staff is proposed and its proposer is the only holder of
        the concern's private role, the role's fallback may act on it as the second senior person
        (as when nobody holds the role; never the headteacher for a concern about them)."""
        role = private_role(concern, category)
        closure = concern.closure
        if closure is None or not is_proposed(concern):
            return ()
        roles = (role,) if role is not None else tuple(SAFEGUARDING_LEADS)
        try:
            holders = [p for r in roles for p in await self._deps.directory.members(r)]
        except DirectoryUnavailable:
            return ()
        if any(p.id != closure.proposed_by_id for p in holders):
            return ()
        if role is None:  # the only DSL or deputy proposed it: the headteacher confirms
            return (Role.HEADTEACHER,)
        return self._school.fallback_for(role)

    async def _problem(self, ctx: ActionContext, problem: str) -> Reply:
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        return self._view(ctx, loaded, problem=problem)

    async def _transition(
        self,
        ctx: ActionContext,
        action: str,
        change: Callable[[Concern, Category, Person, datetime], Concern],
    ) -> Reply:
        def make(loaded: Loaded, now: datetime) -> tuple[Loaded, list[Record]]:
            updated = change(loaded.concern, loaded.category, ctx.person, now)
            record = Record(KIND, updated.ref, loaded.record.version + 1, encode(updated))
            outbox = self._update_messages(loaded.category, updated, now)
            return Loaded(record, updated, loaded.category), [record, *outbox]

        return await decide(self._handling, self._deps, ctx, action=action, change=make)

    def _update_messages(self, category: Category, updated: Concern, now: datetime) -> list[Record]:
        """What a transition owes: the channel card updated for all, and the reporter's news."""
        outbox = channel_update(self._school, category, updated, now)
        if updated.status is ConcernStatus.CLOSED and updated.source is Source.STAFF:
            # Staff hear the outcome (004 §2); a pupil only ever sees that it was received,
            # and an adult talks to them in person.
            subject = subject_of(updated.ref)
            outbox.append(
                message(Delivery.DIRECT, updated.reporter_id, subject, "concern.closed", now)
            )
        return outbox

    def _concern(self, subject: Record | None) -> tuple[Concern, Category] | None:
        if subject is None:
            return None
        concern = decode(subject)
        category = self._school.category_or_other(concern.category)
        return concern, category

    def _reminder_due(self, concern: Concern, from_time: datetime) -> datetime:
        if concern.urgent:
            category = self._school.category(concern.category)
            if category is not None and escalates(concern, category):
                # The next step up the chain, each at its own interval (``policy.on_call``).
                return from_time + next_step(self._school, steps_taken(concern)).after
            return from_time + timedelta(
                minutes=self._school.escalation.urgent_unacknowledged_minutes
            )
        # Routine concerns are chased on school days, in the school's contact hours.
        return routine_reminder_at(from_time, self._school)
