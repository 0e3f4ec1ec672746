"""The monitoring feature's shared base: names, the loaded alert, and the click ``Handling``
(reload by id, check who clicked, show the card).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cards.monitoring import (
    STALE_NOTE,
    alert_channel_card,
    alert_detail_card,
)
from cards.welcome import not_allowed_card
from dialogs.concern_alerts import ConcernAlerts
from dialogs.feature import Deps
from dialogs.handling import FeatureHandlers, Handling, from_elsewhere, record_for, refuse, refused
from dialogs.kinds.monitoring import (
    KIND,
    decode,
)
from dialogs.ports import (
    DirectoryUnavailable,
    Record,
)
from dialogs.router import ActionContext, Reply, Scope
from dialogs.urgent import named_on_call
from policy.monitoring import (
    AlertTransitionError,
    MonitoringAlert,
)
from policy.roles import SAFEGUARDING_LEADS, Person

RENDER_CHANNEL = "monitoring.channel"
RENDER_URGENT = "monitoring.urgent"
RENDER_FEED = "monitoring.feed"
RENDER_NOTICE = "notice.channel"
#: Tries at saving an alert while identical ones are being counted on the same card.
SAVE_TRIES = 10
#: The timer that chases an urgent alert nobody has acted on.
UNHANDLED = "monitoring.unhandled"
_REF = re.compile(r"^MON-\d{4}-\d{4,}$")


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


class MonitoringBase(FeatureHandlers):
    """What every part of the monitoring feature shares: the deps, the click ``Handling``
    (reload an alert by id, check who clicked, show it), the pupil as the directory knows them."""

    def __init__(self, deps: Deps, concerns: ConcernAlerts | None = None) -> None:
        super().__init__(deps)
        self._concerns = concerns or ConcernAlerts(deps)
        self._handling = Handling(self._load, self._view, STALE_NOTE, AlertTransitionError)
        # One save at a time: grouping reads, then writes, the group's records. The record
        # versions keep it right across processes too; the lock keeps a burst from colliding.
        self._lock = asyncio.Lock()

    async def _pupil(self, pupil_id: str) -> Person | None:
        if not pupil_id:
            return None
        try:
            return await self._deps.directory.person(pupil_id)
        except DirectoryUnavailable:
            return None

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        record = await record_for(self._deps, ctx, KIND, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        alert = decode(record)
        if not self._may_handle(ctx.person, alert):
            await refuse(self._deps, ctx, "not a handler of this alert", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        if from_elsewhere(ctx, self._school.channels.dsl_channel_id):
            return await refused(self._deps, ctx, "wrong conversation", record.ref)
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
        if ctx.ids.view == "detail" or ctx.turn.scope is Scope.PERSONAL:
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
