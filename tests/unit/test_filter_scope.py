"""An exception allows exactly what was asked: a page, a path or (with a reason) the whole site;
old requests stored with a host only stay whole-site (issue 21)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from cards.filter import apply_task, filter_form
from dialogs.filter_request import CODEC
from dialogs.ports import Record
from policy.filter_scope import (
    ExceptionScope,
    is_new_technology,
    rule_text,
    scope_problems,
    scope_target,
)
from policy.filtering import FilterRequest, FilterStatus, mark_applied
from policy.roles import Person, Role
from tests.support import assert_valid_card, visible_text

AT = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
FRANK = "https://www.talktofrank.com/drugs-a-z"


def request(scope: ExceptionScope, reason: str = "", site: str = FRANK) -> FilterRequest:
    return FilterRequest(
        ref="FLT-2026-0001",
        requester_id="teacher",
        requester_name="Teacher",
        created_at=AT,
        site=site,
        blocked_category="drugs",
        audience="class",
        audience_detail="10B",
        reason="Pupils will compare the facts about drugs for the PSHE unit on risk.",
        topic="PSHE",
        start=date(2026, 12, 7),
        end=date(2026, 12, 11),
        supervised=True,
        age_appropriate=True,
        sensitive=True,
        status=FilterStatus.APPROVED,
        scope=scope,
        scope_reason=reason,
    )


@pytest.mark.parametrize(
    ("scope", "reason", "rule"),
    [
        (ExceptionScope.PAGE, "", "Allow exactly: www.talktofrank.com/drugs-a-z"),
        (ExceptionScope.PATH, "", "Allow path: www.talktofrank.com/drugs-a-z/*"),
        (
            ExceptionScope.SITE,
            "links across the site",
            "Allow whole site: www.talktofrank.com (reason: links across the site)",
        ),
    ],
)
def test_the_rule_is_exactly_the_scope_asked_for(
    scope: ExceptionScope, reason: str, rule: str
) -> None:
    assert rule_text(FRANK, scope, reason) == rule


def test_a_page_keeps_its_query_and_a_path_ending_in_a_slash_is_not_doubled() -> None:
    assert scope_target("https://a.example/p?q=1", ExceptionScope.PAGE) == "a.example/p?q=1"
    assert scope_target("https://a.example/docs/", ExceptionScope.PATH) == "a.example/docs/*"


@pytest.mark.parametrize(
    ("url", "scope", "reason", "field"),
    [
        (FRANK, ExceptionScope.SITE, "", "scope_reason"),
        (FRANK, ExceptionScope.SITE, "x" * 301, "scope_reason"),
        ("https://www.talktofrank.com/", ExceptionScope.PATH, "", "scope"),
        (FRANK, None, "", "scope"),
    ],
)
def test_a_whole_site_needs_a_reason_and_a_path_needs_a_path(
    url: str, scope: ExceptionScope | None, reason: str, field: str
) -> None:
    assert field in scope_problems(url, scope, reason)


def test_a_page_or_a_path_needs_no_reason() -> None:
    assert scope_problems(FRANK, ExceptionScope.PAGE, "") == {}
    assert scope_problems(FRANK, ExceptionScope.PATH, "") == {}


def test_a_request_stored_before_scopes_existed_stays_the_whole_site() -> None:
    stored = CODEC.encode(request(ExceptionScope.PAGE))
    del stored["scope"], stored["scope_reason"], stored["from_report"], stored["entered_by_name"]

    old = CODEC.decode(Record("filter_request", "FLT-2026-0001", 3, stored))

    assert old.scope is ExceptionScope.SITE
    assert old.rule == "Allow whole site: www.talktofrank.com"


def test_it_applying_a_path_exception_logs_the_path_rule_not_the_site() -> None:
    it = Person("it", "Nadia Khan", frozenset({Role.IT, Role.STAFF}))

    applied = mark_applied(request(ExceptionScope.PATH), it, AT)

    assert applied.history[-1].detail == "Allow path: www.talktofrank.com/drugs-a-z/*"


@pytest.mark.parametrize("scope", list(ExceptionScope))
def test_its_apply_task_shows_the_exact_rule(scope: ExceptionScope) -> None:
    task = apply_task(request(scope, "pupils follow links across the site"), version=2)

    assert_valid_card(task)
    text = visible_text(task)
    assert rule_text(FRANK, scope, "pupils follow links across the site") in text
    if scope is not ExceptionScope.SITE:
        assert "Allow whole site" not in text
        assert "don't allow the rest" in text


def test_the_form_offers_the_scope_with_the_page_by_default() -> None:
    form = filter_form(load_school_policy(DEFAULT_SCHOOL_CONFIG), form_id="f")

    assert_valid_card(form)
    [choice] = [e for e in form["body"] if e.get("id") == "scope"]
    assert choice["value"] == "page"
    assert [c["value"] for c in choice["choices"]] == ["page", "path", "site"]


def test_an_ai_tool_or_chatbot_is_new_technology() -> None:
    assert is_new_technology("ai_chatbot")
    assert not is_new_technology("games")
