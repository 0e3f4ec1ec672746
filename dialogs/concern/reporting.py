"""Reporting a concern: the two-step card, validation, saving the concern with its first
alerts and timers in one atomic change, and the reporter's "My reports".
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from cards.common import safe_text, school_day
from cards.concern import (
    LIMITS,
    category_picker,
    concern_form,
    my_reports_card,
    received_card,
)
from dialogs.codec import text_field
from dialogs.concern.base import ConcernBase
from dialogs.handling import form_key
from dialogs.kinds import next_reference
from dialogs.kinds.concern import (
    KIND,
    PREFIX,
    UNACKNOWLEDGED,
    decode,
    encode,
    subject_of,
)
from dialogs.kinds.filter_request import KIND as FILTER_KIND
from dialogs.kinds.filter_request import decode as decode_filter
from dialogs.kinds.overblocking import KIND as OVERBLOCK_KIND
from dialogs.kinds.overblocking import decode as decode_overblock
from dialogs.outbox import timer
from dialogs.ports import (
    Change,
    DuplicateRequest,
    Record,
    StoreUnavailable,
)
from dialogs.router import ActionContext, Reply, Scope
from policy.audit import AuditEvent
from policy.categories import Category, Route
from policy.concerns import (
    YEAR_GROUPS,
    Concern,
    RiskAnswer,
    Source,
    is_urgent,
    private_role,
    route,
)
from policy.filtering import STATUS_WORDS as FILTER_STATUS_WORDS
from policy.filtering import FilterStatus
from policy.on_call import (
    escalates,
    on_call_at,
)
from policy.overblocking import OverblockStatus
from policy.pupil_feedback import pupil_state_words
from policy.roles import Person
from policy.weblinks import BadLink, host_of, normalise_url

#: The concern feature's logger, under the name it had before the split.
log = logging.getLogger("dialogs.concern")
_text = text_field

#: How an over-blocking report's status reads in the reporter's "My reports" (issue 21).
OVERBLOCK_STATUS_FOR_REPORTER: dict[OverblockStatus, str] = {
    OverblockStatus.OPEN: "sent to IT, waiting",
    OverblockStatus.EXCEPTION_REQUESTED: "IT asked for an exception",
    OverblockStatus.EXPLAINED: "IT explained: no change",
}


#: A filter request's status as its requester reads it in "My reports".
_FILTER_STATUS_FOR_REQUESTER = {
    FilterStatus.PENDING: "sent, waiting for a decision",
    FilterStatus.NEEDS_INFO: "you were asked a question: see your chat",
    FilterStatus.APPROVED: "approved, waiting for IT",
    FilterStatus.APPLIED: "allowed now",
}

NOT_SAVED = (
    "Your report could not be saved just now, so it has NOT been sent. Please try again in a "
    "minute. If a child may be at risk, tell the DSL in person or by phone now."
)

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


class Reporting(ConcernBase):
    """Reporting a concern (two steps, validated, saved atomically) and "My reports"."""

    async def start(self, ctx: ActionContext) -> Reply:
        """Step 1 (pick a category), or step 2 (the form) once a category is chosen."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text="Please report concerns in a private chat with me, not here.")
        if ctx.ids.step != "details":
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
        form_id = ctx.ids.form
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
        ref = await next_reference(self._store, PREFIX, year, key)
        risk = RiskAnswer(values["immediate_risk"])
        about_head = values["about_headteacher"] == "true"
        concern = Concern(
            ref=ref,
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
        concern = await self._alerts.with_first_alert(concern, category, now)
        await self._store.commit(
            Change(
                records=[
                    Record(KIND, concern.ref, 1, encode(concern)),
                    *self._alerts.first_messages(concern, category, now),
                    timer(
                        UNACKNOWLEDGED, subject_of(concern.ref), self._reminder_due(concern, now)
                    ),
                    *self._alerts.lado_timer(concern, category, now),
                ],
                audit=[AuditEvent(person.id, "concern.report", subject_of(concern.ref), "ok", now)],
                dedupe_key=key,
            )
        )
        recipients, on_call = await self._who_is_told(concern, category, now)
        return concern, recipients, on_call

    async def _who_is_told(
        self, concern: Concern, category: Category, now: datetime
    ) -> tuple[str, bool]:
        """Who the reporter is told has their report (truthfully), and whether the person on
        call has it directly (out of hours, issue 20)."""
        routing = route(
            category,
            urgent=concern.urgent,
            about_headteacher=concern.about_headteacher,
            names=self._role_names(),
        )
        recipients = await self._truthful_recipients(concern, category, routing.recipients)
        cover = on_call_at(now, self._school)
        on_call = escalates(concern, category) and not cover.in_hours
        if on_call:
            # Out of hours the person on call has it directly (issue 20): say who, truthfully.
            names = ", ".join(await self._names(cover.who, now))
            recipients = f"{names} (on call now), alerted directly, and the safeguarding channel"
        return recipients, on_call

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
