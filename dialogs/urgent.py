"""The urgent path: how an item that cannot wait reaches the people who must act at once.

Shared by every feature with urgent items (concerns, monitoring alerts), so that how "urgent"
is delivered is decided in one place (004 flowchart, "DO NOT DELAY"): a 1:1 card and the Teams
bell to whoever is on call now (``policy.on_call``: in the school's contact hours, by default,
the DSL and deputies; at other times the school's rota, or the out-of-hours cover).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dialogs.outbox import Delivery, message
from dialogs.ports import Record
from policy.on_call import on_call_at, role_of
from policy.roles import Role
from policy.school import SchoolPolicy

#: Who is alerted if the school's cover named nobody (``policy.school_checks`` refuses a gap).
LAST_RESORT: tuple[str, ...] = (Role.DSL.value, Role.DEPUTY_DSL.value)


def direct_alerts(
    targets: Iterable[str],
    subject: str,
    *,
    alert_render: str,
    feed_render: str | None,
    title: str,
    now: datetime,
) -> list[Record]:
    """For each target (a role, or a person by Entra object id), once: a 1:1 card
    (``alert_render``) and, with a ``feed_render``, the bell in Teams titled ``title``."""
    out: list[Record] = []
    for target in dict.fromkeys(targets):
        to_role = role_of(target) is not None
        direct = Delivery.DIRECT_TO_ROLE if to_role else Delivery.DIRECT
        out.append(message(direct, target, subject, alert_render, now))
        if feed_render is not None:
            feed = Delivery.FEED_TO_ROLE if to_role else Delivery.FEED
            out.append(message(feed, target, subject, feed_render, now, x_title=title))
    return out


def urgent_targets(now: datetime, school: SchoolPolicy) -> tuple[str, ...]:
    """Who an urgent item goes to at ``now``: whoever is on call."""
    return on_call_at(now, school).who or LAST_RESORT


def urgent_messages(
    subject: str,
    school: SchoolPolicy,
    *,
    alert_render: str,
    feed_render: str,
    title: str,
    now: datetime,
) -> list[Record]:
    """The outbox messages that put ``subject`` in front of whoever is on call at ``now``."""
    return direct_alerts(
        urgent_targets(now, school),
        subject,
        alert_render=alert_render,
        feed_render=feed_render,
        title=title,
        now=now,
    )


def named_on_call(
    person_id: str, roles: Iterable[Role], at: datetime, school: SchoolPolicy
) -> bool:
    """Whether the cover at ``at`` names this person (by id, or by one of their roles)."""
    held = {r.value for r in roles}
    return any(t == person_id or t in held for t in urgent_targets(at, school))
