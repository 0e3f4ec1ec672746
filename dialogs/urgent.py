"""The urgent path: how an item that cannot wait reaches the people who must act at once.

One function, used by every feature with urgent items (concerns, monitoring alerts), so that
how "urgent" is delivered (today: a 1:1 card and the Teams bell to every holder of each role;
an on-call rota when a school has one) is decided in one place (004 flowchart, "DO NOT DELAY").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dialogs.outbox import Delivery, message
from dialogs.ports import Record
from policy.roles import Role


def urgent_messages(
    subject: str,
    roles: Sequence[Role],
    *,
    alert_render: str,
    feed_render: str,
    title: str,
    now: datetime,
) -> list[Record]:
    """The outbox messages that put ``subject`` in front of ``roles`` at once: for each role,
    a 1:1 card (``alert_render``) and the bell in Teams (``feed_render``, titled ``title``),
    so an urgent item is never missed."""
    out: list[Record] = []
    for role in roles:
        out.append(message(Delivery.DIRECT_TO_ROLE, role.value, subject, alert_render, now))
        out.append(
            message(Delivery.FEED_TO_ROLE, role.value, subject, feed_render, now, x_title=title)
        )
    return out
