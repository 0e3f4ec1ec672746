"""Monitoring alerts into the DSL's hands, and staff notices of sensitive lessons (issue 21).

An alert arrives from the school's monitoring system (``bot/app.py`` checks the provider's
signature and the body's size first; ``receive`` checks the format). It becomes one item for
the DSL: a card in the DSL channel without the child's name, the detail on "Open" for the DSL
and deputies only. Identical alerts (same pupil, category and provider) inside the school's
window are counted on the first one's card, which is updated through the outbox (one pending
update at a time, however many alerts arrive). The highest severities take the urgent path
(``dialogs.urgent``), as urgent concerns do. The DSL's clicks (false positive, monitor, contact
pupil, escalate to a concern) go through ``dialogs.handling.decide``.

A teacher's notice of a sensitive lesson goes to the DSL and IT channels; alerts during that
lesson, for that class and topic, say so on their card.

The package, by seam: ``receiving``, ``clicks``, ``notices``, ``renderers``, ``export`` (CSV for
the review pack), over ``base``.
"""

from __future__ import annotations

from dialogs.feature import Deps, Feature
from dialogs.kinds.monitoring import BURST_KIND, KIND, NONCE_KIND, NOTICE_KIND
from dialogs.monitoring.base import (
    RENDER_CHANNEL,
    RENDER_FEED,
    RENDER_NOTICE,
    RENDER_URGENT,
    SAVE_TRIES,
    UNHANDLED,
    Loaded,
    MonitoringBase,
    Received,
)
from dialogs.monitoring.clicks import Clicks
from dialogs.monitoring.export import ALERT_COLUMNS, NOTICE_COLUMNS, alerts_csv, notices_csv
from dialogs.monitoring.notices import Notices
from dialogs.monitoring.receiving import Receiving
from dialogs.monitoring.renderers import Renderers
from policy.actions import Verb

__all__ = [
    "ALERT_COLUMNS",
    "BURST_KIND",
    "KIND",
    "NONCE_KIND",
    "NOTICE_COLUMNS",
    "NOTICE_KIND",
    "RENDER_CHANNEL",
    "RENDER_FEED",
    "RENDER_NOTICE",
    "RENDER_URGENT",
    "SAVE_TRIES",
    "UNHANDLED",
    "Loaded",
    "MonitoringBase",
    "MonitoringHandlers",
    "Received",
    "alerts_csv",
    "feature",
    "notices_csv",
]


class MonitoringHandlers(Receiving, Clicks, Notices, Renderers):
    """Alerts in (``receiving``), the DSL's decisions on them (``clicks``), lesson notices
    (``notices``) and the outbox messages (``renderers``), over one shared base (``base``)."""


def feature(deps: Deps) -> Feature:
    """The monitoring feature: routes, the typed phrase and renderers (the web route for
    alerts, ``bot/app.py``, calls ``MonitoringHandlers.receive``)."""
    h = MonitoringHandlers(deps)
    return Feature(
        routes={
            Verb.ALERT_OPEN: h.open,
            Verb.ALERT_FALSE_POSITIVE: h.false_positive,
            Verb.ALERT_MONITOR: h.monitor,
            Verb.ALERT_CONTACT: h.contact,
            Verb.ALERT_ESCALATE: h.escalate,
            Verb.LESSON_NOTICE: h.notice_start,
            Verb.LESSON_NOTICE_SUBMIT: h.notice_submit,
        },
        phrases=[(r"\bsensitive lesson\b", Verb.LESSON_NOTICE)],
        renderers={
            RENDER_CHANNEL: h.render_channel,
            RENDER_URGENT: h.render_urgent,
            RENDER_FEED: h.render_feed,
            RENDER_NOTICE: h.render_notice,
        },
        timers={UNHANDLED: h.on_unhandled},
    )
