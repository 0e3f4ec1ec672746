"""Over-blocking: "Blocked but I need it for teaching" (issue 21).

A member of staff reports a blocked site they need (the site, the lesson, how it got in the
way). IT sees it in its channel with two outcomes: "Request an exception from this" opens the
filter request form prefilled from the report, and sending it makes the request for the
teacher (decided as any other request, with the teacher as requester); "Not needed /
explained" needs a reason, and the teacher is told. Both answers go through ``decide`` (the
clicker checked against the report, a stale card changes nothing, one atomic change).

Also here: IT's open items, every filter request and over-blocking report in the school still
waiting for someone, oldest first (the DSL's open items are about concerns).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cards.filter import filter_form
from cards.overblocking import (
    ItOpenItem,
    it_open_items_card,
    overblock_form,
    overblock_it_card,
    overblock_outcome_card,
    overblock_received,
)
from cards.welcome import not_allowed_card
from dialogs import filter_making as filters
from dialogs.codec import text_field
from dialogs.feature import Deps, Feature
from dialogs.handling import (
    STALE_CARD,
    FeatureHandlers,
    Handling,
    decide,
    form_key,
    from_elsewhere,
    moved_on,
    open_form,
    record_for,
    refuse,
    refused,
)
from dialogs.kinds import filter_request as filter_kind
from dialogs.kinds import next_reference
from dialogs.kinds.overblocking import KIND, PREFIX, decode, encode, subject_of
from dialogs.outbox import Delivery, message
from dialogs.ports import Change, DuplicateRequest, Outgoing, Record, StoreUnavailable
from dialogs.router import ActionContext, Reply, Scope, channel_id_of
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.filtering import (
    STATUS_WORDS,
    FilterStatus,
    never_unblockable,
)
from policy.overblocking import (
    LIMITS,
    OUTCOME_WORDS,
    OverblockReport,
    OverblockRuleBroken,
    OverblockStatus,
    exception_requested,
    explained,
)
from policy.weblinks import BadLink, host_of, normalise_url

log = logging.getLogger(__name__)

PRIVATE_ONLY = "Please tell me about a blocked site in a private chat with me."


_REF = re.compile(r"^OBR-\d{4}-\d{4,}$")
_text = text_field

#: Filter-request statuses that still wait for someone (IT's open items).
WAITING = frozenset(
    {
        FilterStatus.PENDING,
        FilterStatus.NEEDS_INFO,
        FilterStatus.APPROVED,
        FilterStatus.REBLOCK_DUE,
    }
)


def validate_report(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Check a submitted report: (values to re-show, problems by field)."""
    values = {k: _text(data, k) for k in ("site", "lesson", "impact")}
    problems: dict[str, str] = {}
    try:
        values["site"] = normalise_url(values["site"], require_public=True)
    except BadLink as exc:
        problems["site"] = str(exc)
    if not values["lesson"]:
        problems["lesson"] = "Give the lesson or topic."
    if len(values["impact"]) < 10:
        problems["impact"] = "Say in a sentence how the block got in the way."
    for key, limit in LIMITS.items():
        if key in values and len(values[key]) > limit:
            problems[key] = f"Please keep this under {limit} characters."
    return values, problems


@dataclass(frozen=True, slots=True)
class Loaded:
    """A report reloaded for a click, with its record (and version)."""

    record: Record
    report: OverblockReport


class OverblockHandlers(FeatureHandlers):
    """The over-blocking feature."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._handling = Handling(self._load, self._view, STALE_CARD, OverblockRuleBroken)

    # ----- reporting ----------------------------------------------------------------------------

    async def start(self, ctx: ActionContext) -> Reply:
        """The report form (private chat only)."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text=PRIVATE_ONLY)
        return Reply(card=overblock_form(form_id=uuid.uuid4().hex))

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate; save the report and post it to the IT channel."""
        opened = await open_form(
            self._deps,
            ctx,
            "overblock",
            not_private=Reply(text=PRIVATE_ONLY),
            no_form=lambda: self.start(ctx),
            confirm=lambda ref: self._confirm(ctx, ref),
        )
        if isinstance(opened, Reply):
            return opened
        form_id, key = opened.form_id, opened.key
        values, problems = validate_report(ctx.data)
        if problems:
            return Reply(card=overblock_form(form_id=form_id, values=values, problems=problems))
        now = self._clock.now()
        year = now.astimezone(self._school.zone).year
        ref = await next_reference(self._store, PREFIX, year, key)
        report = OverblockReport(
            ref=ref,
            reporter_id=ctx.person.id,
            reporter_name=ctx.person.name,
            created_at=now,
            site=values["site"],
            lesson=values["lesson"],
            impact=values["impact"],
        )
        try:
            await self._store.commit(self._saved(ctx, report, key, now))
        except DuplicateRequest as dup:
            return await self._confirm(ctx, dup.refs[0])
        except StoreUnavailable:
            problems = {"impact": "Your report could not be saved just now. Please try again."}
            return Reply(card=overblock_form(form_id=form_id, values=values, problems=problems))
        self._deps.doorbell.ring()
        log.info("over-blocking report %s made", ref)
        return Reply(card=overblock_received(report, self._school.zone))

    def _saved(
        self, ctx: ActionContext, report: OverblockReport, key: str, now: datetime
    ) -> Change:
        """The report's record, its card to the IT channel and the audit entry, in one change
        saved once (``key``)."""
        subject = subject_of(report.ref)
        it_channel = self._school.channels.it_channel_id
        return Change(
            records=[
                Record(KIND, report.ref, 1, encode(report)),
                message(Delivery.CHANNEL_POST, it_channel, subject, "overblock.it", now),
            ],
            audit=[AuditEvent(ctx.person.id, "overblock.report", subject, "ok", now)],
            dedupe_key=key,
        )

    async def _confirm(self, ctx: ActionContext, ref: str) -> Reply:
        _, _, item_id = ref.partition(":")
        record = await self._store.get(KIND, item_id)
        report = None if record is None else decode(record)
        if report is None or report.reporter_id != ctx.person.id:  # never someone else's
            return Reply(card=overblock_form(form_id=uuid.uuid4().hex))
        return Reply(card=overblock_received(report, self._school.zone))

    # ----- IT answers ---------------------------------------------------------------------------

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        """The report a click is about, clicked in the IT channel or a private chat."""
        record = await record_for(self._deps, ctx, KIND, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        it_channel = channel_id_of(self._school.channels.it_channel_id)
        if from_elsewhere(ctx, it_channel):
            return await refused(self._deps, ctx, "wrong conversation", record.ref)
        return Loaded(record, decode(record))

    def _view(
        self,
        ctx: ActionContext,
        loaded: Loaded,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        return Reply(
            card=overblock_it_card(
                loaded.report,
                self._school.zone,
                version=loaded.record.version,
                note=note or problem,
            )
        )

    def _prefilled(self, report: OverblockReport, now: datetime) -> dict[str, str]:
        today = now.astimezone(self._school.zone).date()
        days = min(4, self._school.filtering.max_exception_days)
        return {
            "site": report.site,
            "scope": "page",
            "topic": report.lesson,
            "reason": report.impact,
            "start": today.isoformat(),
            "end": (today + timedelta(days=days)).isoformat(),
        }

    async def exception_form(self, ctx: ActionContext) -> Reply:
        """First click: the filter request form, prefilled from the report, for the teacher."""
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        report = loaded.report
        if report.status is not OverblockStatus.OPEN or ctx.turn.automatic:
            return self._view(ctx, loaded)
        if ctx.ids.ver != loaded.record.version:
            await refuse(self._deps, ctx, "stale card", loaded.record.ref)
            return self._view(ctx, loaded, note=self._handling.stale_note)
        return Reply(
            card=filter_form(
                self._school,
                form_id=uuid.uuid4().hex,
                values=self._prefilled(report, self._clock.now()),
                for_report=(report.ref, report.reporter_name, loaded.record.version),
            )
        )

    async def exception_submit(self, ctx: ActionContext) -> Reply:
        """Second click: the request is made for the teacher, and the report answered, in one
        change. A form with problems comes back with them (nothing changed)."""
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        report = loaded.report
        now = self._clock.now()
        today = now.astimezone(self._school.zone).date()
        values, problems, submitted = filters.validate_request(ctx.data, today, self._deps)
        self._check_unblockable(values, problems)
        if (problems or submitted is None) and report.status is OverblockStatus.OPEN:
            return Reply(
                card=filter_form(
                    self._school,
                    form_id=ctx.ids.form or uuid.uuid4().hex,
                    values=values,
                    problems=problems,
                    for_report=(report.ref, report.reporter_name, loaded.record.version),
                )
            )
        ref = ""
        if submitted is not None and report.status is OverblockStatus.OPEN:
            year = now.astimezone(self._school.zone).year
            form_id = ctx.ids.form
            key = form_key("overblock.exception", ctx.person.id, form_id) if form_id else None
            ref = await next_reference(self._store, filter_kind.PREFIX, year, key)

        def make(current: Loaded, at: datetime) -> tuple[Loaded, list[Record]]:
            if submitted is None:
                raise OverblockRuleBroken(
                    "this report has already been answered", code="already answered"
                )
            return self._exception_made(ctx, submitted, ref, current, at)

        return await decide(
            self._handling, self._deps, ctx, action="overblock.exception", change=make
        )

    def _check_unblockable(self, values: dict[str, str], problems: dict[str, str]) -> None:
        """A site that can never be unblocked is a problem with the form (IT answers the
        report with "Not needed / explained" instead)."""
        if "site" in problems:
            return
        refusal = never_unblockable(
            host_of(values["site"]), values["blocked_category"], self._school.filtering
        )
        if refusal is not None:
            problems["site"] = f'{refusal} Use "Not needed / explained" instead.'

    def _exception_made(
        self,
        ctx: ActionContext,
        submitted: filters.Submitted,
        ref: str,
        current: Loaded,
        at: datetime,
    ) -> tuple[Loaded, list[Record]]:
        """The report answered with the request ``ref`` made for its teacher: the report's
        record, its answer's messages and the new request's records."""
        after = exception_requested(current.report, ctx.person, ref, at)
        request = submitted(
            ref=ref,
            requester_id=current.report.reporter_id,
            requester_name=current.report.reporter_name,
            created_at=at,
            from_report=current.report.ref,
            entered_by_name=ctx.person.name,
        )
        request = request.step(
            ctx.person,
            at,
            "requested",
            f"for {current.report.reporter_name}, from over-blocking report "
            f"{current.report.ref}: {request.reason}",
        )
        new = Record(KIND, after.ref, current.record.version + 1, encode(after))
        return Loaded(new, after), [
            new,
            *self._answered(after, at),
            *filters.new_request_records(request, self._deps, at),
        ]

    async def explain(self, ctx: ActionContext) -> Reply:
        """ "Not needed / explained", with the reason (the teacher is told)."""
        note = _text(ctx.data, "note")[: LIMITS["note"]]

        def make(current: Loaded, at: datetime) -> tuple[Loaded, list[Record]]:
            after = explained(current.report, ctx.person, note, at)
            new = Record(KIND, after.ref, current.record.version + 1, encode(after))
            return Loaded(new, after), [new, *self._answered(after, at)]

        return await decide(
            self._handling, self._deps, ctx, action="overblock.explain", change=make
        )

    def _answered(self, report: OverblockReport, now: datetime) -> list[Record]:
        subject = subject_of(report.ref)
        it_channel = self._school.channels.it_channel_id
        return [
            message(Delivery.CHANNEL_UPDATE, it_channel, subject, "overblock.it", now),
            message(Delivery.DIRECT, report.reporter_id, subject, "overblock.outcome", now),
        ]

    # ----- IT's open items ----------------------------------------------------------------------

    async def open_items(self, ctx: ActionContext) -> Reply:
        """Every filter request and over-blocking report still waiting, oldest first."""
        now = self._clock.now()
        requests = [filter_kind.decode(r) for r in await self._store.find(filter_kind.KIND)]
        reports = [decode(r) for r in await self._store.find(KIND)]
        waiting = [
            (r.ref, f"Filter request: {r.target}", STATUS_WORDS[r.status], r.created_at)
            for r in requests
            if r.status in WAITING
        ] + [
            (r.ref, f"Blocked but needed: {host_of(r.site)}", OUTCOME_WORDS[r.status], r.created_at)
            for r in reports
            if r.status is OverblockStatus.OPEN
        ]
        items = sorted(
            (
                ItOpenItem(ref, what, status, since, now - since)
                for ref, what, status, since in waiting
            ),
            key=lambda i: (i.since, i.ref),
        )
        await self._store.commit(
            Change(
                audit=[
                    AuditEvent(ctx.person.id, "filter.open_items", "", f"viewed {len(items)}", now)
                ]
            )
        )
        return Reply(card=it_open_items_card(items, self._school.zone))

    # ----- renderers ----------------------------------------------------------------------------

    async def render_it(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The report's card in the IT channel."""
        if subject is None:
            return None
        return Outgoing(
            card=overblock_it_card(decode(subject), self._school.zone, version=subject.version)
        )

    async def render_outcome(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """1:1 to the teacher: IT's answer."""
        report = moved_on(subject, decode, OverblockStatus.OPEN)
        if report is None:
            return None
        return Outgoing(card=overblock_outcome_card(report, self._school.zone))


def feature(deps: Deps) -> Feature:
    """The over-blocking feature, and IT's open items."""
    h = OverblockHandlers(deps)
    return Feature(
        routes={
            Verb.OVERBLOCKED_START: h.start,
            Verb.OVERBLOCKED_SUBMIT: h.submit,
            Verb.OVERBLOCKED_EXCEPTION: h.exception_form,
            Verb.OVERBLOCKED_EXCEPTION_SUBMIT: h.exception_submit,
            Verb.OVERBLOCKED_EXPLAIN: h.explain,
            Verb.FILTER_OPEN_ITEMS: h.open_items,
        },
        phrases=[
            (
                r"\bblocked but i need\b|\bover-?block(ed|ing)?\b|\bneed (it|this) for teaching\b",
                Verb.OVERBLOCKED_START,
            ),
            (r"\bopen filter items\b|\bfilter open items\b", Verb.FILTER_OPEN_ITEMS),
        ],
        renderers={"overblock.it": h.render_it, "overblock.outcome": h.render_outcome},
    )
