"""Exceptions that are exactly what was asked (issue 21), through the use-case layer: the scope
travels from the form to IT's task and the change log; "now allowed" waits for the period to
start; an AI tool or chatbot request tells the DSL about the review."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.dialogs.conftest import School
from tests.dialogs.test_filter_request import GAME_REASON, it_card, records, request_change
from tests.support import (
    DSL,
    DSL_CHANNEL,
    IT,
    IT_CHANNEL,
    TEACHER,
    assert_valid_card,
    click_button,
    dm,
    visible_text,
)

FRANK = "https://www.talktofrank.com/drugs-a-z"


async def approve_and_apply(s: School, **changes: str) -> dict[str, Any]:
    """A plain (games) request approved and applied by IT; IT's task as it then shows."""
    await request_change(s, blocked_category="games", reason=GAME_REASON, **changes)
    await click_button(s, IT, await it_card(s), "filter.approve")
    await s.settle()
    task = s.messenger.latest(IT_CHANNEL, "Apply: allow")
    await click_button(s, IT, task, "filter.applied")
    await s.settle()
    return task


@pytest.mark.parametrize(
    ("scope", "extra", "rule"),
    [
        ("page", {}, "Allow exactly: www.talktofrank.com/drugs-a-z"),
        ("path", {}, "Allow path: www.talktofrank.com/drugs-a-z/*"),
        (
            "site",
            {"scope_reason": "Pupils follow its links across the whole site"},
            "Allow whole site: www.talktofrank.com (reason: Pupils follow its links across "
            "the whole site)",
        ),
    ],
)
async def test_its_task_and_the_change_log_show_exactly_the_scope_asked_for(
    school: School, scope: str, extra: dict[str, str], rule: str
) -> None:
    task = await approve_and_apply(school, site=FRANK, scope=scope, **extra)

    assert_valid_card(task)
    assert rule in visible_text(task)
    if scope != "site":
        assert "Allow whole site" not in visible_text(task)
    await school.click(IT, "filter.log")
    [content] = school.exports.files.values()
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    applied = [r for r in rows if r["event"] == "applied"]
    assert [(r["detail"], r["exception_scope"], r["exception_rule"]) for r in applied] == [
        (rule, scope, rule)
    ]


async def test_a_form_without_a_scope_is_the_page_never_the_whole_site(school: School) -> None:
    await request_change(school, site=FRANK)  # a form sent before the scope was on it

    [record] = await records(school)
    assert record.data["scope"] == "page"


async def test_the_whole_site_without_a_reason_is_sent_back_and_nothing_is_saved(
    school: School,
) -> None:
    card = await request_change(school, site=FRANK, scope="site")
    await school.settle()

    body = card["body"]
    index = next(i for i, e in enumerate(body) if e.get("id") == "scope_reason")
    assert "Say why the whole site is needed" in body[index + 1]["text"]
    assert await records(school) == []
    assert school.messenger.posted == []


async def test_now_allowed_waits_for_the_period_to_start(school: School) -> None:
    # Sunday 6 December: IT applies an exception for a period starting Monday 7 December.
    school.clock.at = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    await approve_and_apply(school, start="2026-12-07", end="2026-12-11")

    news = [visible_text(c) for c in school.messenger.cards(dm(TEACHER))]
    assert len(news) == 1 and "Approved" in news[0]  # and nothing says "now allowed" yet

    school.clock.at = datetime(2026, 12, 7, 7, 29, tzinfo=UTC)
    await school.settle()
    assert not any("Now allowed" in visible_text(c) for c in school.messenger.cards(dm(TEACHER)))

    school.clock.at = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)  # the school's now_allowed_at
    await school.settle()
    told = school.messenger.cards(dm(TEACHER))[-1]
    assert "Now allowed: FLT-2026-0001" in visible_text(told)
    assert "www.history-of-hate.example/propaganda" in visible_text(told)
    school.clock.at = datetime(2026, 12, 8, 7, 30, tzinfo=UTC)
    await school.settle()
    assert sum("Now allowed" in visible_text(c) for c in school.messenger.cards(dm(TEACHER))) == 1


async def test_applied_on_the_first_day_tells_the_teacher_at_once(school: School) -> None:
    await approve_and_apply(school)  # Monday 23 November, the period's first day, 10:00

    assert "Now allowed" in visible_text(school.messenger.cards(dm(TEACHER))[-1])


async def test_reblocked_before_the_start_never_says_now_allowed(school: School) -> None:
    school.clock.at = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    await approve_and_apply(school, start="2026-12-07", end="2026-12-11")
    [record] = await records(school)
    await school.act(
        IT,
        "filter.reblocked",
        {"ref": "FLT-2026-0001", "ver": record.version},
        scope="channel",
        conversation_id=IT_CHANNEL,
    )

    school.clock.at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    await school.settle()

    news = [visible_text(c) for c in school.messenger.cards(dm(TEACHER))]
    assert not any("Now allowed" in n for n in news)
    assert "Access ended" in news[-1]


async def test_an_ai_tool_request_tells_the_dsl_the_review_should_be_revisited(
    school: School,
) -> None:
    await request_change(
        school,
        site="https://chat.example-ai.com/",
        blocked_category="ai_chatbot",
        reason="Year 10 will compare chatbot answers with their sources for the media unit.",
    )
    await school.settle()

    notes = school.messenger.texts(DSL_CHANNEL) + [
        visible_text(c) for c in school.messenger.cards(DSL_CHANNEL)
    ]
    [note] = [n for n in notes if "new technology" in n]
    assert "FLT-2026-0001" in note and "DfE filtering and monitoring standards" in note
    assert school.messenger.cards(dm(DSL)) == []
