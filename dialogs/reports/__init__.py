"""Records the school must show: open items, the incident log, a concern's chronology and the
governors' report (issue 13), in Teams; the same builders serve ``python -m ops reports``.

Who sees what (brief, "Data": "exportable for the DSL, anonymised for governors"):
- Open items and the incident log are for the DSL and deputies only (role-checked in
  ``Router`` through ``policy.actions``). Their cards carry no names and nothing anyone wrote,
  so they may be shown in the DSL channel.
- Named data (the incident-log CSV, a chronology) is offered only in a 1:1 chat with the person
  who asked, as a short-lived download link (``Exports``): a link in a channel reply could be
  opened by anyone in the channel. Every export is audited.
- Concerns about staff (category routed to the headteacher) are never in the DSL's lists or
  log: they belong to the headteacher, or the chair of governors when about the headteacher
  (003, 004 §2). Their handler may export their chronology; the governors' report counts them.
- The governors' report is anonymised (``policy.reporting``): DSL, deputies, the headteacher
  and the chair of governors may make it, anywhere.

The package, by seam: ``reading`` (loading the records, building the governors' report),
``exports`` (the CSV and text files), ``periods`` (the periods offered), ``handlers`` (the verbs).
"""

from __future__ import annotations

from dialogs.feature import Deps, Feature
from dialogs.reports.exports import (
    ALLOWED_NOW,
    INCIDENT_COLUMNS,
    PROPOSED_WORDS,
    closure_cells,
    currently_allowed_csv,
    incident_log_csv,
    never_unblockable_text,
)
from dialogs.reports.handlers import ReportsHandlers
from dialogs.reports.periods import period_choices, period_from_choice
from dialogs.reports.reading import (
    build_governors_report,
    call_check_fact,
    category_of,
    for_the_dsl,
    load_concerns,
    load_filter_requests,
    load_overblocking_reports,
    recording_fact,
)
from policy.actions import Verb

__all__ = [
    "ALLOWED_NOW",
    "INCIDENT_COLUMNS",
    "PROPOSED_WORDS",
    "ReportsHandlers",
    "build_governors_report",
    "call_check_fact",
    "category_of",
    "closure_cells",
    "currently_allowed_csv",
    "feature",
    "for_the_dsl",
    "incident_log_csv",
    "load_concerns",
    "load_filter_requests",
    "load_overblocking_reports",
    "never_unblockable_text",
    "period_choices",
    "period_from_choice",
    "recording_fact",
]


def feature(deps: Deps) -> Feature:
    """The reports feature: open items, incident log, chronology export, governors' report."""
    h = ReportsHandlers(deps)
    return Feature(
        routes={
            Verb.OPEN_ITEMS: h.open_items,
            Verb.INCIDENT_LOG: h.incident_log,
            Verb.CONCERN_CHRONOLOGY: h.chronology,
            Verb.GOVERNORS_REPORT: h.governors,
        },
        phrases=[
            (r"\bgovernors?'?s?'? report\b", Verb.GOVERNORS_REPORT),
            (r"\bchronolog(y|ies)\b", Verb.CONCERN_CHRONOLOGY),
        ],
    )
