"""Closing a concern with too much typed (issue 20): the form says which part to shorten, the
concern stays open and the reporter is told nothing; the same for a serious concern's proposal."""

from __future__ import annotations

import pytest

from tests.dialogs.conftest import School
from tests.dialogs.test_closure import closing, opened, stored
from tests.support import DSL, TEACHER, click_button, dm, visible_text


@pytest.mark.parametrize(
    ("field", "limit", "words"),
    [("reason", 1000, "reason"), ("message", 500, "message")],
)
async def test_a_close_with_too_long_a_reason_or_message_changes_nothing(
    school: School, field: str, limit: int, words: str
) -> None:
    detail = await opened(school, "cyberbullying")
    before = await stored(school)

    shown = await click_button(
        school,
        DSL,
        detail,
        "concern.close",
        **closing(
            "cyberbullying",
            item_sanctions="not_needed",
            item_sanctions_reason="No pupil of ours was responsible",
            **{field: "x" * (limit + 1)},
        ),
    )
    await school.settle()

    assert f"Keep the {words} under {limit} characters." in visible_text(shown)
    after = await stored(school)
    assert after["status"] == before["status"] != "closed"
    assert after["chronology"] == before["chronology"]
    assert school.messenger.cards(dm(TEACHER)) == []
    assert not [e for e in await school.audit() if e.action == "concern.close"]


async def test_a_proposal_with_too_long_a_reason_changes_nothing(school: School) -> None:
    detail = await opened(school, "grooming")
    before = await stored(school)

    shown = await click_button(
        school, DSL, detail, "concern.close.propose", **closing("grooming", reason="x" * 1001)
    )
    await school.settle()

    assert "Keep the reason under 1000 characters." in visible_text(shown)
    after = await stored(school)
    assert after.get("closure") == before.get("closure")
    assert after["chronology"] == before["chronology"]
