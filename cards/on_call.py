"""What the DSL channel card shows of out-of-hours cover: who has been tried, and when."""

from __future__ import annotations

from microsoft_teams.cards import CardElement

from cards.common import para, safe_text
from policy.concerns import Concern, ConcernStatus
from policy.on_call import tried
from policy.school import SchoolPolicy


def tried_line(concern: Concern, school: SchoolPolicy) -> list[CardElement]:
    """ "Alerted directly: Tom Hughes 19:02, Fiona Blake 19:17" (school time), once anyone has
    been alerted out of hours or the concern has climbed the chain; nothing otherwise."""
    sent = tried(concern)
    if not sent:
        return []
    shown = ", ".join(
        f"{safe_text(names, limit=200)} {at.astimezone(school.zone):%H:%M}" for at, names in sent
    )
    waiting = " Not acknowledged yet." if concern.status is ConcernStatus.NEW else ""
    return [para(f"Alerted directly: {shown}.{waiting}")]
