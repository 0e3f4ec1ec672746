"""Staff request a temporary web-filter exception; IT (and, for sensitive topics, the DSL or
online safety lead) decide in channel; IT applies it; at the end date IT re-blocks it.

Every request, decision, application and re-block is a line in the request's history and in
the audit log: together they are the filtering change log (001 §7.3, 002 §2.1).
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from cards.common import safe_text, school_day, school_time
from cards.filter import (
    LIMITS,
    apply_task,
    audience_words,
    decision_card,
    filter_form,
    filter_log_card,
    never_unblockable_note,
    question_card,
    reblock_task,
    request_card,
    request_received,
    request_refused,
)
from cards.welcome import not_allowed_card
from dialogs.codec import RecordCodec, text_field
from dialogs.handling import (
    FeatureHandlers,
    Handling,
    decide,
    form_key,
    record_for,
    refuse,
    still_in,
)
from dialogs.outbox import Delivery, TimerResult, message, timer
from dialogs.ports import (
    Change,
    DuplicateRequest,
    Outgoing,
    Record,
    StoreUnavailable,
)
from dialogs.registry import Deps, Feature
from dialogs.service import ActionContext, Reply, Scope, channel_id_of
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.filter_scope import (
    NEW_TECHNOLOGY_NOTE,
    ExceptionScope,
    is_new_technology,
    parse_scope,
    scope_problems,
)
from policy.filtering import (
    AUDIENCES,
    BLOCKED_CATEGORIES,
    STATUS_WORDS,
    FilterRequest,
    FilterRuleBroken,
    FilterStatus,
    answer,
    approve,
    approver_channels,
    ask,
    is_sensitive,
    mark_applied,
    mark_reblocked,
    never_unblockable,
    period_problems,
    reason_problem,
    reblock_due,
    reject,
)
from policy.roles import Person, Role
from policy.school_calendar import is_school_day
from policy.weblinks import BadLink, host_of, normalise_url

log = logging.getLogger(__name__)

KIND = "filter_request"
PERIOD_END = "filter.period_end"
PERIOD_START = "filter.period_start"
CODEC: RecordCodec[FilterRequest] = RecordCodec(KIND, FilterRequest)


encode = CODEC.encode


decode = CODEC.decode


#: ``filter_request:<ref>``.
subject_of = CODEC.subject


_text = text_field


@dataclass(frozen=True, slots=True)
class Submitted:
    """A validated request form."""

    site: str
    blocked_category: str
    audience: str
    audience_detail: str
    reason: str
    topic: str
    start: date
    end: date
    supervised: bool
    age_appropriate: bool
    scope: ExceptionScope = ExceptionScope.PAGE
    scope_reason: str = ""


def validate_request(
    data: Mapping[str, Any], today: date, deps: Deps
) -> tuple[dict[str, str], dict[str, str], Submitted | None]:
    """Check a submitted request. Returns (values to re-show, problems by field, result)."""
    rules = deps.school.filtering
    values = {
        k: _text(data, k)
        for k in (
            "site",
            "blocked_category",
            "audience",
            "audience_detail",
            "reason",
            "topic",
            "start",
            "end",
            "supervised",
            "age_appropriate",
            "scope",
            "scope_reason",
        )
    }
    # A form sent before scopes existed has none: the page asked for (never more).
    values["scope"] = values["scope"] or ExceptionScope.PAGE.value
    scope = parse_scope(values["scope"])
    problems: dict[str, str] = {}
    try:
        values["site"] = normalise_url(values["site"], require_public=True)
    except BadLink as exc:
        problems["site"] = str(exc)
    else:
        problems.update(scope_problems(values["site"], scope, values["scope_reason"]))
    if values["blocked_category"] not in BLOCKED_CATEGORIES:
        values["blocked_category"] = "unknown"
    if values["audience"] not in AUDIENCES:
        problems["audience"] = "Say who needs access."
    elif values["audience"] != "staff_only" and not values["audience_detail"]:
        problems["audience_detail"] = "Say which class, year group or pupils."
    for key, limit in LIMITS.items():
        if key in values and len(values[key]) > limit:
            problems[key] = f"Please keep this under {limit} characters."
    if "reason" not in problems and (why := reason_problem(values["reason"])):
        problems["reason"] = why
    if not values["topic"]:
        problems["topic"] = "Give the lesson or topic."
    dates: dict[str, date] = {}
    for key in ("start", "end"):
        try:
            dates[key] = date.fromisoformat(values[key])
        except ValueError:
            problems[key] = "Give a date."
    if len(dates) == 2:
        problems.update(period_problems(dates["start"], dates["end"], today, rules))
    for key in ("supervised", "age_appropriate"):
        if values[key] not in {"yes", "no"}:
            problems[key] = "Answer yes or no."
    if problems:
        return values, problems, None
    return (
        values,
        problems,
        Submitted(
            site=values["site"],
            blocked_category=values["blocked_category"],
            audience=values["audience"],
            audience_detail=values["audience_detail"],
            reason=values["reason"],
            topic=values["topic"],
            start=dates["start"],
            end=dates["end"],
            supervised=values["supervised"] == "yes",
            age_appropriate=values["age_appropriate"] == "yes",
            scope=scope or ExceptionScope.PAGE,
            scope_reason=values["scope_reason"] if scope is ExceptionScope.SITE else "",
        ),
    )


def filter_log_csv(requests: list[FilterRequest], deps: Deps) -> str:
    """The filtering change log as CSV: one row per event, with who, what, why and when."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "reference",
            "site",
            "filter_category",
            "who_needs_access",
            "requested_by",
            "period_start",
            "period_end",
            "sensitive",
            "status",
            "event_time",
            "actor",
            "event",
            "detail",
            "exception_scope",
            "exception_rule",
        ]
    )
    zone = deps.school.zone
    for request in sorted(requests, key=lambda r: r.created_at):
        for step in request.history:
            writer.writerow(
                [
                    request.ref,
                    request.site,
                    BLOCKED_CATEGORIES.get(request.blocked_category, request.blocked_category),
                    audience_words(request),
                    request.requester_name,
                    request.start.isoformat(),
                    request.end.isoformat(),
                    "yes" if request.sensitive else "no",
                    request.status.value,
                    step.at.astimezone(zone).isoformat(timespec="minutes"),
                    step.actor_name,
                    step.action,
                    _spreadsheet_safe(step.detail),
                    request.scope.value,
                    _spreadsheet_safe(request.rule),
                ]
            )
    return out.getvalue()


def _spreadsheet_safe(text: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheet programs.
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text


def request_channels(request: FilterRequest, deps: Deps) -> list[str]:
    """Where a request's card goes: the channel of each approval it needs (IT, and for a
    sensitive topic the reason approver's, ``policy.filtering.approvers``)."""
    return approver_channels(request, deps.school.channels)


def new_request_records(request: FilterRequest, deps: Deps, now: datetime) -> list[Record]:
    """A new (pending) request's record and what it owes: its cards for the deciders and, for
    an AI tool or chatbot, the DSL channel's note about the review (issue 21)."""
    subject = subject_of(request.ref)
    out = [Record(KIND, request.ref, 1, encode(request))]
    out += [
        message(Delivery.CHANNEL_POST, channel, subject, "filter.request", now)
        for channel in request_channels(request, deps)
    ]
    if is_new_technology(request.blocked_category):
        dsl_channel = deps.school.channels.dsl_channel_id
        out.append(
            message(Delivery.CHANNEL_NOTE, dsl_channel, subject, "filter.new_technology", now)
        )
    return out


@dataclass(frozen=True, slots=True)
class Loaded:
    """A request reloaded for a click, with its record (and version)."""

    record: Record
    request: FilterRequest


class FilterHandlers(FeatureHandlers):
    """The filter-exception feature."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._handling = Handling(
            self._load,
            self._view,
            "This card was out of date, so nothing was changed.",
            FilterRuleBroken,
        )

    def _channels(self, request: FilterRequest) -> list[str]:
        return request_channels(request, self._deps)

    # ----- requesting ---------------------------------------------------------------------------

    async def start(self, ctx: ActionContext) -> Reply:
        """The request form (private chat only)."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text="Please request filter changes in a private chat with me.")
        return Reply(card=filter_form(self._school, form_id=uuid.uuid4().hex))

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate; refuse never-unblockable sites at once; otherwise save and send to IT."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text="Please request filter changes in a private chat with me.")
        form_id = _text(ctx.data, "form")
        if not form_id:
            return await self.start(ctx)
        key = form_key("filter", ctx.person.id, form_id)  # per sender: never someone else's
        if already := await self._store.deduped(key):
            return await self._confirm(ctx.person, already[0])
        now = self._clock.now()
        today = now.astimezone(self._school.zone).date()
        values, problems, submitted = validate_request(ctx.data, today, self._deps)
        refusal = None
        if "site" not in problems:
            refusal = never_unblockable(
                host_of(values["site"]), values["blocked_category"], self._school.filtering
            )
        if refusal is None and submitted is None:
            return Reply(
                card=filter_form(self._school, form_id=form_id, values=values, problems=problems)
            )
        year = now.astimezone(self._school.zone).year
        number = await self._store.next_sequence(f"FLT-{year}", key=key)
        ref = f"FLT-{year}-{number:04d}"
        request = self._new_request(ref, ctx.person, now, values, submitted)
        if refusal is not None:
            request = replace(request, status=FilterStatus.REFUSED)
        try:
            if refusal is not None:
                request = request.step(None, now, "refused", refusal)
                await self._store.commit(
                    Change(
                        records=[
                            Record(KIND, ref, 1, encode(request)),
                            message(
                                Delivery.DIRECT_TO_ROLE,
                                Role.DSL.value,
                                subject_of(ref),
                                "filter.refused",
                                now,
                            ),
                        ],
                        audit=[
                            AuditEvent(
                                ctx.person.id,
                                "filter.request",
                                subject_of(ref),
                                "refused: never unblockable",
                                now,
                            )
                        ],
                        dedupe_key=key,
                    )
                )
            else:
                await self._store.commit(
                    Change(
                        records=new_request_records(request, self._deps, now),
                        audit=[
                            AuditEvent(ctx.person.id, "filter.request", subject_of(ref), "ok", now)
                        ],
                        dedupe_key=key,
                    )
                )
        except DuplicateRequest as dup:
            return await self._confirm(ctx.person, dup.refs[0])
        except StoreUnavailable:
            problems = {"reason": "Your request could not be saved just now. Please try again."}
            return Reply(
                card=filter_form(self._school, form_id=form_id, values=values, problems=problems)
            )
        self._deps.doorbell.ring()
        log.info("filter request %s made (status %s)", ref, request.status.value)
        if refusal is not None:
            return Reply(card=request_refused(request, refusal))
        return Reply(card=request_received(request, self._school))

    def _new_request(
        self,
        ref: str,
        person: Person,
        now: datetime,
        values: dict[str, str],
        submitted: Submitted | None,
    ) -> FilterRequest:
        rules = self._school.filtering
        if submitted is None:  # refused at once: keep what was asked, for the log
            today = now.astimezone(self._school.zone).date()
            request = FilterRequest(
                ref=ref,
                requester_id=person.id,
                requester_name=person.name,
                created_at=now,
                site=values["site"],
                blocked_category=values["blocked_category"],
                audience=values["audience"] or "staff_only",
                audience_detail=values["audience_detail"][:300],
                reason=values["reason"][:1000],
                topic=values["topic"][:200],
                start=today,
                end=today,
                supervised=values["supervised"] == "yes",
                age_appropriate=values["age_appropriate"] == "yes",
                sensitive=True,
                status=FilterStatus.REFUSED,
                scope=parse_scope(values["scope"]) or ExceptionScope.PAGE,
            )
        else:
            request = FilterRequest(
                ref=ref,
                requester_id=person.id,
                requester_name=person.name,
                created_at=now,
                site=submitted.site,
                blocked_category=submitted.blocked_category,
                audience=submitted.audience,
                audience_detail=submitted.audience_detail,
                reason=submitted.reason,
                topic=submitted.topic,
                start=submitted.start,
                end=submitted.end,
                supervised=submitted.supervised,
                age_appropriate=submitted.age_appropriate,
                sensitive=is_sensitive(submitted.blocked_category, rules),
                scope=submitted.scope,
                scope_reason=submitted.scope_reason,
            )
        return request.step(person, now, "requested", request.reason)

    async def _confirm(self, person: Person, ref: str) -> Reply:
        _, _, item_id = ref.partition(":")
        record = await self._store.get(KIND, item_id)
        request = None if record is None else decode(record)
        if request is None or request.requester_id != person.id:  # never someone else's
            return Reply(card=filter_form(self._school, form_id=uuid.uuid4().hex))
        if request.status is FilterStatus.REFUSED:
            return Reply(card=request_refused(request, request.history[-1].detail))
        return Reply(card=request_received(request, self._school))

    # ----- deciding -----------------------------------------------------------------------------

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        """The request a click is about, clicked in a private chat or in its own channels."""
        record = await record_for(self._deps, ctx, KIND)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        request = decode(record)
        allowed = {channel_id_of(c) for c in self._channels(request)}
        if (
            ctx.turn.scope is not Scope.PERSONAL
            and channel_id_of(ctx.turn.conversation_id) not in allowed
        ):
            await refuse(self._deps, ctx, "wrong conversation", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
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
        note = _text(ctx.data, "note")[: LIMITS["note"]]
        return await self._decide(ctx, "filter.reject", lambda r, p, t: reject(r, p, note, t))

    async def ask(self, ctx: ActionContext) -> Reply:
        """Ask the requester for more information (the request waits)."""
        note = _text(ctx.data, "note")[: LIMITS["note"]]
        return await self._decide(ctx, "filter.ask", lambda r, p, t: ask(r, p, note, t))

    async def answer(self, ctx: ActionContext) -> Reply:
        """The requester answers the question."""
        note = _text(ctx.data, "note")[: LIMITS["note"]]
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

    def _reblock_due_at(self, request: FilterRequest) -> datetime:
        return datetime.combine(request.end, self._school.filtering.reblock_at, self._school.zone)

    def period_starts_at(self, request: FilterRequest) -> datetime:
        """When the requester is told "now allowed" for an exception IT applied early: the
        school's ``now_allowed_at`` (school time) on the period's first day."""
        rules = self._school.filtering
        return datetime.combine(request.start, rules.now_allowed_at, self._school.zone)

    # ----- the period starts --------------------------------------------------------------------

    async def on_period_start(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """On the period's first day: "Now allowed" to the requester, if the exception is still
        applied (nothing if it was re-blocked or ended meanwhile)."""
        request = still_in(subject, decode, FilterStatus.APPLIED)
        if request is None:
            return TimerResult()
        ref = subject_of(request.ref)
        return TimerResult(
            outbox=[message(Delivery.DIRECT, request.requester_id, ref, "filter.now_allowed", now)],
            audit=[AuditEvent("system", "filter.period_start", ref, "requester told", now)],
        )

    # ----- the period ends ----------------------------------------------------------------------

    async def on_period_end(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """At the end date: IT gets "Re-block now"; then a daily reminder until it is done, and
        the DSL is told once it is two school days overdue."""
        if subject is None:
            return TimerResult()
        request = decode(subject)
        ref = subject_of(request.ref)
        it_channel = self._school.channels.it_channel_id
        if request.status in {FilterStatus.APPLIED, FilterStatus.APPROVED}:
            ended = reblock_due(request, now)
            record = Record(KIND, request.ref, subject.version + 1, encode(ended))
            out = [
                message(Delivery.CHANNEL_UPDATE, c, ref, "filter.request", now)
                for c in self._channels(ended)
            ]
            if ended.status is FilterStatus.REBLOCK_DUE:
                out.append(message(Delivery.CHANNEL_POST, it_channel, ref, "filter.reblock", now))
                again: datetime | None = now + timedelta(days=1)
            else:
                out.append(message(Delivery.CHANNEL_UPDATE, it_channel, ref, "filter.apply", now))
                again = None
            return TimerResult(
                records=[record],
                outbox=out,
                audit=[AuditEvent("system", "filter.period_end", ref, ended.status.value, now)],
                again_at=again,
            )
        if request.status is not FilterStatus.REBLOCK_DUE:
            return TimerResult()  # re-blocked (or otherwise finished): the timer ends
        overdue = self.school_days_overdue(request, now)
        out = [
            message(Delivery.CHANNEL_UPDATE, it_channel, ref, "filter.reblock", now),
            message(Delivery.CHANNEL_NOTE, it_channel, ref, "filter.reblock_reminder", now),
        ]
        records: list[Record] = []
        told = any(step.action == "DSL told: re-block overdue" for step in request.history)
        if overdue >= 2 and not told:
            out.append(
                message(Delivery.DIRECT_TO_ROLE, Role.DSL.value, ref, "filter.reblock_overdue", now)
            )
            noted = request.step(None, now, "DSL told: re-block overdue", f"{overdue} school days")
            records.append(Record(KIND, request.ref, subject.version + 1, encode(noted)))
        return TimerResult(
            records=records,
            outbox=out,
            audit=[
                AuditEvent(
                    "system", "filter.reblock_reminder", ref, f"overdue {overdue} school days", now
                )
            ],
            again_at=now + timedelta(days=1),
        )

    def school_days_overdue(self, request: FilterRequest, now: datetime) -> int:
        """School days since the re-block fell due (the end date itself not counted)."""
        today = now.astimezone(self._school.zone).date()
        day, count = request.end, 0
        while day < today:
            day += timedelta(days=1)
            if is_school_day(day, self._school):
                count += 1
        return count

    # ----- the change log -----------------------------------------------------------------------

    async def log(self, ctx: ActionContext) -> Reply:
        """The filtering change log: a summary card and a CSV download (role-checked)."""
        requests = [decode(r) for r in await self._store.find(KIND)]
        counts: dict[str, int] = {}
        for request in requests:
            label = STATUS_WORDS[request.status]
            counts[label] = counts.get(label, 0) + 1
        steps = sorted(
            ((step, request) for request in requests for step in request.history),
            key=lambda pair: pair[0].at,
            reverse=True,
        )
        zone = self._school.zone
        recent = [
            (
                school_time(step.at, zone),
                request.ref,
                step.action,
                step.actor_name,
            )
            for step, request in steps[:10]
        ]
        url = None
        if self._deps.exports is not None:
            content = filter_log_csv(requests, self._deps).encode("utf-8")
            url = await self._deps.exports.publish(
                "filter-change-log.csv", content, media_type="text/csv"
            )
        await self._store.commit(
            Change(audit=[AuditEvent(ctx.person.id, "filter.log", "", "viewed", self._clock.now())])
        )
        return Reply(card=filter_log_card(sorted(counts.items()), recent, download_url=url))

    # ----- renderers ----------------------------------------------------------------------------

    async def render_request(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The request card in a channel."""
        if subject is None:
            return None
        return Outgoing(card=request_card(decode(subject), self._school, version=subject.version))

    async def render_apply(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """IT's "Apply" task."""
        return (
            None
            if subject is None
            else Outgoing(card=apply_task(decode(subject), version=subject.version))
        )

    async def render_reblock(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """IT's "Re-block now" task, with how overdue it is."""
        if subject is None:
            return None
        request = decode(subject)
        overdue = (
            self.school_days_overdue(request, self._clock.now())
            if request.status is FilterStatus.REBLOCK_DUE
            else 0
        )
        return Outgoing(card=reblock_task(request, version=subject.version, overdue_days=overdue))

    async def render_reminder(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A short daily reminder in the IT channel while a re-block is overdue."""
        request = still_in(subject, decode, FilterStatus.REBLOCK_DUE)
        if request is None:
            return None
        return Outgoing(
            text=(
                f"Reminder: {request.host} ({request.ref}) should have been re-blocked "
                f"on {school_day(request.end)}."
            )
        )

    async def render_overdue(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """1:1 to the DSL: a re-block is two school days overdue."""
        if still_in(subject, decode, FilterStatus.REBLOCK_DUE) is None:
            return None
        return await self.render_reblock(subject, data)

    async def render_question(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The deciders' question, 1:1 to the requester."""
        request = still_in(subject, decode, FilterStatus.NEEDS_INFO)
        if request is None or subject is None:
            return None
        return Outgoing(card=question_card(request, version=subject.version))

    async def render_decision(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The decision, 1:1 to the requester."""
        return None if subject is None else Outgoing(card=decision_card(decode(subject)))

    async def render_new_technology(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The DSL channel's note about a request to allow an AI tool or chatbot."""
        if subject is None:
            return None
        request = decode(subject)
        return Outgoing(
            text=(
                f"Filter request {request.ref} ({safe_text(request.target, limit=300)}): "
                f"{NEW_TECHNOLOGY_NOTE}"
            )
        )

    async def render_now_allowed(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """1:1 to the requester, when the period starts: "Now allowed" (only while it is)."""
        request = still_in(subject, decode, FilterStatus.APPLIED)
        return None if request is None else Outgoing(card=decision_card(request))

    async def render_refused(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """1:1 to the DSL: a never-unblockable request was refused."""
        if subject is None:
            return None
        request = decode(subject)
        return Outgoing(card=never_unblockable_note(request, request.history[-1].detail))


def feature(deps: Deps) -> Feature:
    """The filter-exception feature."""
    h = FilterHandlers(deps)
    return Feature(
        routes={
            Verb.REQUEST_FILTER_CHANGE: h.start,
            Verb.FILTER_SUBMIT: h.submit,
            Verb.FILTER_APPROVE: h.approve,
            Verb.FILTER_REJECT: h.reject,
            Verb.FILTER_ASK: h.ask,
            Verb.FILTER_ANSWER: h.answer,
            Verb.FILTER_APPLIED: h.applied,
            Verb.FILTER_REBLOCKED: h.reblocked,
            Verb.FILTER_LOG: h.log,
        },
        renderers={
            "filter.request": h.render_request,
            "filter.apply": h.render_apply,
            "filter.reblock": h.render_reblock,
            "filter.reblock_reminder": h.render_reminder,
            "filter.reblock_overdue": h.render_overdue,
            "filter.question": h.render_question,
            "filter.decision": h.render_decision,
            "filter.refused": h.render_refused,
            "filter.now_allowed": h.render_now_allowed,
            "filter.new_technology": h.render_new_technology,
        },
        timers={PERIOD_END: h.on_period_end, PERIOD_START: h.on_period_start},
    )
