"""Monitoring alerts into the DSL's hands, and staff notices of sensitive lessons (issue 21).

An alert arrives from the school's monitoring system (``bot/app.py`` checks the provider's
signature and the body's size first; ``receive`` checks the format). It becomes one item for
the DSL: a card in the DSL channel without the child's name, the detail on "Open" for the DSL
and deputies only. Identical alerts (same pupil, category and provider) inside the school's
window are counted on the first one's card, which is updated through the outbox (one pending
update at a time, however many alerts arrive). The highest severities take the urgent path
(``dialogs.urgent``), as urgent concerns do. The DSL's clicks (false positive, monitor, contact
pupil, escalate to a concern) go through ``dialogs.handling.decide``.

A teacher's notice of a sensitive lesson goes to the DSL and IT channels; alerts during that
lesson, for that class and topic, say so on their card.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from cards.monitoring import (
    STALE_NOTE,
    alert_channel_card,
    alert_detail_card,
    alert_urgent_card,
    notice_channel_card,
    notice_form,
    notice_received_card,
)
from cards.welcome import not_allowed_card
from dialogs.codec import text_field
from dialogs.concern_alerts import ConcernAlerts, reminder_due
from dialogs.handling import FeatureHandlers, Handling, decide, form_key, record_for, refuse
from dialogs.kinds import next_reference
from dialogs.kinds.concern import KIND as CONCERN_KIND
from dialogs.kinds.concern import PREFIX as CONCERN_PREFIX
from dialogs.kinds.concern import UNACKNOWLEDGED, year_group_of
from dialogs.kinds.concern import encode as encode_concern
from dialogs.kinds.concern import subject_of as concern_subject
from dialogs.kinds.monitoring import (
    BURST_KIND,
    KIND,
    NONCE_KIND,
    NOTICE_CODEC,
    NOTICE_KIND,
    NOTICE_PREFIX,
    PREFIX,
    decode,
    encode,
    subject_of,
)
from dialogs.outbox import OUTBOX, Delivery, TimerResult, message, timer
from dialogs.ports import (
    Change,
    DirectoryUnavailable,
    DuplicateRequest,
    Outgoing,
    Record,
    StoreUnavailable,
    VersionConflict,
)
from dialogs.registry import Deps, Feature
from dialogs.service import ActionContext, Reply, Scope, channel_id_of
from dialogs.urgent import named_on_call, urgent_messages
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.categories import Category, Route
from policy.concerns import Concern, RiskAnswer, Source
from policy.monitoring import (
    STATUS_WORDS,
    AlertIn,
    AlertStatus,
    AlertTransitionError,
    LessonNotice,
    Malformed,
    MonitoringAlert,
    counted,
    decide_alert,
    expected_words,
    group_key,
    is_urgent,
    may_group,
    notice_covers,
    parse_alert,
    validate_notice,
)
from policy.roles import SAFEGUARDING_LEADS, Person
from policy.school import SchoolPolicy

log = logging.getLogger(__name__)

RENDER_CHANNEL = "monitoring.channel"
RENDER_URGENT = "monitoring.urgent"
RENDER_FEED = "monitoring.feed"
RENDER_NOTICE = "notice.channel"
#: Tries at saving an alert while identical ones are being counted on the same card.
SAVE_TRIES = 10
#: The timer that chases an urgent alert nobody has acted on.
UNHANDLED = "monitoring.unhandled"
_REF = re.compile(r"^MON-\d{4}-\d{4,}$")
_SIGNATURE = re.compile(r"^sha256=([0-9a-f]{64})$")
#: Words in a provider's category -> the school's concern category an escalation files under.
_CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("extremis", "radicalisation"),
    ("radicali", "radicalisation"),
    ("terror", "radicalisation"),
    ("bully", "cyberbullying"),
    ("hate", "online_hate"),
    ("racis", "online_hate"),
    ("groom", "grooming"),
    ("exploit", "grooming"),
    ("harass", "harassment"),
    ("gambl", "fraud"),
    ("fraud", "fraud"),
    ("hack", "hacking"),
    ("proxy", "filtering_breach"),
)


@dataclass(frozen=True, slots=True)
class Received:
    """What the provider is answered: an HTTP status and a small JSON body (no personal data)."""

    status: int
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Loaded:
    """An alert reloaded for a click, with the pupil as the directory knows them now."""

    record: Record
    alert: MonitoringAlert
    pupil: Person | None


def _ref_of(subject: str) -> str:
    """``monitoring_alert:MON-2026-0001`` -> ``MON-2026-0001``."""
    return subject.partition(":")[2]


def _nonce(signature: str) -> str | None:
    found = _SIGNATURE.match(signature.strip())
    return found.group(1) if found else None


class MonitoringHandlers(FeatureHandlers):
    """Alerts in, the DSL's decisions on them, and lesson notices."""

    def __init__(self, deps: Deps, concerns: ConcernAlerts | None = None) -> None:
        super().__init__(deps)
        self._concerns = concerns or ConcernAlerts(deps)
        self._handling = Handling(self._load, self._view, STALE_NOTE, AlertTransitionError)
        # One save at a time: grouping reads, then writes, the group's records. The record
        # versions keep it right across processes too; the lock keeps a burst from colliding.
        self._lock = asyncio.Lock()

    # ----- alerts in ------------------------------------------------------------------------------

    async def receive(self, provider_id: str, signature: str, body: Any) -> Received:
        """Take one alert whose signature ``bot/app.py`` has checked.

        A body that is not the documented format gets 400, a signature seen before 401, and
        nothing is stored for either (the refusal is audited, naming the provider only). The
        same provider alert id again (a provider's retry) is answered as received, once.
        """
        now = self._clock.now()
        actor = f"provider:{provider_id}"
        nonce = _nonce(signature)
        if nonce is None:
            return Received(401, {"error": "bad signature"})
        try:
            alert_in = parse_alert(body)
        except Malformed as exc:
            await self._refused(actor, "malformed", now)
            return Received(400, {"error": str(exc)})
        if await self._store.get(NONCE_KIND, nonce) is not None:
            await self._refused(actor, "replayed", now)
            return Received(401, {"error": "replayed request"})
        key = f"monitoring.alert:{provider_id}:{alert_in.alert_id}"
        already = await self._store.deduped(key)
        if already:  # the alert record is the change's first
            return Received(200, {"status": "already received", "ref": _ref_of(already[0])})
        pupil = await self._pupil(alert_in.pupil_id)
        expected, notice_ref = await self._expected(alert_in, pupil)
        urgent = is_urgent(alert_in.severity, self._school.monitoring)
        group = group_key(provider_id, alert_in.pupil_id or alert_in.pupil_upn, alert_in.category)
        async with self._lock:
            return await self._save(
                provider_id, alert_in, nonce, key, group, urgent, expected, notice_ref, now
            )

    async def _save(
        self,
        provider_id: str,
        alert_in: AlertIn,
        nonce: str,
        key: str,
        group: str,
        urgent: bool,
        expected: str,
        notice_ref: str,
        now: datetime,
    ) -> Received:
        actor = f"provider:{provider_id}"
        window = timedelta(minutes=self._school.monitoring.group_window_minutes)
        for _ in range(SAVE_TRIES):
            seen = Record(NONCE_KIND, nonce, 1, {"at": now.isoformat()})
            burst = await self._store.get(BURST_KIND, group)
            first = await self._store.get(KIND, str(burst.data["leader"])) if burst else None
            if first is not None and may_group(decode(first), urgent=urgent, at=now, window=window):
                alert = counted(decode(first), now, expected, notice_ref)
                records = [
                    Record(KIND, alert.ref, first.version + 1, encode(alert)),
                    seen,
                    await self._card_update(alert.ref, now),
                ]
                result = "grouped"
            else:
                alert = replace(
                    await self._new_alert(provider_id, alert_in, group, urgent, now, key),
                    expected=expected,
                    notice_ref=notice_ref,
                )
                records = [
                    Record(KIND, alert.ref, 1, encode(alert)),
                    seen,
                    Record(
                        BURST_KIND, group, burst.version + 1 if burst else 1, {"leader": alert.ref}
                    ),
                    *self._first_messages(alert, now),
                ]
                result = "ok"
            audit = AuditEvent(actor, "monitoring.alert", subject_of(alert.ref), result, now)
            try:
                await self._store.commit(Change(records=records, audit=[audit], dedupe_key=key))
            except DuplicateRequest as dup:
                return Received(200, {"status": "already received", "ref": _ref_of(dup.refs[0])})
            except VersionConflict:
                if await self._store.get(NONCE_KIND, nonce) is not None:
                    await self._refused(actor, "replayed", now)
                    return Received(401, {"error": "replayed request"})
                continue
            self._deps.doorbell.ring()
            log.info("monitoring alert %s %s (urgent=%s)", alert.ref, result, alert.urgent)
            return Received(
                202, {"status": "received", "ref": alert.ref, "grouped": result == "grouped"}
            )
        raise StoreUnavailable("the alert could not be saved (busy): the provider sends it again")

    async def _refused(self, actor: str, why: str, now: datetime) -> None:
        log.warning("monitoring alert refused: %s (%s)", why, actor)
        await self._store.commit(
            Change(audit=[AuditEvent(actor, "monitoring.alert", "", f"refused: {why}", now)])
        )

    async def _new_alert(
        self, provider_id: str, alert_in: AlertIn, group: str, urgent: bool, now: datetime, key: str
    ) -> MonitoringAlert:
        year = now.astimezone(self._school.zone).year
        ref = await next_reference(self._store, PREFIX, year, key)
        return MonitoringAlert(
            ref=ref,
            provider=provider_id,
            provider_alert_id=alert_in.alert_id,
            pupil_id=alert_in.pupil_id,
            pupil_upn=alert_in.pupil_upn,
            device=alert_in.device,
            category=alert_in.category,
            severity=alert_in.severity,
            kind=alert_in.kind,
            text=alert_in.text,
            console_url=alert_in.console_url,
            occurred_at=alert_in.occurred_at,
            received_at=now,
            urgent=urgent,
            group_key=group,
            last_at=now,
        )

    def _first_messages(self, alert: MonitoringAlert, now: datetime) -> list[Record]:
        subject = subject_of(alert.ref)
        dsl = self._school.channels.dsl_channel_id
        out = [message(Delivery.CHANNEL_POST, dsl, subject, RENDER_CHANNEL, now)]
        if alert.urgent:
            out += urgent_messages(
                subject,
                self._school,
                alert_render=RENDER_URGENT,
                feed_render=RENDER_FEED,
                title=f"Urgent monitoring alert {alert.ref}",
                now=now,
            )
            out.append(timer(UNHANDLED, subject, self._chase_at(now)))
        return out

    def _chase_at(self, now: datetime) -> datetime:
        return now + timedelta(minutes=self._school.escalation.urgent_unacknowledged_minutes)

    async def on_unhandled(
        self, subject: Record | None, item: Record, now: datetime
    ) -> TimerResult:
        """An urgent alert nobody has acted on yet: the DSL and deputies are alerted again
        (the urgent path), as an urgent concern is chased, until someone acts on it."""
        if subject is None or decode(subject).status is not AlertStatus.NEW:
            return TimerResult()  # acted on, or gone: the timer ends
        alert = decode(subject)
        ref = subject_of(alert.ref)
        log.info("monitoring alert %s not acted on: the DSL and deputies alerted again", alert.ref)
        return TimerResult(
            outbox=urgent_messages(
                ref,
                self._school,
                alert_render=RENDER_URGENT,
                feed_render=RENDER_FEED,
                title=f"Urgent monitoring alert {alert.ref}: still waiting",
                now=now,
            ),
            audit=[AuditEvent("system", "monitoring.reminder", ref, "sent", now)],
            again_at=self._chase_at(now),
        )

    async def _card_update(self, ref: str, now: datetime) -> Record:
        """The channel card's update, one pending at a time: a later alert rewrites the pending
        one (a new version), so 50 alerts make at most a few updates, never 50 posts. If the
        worker is sending it meanwhile, its delete fails on the version and it is sent again
        with the latest count."""
        subject = subject_of(ref)
        record_id = f"{subject}|{RENDER_CHANNEL}|update"
        pending = await self._store.get(OUTBOX, record_id)
        fresh = message(
            Delivery.CHANNEL_UPDATE,
            self._school.channels.dsl_channel_id,
            subject,
            RENDER_CHANNEL,
            now,
        )
        return Record(OUTBOX, record_id, pending.version + 1 if pending else 1, fresh.data)

    async def _pupil(self, pupil_id: str) -> Person | None:
        if not pupil_id:
            return None
        try:
            return await self._deps.directory.person(pupil_id)
        except DirectoryUnavailable:
            return None

    async def _expected(self, alert_in: AlertIn, pupil: Person | None) -> tuple[str, str]:
        """The notice that explains this alert, if one covers its time, class and topic."""
        if pupil is None:
            return "", ""
        zone = self._school.zone
        day = alert_in.occurred_at.astimezone(zone).date().isoformat()
        for record in await self._store.find(NOTICE_KIND, day=day):
            notice = NOTICE_CODEC.decode(record)
            topic = self._school.monitoring.topic(notice.topic)
            if topic is not None and notice_covers(
                notice,
                topic,
                category=alert_in.category,
                at=alert_in.occurred_at,
                form=pupil.form,
                year_group=pupil.year_group,
                zone=zone,
            ):
                return expected_words(notice), notice.ref
        return "", ""

    # ----- the DSL's decisions --------------------------------------------------------------------

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        record = await record_for(self._deps, ctx, KIND, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        alert = decode(record)
        if not self._may_handle(ctx.person, alert):
            await refuse(self._deps, ctx, "not a handler of this alert", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        if ctx.turn.scope is not Scope.PERSONAL and (
            channel_id_of(ctx.turn.conversation_id) != self._school.channels.dsl_channel_id
        ):
            await refuse(self._deps, ctx, "wrong conversation", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        return Loaded(record, alert, await self._pupil(alert.pupil_id))

    def _may_handle(self, person: Person, alert: MonitoringAlert) -> bool:
        """The DSL and deputies; for an urgent alert also whoever the cover named when it came
        in or names now (out of hours: the rota), as for urgent concerns."""
        if person.roles & SAFEGUARDING_LEADS:
            return True
        return alert.urgent and any(
            named_on_call(person.id, person.roles, at, self._school)
            for at in (alert.received_at, self._clock.now())
        )

    def _view(
        self,
        ctx: ActionContext,
        loaded: Loaded,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        version = loaded.record.version
        if ctx.data.get("view") == "detail" or ctx.turn.scope is Scope.PERSONAL:
            return Reply(
                card=alert_detail_card(
                    loaded.alert,
                    loaded.pupil,
                    self._school,
                    version=version,
                    note=note,
                    problem=problem,
                )
            )
        return Reply(
            card=alert_channel_card(
                loaded.alert, self._school, version=version, note=note or problem
            )
        )

    async def open(self, ctx: ActionContext) -> Reply:
        """The detail, to this DSL or deputy only (or back to the summary)."""
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        if ctx.data.get("view") == "summary" and ctx.turn.scope is not Scope.PERSONAL:
            return Reply(
                card=alert_channel_card(loaded.alert, self._school, version=loaded.record.version)
            )
        return Reply(
            card=alert_detail_card(
                loaded.alert, loaded.pupil, self._school, version=loaded.record.version
            )
        )

    async def false_positive(self, ctx: ActionContext) -> Reply:
        """Close the alert as a false positive, with the reason."""
        return await self._decide(ctx, AlertStatus.FALSE_POSITIVE, "alert.false_positive")

    async def monitor(self, ctx: ActionContext) -> Reply:
        """Keep watching: no action with the pupil yet."""
        return await self._decide(ctx, AlertStatus.MONITORING, "alert.monitor")

    async def contact(self, ctx: ActionContext) -> Reply:
        """Record that the pupil will be spoken to."""
        return await self._decide(ctx, AlertStatus.CONTACTED, "alert.contact")

    async def _decide(self, ctx: ActionContext, to: AlertStatus, action: str) -> Reply:
        reason = text_field(ctx.data, "reason")[:300]

        def make(loaded: Loaded, now: datetime) -> tuple[Loaded, list[Record]]:
            updated = decide_alert(
                loaded.alert,
                to,
                by_id=ctx.person.id,
                by_name=ctx.person.name,
                at=now,
                reason=reason,
            )
            record = Record(KIND, updated.ref, loaded.record.version + 1, encode(updated))
            update = message(
                Delivery.CHANNEL_UPDATE,
                self._school.channels.dsl_channel_id,
                subject_of(updated.ref),
                RENDER_CHANNEL,
                now,
            )
            return Loaded(record, updated, loaded.pupil), [record, update]

        return await decide(self._handling, self._deps, ctx, action=action, change=make)

    async def escalate(self, ctx: ActionContext) -> Reply:
        """Make a concern from the alert (prefilled, linked both ways) and close the alert."""
        ref = text_field(ctx.data, "ref")
        current = await self._store.get(KIND, ref) if _REF.match(ref) else None
        concern_ref = ""
        now = self._clock.now()
        if current is not None and decode(current).status is not AlertStatus.ESCALATED:
            year = now.astimezone(self._school.zone).year
            # Keyed on the alert: however often it is clicked, one number for one alert.
            concern_ref = await next_reference(
                self._store, CONCERN_PREFIX, year, f"monitoring.escalate:{ref}"
            )

        def make(loaded: Loaded, at: datetime) -> tuple[Loaded, list[Record]]:
            if not concern_ref:
                raise AlertTransitionError("this alert is already escalated")
            updated = decide_alert(
                loaded.alert,
                AlertStatus.ESCALATED,
                by_id=ctx.person.id,
                by_name=ctx.person.name,
                at=at,
                concern_ref=concern_ref,
            )
            concern, category = self._concern_from(
                updated, loaded.pupil, ctx.person, concern_ref, at
            )
            record = Record(KIND, updated.ref, loaded.record.version + 1, encode(updated))
            return Loaded(record, updated, loaded.pupil), [
                record,
                Record(CONCERN_KIND, concern.ref, 1, encode_concern(concern)),
                *self._concerns.first_messages(concern, category, at),
                timer(
                    UNACKNOWLEDGED,
                    concern_subject(concern.ref),
                    reminder_due(self._school, concern, at),
                ),
                message(
                    Delivery.CHANNEL_UPDATE,
                    self._school.channels.dsl_channel_id,
                    subject_of(updated.ref),
                    RENDER_CHANNEL,
                    at,
                ),
            ]

        return await decide(self._handling, self._deps, ctx, action="alert.escalate", change=make)

    def _category_for(self, alert: MonitoringAlert) -> Category:
        words = alert.category.casefold()
        usable = [c for c in self._school.categories if c.route is not Route.HEADTEACHER]
        for category in usable:
            if category.id.replace("_", " ") in words or category.label.casefold() in words:
                return category
        for part, category_id in _CATEGORY_WORDS:
            found = next((c for c in usable if c.id == category_id), None)
            if part in words and found is not None:
                return found
        other = self._school.category("other")
        assert other is not None  # the school policy always has "other"
        return other

    def _concern_from(
        self,
        alert: MonitoringAlert,
        pupil: Person | None,
        by: Person,
        concern_ref: str,
        now: datetime,
    ) -> tuple[Concern, Category]:
        category = self._category_for(alert)
        provider = self._school.monitoring.provider(alert.provider)
        seen = "typed" if alert.kind.value == "typed" else "viewed"
        what = (
            f"Monitoring alert {alert.ref} from {provider.name if provider else alert.provider}: "
            f"{alert.category} ({alert.severity.value}), {alert.count} alert(s). "
            f"The pupil {seen}: {alert.text}"
        )
        concern = Concern(
            ref=concern_ref,
            source=Source.STAFF,
            category=category.id,
            urgent=alert.urgent or category.urgent,
            reporter_id=by.id,
            reporter_name=by.name,
            created_at=now,
            year_group=year_group_of(pupil) if pupil is not None else "Not known",
            involved=pupil.name if pupil is not None else (alert.pupil_upn or "Not known"),
            what_happened=what[:2000],
            where=f"School device: {alert.device}"[:200],
            happened_on=alert.occurred_at.astimezone(self._school.zone).date().isoformat(),
            immediate_risk=RiskAnswer.YES if alert.urgent else RiskAnswer.NO,
        )
        concern = concern.with_event(
            by, now, "escalated", f"Escalated from monitoring alert {alert.ref}"
        )
        return concern, category

    # ----- sensitive-lesson notices ---------------------------------------------------------------

    async def notice_start(self, ctx: ActionContext) -> Reply:
        """The notice form (in a private chat)."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text="Please tell me about a lesson in a private chat with me.")
        today = self._clock.now().astimezone(self._school.zone).date()
        return Reply(card=notice_form(self._school, form_id=uuid.uuid4().hex, today=today))

    async def notice_submit(self, ctx: ActionContext) -> Reply:
        """Check, save the notice with its DSL and IT channel cards, then confirm."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text="Please tell me about a lesson in a private chat with me.")
        form_id = text_field(ctx.data, "form")
        now = self._clock.now()
        today = now.astimezone(self._school.zone).date()
        if not form_id:
            return Reply(card=notice_form(self._school, form_id=uuid.uuid4().hex, today=today))
        key = form_key("notice", ctx.person.id, form_id)
        already = await self._store.deduped(key)
        if already:
            return await self._confirm(ctx.person, already[0])
        values, problems = validate_notice(ctx.data, self._school.monitoring, today)
        if problems:
            return Reply(
                card=notice_form(
                    self._school, form_id=form_id, today=today, values=values, problems=problems
                )
            )
        topic = self._school.monitoring.topic(values["topic"])
        assert topic is not None  # validated
        notice = LessonNotice(
            ref=await next_reference(self._store, NOTICE_PREFIX, today.year, key),
            teacher_id=ctx.person.id,
            teacher_name=ctx.person.name,
            class_name=values["class_name"],
            topic=topic.id,
            topic_label=topic.label,
            day=date.fromisoformat(values["day"]),
            start=time.fromisoformat(values["start"]),
            end=time.fromisoformat(values["end"]),
            reason=values["reason"],
            created_at=now,
        )
        subject = NOTICE_CODEC.subject(notice.ref)
        channels = self._school.channels
        data = {**NOTICE_CODEC.encode(notice), "day": notice.day.isoformat()}
        try:
            await self._store.commit(
                Change(
                    records=[
                        Record(NOTICE_KIND, notice.ref, 1, data),
                        message(
                            Delivery.CHANNEL_POST,
                            channels.dsl_channel_id,
                            subject,
                            RENDER_NOTICE,
                            now,
                        ),
                        message(
                            Delivery.CHANNEL_POST,
                            channels.it_channel_id,
                            subject,
                            RENDER_NOTICE,
                            now,
                        ),
                    ],
                    audit=[AuditEvent(ctx.person.id, "notice.submit", subject, "ok", now)],
                    dedupe_key=key,
                )
            )
        except DuplicateRequest as dup:
            return await self._confirm(ctx.person, dup.refs[0])
        except StoreUnavailable:
            return Reply(
                card=notice_form(
                    self._school,
                    form_id=form_id,
                    today=today,
                    values=values,
                    problems={
                        "reason": "It could not be saved just now, so it was NOT sent. Try again."
                    },
                )
            )
        self._deps.doorbell.ring()
        return Reply(card=notice_received_card(notice))

    async def _confirm(self, person: Person, ref: str) -> Reply:
        _, _, item_id = ref.partition(":")
        record = await self._store.get(NOTICE_KIND, item_id)
        notice = None if record is None else NOTICE_CODEC.decode(record)
        if notice is None or notice.teacher_id != person.id:
            return Reply(card=not_allowed_card(person))
        return Reply(card=notice_received_card(notice))

    # ----- deliveries -----------------------------------------------------------------------------

    async def render_channel(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The DSL channel card (no name, no detail), as the alert stands now."""
        if subject is None:
            return None
        return Outgoing(
            card=alert_channel_card(decode(subject), self._school, version=subject.version)
        )

    async def render_urgent(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The 1:1 card to each DSL and deputy for an urgent alert."""
        if subject is None:
            return None
        return Outgoing(
            card=alert_urgent_card(decode(subject), self._school, version=subject.version)
        )

    async def render_feed(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The bell's preview: reference and category only."""
        if subject is None:
            return None
        alert = decode(subject)
        return Outgoing(
            text=(
                f"{alert.ref}: monitoring alert ({alert.severity.value}). "
                "Open the Online Safety bot to act."
            )
        )

    async def render_notice(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A notice's card in the DSL and IT channels."""
        if subject is None:
            return None
        return Outgoing(card=notice_channel_card(NOTICE_CODEC.decode(subject)))


def feature(deps: Deps) -> Feature:
    """The monitoring feature: routes, the typed phrase and renderers (the web route for
    alerts, ``bot/app.py``, calls ``MonitoringHandlers.receive``)."""
    h = MonitoringHandlers(deps)
    return Feature(
        routes={
            Verb.ALERT_OPEN: h.open,
            Verb.ALERT_FALSE_POSITIVE: h.false_positive,
            Verb.ALERT_MONITOR: h.monitor,
            Verb.ALERT_CONTACT: h.contact,
            Verb.ALERT_ESCALATE: h.escalate,
            Verb.LESSON_NOTICE: h.notice_start,
            Verb.LESSON_NOTICE_SUBMIT: h.notice_submit,
        },
        phrases=[(r"\bsensitive lesson\b", Verb.LESSON_NOTICE)],
        renderers={
            RENDER_CHANNEL: h.render_channel,
            RENDER_URGENT: h.render_urgent,
            RENDER_FEED: h.render_feed,
            RENDER_NOTICE: h.render_notice,
        },
        timers={UNHANDLED: h.on_unhandled},
    )


# ----- records for the review pack and the governors' report -------------------------------------


def _cell(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheet programs.
    return "'" + value if value[:1] in {"=", "+", "-", "@"} else value


ALERT_COLUMNS = (
    "reference",
    "first_received",
    "provider",
    "category",
    "severity",
    "alerts_counted",
    "outcome",
    "decided_at",
    "concern",
    "expected_lesson_notice",
)
NOTICE_COLUMNS = ("reference", "date", "start", "end", "class", "topic", "reason", "given_by")


def alerts_csv(alerts: Sequence[MonitoringAlert], school: SchoolPolicy) -> str:
    """The monitoring alerts and their outcomes for the review pack, one row per card: never
    the pupil, their device, what they typed or viewed, or a note someone wrote."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ALERT_COLUMNS)
    for alert in alerts:
        provider = school.monitoring.provider(alert.provider)
        decided = alert.history[-1].at.astimezone(school.zone) if alert.history else None
        row = (
            alert.ref,
            alert.received_at.astimezone(school.zone).isoformat(timespec="minutes"),
            provider.name if provider else alert.provider,
            alert.category,
            alert.severity.value,
            str(alert.count),
            STATUS_WORDS[alert.status],
            decided.isoformat(timespec="minutes") if decided else "",
            alert.concern_ref,
            alert.notice_ref,
        )
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def notices_csv(notices: Sequence[LessonNotice]) -> str:
    """The sensitive-lesson notices for the review pack, one row per notice."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NOTICE_COLUMNS)
    for n in notices:
        row = (
            n.ref,
            n.day.isoformat(),
            f"{n.start:%H:%M}",
            f"{n.end:%H:%M}",
            n.class_name,
            n.topic_label,
            n.reason,
            n.teacher_name,
        )
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
