"""Cards and documents for the records the school must show: open items, the incident log, a
concern's chronology and the governors' report.

What each audience sees is decided here, by design:
- the open-items and incident-log cards may be shown in the DSL channel, so they carry no
  names and nothing anyone wrote: references, categories, urgency, year group, status, times;
- names and free text appear only in the incident-log CSV and the chronology document, which
  are offered as download links to the (role-checked) person who asked, in a 1:1 chat;
- the governors' report card and document hold only suppressed counts and medians
  (``policy.reporting``).

The documents are plain HTML built with the standard library, every value escaped with
``html.escape``; they print cleanly (A4, no page furniture).

The package, by audience: ``lists`` (open items, the incident log), ``downloads`` (the
chronology and governors' report cards), ``documents`` (the HTML).
"""

from __future__ import annotations

from cards.reports.documents import chronology_html, governors_html
from cards.reports.downloads import (
    chronology_ready_card,
    chronology_request_card,
    governors_period_card,
    governors_report_card,
)
from cards.reports.lists import (
    DOWNLOAD_NOTE,
    MAX_OPEN_ITEMS,
    IncidentSummary,
    OpenItem,
    incident_log_card,
    incident_range_card,
    open_items_card,
)

__all__ = [
    "DOWNLOAD_NOTE",
    "MAX_OPEN_ITEMS",
    "IncidentSummary",
    "OpenItem",
    "chronology_html",
    "chronology_ready_card",
    "chronology_request_card",
    "governors_html",
    "governors_period_card",
    "governors_report_card",
    "incident_log_card",
    "incident_range_card",
    "open_items_card",
]
