"""Cards for staff concern reports and for the people who handle them.

What each audience sees is decided here, by design:
- the DSL channel card shows only the reference, category, urgency, status, year group and who
  is handling it: never a child's name, the description or the URL, in the card or its data;
- the IT channel card for a filtering breach shows the site, time and device group only;
- the full detail appears only to an authorised viewer who clicks Open (the invoke response
  replaces the card for that viewer alone) or in a 1:1 card to the right person.

The cards live in three modules along those audiences: ``form`` (reporting: the category
picker, the form, "received", "My reports"), ``channel`` (the channel and IT cards, 1:1 alerts,
reminders, the outcome notice) and ``detail`` (the full detail and its handling actions).
"""

from __future__ import annotations

from cards.concern.channel import (
    MAX_DETAIL_VIEWERS,
    alert_card,
    channel_card,
    closed_notice,
    it_breach_card,
    keep_detail_open,
    reminder_card,
    stale_card_note,
    teams_user_id,
)
from cards.concern.detail import detail_card, handling_actions
from cards.concern.form import (
    EMERGENCY,
    GROUP_NAMES,
    IMAGERY_RULE,
    LIMITS,
    NO_FILES,
    STATUS_WORDS,
    category_label,
    category_picker,
    concern_form,
    my_reports_card,
    received_card,
)

__all__ = [
    "EMERGENCY",
    "GROUP_NAMES",
    "IMAGERY_RULE",
    "LIMITS",
    "MAX_DETAIL_VIEWERS",
    "NO_FILES",
    "STATUS_WORDS",
    "alert_card",
    "category_label",
    "category_picker",
    "channel_card",
    "closed_notice",
    "concern_form",
    "detail_card",
    "handling_actions",
    "it_breach_card",
    "keep_detail_open",
    "my_reports_card",
    "received_card",
    "reminder_card",
    "stale_card_note",
    "teams_user_id",
]
