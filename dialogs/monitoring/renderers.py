"""The monitoring feature's outbox messages, rendered as the alert or notice stands now."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cards.monitoring import (
    alert_channel_card,
    alert_urgent_card,
    notice_channel_card,
)
from dialogs.kinds.monitoring import (
    NOTICE_CODEC,
    decode,
)
from dialogs.monitoring.base import (
    MonitoringBase,
)
from dialogs.ports import (
    Outgoing,
    Record,
)


class Renderers(MonitoringBase):
    """The outbox messages: the channel card, the urgent 1:1 card, the bell's preview, notices."""

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
