"""Staff report an online-safety concern; the right people get it at once; handlers act on it.

Reporting: a two-step card (what kind, then the details for that kind), validated here again
whatever the card enforced; the concern, its outbox messages and its reminder timer are saved
in one atomic change before the reporter is told "received". Handling: every click reloads the
concern by id, checks the clicker's roles against this concern (never card data), its state and
the card's version, then makes one transition, audited, and updates the channel card for all.
"""

from __future__ import annotations

from dialogs.concern.base import ConcernBase
from dialogs.concern.clicks import Clicks
from dialogs.concern.closing import Closing
from dialogs.concern.escalation import Escalation
from dialogs.concern.renderers import Renderers
from dialogs.concern.reporting import (
    NOT_SAVED,
    OVERBLOCK_STATUS_FOR_REPORTER,
    PREFILLED,
    Reporting,
    validate_report,
)
from dialogs.feature import Deps, Feature
from dialogs.kinds.concern import (
    BOT_ID,
    BOT_NAME,
    CODEC,
    KIND,
    LADO_CLOCK,
    UNACKNOWLEDGED,
    Loaded,
    decode,
    encode,
    subject_of,
)
from policy.actions import Verb

__all__ = [
    "BOT_ID",
    "BOT_NAME",
    "CODEC",
    "KIND",
    "LADO_CLOCK",
    "NOT_SAVED",
    "OVERBLOCK_STATUS_FOR_REPORTER",
    "PREFILLED",
    "UNACKNOWLEDGED",
    "ConcernBase",
    "ConcernHandlers",
    "Loaded",
    "decode",
    "encode",
    "feature",
    "subject_of",
    "validate_report",
]


class ConcernHandlers(Reporting, Clicks, Closing, Escalation, Renderers):
    """The concern feature's verb handlers, renderers and timers: reporting
    (``reporting``), clicks (``clicks``), closing (``closing``), reminders, escalation and the
    LADO clock (``escalation``) and outbox messages (``renderers``), over one shared base
    (``base``)."""


def feature(deps: Deps) -> Feature:
    """The concern feature: routes, typed phrases, renderers and the reminder timer."""
    h = ConcernHandlers(deps)
    return Feature(
        routes={
            Verb.REPORT_CONCERN: h.start,
            Verb.CONCERN_SUBMIT: h.submit,
            Verb.MY_REPORTS: h.my_reports,
            Verb.CONCERN_OPEN: h.open,
            Verb.CONCERN_ACKNOWLEDGE: h.acknowledge,
            Verb.CONCERN_ACTION: h.action,
            Verb.CONCERN_NOTE: h.note,
            Verb.CONCERN_ASSESS: h.assessment,
            Verb.CONCERN_CLOSE: h.close,
            Verb.CONCERN_PROPOSE_CLOSE: h.propose_close,
            Verb.CONCERN_CONFIRM_CLOSE: h.confirm_close,
            Verb.CONCERN_SEND_BACK: h.send_back_close,
        },
        phrases=[
            (r"\bmy reports?\b", Verb.MY_REPORTS),
            (r"^report\b|\breport (a|an) (concern|incident)\b|\bconcern\b", Verb.REPORT_CONCERN),
        ],
        renderers={
            "concern.channel": h.render_channel,
            "concern.it": h.render_it,
            "concern.alert": h.render_alert,
            "concern.feed": h.render_feed,
            "concern.private": h.render_private,
            "concern.reminder": h.render_reminder,
            "concern.nudge": h.render_nudge,
            "concern.closed": h.render_closed,
            "concern.lado": h.render_lado,
            "concern.closure_proposed": h.render_closure_proposed,
        },
        timers={UNACKNOWLEDGED: h.on_unacknowledged, LADO_CLOCK: h.on_lado_clock},
    )
