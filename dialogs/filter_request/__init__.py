"""Staff request a temporary web-filter exception; IT (and, for sensitive topics, the DSL or
online safety lead) decide in channel; IT applies it; at the end date IT re-blocks it.

Every request, decision, application and re-block is a line in the request's history and in
the audit log: together they are the filtering change log (001 §7.3, 002 §2.1).

The package, one job a module: ``kinds`` (the stored kind and codec), ``form`` (the request
form), ``base`` (where cards go, the period's dates), ``requesting``, ``decisions``, ``period``
(the timers), ``change_log`` and ``renderers``; ``FilterHandlers`` puts them together.
Everything public is re-exported here.
"""

from __future__ import annotations

from dialogs.feature import Deps, Feature
from dialogs.filter_request.base import FilterBase, Loaded, new_request_records, request_channels
from dialogs.filter_request.change_log import ChangeLogHandlers, filter_log_csv
from dialogs.filter_request.decisions import DecisionHandlers
from dialogs.filter_request.form import Submitted, validate_request
from dialogs.filter_request.kinds import (
    CODEC,
    KIND,
    PERIOD_END,
    PERIOD_START,
    decode,
    encode,
    subject_of,
)
from dialogs.filter_request.period import PeriodHandlers
from dialogs.filter_request.renderers import FilterRenderers
from dialogs.filter_request.requesting import RequestHandlers
from policy.actions import Verb

__all__ = [
    "CODEC",
    "KIND",
    "PERIOD_END",
    "PERIOD_START",
    "ChangeLogHandlers",
    "DecisionHandlers",
    "FilterBase",
    "FilterHandlers",
    "FilterRenderers",
    "Loaded",
    "PeriodHandlers",
    "RequestHandlers",
    "Submitted",
    "decode",
    "encode",
    "feature",
    "filter_log_csv",
    "new_request_records",
    "request_channels",
    "subject_of",
    "validate_request",
]


class FilterHandlers(
    RequestHandlers, DecisionHandlers, PeriodHandlers, ChangeLogHandlers, FilterRenderers
):
    """The filter-exception feature."""


def feature(deps: Deps) -> Feature:
    """The filter-exception feature."""
    h = FilterHandlers(deps)
    return Feature(
        routes={
            Verb.REQUEST_FILTER_CHANGE: h.start,
            Verb.FILTER_SUBMIT: h.submit,
            Verb.FILTER_APPROVE: h.approve,
            Verb.FILTER_REJECT: h.reject,
            Verb.FILTER_ASK: h.ask,
            Verb.FILTER_ANSWER: h.answer,
            Verb.FILTER_APPLIED: h.applied,
            Verb.FILTER_REBLOCKED: h.reblocked,
            Verb.FILTER_LOG: h.log,
        },
        renderers={
            "filter.request": h.render_request,
            "filter.apply": h.render_apply,
            "filter.reblock": h.render_reblock,
            "filter.reblock_reminder": h.render_reminder,
            "filter.reblock_overdue": h.render_overdue,
            "filter.question": h.render_question,
            "filter.decision": h.render_decision,
            "filter.refused": h.render_refused,
            "filter.now_allowed": h.render_now_allowed,
            "filter.new_technology": h.render_new_technology,
        },
        timers={PERIOD_END: h.on_period_end, PERIOD_START: h.on_period_start},
    )
