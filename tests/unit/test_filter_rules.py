"""The filter-exception rules, without Teams: who may decide, what is never lifted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from policy.filtering import (
    FilterRequest,
    FilterRuleBroken,
    FilterStatus,
    approve,
    never_unblockable,
    period_problems,
    reason_problem,
)
from policy.roles import Person, Role
from policy.school import Filtering

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def person(pid: str, *roles: Role) -> Person:
    return Person(pid, pid.title(), frozenset({*roles, Role.STAFF}))


def request(*, sensitive: bool) -> FilterRequest:
    return FilterRequest(
        ref="FLT-2026-0001",
        requester_id="teacher",
        requester_name="Teacher",
        created_at=AT,
        site="https://example.org/",
        blocked_category="extremism" if sensitive else "games",
        audience="class",
        audience_detail="10B",
        reason="A real educational reason for this lesson",
        topic="Topic",
        start=date(2026, 11, 23),
        end=date(2026, 11, 27),
        supervised=True,
        age_appropriate=True,
        sensitive=sensitive,
    )


def test_one_person_holding_both_roles_cannot_give_both_approvals() -> None:
    both = person("both", Role.IT, Role.ONLINE_SAFETY_LEAD)
    first = approve(request(sensitive=True), both, AT)

    assert first.reason_approval is not None and first.change_approval is None
    with pytest.raises(FilterRuleBroken, match="a second person must decide"):
        approve(first, both, AT)
    done = approve(first, person("it", Role.IT), AT)
    assert done.status is FilterStatus.APPROVED


def test_a_plain_request_needs_only_it() -> None:
    with pytest.raises(FilterRuleBroken, match="your role cannot decide this request"):
        approve(request(sensitive=False), person("dsl", Role.DSL), AT)
    assert (
        approve(request(sensitive=False), person("it", Role.IT), AT).status is FilterStatus.APPROVED
    )


def test_it_alone_cannot_complete_a_sensitive_request() -> None:
    after_it = approve(request(sensitive=True), person("it", Role.IT), AT)
    assert after_it.status is FilterStatus.PENDING
    with pytest.raises(FilterRuleBroken, match="already approved"):
        approve(after_it, person("it", Role.IT), AT)
    with pytest.raises(FilterRuleBroken, match="from the DSL or online safety lead"):
        approve(after_it, person("it2", Role.IT), AT)


def test_decisions_on_a_closed_request_are_refused() -> None:
    closed = replace(request(sensitive=False), status=FilterStatus.REJECTED)
    with pytest.raises(FilterRuleBroken, match="already rejected"):
        approve(closed, person("it", Role.IT), AT)


@pytest.mark.parametrize(
    ("host", "category", "refused"),
    [
        ("anything.example", "iwf_child_abuse", True),
        ("anything.example", "police_terrorism", True),
        ("bad.example", "unknown", True),
        ("www.bad.example", "unknown", True),
        ("notbad.example", "unknown", False),
        ("good.example", "extremism", False),
    ],
)
def test_never_unblockable(host: str, category: str, refused: bool) -> None:
    rules = Filtering(deny_domains=("bad.example",))
    assert (never_unblockable(host, category, rules) is not None) is refused


@pytest.mark.parametrize(
    ("reason", "ok"),
    [
        ("research", False),
        ("Research for the lesson project", False),
        ("Pupils compare two news sites' reporting of the same election", True),
    ],
)
def test_reasons_must_be_real_sentences(reason: str, ok: bool) -> None:
    assert (reason_problem(reason) is None) is ok


def test_period_rules_use_the_configured_longest_period() -> None:
    today = date(2026, 11, 23)
    assert period_problems(today, date(2026, 12, 7), today, Filtering()) == {}
    assert "end" in period_problems(today, date(2026, 12, 8), today, Filtering())
    assert period_problems(today, date(2026, 12, 8), today, Filtering(max_exception_days=30)) == {}
