"""Closing a concern safely (issue 20): closing at once, or proposing it and a second senior
person confirming or sending it back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cards.closure import CLOSE_LIMITS, item_field, item_reason_field
from cards.common import safe_text
from cards.concern import detail_card
from dialogs.codec import text_field
from dialogs.concern.base import ConcernBase
from dialogs.handling import decide
from dialogs.kinds.concern import KIND, Loaded, encode, subject_of
from dialogs.outbox import Delivery, message
from dialogs.ports import DirectoryUnavailable, Outgoing, Record
from dialogs.router import ActionContext, Reply
from policy.categories import Category
from policy.closure import close_now, is_proposed
from policy.closure import confirm as confirm_closure
from policy.closure import propose as propose_closure
from policy.closure import send_back as send_back_closure
from policy.concerns import Concern, checklist, private_role
from policy.roles import SAFEGUARDING_LEADS, Person, Role

_text = text_field


class Closing(ConcernBase):
    """Closing a concern: at once, or proposed and confirmed by a second senior person."""

    def _close_form(self, ctx: ActionContext, category: Category) -> dict[str, Any]:
        """The close form's fields as the rules take them (each open item: state, reason)."""
        return {
            "outcome": _text(ctx.data, "outcome"),
            "reason": _text(ctx.data, "reason"),
            "message": _text(ctx.data, "message"),
            "answers": {
                a: (_text(ctx.data, item_field(a)), _text(ctx.data, item_reason_field(a)))
                for a in checklist(category)
            },
            "outcomes": self._school.outcomes,
        }

    def _too_long(self, ctx: ActionContext) -> str | None:
        for key, words in (("reason", "reason"), ("message", "message")):
            if len(_text(ctx.data, key)) > CLOSE_LIMITS[key]:
                return f"Keep the {words} under {CLOSE_LIMITS[key]} characters."
        return None

    async def close(self, ctx: ActionContext) -> Reply:
        """Close a concern that is not serious in one step: an outcome from the school's list, a
        reason, the reporter's message (not the details) and every open checklist item answered."""
        if problem := self._too_long(ctx):
            return await self._problem(ctx, problem)
        return await self._closing(
            ctx,
            "concern.close",
            lambda ld, p, t: close_now(
                ld.concern, ld.category, p, at=t, **self._close_form(ctx, ld.category)
            ),
        )

    async def propose_close(self, ctx: ActionContext) -> Reply:
        """Propose closing a serious concern (000 §12.3, 002 §16): it stays open, shown as
        "closure proposed by …", until a second senior person confirms it. A concern about staff
        has no channel card: each possible second person gets the concern 1:1 to confirm."""
        if problem := self._too_long(ctx):
            return await self._problem(ctx, problem)
        tell = await self._second_persons(ctx)

        def told(loaded: Loaded, now: datetime) -> list[Record]:
            subject = subject_of(loaded.concern.ref)
            render = "concern.closure_proposed"
            return [message(how, to, subject, render, now) for how, to in tell]

        return await self._closing(
            ctx,
            "concern.close.propose",
            lambda ld, p, t: propose_closure(
                ld.concern, ld.category, p, at=t, **self._close_form(ctx, ld.category)
            ),
            told,
        )

    async def _second_persons(self, ctx: ActionContext) -> list[tuple[Delivery, str]]:
        """Who to tell 1:1 that closing a concern about staff awaits them: the other holders of
        its private role or, when the clicker is the only one, the role's fallback (never the
        clicker). Nothing for a child concern: its channel card shows the proposal."""
        record = await self._store.get(KIND, ctx.ids.ref)
        found = self._concern(record)
        if found is None:
            return []
        role = private_role(*found)
        if role is None:
            return await self._second_for_child(ctx)
        try:
            others = [
                p.id for p in await self._deps.directory.members(role) if p.id != ctx.person.id
            ]
            if not others:
                for fallback in self._school.fallback_for(role):
                    members = await self._deps.directory.members(fallback)
                    others += [p.id for p in members if p.id != ctx.person.id]
        except DirectoryUnavailable:
            return [(Delivery.DIRECT_TO_ROLE, role.value)]
        return [(Delivery.DIRECT, pid) for pid in dict.fromkeys(others)]

    async def _second_for_child(self, ctx: ActionContext) -> list[tuple[Delivery, str]]:
        """A child concern's proposal shows on its channel card for the other DSLs and deputies;
        when the proposer is the only one (a school with a single DSL), the headteacher is asked
        1:1 instead (000 §12.3, 002 §16: more than one senior member of staff)."""
        try:
            leads = [p for r in SAFEGUARDING_LEADS for p in await self._deps.directory.members(r)]
            if any(p.id != ctx.person.id for p in leads):
                return []
            heads = await self._deps.directory.members(Role.HEADTEACHER)
        except DirectoryUnavailable:
            return [(Delivery.DIRECT_TO_ROLE, Role.HEADTEACHER.value)]
        return [(Delivery.DIRECT, p.id) for p in heads if p.id != ctx.person.id]

    async def render_closure_proposed(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A concern whose closing awaits a second senior person asked 1:1 (about staff, or a
        child concern in a school with a single DSL), in full."""
        found = self._concern(subject)
        if found is None or subject is None or found[0].closure is None:
            return None
        if not is_proposed(found[0]):
            return None
        who = safe_text(found[0].closure.proposed_by_name, limit=80)
        note = (
            f"{who} proposed closing this. As a second senior person, confirm it or send it back."
        )
        return Outgoing(card=detail_card(*found, self._school, version=subject.version, note=note))

    async def confirm_close(self, ctx: ActionContext) -> Reply:
        """A second senior person confirms the proposed closure (never the proposer: checked
        against who clicked); the concern closes and the reporter is told."""
        return await self._closing(
            ctx,
            "concern.close.confirm",
            lambda ld, p, t: confirm_closure(ld.concern, ld.category, p, t, ld.fallback),
        )

    async def send_back_close(self, ctx: ActionContext) -> Reply:
        """A second senior person sends the proposed closure back, with a reason."""
        reason = _text(ctx.data, "reason")
        if len(reason) > CLOSE_LIMITS["reason"]:
            return await self._problem(
                ctx, f"Keep the reason under {CLOSE_LIMITS['reason']} characters."
            )
        return await self._closing(
            ctx,
            "concern.close.send_back",
            lambda ld, p, t: send_back_closure(ld.concern, ld.category, p, reason, t, ld.fallback),
        )

    async def _closing(
        self,
        ctx: ActionContext,
        action: str,
        change: Callable[[Loaded, Person, datetime], Concern],
        also: Callable[[Loaded, datetime], list[Record]] | None = None,
    ) -> Reply:
        def make(loaded: Loaded, now: datetime) -> tuple[Loaded, list[Record]]:
            updated = change(loaded, ctx.person, now)
            record = Record(KIND, updated.ref, loaded.record.version + 1, encode(updated))
            outbox = self._update_messages(loaded.category, updated, now)
            after = Loaded(record, updated, loaded.category, loaded.fallback)
            extra = also(after, now) if also is not None else []
            return after, [record, *outbox, *extra]

        return await decide(self._handling, self._deps, ctx, action=action, change=make)
