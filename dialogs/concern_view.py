"""A concern as a click loads and shows it: shared by the concern feature and the hand-off
(features never import each other, so what both do with a concern lives in this leaf).

A click names its concern by reference; it is reloaded from the store, checked against who
clicked (each feature says who may act on it) and against where they clicked (the DSL channel
or a 1:1 chat: a concern about staff only in a 1:1 chat), every refusal audited. The clicker
then sees the full detail where they were looking at it (or in a 1:1 chat), otherwise the
channel card; every change to a concern updates its channel card for all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from cards.concern import channel_card, detail_card
from cards.welcome import not_allowed_card
from dialogs.feature import Deps
from dialogs.handling import from_elsewhere, record_for, refused
from dialogs.kinds.concern import KIND, PUPIL_CHANNEL, Loaded, decode, subject_of
from dialogs.outbox import Delivery, message
from dialogs.ports import Record
from dialogs.router import ActionContext, Reply, Scope
from policy.categories import Category, Route
from policy.concerns import Concern, Source
from policy.roles import Person
from policy.school import SchoolPolicy

#: Whether ``person`` may act on a concern (loaded with its category): the concern as they may
#: act on it (a feature may add who stands in for an unheld role), or None when they may not.
Vet = Callable[[Person, Loaded], Awaitable[Loaded | None]]


async def load_concern(
    deps: Deps, ctx: ActionContext, vet: Vet, *, refused_as: str
) -> Loaded | Reply:
    """The concern a click names, if ``vet`` lets the clicker act on it (else refused as
    ``refused_as``) and they clicked in the DSL channel or a 1:1 chat (each refusal audited)."""
    record = await record_for(deps, ctx, KIND)
    if record is None:
        return Reply(card=not_allowed_card(ctx.person))
    concern = decode(record)
    found = Loaded(record, concern, deps.school.category_or_other(concern.category))
    loaded = await vet(ctx.person, found)
    if loaded is None:
        return await refused(deps, ctx, refused_as, record.ref)
    if (ctx.turn.scope is not Scope.PERSONAL and loaded.category.route is Route.HEADTEACHER) or (
        from_elsewhere(ctx, deps.school.channels.dsl_channel_id)
    ):
        # Concerns are handled in the DSL channel or in a 1:1 chat, nowhere else.
        return await refused(deps, ctx, "wrong conversation", record.ref)
    return loaded


@dataclass(frozen=True, slots=True)
class ConcernView:
    """What the clicker sees of a concern after a click (a ``dialogs.handling.View``): the
    detail card where they were looking at it (or in a 1:1 chat), otherwise the channel card."""

    school: SchoolPolicy
    #: The note shown when a click brings none of its own (the hand-off's "on its way").
    default_note: Callable[[ActionContext, Loaded], str | None] | None = None

    def __call__(
        self,
        ctx: ActionContext,
        loaded: Loaded,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        if note is None and problem is None and self.default_note is not None:
            note = self.default_note(ctx, loaded)
        detail = ctx.ids.view == "detail" or ctx.turn.scope is Scope.PERSONAL
        return self.card(ctx, loaded, detail=detail, note=note, problem=problem)

    def card(
        self,
        ctx: ActionContext,
        loaded: Loaded,
        *,
        detail: bool,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        """The full detail (over the channel card, for the clicker alone, when they are in the
        channel), or the channel card with our note or problem on it."""
        concern, category, version = loaded.concern, loaded.category, loaded.record.version
        if detail:
            in_channel = ctx.turn.scope is not Scope.PERSONAL
            return Reply(
                card=detail_card(
                    concern,
                    category,
                    self.school,
                    version=version,
                    note=note,
                    problem=problem,
                    in_channel=in_channel,
                    viewer_id=ctx.person.id,
                )
            )
        card = channel_card(concern, category, self.school, version=version, note=note or problem)
        return Reply(card=card)


def channel_update(
    school: SchoolPolicy, category: Category, updated: Concern, now: datetime
) -> list[Record]:
    """The message that updates a changed concern's channel card for all (none for a concern
    about staff: it has no channel card). A pupil report's card is drawn by the pupil report
    feature (it groups repeats)."""
    if category.route is Route.HEADTEACHER:
        return []
    render = PUPIL_CHANNEL if updated.source is Source.PUPIL else "concern.channel"
    channel = school.channels.dsl_channel_id
    return [message(Delivery.CHANNEL_UPDATE, channel, subject_of(updated.ref), render, now)]
