"""Making a web-filter request: reading and checking the form, and a new request's records and
where its cards go. A leaf shared by the filter feature (the request form) and the over-blocking
feature (IT's "Request an exception from this"), so that neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import partial
from typing import Any

from cards.filter import LIMITS
from dialogs.codec import text_field
from dialogs.feature import Deps
from dialogs.kinds.filter_request import KIND, encode, subject_of
from dialogs.outbox import Delivery, message
from dialogs.ports import Record
from policy.filter_scope import ExceptionScope, is_new_technology, parse_scope, scope_problems
from policy.filtering import (
    AUDIENCES,
    BLOCKED_CATEGORIES,
    FilterRequest,
    approver_channels,
    is_sensitive,
    period_problems,
    reason_problem,
)
from policy.school_filtering import Filtering
from policy.weblinks import BadLink, normalise_url

#: A checked request form: the request as asked, made someone's by calling it with its reference,
#: requester and time (``ref``, ``requester_id``, ``requester_name``, ``created_at``; made for
#: someone else, also ``from_report`` and ``entered_by_name``). What a request holds is
#: ``policy.filtering.FilterRequest``'s, never repeated here.
Submitted = partial[FilterRequest]


#: The filter request form's inputs.
_FIELDS = (
    "site",
    "blocked_category",
    "audience",
    "audience_detail",
    "reason",
    "topic",
    "start",
    "end",
    "supervised",
    "age_appropriate",
    "scope",
    "scope_reason",
)


def validate_request(
    data: Mapping[str, Any], today: date, deps: Deps
) -> tuple[dict[str, str], dict[str, str], Submitted | None]:
    """Check a submitted request. Returns (values to re-show, problems by field, result)."""
    rules = deps.school.filtering
    values = {k: text_field(data, k) for k in _FIELDS}
    # A form sent before scopes existed has none: the page asked for (never more).
    values["scope"] = values["scope"] or ExceptionScope.PAGE.value
    scope = parse_scope(values["scope"])
    problems: dict[str, str] = {}
    _check_site(values, scope, problems)
    if values["blocked_category"] not in BLOCKED_CATEGORIES:
        values["blocked_category"] = "unknown"
    _check_words(values, problems)
    dates = _check_dates(values, today, rules, problems)
    for key in ("supervised", "age_appropriate"):
        if values[key] not in {"yes", "no"}:
            problems[key] = "Answer yes or no."
    if problems:
        return values, problems, None
    return (
        values,
        problems,
        partial(
            FilterRequest,
            site=values["site"],
            blocked_category=values["blocked_category"],
            audience=values["audience"],
            audience_detail=values["audience_detail"],
            reason=values["reason"],
            topic=values["topic"],
            start=dates["start"],
            end=dates["end"],
            supervised=values["supervised"] == "yes",
            age_appropriate=values["age_appropriate"] == "yes",
            sensitive=is_sensitive(values["blocked_category"], rules),
            scope=scope or ExceptionScope.PAGE,
            scope_reason=values["scope_reason"] if scope is ExceptionScope.SITE else "",
        ),
    )


def _check_site(
    values: dict[str, str], scope: ExceptionScope | None, problems: dict[str, str]
) -> None:
    """The site asked for, as a public address (``values`` gets it normalised), and what the
    scope asked for says about it; its problems added to ``problems``."""
    try:
        values["site"] = normalise_url(values["site"], require_public=True)
    except BadLink as exc:
        problems["site"] = str(exc)
    else:
        problems.update(scope_problems(values["site"], scope, values["scope_reason"]))


def _check_words(values: dict[str, str], problems: dict[str, str]) -> None:
    """Who needs access, the lengths, the reason and the topic; problems added to
    ``problems``."""
    if values["audience"] not in AUDIENCES:
        problems["audience"] = "Say who needs access."
    elif values["audience"] != "staff_only" and not values["audience_detail"]:
        problems["audience_detail"] = "Say which class, year group or pupils."
    for key, limit in LIMITS.items():
        if key in values and len(values[key]) > limit:
            problems[key] = f"Please keep this under {limit} characters."
    if "reason" not in problems and (why := reason_problem(values["reason"])):
        problems["reason"] = why
    if not values["topic"]:
        problems["topic"] = "Give the lesson or topic."


def _check_dates(
    values: dict[str, str], today: date, rules: Filtering, problems: dict[str, str]
) -> dict[str, date]:
    """The period's start and end dates read (each that is one), their problems and the
    period's added to ``problems``."""
    dates: dict[str, date] = {}
    for key in ("start", "end"):
        try:
            dates[key] = date.fromisoformat(values[key])
        except ValueError:
            problems[key] = "Give a date."
    if len(dates) == 2:
        problems.update(period_problems(dates["start"], dates["end"], today, rules))
    return dates


def request_channels(request: FilterRequest, deps: Deps) -> list[str]:
    """Where a request's card goes: the channel of each approval it needs (IT, and for a
    sensitive topic the reason approver's, ``policy.filtering.approvers``)."""
    return approver_channels(request, deps.school.channels)


def new_request_records(request: FilterRequest, deps: Deps, now: datetime) -> list[Record]:
    """A new (pending) request's record and what it owes: its cards for the deciders and, for
    an AI tool or chatbot, the DSL channel's note about the review (issue 21)."""
    subject = subject_of(request.ref)
    out = [Record(KIND, request.ref, 1, encode(request))]
    out += [
        message(Delivery.CHANNEL_POST, channel, subject, "filter.request", now)
        for channel in request_channels(request, deps)
    ]
    if is_new_technology(request.blocked_category):
        dsl_channel = deps.school.channels.dsl_channel_id
        out.append(
            message(Delivery.CHANNEL_NOTE, dsl_channel, subject, "filter.new_technology", now)
        )
    return out
