"""The DSL's clicks on an alert card, each through ``decide``: open the detail, false positive,
keep monitoring, contact the pupil, escalate to a concern (prefilled, linked both ways).
"""

from __future__ import annotations

from datetime import datetime

from cards.monitoring import (
    alert_channel_card,
    alert_detail_card,
)
from dialogs.codec import text_field
from dialogs.concern_alerts import reminder_due
from dialogs.handling import decide
from dialogs.kinds import next_reference
from dialogs.kinds.concern import KIND as CONCERN_KIND
from dialogs.kinds.concern import PREFIX as CONCERN_PREFIX
from dialogs.kinds.concern import UNACKNOWLEDGED, year_group_of
from dialogs.kinds.concern import encode as encode_concern
from dialogs.kinds.concern import subject_of as concern_subject
from dialogs.kinds.monitoring import (
    KIND,
    decode,
    encode,
    subject_of,
)
from dialogs.monitoring.base import (
    _REF,
    RENDER_CHANNEL,
    Loaded,
    MonitoringBase,
)
from dialogs.outbox import Delivery, message, timer
from dialogs.ports import (
    Record,
)
from dialogs.router import ActionContext, Reply, Scope
from policy.categories import Category, Route
from policy.concerns import Concern, RiskAnswer, Source
from policy.monitoring import (
    AlertStatus,
    AlertTransitionError,
    MonitoringAlert,
    decide_alert,
)
from policy.roles import Person

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


class Clicks(MonitoringBase):
    """The DSL's clicks on an alert card: open, false positive, monitor, contact, escalate."""

    async def open(self, ctx: ActionContext) -> Reply:
        """The detail, to this DSL or deputy only (or back to the summary)."""
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        if ctx.ids.view == "summary" and ctx.turn.scope is not Scope.PERSONAL:
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
        ref = ctx.ids.ref
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
