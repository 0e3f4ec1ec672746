"""Staff report an online-safety concern; the right people get it at once; handlers act on it.

Reporting: a two-step card (what kind, then the details for that kind), validated here again
whatever the card enforced; the concern, its outbox messages and its reminder timer are saved
in one atomic change before the reporter is told "received". Handling: every click reloads the
concern by id, checks the clicker's roles against this concern (never card data), its state and
the card's version, then makes one transition, audited, and updates the channel card for all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cards.common import safe_text, school_day
from cards.concern import (
    LIMITS,
    alert_card,
    category_picker,
    channel_card,
    closed_notice,
    concern_form,
    detail_card,
    it_breach_card,
    keep_detail_open,
    my_reports_card,
    received_card,
    reminder_card,
    stale_card_note,
)
from cards.welcome import not_allowed_card
from dialogs.codec import RecordCodec, text_field
from dialogs.detail_views import set_viewing, viewers
from dialogs.filter_request import KIND as FILTER_KIND
from dialogs.filter_request import decode as decode_filter
from dialogs.handling import FeatureHandlers, Handling, decide, form_key, record_for, refuse
from dialogs.outbox import Delivery, TimerResult, message, timer
from dialogs.ports import (
    Change,
    DirectoryUnavailable,
    DuplicateRequest,
    Outgoing,
    Record,
    StoreUnavailable,
)
from dialogs.registry import Deps, Feature
from dialogs.service import ActionContext, Reply, Scope, channel_id_of
from dialogs.urgent import urgent_messages
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.categories import Category, Route
from policy.concerns import (
    UKCIS_CRITERIA,
    YEAR_GROUPS,
    Concern,
    ConcernStatus,
    InvalidTransition,
    RiskAnswer,
    Source,
    acknowledge,
    add_note,
    assess,
    close,
    is_urgent,
    may_handle,
    private_role,
    record_actions,
    route,
)
from policy.filtering import STATUS_WORDS as FILTER_STATUS_WORDS
from policy.filtering import FilterStatus
from policy.roles import Person, Role
from policy.school_calendar import add_school_days
from policy.weblinks import BadLink, normalise_url

log = logging.getLogger(__name__)

#: A filter request's status as its requester reads it in "My reports".
_FILTER_STATUS_FOR_REQUESTER = {
    FilterStatus.PENDING: "sent, waiting for a decision",
    FilterStatus.NEEDS_INFO: "you were asked a question: see your chat",
    FilterStatus.APPROVED: "approved, waiting for IT",
    FilterStatus.APPLIED: "allowed now",
}

KIND = "concern"
UNACKNOWLEDGED = "concern.unacknowledged"
CODEC: RecordCodec[Concern] = RecordCodec(KIND, Concern)

NOT_SAVED = (
    "Your report could not be saved just now, so it has NOT been sent. Please try again in a "
    "minute. If a child may be at risk, tell the DSL in person or by phone now."
)


encode = CODEC.encode


decode = CODEC.decode


#: ``concern:<ref>``: how audit entries and outbox messages name a concern.
subject_of = CODEC.subject


@dataclass(frozen=True, slots=True)
class Loaded:
    """A concern reloaded for a click, with its record version and category."""

    record: Record
    concern: Concern
    category: Category


_text = text_field
#: Form fields that may arrive filled in with the category (issue 18: typed words, messages).
PREFILLED = ("involved", "year_group", "what_happened", "where", "url", "happened_on")


def validate_report(
    data: Mapping[str, Any],
    category: Category,
    today: date,
    year_groups: tuple[str, ...] = YEAR_GROUPS,
) -> tuple[dict[str, str], dict[str, str]]:
    """Check a submitted report. Returns (cleaned values, problems by field id).

    The card marks fields required, but a crafted invoke can send anything, so every rule is
    checked here again: required fields, lengths, year group, date not in the future, URL.
    """
    values = {
        key: _text(data, key)
        for key in (
            "immediate_risk",
            "involved",
            "year_group",
            "what_happened",
            "where",
            "url",
            "happened_on",
            "actions_taken",
            "device_group",
            "about_headteacher",
        )
    }
    problems: dict[str, str] = {}
    if values["immediate_risk"] not in {RiskAnswer.YES.value, RiskAnswer.NO.value}:
        problems["immediate_risk"] = "Say whether a child is at immediate risk."
    for key, words in (
        ("involved", "Say who is involved, or that you are not sure."),
        ("what_happened", "Describe what happened."),
        ("where", "Say where it happened (the app, game, website or device)."),
    ):
        if not values[key]:
            problems[key] = words
    for key, limit in LIMITS.items():
        if key in values and len(values[key]) > limit:
            problems[key] = f"Please keep this under {limit} characters."
    if values["year_group"] not in year_groups:
        problems["year_group"] = "Choose a year group, or Not known."
    try:
        happened = date.fromisoformat(values["happened_on"])
        if happened > today:
            problems["happened_on"] = "That date is in the future."
        elif happened < today - timedelta(days=3650):
            problems["happened_on"] = "That date is too long ago: check the year."
    except ValueError:
        problems["happened_on"] = "Give the date it happened, or when you found out."
    if values["url"] and "url" not in problems:
        try:
            values["url"] = normalise_url(values["url"])
        except BadLink as exc:
            problems["url"] = str(exc)
    if category.route is not Route.HEADTEACHER:
        values["about_headteacher"] = "false"
    return values, problems


class ConcernHandlers(FeatureHandlers):
    """The concern feature's verb handlers, renderers and timer."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._handling = Handling(self._load, self._view, stale_card_note(), InvalidTransition)

    # ----- reporting ----------------------------------------------------------------------------

    async def start(self, ctx: ActionContext) -> Reply:
        """Step 1 (pick a category), or step 2 (the form) once a category is chosen."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text="Please report concerns in a private chat with me, not here.")
        if ctx.data.get("step") != "details":
            return Reply(card=category_picker(self._school))
        category = self._school.category(_text(ctx.data, "category"))
        if category is None:
            return Reply(card=category_picker(self._school, problem="Choose what it is about."))
        # Typed words offered as a concern, or a reported Teams message (issue 18), arrive
        # with the category: the form starts with them filled in (all still checked on Send).
        values = {key: _text(ctx.data, key)[: LIMITS.get(key, 100)] for key in PREFILLED}
        return Reply(
            card=concern_form(
                self._school,
                category,
                form_id=uuid.uuid4().hex,
                values={key: value for key, value in values.items() if value} or None,
            )
        )

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate, save (concern + outbox + reminder, atomically), then confirm."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text="Please report concerns in a private chat with me, not here.")
        category = self._school.category(_text(ctx.data, "category"))
        form_id = _text(ctx.data, "form")
        if category is None or not form_id:
            return Reply(card=category_picker(self._school, problem="Choose what it is about."))
        # Per sender: someone else's card with the same form id is their own report.
        key = form_key("concern", ctx.person.id, form_id)
        already = await self._store.deduped(key)
        if already:  # a double click, or Teams sending the same click again
            return await self._confirm_existing(ctx.person, already[0], category)
        now = self._clock.now()
        values, problems = validate_report(
            ctx.data, category, now.astimezone(self._school.zone).date(), self._school.year_groups
        )
        if problems:
            return Reply(
                card=concern_form(
                    self._school, category, form_id=form_id, values=values, problems=problems
                )
            )
        try:
            concern, recipients = await self._save(ctx.person, category, values, now, key)
        except DuplicateRequest as dup:
            return await self._confirm_existing(ctx.person, dup.refs[0], category)
        except StoreUnavailable:
            log.error("a concern could not be saved (store unavailable)")
            return Reply(
                card=concern_form(
                    self._school,
                    category,
                    form_id=form_id,
                    values=values,
                    problems={"what_happened": NOT_SAVED},
                )
            )
        self._deps.doorbell.ring()
        log.info("concern %s reported (urgent=%s)", concern.ref, concern.urgent)
        return Reply(
            card=received_card(
                concern, category, recipients=recipients, signposts=self._staff_signposts()
            )
        )

    async def _save(
        self, person: Person, category: Category, values: dict[str, str], now: datetime, key: str
    ) -> tuple[Concern, str]:
        year = now.astimezone(self._school.zone).year
        number = await self._store.next_sequence(f"OSC-{year}", key=key)
        risk = RiskAnswer(values["immediate_risk"])
        about_head = values["about_headteacher"] == "true"
        concern = Concern(
            ref=f"OSC-{year}-{number:04d}",
            source=Source.STAFF,
            category=category.id,
            urgent=is_urgent(category, risk),
            reporter_id=person.id,
            reporter_name=person.name,
            created_at=now,
            year_group=values["year_group"],
            involved=values["involved"],
            what_happened=values["what_happened"],
            where=values["where"],
            url=values["url"] or None,
            happened_on=values["happened_on"],
            immediate_risk=risk,
            actions_taken=values["actions_taken"],
            device_group=values["device_group"],
            about_headteacher=about_head,
        )
        concern = concern.with_event(person, now, "reported", "Reported")
        routing = route(
            category,
            urgent=concern.urgent,
            about_headteacher=about_head,
            names=self._role_names(),
        )
        await self._store.commit(
            Change(
                records=[
                    Record(KIND, concern.ref, 1, encode(concern)),
                    *self.first_messages(concern, category, now),
                    timer(
                        UNACKNOWLEDGED, subject_of(concern.ref), self._reminder_due(concern, now)
                    ),
                ],
                audit=[AuditEvent(person.id, "concern.report", subject_of(concern.ref), "ok", now)],
                dedupe_key=key,
            )
        )
        return concern, await self._truthful_recipients(concern, category, routing.recipients)

    async def _truthful_recipients(self, concern: Concern, category: Category, said: str) -> str:
        """Who has it, truthfully: a concern whose private role nobody holds goes to the
        role's fallback, and the reporter is told so (never "sent" to nobody)."""
        role = private_role(concern, category)
        fallback = await self._unheld_fallback(role)
        if role is None or not fallback:
            return said
        school = self._school
        went_to = " and ".join(school.role_name(r) for r in fallback)
        return (
            f"the {went_to}, privately, because nobody holds the role of "
            f"{school.role_name(role)} at the moment (they have been told)"
        )

    def first_messages(self, concern: Concern, category: Category, now: datetime) -> list[Record]:
        """The outbox messages a new concern owes: channel cards and 1:1 alerts."""
        subject = subject_of(concern.ref)
        routing = route(
            category, urgent=concern.urgent, about_headteacher=concern.about_headteacher
        )
        out: list[Record] = []
        for channel in routing.channels:
            target = self._channel(channel)
            render = "concern.channel" if channel == "dsl" else "concern.it"
            out.append(message(Delivery.CHANNEL_POST, target, subject, render, now))
        private = category.route is Route.HEADTEACHER
        for role in routing.direct:
            render = "concern.private" if private else "concern.alert"
            if concern.urgent:
                # The urgent path (dialogs.urgent), shared with monitoring alerts: the chat and
                # the bell in Teams, so an urgent report is never missed.
                out += urgent_messages(
                    subject,
                    (role,),
                    alert_render=render,
                    feed_render="concern.feed",
                    title=f"Urgent concern {concern.ref}",
                    now=now,
                )
            else:
                out.append(message(Delivery.DIRECT_TO_ROLE, role.value, subject, render, now))
        return out

    def _channel(self, name: str) -> str:
        channels = self._school.channels
        return channels.dsl_channel_id if name == "dsl" else channels.it_channel_id

    def _reminder_due(self, concern: Concern, from_time: datetime) -> datetime:
        if concern.urgent:
            return from_time + timedelta(
                minutes=self._school.escalation.urgent_unacknowledged_minutes
            )
        days = self._school.escalation.routine_unacknowledged_school_days
        return add_school_days(from_time, days, self._school)

    async def _confirm_existing(self, person: Person, ref: str, category: Category) -> Reply:
        kind, _, item_id = ref.partition(":")
        record = await self._store.get(kind, item_id)
        concern = None if record is None else decode(record)
        if concern is None or concern.reporter_id != person.id:  # never someone else's reference
            return Reply(card=category_picker(self._school))
        routing = route(
            category,
            urgent=concern.urgent,
            about_headteacher=concern.about_headteacher,
            names=self._role_names(),
        )
        return Reply(
            card=received_card(
                concern, category, recipients=routing.recipients, signposts=self._staff_signposts()
            )
        )

    async def my_reports(self, ctx: ActionContext) -> Reply:
        """The sender's own reports with their status (and, for staff, their filter
        requests), newest first; never anyone else's."""
        zone = self._school.zone
        rows: list[tuple[datetime, tuple[str, str, str, str]]] = []
        for concern in (decode(r) for r in await self._store.find(KIND, reporter_id=ctx.person.id)):
            category = self._school.category(concern.category)
            what = category.label if category else concern.category
            if concern.source is Source.PUPIL:
                what = "Your worry"  # never a staff category label ("grooming") for a child
            when = school_day(concern.created_at.astimezone(zone).date())
            if ctx.person.is_pupil:
                status = "received"
            else:
                status = {
                    "new": "sent, waiting",
                    "acknowledged": "being handled",
                    "closed": "closed",
                }[concern.status.value]
            rows.append((concern.created_at, (concern.ref, what, when, status)))
        if not ctx.person.is_pupil:
            for record in await self._store.find(FILTER_KIND, requester_id=ctx.person.id):
                request = decode_filter(record)
                when = school_day(request.created_at.astimezone(zone).date())
                what = f"Filter change for {safe_text(request.host, limit=80)}"
                status = _FILTER_STATUS_FOR_REQUESTER.get(
                    request.status, FILTER_STATUS_WORDS[request.status].lower()
                )
                rows.append((request.created_at, (request.ref, what, when, status)))
        rows.sort(key=lambda row: row[0], reverse=True)
        return Reply(card=my_reports_card([row for _, row in rows], pupil=ctx.person.is_pupil))

    # ----- handling -------------------------------------------------------------------------------

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
        record = await record_for(self._deps, ctx, KIND)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        concern = decode(record)
        category = self._school.category(concern.category) or self._school.category("other")
        assert category is not None  # the school policy always has "other"
        fallback = await self._unheld_fallback(private_role(concern, category))
        if not may_handle(ctx.person, concern, category, fallback):
            await refuse(self._deps, ctx, "not a handler of this concern", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        if ctx.turn.scope is not Scope.PERSONAL and (
            category.route is Route.HEADTEACHER
            or channel_id_of(ctx.turn.conversation_id) != self._school.channels.dsl_channel_id
        ):
            # Concerns are handled in the DSL channel or in a 1:1 chat, nowhere else.
            await refuse(self._deps, ctx, "wrong conversation", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        return Loaded(record, concern, category)

    def _view(
        self,
        ctx: ActionContext,
        loaded: Loaded,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        """What the clicker sees next: the detail card where they were in detail (or in a 1:1
        chat), otherwise the channel card."""
        if ctx.data.get("view") == "detail" or ctx.turn.scope is Scope.PERSONAL:
            return Reply(
                card=detail_card(
                    loaded.concern,
                    loaded.category,
                    self._school,
                    version=loaded.record.version,
                    note=note,
                    problem=problem,
                    in_channel=ctx.turn.scope is not Scope.PERSONAL,
                )
            )
        return Reply(
            card=channel_card(
                loaded.concern,
                loaded.category,
                self._school,
                version=loaded.record.version,
                note=note or problem,
            )
        )

    async def open(self, ctx: ActionContext) -> Reply:
        """Show the full detail to this (authorised) viewer only.

        In the channel the detail stays open for them (``dialogs.detail_views``) until they
        click "Close details"; Teams refreshing the channel card for them (``trigger:
        automatic``) shows the detail only while it is open.
        """
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        if ctx.turn.scope is not Scope.PERSONAL:
            ref = loaded.concern.ref
            if ctx.turn.automatic:
                detail = ctx.person.id in await viewers(self._store, ref)
            else:
                detail = ctx.data.get("view") != "summary"
                await set_viewing(self._store, ref, ctx.person.id, viewing=detail)
            if not detail:
                return Reply(
                    card=channel_card(
                        loaded.concern,
                        loaded.category,
                        self._school,
                        version=loaded.record.version,
                    )
                )
        return Reply(
            card=detail_card(
                loaded.concern,
                loaded.category,
                self._school,
                version=loaded.record.version,
                in_channel=ctx.turn.scope is not Scope.PERSONAL,
            )
        )

    async def acknowledge(self, ctx: ActionContext) -> Reply:
        """Record who acknowledged it and when."""
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

    async def close(self, ctx: ActionContext) -> Reply:
        """Close with an outcome; the reporter gets the handler's message (not the details)."""
        outcome, text = _text(ctx.data, "outcome"), _text(ctx.data, "message")
        if len(text) > LIMITS["message"]:
            return await self._problem(
                ctx, f"Keep the message under {LIMITS['message']} characters."
            )
        return await self._transition(
            ctx, "concern.close", lambda c, k, p, t: close(c, p, outcome, text, t, k)
        )

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
        subject = subject_of(updated.ref)
        outbox: list[Record] = []
        if category.route is not Route.HEADTEACHER:  # staff concerns have no channel card
            # A pupil report's channel card is drawn by the pupil report feature (grouped repeats).
            render = "pupil.channel" if updated.source is Source.PUPIL else "concern.channel"
            outbox.append(
                message(Delivery.CHANNEL_UPDATE, self._channel("dsl"), subject, render, now)
            )
        if updated.status is ConcernStatus.CLOSED and updated.source is Source.STAFF:
            # Staff hear the outcome (004 §2); a pupil only ever sees that it was received,
            # and an adult talks to them in person.
            outbox.append(
                message(Delivery.DIRECT, updated.reporter_id, subject, "concern.closed", now)
            )
        return outbox

    # ----- deliveries and reminders ---------------------------------------------------------------

    def _concern(self, subject: Record | None) -> tuple[Concern, Category] | None:
        if subject is None:
            return None
        concern = decode(subject)
        category = self._school.category(concern.category) or self._school.category("other")
        assert category is not None
        return concern, category

    async def render_channel(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The DSL channel card (no names, no detail)."""
        found = self._concern(subject)
        if found is None or subject is None:
            return None
        shown = channel_card(*found, self._school, version=subject.version)
        open_for = await viewers(self._store, found[0].ref)
        return Outgoing(card=keep_detail_open(shown, found[0].ref, subject.version, open_for))

    async def render_it(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The IT channel card for a filtering breach (site details only)."""
        found = self._concern(subject)
        return None if found is None else Outgoing(card=it_breach_card(found[0], self._school))

    async def render_alert(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The urgent 1:1 alert to a DSL or deputy."""
        found = self._concern(subject)
        if found is None or subject is None:
            return None
        return Outgoing(card=alert_card(*found, self._school, version=subject.version))

    async def render_private(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A concern about staff, 1:1 to the headteacher or the chair of governors, in full."""
        found = self._concern(subject)
        if found is None or subject is None:
            return None
        return Outgoing(
            card=detail_card(
                *found, self._school, version=subject.version, note="Reported to you privately."
            )
        )

    async def render_feed(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The activity-feed preview: reference and category only, never names or words."""
        found = self._concern(subject)
        if found is None:
            return None
        concern, category = found
        return Outgoing(text=f"{concern.ref}: {category.label}. Open the Online Safety bot to act.")

    async def render_reminder(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A reminder to a handler; nothing if it was acknowledged meanwhile."""
        found = self._concern(subject)
        if found is None or subject is None or found[0].status is not ConcernStatus.NEW:
            return None
        minutes = int((self._clock.now() - found[0].created_at).total_seconds() // 60)
        waited = f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"
        return Outgoing(
            card=reminder_card(*found, self._school, version=subject.version, waited=waited)
        )

    async def render_nudge(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A short nudge in the DSL channel (reference and urgency only)."""
        found = self._concern(subject)
        if found is None or found[0].status is not ConcernStatus.NEW:
            return None
        urgency = "URGENT concern" if found[0].urgent else "Concern"
        return Outgoing(text=f"Reminder: {urgency} {found[0].ref} has not been acknowledged yet.")

    async def render_closed(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The outcome message for the reporter."""
        found = self._concern(subject)
        return None if found is None else Outgoing(card=closed_notice(found[0]))

    async def on_unacknowledged(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """Still not acknowledged: remind every handler (and nudge the channel), then later."""
        found = self._concern(subject)
        if found is None or found[0].status is not ConcernStatus.NEW:
            return TimerResult()  # acknowledged or gone: the timer ends
        concern, category = found
        ref = subject_of(concern.ref)
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


def feature(deps: Deps) -> Feature:
    """The concern feature: routes, typed phrases, renderers and the reminder timer."""
    h = ConcernHandlers(deps)
    return Feature(
        routes={
            Verb.REPORT_CONCERN: h.start,
            Verb.CONCERN_SUBMIT: h.submit,
            Verb.MY_REPORTS: h.my_reports,
            Verb.CONCERN_OPEN: h.open,
            Verb.CONCERN_ACKNOWLEDGE: h.acknowledge,
            Verb.CONCERN_ACTION: h.action,
            Verb.CONCERN_NOTE: h.note,
            Verb.CONCERN_ASSESS: h.assessment,
            Verb.CONCERN_CLOSE: h.close,
        },
        phrases=[
            (r"\bmy reports?\b", Verb.MY_REPORTS),
            (r"^report\b|\breport (a|an) (concern|incident)\b|\bconcern\b", Verb.REPORT_CONCERN),
        ],
        renderers={
            "concern.channel": h.render_channel,
            "concern.it": h.render_it,
            "concern.alert": h.render_alert,
            "concern.feed": h.render_feed,
            "concern.private": h.render_private,
            "concern.reminder": h.render_reminder,
            "concern.nudge": h.render_nudge,
            "concern.closed": h.render_closed,
        },
        timers={UNACKNOWLEDGED: h.on_unacknowledged},
    )
