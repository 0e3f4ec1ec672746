"""Receiving alerts, the endpoint's use case: the format and the replay check, one record per
alert (identical ones counted on the first one's card), the urgent path and its chase timer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from dialogs.kinds import next_reference
from dialogs.kinds.monitoring import (
    BURST_KIND,
    KIND,
    NONCE_KIND,
    NOTICE_CODEC,
    NOTICE_KIND,
    PREFIX,
    decode,
    encode,
    subject_of,
)
from dialogs.monitoring.base import (
    RENDER_CHANNEL,
    RENDER_FEED,
    RENDER_URGENT,
    SAVE_TRIES,
    UNHANDLED,
    MonitoringBase,
    Received,
    _ref_of,
)
from dialogs.outbox import OUTBOX, Delivery, TimerResult, message, timer
from dialogs.ports import (
    Change,
    DuplicateRequest,
    Record,
    StoreUnavailable,
    VersionConflict,
)
from dialogs.urgent import urgent_messages
from policy.audit import AuditEvent
from policy.monitoring import (
    AlertIn,
    AlertStatus,
    Malformed,
    MonitoringAlert,
    counted,
    expected_words,
    group_key,
    is_urgent,
    may_group,
    notice_covers,
    parse_alert,
)
from policy.roles import Person

log = logging.getLogger(__name__)

_SIGNATURE = re.compile(r"^sha256=([0-9a-f]{64})$")


def _nonce(signature: str) -> str | None:
    found = _SIGNATURE.match(signature.strip())
    return found.group(1) if found else None


class Receiving(MonitoringBase):
    """Alerts in (the endpoint's use case): verify, store, group; and chasing an urgent alert
    nobody has acted on."""

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
