"""Handling a concern: opening its detail, acknowledging, recording actions, notes and the
UKCIS assessment; each click through ``decide`` (reloaded by id, checked against who clicked).
"""

from __future__ import annotations

from dataclasses import replace

from cards.concern import LIMITS
from dialogs.codec import text_field
from dialogs.concern.base import ConcernBase
from dialogs.detail_views import set_viewing, viewers
from dialogs.kinds.concern import KIND, decode
from dialogs.router import ActionContext, Reply, Scope
from policy.concerns import (
    UKCIS_CRITERIA,
    ConcernStatus,
    acknowledge,
    add_note,
    assess,
    record_actions,
)

_text = text_field


class Clicks(ConcernBase):
    """Handlers' clicks on a concern: open, acknowledge, record actions, note, assess."""

    async def open(self, ctx: ActionContext) -> Reply:
        """Show the full detail to this (authorised) viewer only.

        In the channel the detail stays open for them (``dialogs.detail_views``) until they
        click "Close details"; Teams refreshing the channel card for them (``trigger:
        automatic``) shows the detail only while it is open.
        """
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        detail = True
        if ctx.turn.scope is not Scope.PERSONAL:
            ref = loaded.concern.ref
            if ctx.turn.automatic:
                detail = ctx.person.id in await viewers(self._store, ref)
            else:
                detail = ctx.ids.view != "summary"
                await set_viewing(self._store, ref, ctx.person.id, viewing=detail)
        return self._view.card(ctx, loaded, detail=detail)

    async def acknowledge(self, ctx: ActionContext) -> Reply:
        """Record who acknowledged it and when.

        An alert sent before an escalation step still acknowledges: while a concern is new,
        only the bot's own lines (who was alerted) have changed it since, so the click is not
        refused as out of date.
        """
        wanted = ctx.ids.ref
        record = await self._store.get(KIND, wanted) if wanted else None
        ver = ctx.ids.ver
        if (
            record is not None
            and ver is not None
            and ver < record.version
            and decode(record).status is ConcernStatus.NEW
        ):
            ctx = replace(ctx, data={**ctx.data, "ver": record.version})
        return await self._transition(
            ctx, "concern.acknowledge", lambda c, k, p, t: acknowledge(c, p, t)
        )

    async def action(self, ctx: ActionContext) -> Reply:
        """Record one or more checklist actions (a multi-select sends them comma-separated)
        with one optional note."""
        chosen = tuple(a for a in _text(ctx.data, "action").split(",") if a.strip())
        note = _text(ctx.data, "note")[: LIMITS["note"]]
        if not chosen:
            return await self._problem(ctx, "Choose at least one action you took.")
        return await self._transition(
            ctx,
            "concern.action",
            lambda c, k, p, t: record_actions(c, p, [a.strip() for a in chosen], note, t, k),
        )

    async def note(self, ctx: ActionContext) -> Reply:
        """Add a note to the chronology."""
        note = _text(ctx.data, "note")[: LIMITS["note"]]
        return await self._transition(
            ctx, "concern.note", lambda c, k, p, t: add_note(c, p, note, t)
        )

    async def assessment(self, ctx: ActionContext) -> Reply:
        """Record the UKCIS immediate-referral assessment (nude and semi-nude imagery)."""
        criteria = tuple(k for k in UKCIS_CRITERIA if ctx.data.get(f"ukcis_{k}") in (True, "true"))
        referrals = tuple(r for r in _text(ctx.data, "referrals").split(",") if r)
        reason = _text(ctx.data, "reason")[: LIMITS["reason"]]
        return await self._transition(
            ctx,
            "concern.assess",
            lambda c, k, p, t: assess(c, p, criteria, referrals, reason, t, k),
        )
