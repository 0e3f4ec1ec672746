"""Rejecting a web-filter exception through the use-case layer: the reason is required, the
requester is told it, and only a decider other than the requester may reject (the fast tier had
every other decision but this one)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialogs.conftest import School
from tests.dialogs.test_filter_request import GAME_REASON, it_card, records, request_change
from tests.support import (
    HEAD_OF_DEPARTMENT,
    IT,
    IT_CHANNEL,
    PUPIL,
    TEACHER,
    click_button,
    dm,
    visible_text,
)

WHY = "The game site also hosts chat rooms"
REF = "FLT-2026-0001"


async def audit(s: School) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.outcome) for e in await s.audit()]


async def reject(s: School, who: str = IT, note: str = WHY) -> dict[str, Any]:
    await request_change(s, blocked_category="games", reason=GAME_REASON)
    return await click_button(s, who, await it_card(s), "filter.reject", note=note)


async def test_it_rejects_with_a_reason_and_the_requester_is_told_it(school: School) -> None:
    card = await reject(school)
    await school.settle()

    assert "Status Rejected" in visible_text(card)
    assert f"Decision note {WHY}" in visible_text(card)
    [news] = school.messenger.cards(dm(TEACHER))
    assert visible_text(news).splitlines()[:2] == [f"Not approved: {REF}", f"Reason: {WHY}"]
    assert "Status Rejected" in visible_text(school.messenger.latest(IT_CHANNEL, REF))
    [record] = await records(school)
    assert (record.data["status"], record.data["decision_note"]) == ("rejected", WHY)
    assert [s["action"] for s in record.data["history"]] == ["requested", "rejected"]
    assert (await audit(school))[-1] == (IT, "filter.reject", "ok")


async def test_a_rejection_without_a_reason_changes_nothing(school: School) -> None:
    card = await reject(school, note="   ")
    await school.settle()

    assert "give the reason for rejecting it" in visible_text(card).lower()
    [record] = await records(school)
    assert record.data["status"] == "pending"
    assert school.messenger.cards(dm(TEACHER)) == []
    assert (await audit(school))[-1][:2] == (IT, "filter.reject")
    assert (await audit(school))[-1][2].startswith("refused")


@pytest.mark.parametrize("who", [TEACHER, HEAD_OF_DEPARTMENT, PUPIL])
async def test_only_a_decider_other_than_the_requester_may_reject(school: School, who: str) -> None:
    await reject(school, who=who)
    await school.settle()

    [record] = await records(school)
    assert record.data["status"] == "pending"
    assert school.messenger.cards(dm(TEACHER)) == []
    [(actor, action, outcome)] = (await audit(school))[1:]
    assert (actor, action) == (who, "filter.reject")
    assert outcome.startswith("refused")


async def test_nobody_rejects_their_own_request(school: School) -> None:
    await request_change(school, who=IT, blocked_category="games")

    own = await click_button(school, IT, await it_card(school), "filter.reject", note=WHY)

    assert "nobody can decide their own request" in visible_text(own)
    [record] = await records(school)
    assert (record.data["status"], record.version) == ("pending", 1)
    assert (await audit(school))[-1] == (IT, "filter.reject", "refused: rule: own request")


async def test_a_rejected_request_shows_nobody_waiting_and_who_rejected_it(school: School) -> None:
    card = await reject(school)
    await school.settle()

    for shown in (card, school.messenger.latest(IT_CHANNEL, REF)):
        text = visible_text(shown)
        assert "Waiting:" not in text
        assert "Change approved by Not given" in text
        assert "Rejected by Nadia Khan, Mon 23 Nov 2026, 10:00" in text  # IT, who clicked
