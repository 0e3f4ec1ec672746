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
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from cards.closure import CLOSE_LIMITS, item_field, item_reason_field
from cards.common import safe_text, school_day, school_time
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
from dialogs.overblocking import KIND as OVERBLOCK_KIND
from dialogs.overblocking import decode as decode_overblock
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
from dialogs.urgent import direct_alerts
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.categories import Category, Route
from policy.closure import close_now, is_proposed
from policy.closure import confirm as confirm_closure
from policy.closure import propose as propose_closure
from policy.closure import send_back as send_back_closure
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
    checklist,
    is_urgent,
    may_handle,
    private_role,
    record_actions,
    route,
)
from policy.filtering import STATUS_WORDS as FILTER_STATUS_WORDS
from policy.filtering import FilterStatus
from policy.on_call import (
    ALERTED,
    ESCALATED,
    LADO_REMINDER,
    escalates,
    is_person_id,
    lado_clock_applies,
    lado_due,
    lado_private_role,
    lado_running,
    next_step,
    on_call_at,
    role_of,
    routine_reminder_at,
    sent_to,
    steps_taken,
    tried,
)
from policy.overblocking import OverblockStatus
from policy.pupil_feedback import pupil_state_words
from policy.roles import SAFEGUARDING_LEADS, Person, Role
from policy.school import ON_CALL
from policy.weblinks import BadLink, host_of, normalise_url

#: How an over-blocking report's status reads in the reporter's "My reports" (issue 21).
OVERBLOCK_STATUS_FOR_REPORTER: dict[OverblockStatus, str] = {
    OverblockStatus.OPEN: "sent to IT, waiting",
    OverblockStatus.EXCEPTION_REQUESTED: "IT asked for an exception",
    OverblockStatus.EXPLAINED: "IT explained: no change",
}

log = logging.getLogger(__name__)


def _bot() -> Person:
    """The bot, as the author of the chronology lines it writes itself."""
    return Person(BOT_ID, BOT_NAME, frozenset())


#: A filter request's status as its requester reads it in "My reports".
_FILTER_STATUS_FOR_REQUESTER = {
    FilterStatus.PENDING: "sent, waiting for a decision",
    FilterStatus.NEEDS_INFO: "you were asked a question: see your chat",
    FilterStatus.APPROVED: "approved, waiting for IT",
    FilterStatus.APPLIED: "allowed now",
}

KIND = "concern"
UNACKNOWLEDGED = "concern.unacknowledged"
#: The LADO clock of a concern about a member of staff (001 §8, 003).
LADO_CLOCK = "concern.lado"
#: Who the bot is in a chronology line it writes itself (alerts, escalations, reminders).
BOT_ID, BOT_NAME = "system", "Online Safety bot"
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
    #: Who handles it while nobody holds its private role (issue 20: who may confirm closing).
    fallback: tuple[Role, ...] = ()


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
            concern, recipients, on_call = await self._save(ctx.person, category, values, now, key)
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
                concern,
                category,
                recipients=recipients,
                signposts=self._staff_signposts(),
                on_call=on_call,
            )
        )

    async def _save(
        self, person: Person, category: Category, values: dict[str, str], now: datetime, key: str
    ) -> tuple[Concern, str, bool]:
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
        concern = await self.with_first_alert(concern, category, now)
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
                    *self.lado_timer(concern, category, now),
                ],
                audit=[AuditEvent(person.id, "concern.report", subject_of(concern.ref), "ok", now)],
                dedupe_key=key,
            )
        )
        recipients = await self._truthful_recipients(concern, category, routing.recipients)
        cover = on_call_at(now, self._school)
        on_call = escalates(concern, category) and not cover.in_hours
        if on_call:
            # Out of hours the person on call has it directly (issue 20): say who, truthfully.
            names = ", ".join(await self._names(cover.who, now))
            recipients = f"{names} (on call now), alerted directly, and the safeguarding channel"
        return concern, recipients, on_call

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
        names = await self._names(cover.who, now)
        return concern.with_event(_bot(), now, ALERTED, sent_to(names, f"on call: {cover.why}"))

    def lado_timer(self, concern: Concern, category: Category, now: datetime) -> list[Record]:
        """The LADO clock a concern about a member of staff starts (001 §8, 003)."""
        if not lado_clock_applies(category):
            return []
        return [timer(LADO_CLOCK, subject_of(concern.ref), lado_due(now, self._school))]

    async def _names(self, who: tuple[str, ...], now: datetime) -> list[str]:
        """The names of the people ``who`` reaches (roles resolved now; best effort)."""
        names: list[str] = []
        for token in self._expand(who, now):
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

    def _expand(self, who: tuple[str, ...], now: datetime) -> list[str]:
        """``who`` with ``on_call`` replaced by whoever is on call at ``now``, each once."""
        out: list[str] = []
        for token in who:
            out += on_call_at(now, self._school).who if token == ON_CALL else [token]
        return [t for t in dict.fromkeys(out) if role_of(t) is not None or is_person_id(t)]

    def _channel(self, name: str) -> str:
        channels = self._school.channels
        return channels.dsl_channel_id if name == "dsl" else channels.it_channel_id

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
                # Its state in a child's words, never what was done (issue 20).
                words = pupil_state_words(concern.status)
                status = words[0].lower() + words[1:]
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
            # Issue 21: "blocked but I need it for teaching" reports, and how IT answered.
            for record in await self._store.find(OVERBLOCK_KIND, reporter_id=ctx.person.id):
                report = decode_overblock(record)
                when = school_day(report.created_at.astimezone(zone).date())
                what = f"Blocked site: {safe_text(host_of(report.site), limit=80)}"
                status = OVERBLOCK_STATUS_FOR_REPORTER[report.status]
                rows.append((report.created_at, (report.ref, what, when, status)))
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
        fallback = await self._unheld_fallback(
            private_role(concern, category)
        ) or await self._closure_fallback(concern, category)
        if not may_handle(ctx.person, concern, category, fallback) and not self._covering(
            ctx.person, concern, category
        ):
            await refuse(self._deps, ctx, "not a handler of this concern", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        if ctx.turn.scope is not Scope.PERSONAL and (
            category.route is Route.HEADTEACHER
            or channel_id_of(ctx.turn.conversation_id) != self._school.channels.dsl_channel_id
        ):
            # Concerns are handled in the DSL channel or in a 1:1 chat, nowhere else.
            await refuse(self._deps, ctx, "wrong conversation", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        return Loaded(record, concern, category, fallback)

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
                    viewer_id=ctx.person.id,
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
                viewer_id=ctx.person.id,
            )
        )

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

    async def acknowledge(self, ctx: ActionContext) -> Reply:
        """Record who acknowledged it and when.

        An alert sent before an escalation step still acknowledges: while a concern is new,
        only the bot's own lines (who was alerted) have changed it since, so the click is not
        refused as out of date.
        """
        wanted = _text(ctx.data, "ref")
        record = await self._store.get(KIND, wanted) if wanted else None
        ver = ctx.data.get("ver")
        if (
            record is not None
            and isinstance(ver, int)
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

    # ----- closing safely (issue 20) -------------------------------------------------------------

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

    async def _second_persons(self, ctx: ActionContext) -> list[tuple[Delivery, str]]:
        """Who to tell 1:1 that closing a concern about staff awaits them: the other holders of
        its private role or, when the clicker is the only one, the role's fallback (never the
        clicker). Nothing for a child concern: its channel card shows the proposal."""
        record = await self._store.get(KIND, _text(ctx.data, "ref"))
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
        updated = concern.with_event(_bot(), now, ESCALATED, sent_to(names, why))
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
        updated = concern.with_event(_bot(), now, LADO_REMINDER, sent_to(names, why))
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
            Verb.CONCERN_PROPOSE_CLOSE: h.propose_close,
            Verb.CONCERN_CONFIRM_CLOSE: h.confirm_close,
            Verb.CONCERN_SEND_BACK: h.send_back_close,
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
            "concern.lado": h.render_lado,
            "concern.closure_proposed": h.render_closure_proposed,
        },
        timers={UNACKNOWLEDGED: h.on_unacknowledged, LADO_CLOCK: h.on_lado_clock},
    )
