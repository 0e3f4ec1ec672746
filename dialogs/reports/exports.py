"""The records as files: the incident-log CSV (named, for the DSL only), the sites allowed now
and the never-unblockable list (for the review pack).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cards.concern import GROUP_NAMES
from cards.filter import request_cells
from dialogs.reports.reading import (
    category_of,
)
from policy.clauses import cite
from policy.closure import sends_back
from policy.concerns import ACTIONS, OUTCOMES, Concern, ConcernStatus
from policy.filtering import (
    BLOCKED_CATEGORIES,
    CHANGE_APPROVER,
    FilterRequest,
    FilterStatus,
    reason_approver,
)
from policy.handoff import handoffs_of
from policy.on_call import in_contact_hours, steps_taken, tried
from policy.reporting import (
    hours_text,
    time_to_acknowledge,
    time_to_close,
)
from policy.school import SchoolPolicy
from policy.text import csv_text

#: Columns of the incident-log CSV (the named ones last).
INCIDENT_COLUMNS = (
    "reference",
    "source",
    "reported_at",
    "happened_on",
    "category",
    "kcsie_group",
    "urgency",
    "year_group",
    "status",
    "acknowledged_at",
    "closed_at",
    "actions_taken",
    "outcome",
    "hours_to_acknowledge",
    "hours_to_close",
    "reported_out_of_hours",
    "escalation_steps",
    "handed_off_to",
    "reported_by",
    "handled_by",
    "involved",
    "tried",
    # ----- Closing safely (issue 20) -----
    "closure_reason",
    "closure_proposed_by",
    "closure_confirmed_by",
    "closures_sent_back",
)

#: Filter-request statuses in which the site is allowed right now.
ALLOWED_NOW = frozenset({FilterStatus.APPLIED, FilterStatus.REBLOCK_DUE})


def _iso(at: datetime | None, school: SchoolPolicy) -> str:
    return "" if at is None else at.astimezone(school.zone).isoformat(timespec="minutes")


def incident_log_csv(concerns: Sequence[Concern], school: SchoolPolicy) -> str:
    """The incident log as CSV, one row per concern, oldest first (named data: DSL only).

    Columns: see ``INCIDENT_COLUMNS``. Times are school time; hours to acknowledge and to
    close have two decimals and are empty while that has not happened.
    """
    return csv_text(
        INCIDENT_COLUMNS,
        (
            _incident_row(concern, school)
            for concern in sorted(concerns, key=lambda c: (c.created_at, c.ref))
        ),
    )


def _incident_row(concern: Concern, school: SchoolPolicy) -> tuple[str, ...]:
    category = category_of(school, concern)
    return (
        concern.ref,
        concern.source.value,
        _iso(concern.created_at, school),
        concern.happened_on,
        category.label,
        GROUP_NAMES[category.group],
        "urgent" if concern.urgent else "routine",
        concern.year_group,
        concern.status.value,
        _iso(concern.acknowledged_at, school),
        _iso(concern.closed_at, school),
        "; ".join(ACTIONS.get(a, a) for a in concern.actions_done),
        OUTCOMES.get(concern.outcome or "", ""),
        hours_text(time_to_acknowledge(concern)),
        hours_text(time_to_close(concern)),
        "no" if in_contact_hours(concern.created_at, school) else "yes",
        str(steps_taken(concern)),
        "; ".join(f"{system} ({_iso(at, school)})" for at, system in handoffs_of(concern)),
        concern.reporter_name,
        concern.handler_name or "",
        " ".join(concern.involved.split()),
        "; ".join(f"{names} {_iso(at, school)}" for at, names in tried(concern)),
        *closure_cells(concern),
    )


#: An open item whose closing waits for a second senior person (issue 20).
PROPOSED_WORDS = "Closure proposed: waiting for a second senior person"


def closure_cells(concern: Concern) -> tuple[str, str, str, str]:
    """The incident log's closing columns (issue 20): the reason, who proposed the closure (a
    serious concern) and who confirmed it as the second senior person, and how many times a
    proposed closure was sent back."""
    closure = concern.closure
    if closure is None:
        return ("", "", "", str(sends_back(concern)))
    second = closure.confirmed_by_id is not None
    return (
        " ".join(closure.reason.split()),
        closure.proposed_by_name if second or concern.status is not ConcernStatus.CLOSED else "",
        closure.confirmed_by_name or "",
        str(sends_back(concern)),
    )


#: Columns of the currently-allowed CSV (the review's "what is allowed").
ALLOWED_COLUMNS = (
    "reference",
    "site",
    "filter_category",
    "who_needs_access",
    "lesson_or_topic",
    "educational_reason",
    "period_start",
    "period_end",
    "status",
    "requested_by",
    "reason_approved_by",
    "change_approved_by",
    "applied_by",
    "applied_at",
    "exception_rule",
)


def currently_allowed_csv(requests: Sequence[FilterRequest], school: SchoolPolicy) -> str:
    """Sites allowed right now through an exception, and why (the review's "what is allowed").

    A site whose period has ended but which IT has not yet re-blocked is still allowed, and is
    listed with status ``reblock_due``.
    """
    allowed = sorted((r for r in requests if r.status in ALLOWED_NOW), key=lambda r: (r.end, r.ref))
    return csv_text(
        ALLOWED_COLUMNS,
        (
            (
                *request_cells(request),
                request.topic,
                request.reason,
                request.start.isoformat(),
                request.end.isoformat(),
                request.status.value,
                request.requester_name,
                request.reason_approval.by_name if request.reason_approval else "",
                request.change_approval.by_name if request.change_approval else "",
                request.applied.by_name if request.applied else "",
                _iso(request.applied.at if request.applied else None, school),
                request.rule,  # what exactly is allowed (issue 21)
            )
            for request in allowed
        ),
    )


def never_unblockable_text(school: SchoolPolicy) -> str:
    """The never-unblockable list: the categories from the school's policy file and its own
    deny-list of domains (001 §7.3, 004 "Filtering")."""
    rules = school.filtering
    lines = [
        f"Never unblockable at {school.name}",
        "",
        "These are never lifted, whoever asks and whatever the reason (001 §7.3, 004 "
        '"Filtering"). The bot refuses such a request at once, logs it and tells the DSL.',
        "",
        "Filter categories:",
        *(f"- {BLOCKED_CATEGORIES.get(c, c)} [{c}]" for c in sorted(rules.never_unblockable)),
        "",
        "The school's own never-unblock list (these domains and every subdomain):",
        *([f"- {d}" for d in rules.deny_domains] or ["- (none listed)"]),
        "",
        f"Topics that need {reason_approver().in_sentence} as well as "
        f"{CHANGE_APPROVER.in_sentence} to agree an exception:",
        *(f"- {BLOCKED_CATEGORIES.get(c, c)} [{c}]" for c in rules.sensitive_categories),
        "",
        f"The longest exception: {rules.max_exception_days} days.",
    ]
    return cite("\n".join(lines) + "\n", school.clauses)
