"""Deciding: approve, reject, ask and answer, IT's "applied" and "re-blocked", each through
``dialogs.handling.decide``, and what each transition owes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cards.filter import LIMITS, apply_task, reblock_task, request_card
from cards.welcome import not_allowed_card
from dialogs.codec import text_field
from dialogs.feature import Deps
from dialogs.filter_request.base import FilterBase, Loaded
from dialogs.filter_request.kinds import KIND, PERIOD_END, PERIOD_START, decode, encode, subject_of
from dialogs.handling import STALE_CARD, Handling, decide, from_elsewhere, record_for, refused
from dialogs.outbox import Delivery, message, timer
from dialogs.ports import Record
from dialogs.router import ActionContext, Reply, channel_id_of
from policy.actions import Verb
from policy.filtering import (
    FilterRequest,
    FilterRuleBroken,
    FilterStatus,
    answer,
    approve,
    ask,
    mark_applied,
    mark_reblocked,
    reject,
)
from policy.roles import Person


class DecisionHandlers(FilterBase):
    """The clicks that change a request."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._handling = Handling(self._load, self._view, STALE_CARD, FilterRuleBroken)

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        """The request a click is about, clicked in a private chat or in its own channels."""
        record = await record_for(self._deps, ctx, KIND)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        request = decode(record)
        # Its channels are never none (IT's approval is always needed).
        if all(from_elsewhere(ctx, channel_id_of(c)) for c in self._channels(request)):
            return await refused(self._deps, ctx, "wrong conversation", record.ref)
        return Loaded(record, request)

    def _view(
        self,
        ctx: ActionContext,
        loaded: Loaded,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        request, version, note = loaded.request, loaded.record.version, note or problem
        verb = ctx.verb  # the server's own, never what the card data claims
        if verb is Verb.FILTER_APPLIED:
            return Reply(card=apply_task(request, version=version))
        if verb is Verb.FILTER_REBLOCKED:
            return Reply(card=reblock_task(request, version=version))
        if verb is Verb.FILTER_ANSWER:
            words = note or "Thank you: your answer has been sent to the people deciding."
            return Reply(text=words)
        return Reply(card=request_card(request, self._school, version=version, note=note))

    async def approve(self, ctx: ActionContext) -> Reply:
        """Approve (the approval the clicker's role allows)."""
        return await self._decide(ctx, "filter.approve", lambda r, p, t: approve(r, p, t))

    async def reject(self, ctx: ActionContext) -> Reply:
        """Reject with a reason."""
        note = text_field(ctx.data, "note")[: LIMITS["note"]]
        return await self._decide(ctx, "filter.reject", lambda r, p, t: reject(r, p, note, t))

    async def ask(self, ctx: ActionContext) -> Reply:
        """Ask the requester for more information (the request waits)."""
        note = text_field(ctx.data, "note")[: LIMITS["note"]]
        return await self._decide(ctx, "filter.ask", lambda r, p, t: ask(r, p, note, t))

    async def answer(self, ctx: ActionContext) -> Reply:
        """The requester answers the question."""
        note = text_field(ctx.data, "note")[: LIMITS["note"]]
        return await self._decide(ctx, "filter.answer", lambda r, p, t: answer(r, p, note, t))

    async def applied(self, ctx: ActionContext) -> Reply:
        """IT records that it applied the exception."""
        return await self._decide(ctx, "filter.applied", lambda r, p, t: mark_applied(r, p, t))

    async def reblocked(self, ctx: ActionContext) -> Reply:
        """IT records that the site is blocked again."""
        return await self._decide(ctx, "filter.reblocked", lambda r, p, t: mark_reblocked(r, p, t))

    async def _decide(
        self,
        ctx: ActionContext,
        action: str,
        change: Callable[[FilterRequest, Person, datetime], FilterRequest],
    ) -> Reply:
        def make(loaded: Loaded, now: datetime) -> tuple[Loaded, list[Record]]:
            request = loaded.request
            updated = change(request, ctx.person, now)
            new_record = Record(KIND, request.ref, loaded.record.version + 1, encode(updated))
            return Loaded(new_record, updated), [new_record, *self._messages(request, updated, now)]

        return await decide(self._handling, self._deps, ctx, action=action, change=make)

    def _messages(self, before: FilterRequest, after: FilterRequest, now: datetime) -> list[Record]:
        """What a transition owes: card updates for everyone, tasks, and the requester's news."""
        subject = subject_of(after.ref)
        out = [
            message(Delivery.CHANNEL_UPDATE, channel, subject, "filter.request", now)
            for channel in self._channels(after)
        ]
        it_channel = self._school.channels.it_channel_id
        if after.status is FilterStatus.NEEDS_INFO:
            out.append(
                message(Delivery.DIRECT, after.requester_id, subject, "filter.question", now)
            )
        if (
            after.status
            in {
                FilterStatus.REJECTED,
                FilterStatus.APPROVED,
                FilterStatus.REBLOCKED,
            }
            and after.status is not before.status
        ):
            out.append(
                message(Delivery.DIRECT, after.requester_id, subject, "filter.decision", now)
            )
        if after.status is FilterStatus.APPLIED and before.status is not FilterStatus.APPLIED:
            # "Now allowed" when the period starts, never before it (issue 21).
            starts = self.period_starts_at(after)
            if now >= starts:
                out.append(
                    message(Delivery.DIRECT, after.requester_id, subject, "filter.now_allowed", now)
                )
            else:
                out.append(timer(PERIOD_START, subject, starts))
        if after.status is FilterStatus.APPROVED and before.status is not FilterStatus.APPROVED:
            out.append(message(Delivery.CHANNEL_POST, it_channel, subject, "filter.apply", now))
            out.append(timer(PERIOD_END, subject, self._reblock_due_at(after)))
        if after.status is FilterStatus.APPLIED:
            out.append(message(Delivery.CHANNEL_UPDATE, it_channel, subject, "filter.apply", now))
        if after.status is FilterStatus.REBLOCKED:
            out.append(message(Delivery.CHANNEL_UPDATE, it_channel, subject, "filter.reblock", now))
        return out
