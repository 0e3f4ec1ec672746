"""The concern feature's outbox messages, drawn when they are sent: channel cards, alerts,
the activity feed, reminders and the outcome for the reporter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cards.concern import (
    alert_card,
    channel_card,
    closed_notice,
    detail_card,
    it_breach_card,
    keep_detail_open,
    reminder_card,
)
from dialogs.concern.base import ConcernBase
from dialogs.detail_views import viewers
from dialogs.ports import (
    Outgoing,
    Record,
)
from policy.concerns import (
    ConcernStatus,
)


class Renderers(ConcernBase):
    """How each outbox message about a concern is drawn when it is sent."""

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
