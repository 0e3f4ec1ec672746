"""Shared steps of the feature handlers that act on one stored item (a concern, a request…).

Every feature handles a click that changes an item the same way: it reloads the item by the id
the card carries (``record_for``) and checks the clicker against the item itself (its own rules:
who may act, and where); then ``decide`` refuses a Teams refresh (``trigger: automatic``) and
an out-of-date card, makes the one transition, and commits the new record, its outbox messages
and the audit entry in one atomic change, once per Teams activity (``dedupe_key``). Every
refusal is audited (``refuse``); the clicker always gets the item's current state back.
Renderers and timers read the item back with ``still_in``: nothing is sent about an item that
is gone or has moved on; a decision's or an answer's renderer with ``moved_on``: nothing until
there is one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Generic, Protocol, TypeVar

from cards.welcome import not_allowed_card
from dialogs.feature import Deps
from dialogs.ports import Change, DuplicateRequest, Record, StoreUnavailable, VersionConflict
from dialogs.router import ActionContext, Reply, Scope, channel_id_of
from policy.audit import AuditEvent
from policy.errors import PolicyError


class Loaded(Protocol):
    """An item as a feature loads it for a click: its record and whatever its cards need."""

    @property
    def record(self) -> Record: ...


L = TypeVar("L", bound=Loaded)
L_contra = TypeVar("L_contra", bound=Loaded, contravariant=True)


class Stateful(Protocol):
    """A domain item with a status (a concern, a request, a call log…)."""

    @property
    def status(self) -> Enum: ...


S = TypeVar("S", bound=Stateful)


class FeatureHandlers:
    """The base of a feature's handlers: the ports and settings (``Deps``) they use."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._school = deps.school
        self._store = deps.store
        self._clock = deps.clock


ALREADY_CHANGED = "This was already changed, so here is the current state."
NOT_SAVED = "That could not be saved just now. Please try again."
#: The usual ``Handling.stale_note``: the card was out of date.
STALE_CARD = "This card was out of date, so nothing was changed."


def form_key(feature: str, sender_id: str, form_id: str) -> str:
    """The dedupe key a form's submit is saved under: per sender, so another person's card with
    the same form id is their own report, never answered with this one's reference."""
    return f"{feature}.form:{sender_id}:{form_id}"


@dataclass(frozen=True, slots=True)
class NewForm:
    """A form's submit that is not yet saved: its form id and the dedupe key it is saved under."""

    form_id: str
    key: str


async def open_form(
    deps: Deps,
    ctx: ActionContext,
    feature: str,
    *,
    not_private: Reply,
    no_form: Callable[[], Awaitable[Reply]],
    confirm: Callable[[str], Awaitable[Reply]],
) -> NewForm | Reply:
    """The start every form's submit shares: a form is answered only in a private chat
    (``not_private`` elsewhere); a submit without its form id gets ``no_form`` (the form
    afresh); a form already saved (a double click, Teams sending it again) is confirmed again
    (``confirm`` with the reference it was saved under, as ``Store.deduped`` gives it), never
    saved twice. Otherwise the form id and its per-sender key (``form_key``)."""
    if ctx.turn.scope is not Scope.PERSONAL:
        return not_private
    form_id = ctx.ids.form
    if not form_id:
        return await no_form()
    key = form_key(feature, ctx.person.id, form_id)
    if already := await deps.store.deduped(key):
        return await confirm(already[0])
    return NewForm(form_id, key)


def dedupe_key(action: str, ctx: ActionContext) -> str | None:
    """The key that makes ``action`` happen once per Teams activity and sender (a retry changes
    nothing; an activity id is not unique across senders, so it never stands for another's)."""
    if not ctx.turn.activity_id:
        return None
    return f"{action}:{ctx.person.id}:{ctx.turn.activity_id}"


async def refuse(
    deps: Deps, ctx: ActionContext, why: str, item: str = "", *, action: str | None = None
) -> None:
    """Audit a refusal: who, what (``action``, or else the verb the server is running, never
    the one the card data claims), which item and why (a fixed phrase: never a name or
    anything typed)."""
    if action is None:
        action = ctx.verb.value if ctx.verb is not None else "unknown_verb"
    event = AuditEvent(ctx.person.id, action, item, f"refused: {why}", deps.clock.now())
    await deps.store.commit(Change(audit=[event]))


async def refused(deps: Deps, ctx: ActionContext, why: str, item: str = "") -> Reply:
    """Refuse a click (a wrong conversation, a clicker the item is not for): the refusal
    audited (``refuse``) and the answer every refused click gets, the card saying so."""
    await refuse(deps, ctx, why, item)
    return Reply(card=not_allowed_card(ctx.person))


def from_elsewhere(ctx: ActionContext, channel_id: str) -> bool:
    """Whether a click came from a channel other than ``channel_id`` (the item's own channel).
    A 1:1 chat with the bot is never elsewhere: a handler may always act there."""
    return (
        ctx.turn.scope is not Scope.PERSONAL
        and channel_id_of(ctx.turn.conversation_id) != channel_id
    )


async def record_for(
    deps: Deps,
    ctx: ActionContext,
    kind: str,
    *,
    action: str | None = None,
    ref: re.Pattern[str] | None = None,
) -> Record | None:
    """The item of ``kind`` a click names by its ``ref`` (when it is one at all: it matches
    ``ref``), or None, the refusal audited, when there is no such item."""
    wanted = ctx.ids.ref
    plausible = ref.match(wanted) if ref is not None else wanted
    record = await deps.store.get(kind, wanted) if plausible else None
    if record is None:
        await refuse(deps, ctx, "not found", action=action)
    return record


def still_in(subject: Record | None, decode: Callable[[Record], S], status: Enum) -> S | None:
    """The item an outbox message or a timer is about, while it is still in ``status`` (None
    once it is gone or has moved on: then nothing is sent)."""
    item = None if subject is None else decode(subject)
    return item if item is not None and item.status is status else None


def moved_on(subject: Record | None, decode: Callable[[Record], S], status: Enum) -> S | None:
    """The item an outbox message is about, once it has left ``status`` (None while it is
    still in it, or once it is gone: a decision or an answer is sent only once there is one)."""
    item = None if subject is None else decode(subject)
    return item if item is not None and item.status is not status else None


class View(Protocol[L_contra]):
    """What the clicker sees of an item: its card, with a note or a problem of ours on it."""

    def __call__(
        self,
        ctx: ActionContext,
        loaded: L_contra,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply: ...


@dataclass(frozen=True, slots=True)
class Refusal:
    """A click refused: why (audited: a fixed phrase) and the note the clicker sees."""

    why: str
    note: str


#: Someone else (or another click) changed the item first.
CHANGED_MEANWHILE = Refusal("changed meanwhile", ALREADY_CHANGED)


@dataclass(frozen=True, slots=True)
class Handling(Generic[L]):
    """How one feature loads and shows the items its clicks change."""

    #: Reload the item a click is about and check the clicker against it (a Reply: refused,
    #: and the refusal audited).
    load: Callable[[ActionContext], Awaitable[L | Reply]]
    view: View[L]
    #: Shown when the card was out of date (its ``ver`` is not the record's version).
    stale_note: str
    #: What the feature's transitions raise when the rules do not allow them.
    broken: type[Exception] | tuple[type[Exception], ...]
    #: An item no click of this kind can change any more (decided, sent): the refusal, checked
    #: before the card's version. None while the item is open (and for features without one).
    closed: Callable[[L], Refusal | None] | None = None
    #: How a click is refused when someone else changed the item first.
    changed: Refusal = CHANGED_MEANWHILE
    #: How the feature shows (and audits, if it refuses) what ``change`` raised; by default
    #: the rule's code is audited and its words shown as the problem.
    rejected: Callable[[ActionContext, L, Exception], Awaitable[Reply]] | None = None
    #: Shown as the problem when the store could not save the change.
    not_saved: str = NOT_SAVED
    #: What a change is audited as, (action, outcome), from the item as it will be; by
    #: default the click's ``action`` and "ok".
    audited: Callable[[L], tuple[str, str]] | None = None


async def decide(
    handling: Handling[L],
    deps: Deps,
    ctx: ActionContext,
    *,
    action: str,
    change: Callable[[L, datetime], tuple[L, Sequence[Record]]],
) -> Reply:
    """Load the item a click is about (``handling.load``: it checks the clicker) and make its
    one transition.

    ``change(loaded, now)`` makes the transition: it returns the item as it will be and the
    records to write (its new record first, then its outbox messages), or raises
    ``handling.broken``. A Teams refresh, a closed item (``handling.closed``) or an out-of-date
    card changes nothing; a change the rules refuse is shown as a problem (or as
    ``handling.rejected`` shows it); a click someone else (or a Teams retry) got in first
    with shows the current state. Each of those refusals is audited (the item named by its
    record); a successful change is audited as ``action``.
    """
    loaded = await handling.load(ctx)
    if isinstance(loaded, Reply):
        return loaded
    subject = loaded.record.ref
    if ctx.turn.automatic:  # Teams refreshing a card: show the current state, change nothing
        await refuse(deps, ctx, "automatic refresh", subject)
        return handling.view(ctx, loaded)
    key = dedupe_key(action, ctx)
    closed = handling.closed(loaded) if handling.closed is not None else None
    if closed is not None or ctx.ids.ver != loaded.record.version:
        return await _not_current(handling, deps, ctx, loaded, closed, key)
    now = deps.clock.now()
    try:
        after, records = change(loaded, now)
    except handling.broken as exc:
        if handling.rejected is not None:
            return await handling.rejected(ctx, loaded, exc)
        # The rule's code, never its message: that may name people or repeat what was sent.
        code = exc.code if isinstance(exc, PolicyError) else "not allowed by the rules"
        await refuse(deps, ctx, f"rule: {code}", subject)
        return handling.view(ctx, loaded, problem=f"Nothing was changed: {exc}.")
    done, outcome = handling.audited(after) if handling.audited is not None else (action, "ok")
    audit = AuditEvent(ctx.person.id, done, subject, outcome, now)
    change_made = Change(records=records, audit=[audit], dedupe_key=key)
    return await _commit(handling, deps, ctx, loaded, after, change_made)


async def _not_current(
    handling: Handling[L],
    deps: Deps,
    ctx: ActionContext,
    loaded: L,
    closed: Refusal | None,
    key: str | None,
) -> Reply:
    """A click on a closed item or an out-of-date card: refused (and audited), unless it is
    Teams sending again a click that succeeded (``key``): then the answer it got."""
    if key is not None and await deps.store.deduped(key) is not None:
        return handling.view(ctx, loaded)
    subject = loaded.record.ref
    if closed is not None:
        await refuse(deps, ctx, closed.why, subject)
        return handling.view(ctx, loaded, note=closed.note)
    await refuse(deps, ctx, "stale card", subject)
    return handling.view(ctx, loaded, note=handling.stale_note)


async def _commit(
    handling: Handling[L], deps: Deps, ctx: ActionContext, loaded: L, after: L, change: Change
) -> Reply:
    """Save a click's ``change`` and show the item as it is after it. A conflict shows the
    current state: the same answer for this same click sent again, or, when someone else
    changed it first, the refusal (audited); a store that cannot save shows the problem."""
    try:
        await deps.store.commit(change)
    except (VersionConflict, DuplicateRequest) as exc:
        latest = await handling.load(ctx)
        if isinstance(latest, Reply):
            return latest
        if isinstance(exc, DuplicateRequest):
            # This same click, sent again at the same moment, was made: the same answer.
            return handling.view(ctx, latest)
        # Someone else changed it first: one transition, and this click's refusal audited.
        await refuse(deps, ctx, handling.changed.why, loaded.record.ref)
        return handling.view(ctx, latest, note=handling.changed.note)
    except StoreUnavailable:
        return handling.view(ctx, loaded, problem=handling.not_saved)
    deps.doorbell.ring()
    return handling.view(ctx, after)
