"""Forged invokes and races (quality note Z1–Z3) on concerns and filter requests.

Every forged click changes nothing, gets a refusal (or the current state), and leaves exactly
one audit entry; concurrent decisions make one transition; a repeated delivery makes one record
and one channel card. (Recording permissions: tests/e2e/test_video_call_followups_over_http.py.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import Harness
from tests.e2e.test_concern_over_http import button, report
from tests.e2e.test_filter_over_http import data_of, request_change
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT,
    IT_CHANNEL,
    TEACHER,
    card_action,
)


async def state(h: Harness, kind: str) -> list[tuple[str, int, str]]:
    return sorted((r.id, r.version, r.data["status"]) for r in await h.parts.store.find(kind))


async def audit_count(h: Harness) -> int:
    return len(await h.parts.store.audit_log())


async def new_concern(h: Harness) -> dict[str, Any]:
    await report(h, "cyberbullying")
    await h.settle()
    return h.connector.cards(DSL_CHANNEL)[-1]


CONCERN_FORGERIES = {
    "another item's id": lambda data: (DSL, {**data, "ref": "OSC-2026-9999"}, {}),
    "an actor without the role": lambda data: (TEACHER, data, {}),
    "the wrong channel": lambda data: (
        DSL,
        data,
        {"scope": "channel", "conversation_id": IT_CHANNEL},
    ),
    "a stale card": lambda data: (DSL, {**data, "ver": data["ver"] + 5}, {}),
    "an automatic refresh": lambda data: (DSL, data, {"trigger": "automatic"}),
}


@pytest.mark.parametrize("forgery", list(CONCERN_FORGERIES))
async def test_z1_forged_concern_clicks_change_nothing_and_are_audited_once(
    harness: Harness, forgery: str
) -> None:
    card = await new_concern(harness)
    data = button(card, "concern.ack")
    who, payload, options = CONCERN_FORGERIES[forgery](data)
    before_state, before_audit = await state(harness, "concern"), await audit_count(harness)

    shown = await harness.click(who, "concern.ack", payload, **options)

    assert await state(harness, "concern") == before_state
    assert await audit_count(harness) == before_audit + 1
    [last] = (await harness.parts.store.audit_log())[-1:]
    assert last.outcome.startswith("refused")
    assert shown["type"] == "AdaptiveCard"


async def test_z1_an_already_decided_concern_is_refused_and_audited(harness: Harness) -> None:
    card = await new_concern(harness)
    acked = await harness.click(DSL, "concern.ack", button(card, "concern.ack"))
    before_audit = await audit_count(harness)
    current = await harness.parts.store.get("concern", "OSC-2026-0001")
    assert current is not None

    again = await harness.click(
        DEPUTY_DSL, "concern.ack", {**button(card, "concern.ack"), "ver": current.version}
    )

    assert "already acknowledged by Fiona Blake" in str(again)
    assert await audit_count(harness) == before_audit + 1
    assert acked["type"] == "AdaptiveCard"


FILTER_FORGERIES = {
    "another item's id": lambda data: (IT, {**data, "ref": "FLT-2026-9999"}, {}),
    "an actor without the role": lambda data: (TEACHER, data, {}),
    "the requester approving their own": lambda data: ("own", data, {}),
    "the wrong channel": lambda data: (
        IT,
        data,
        {"scope": "channel", "conversation_id": DSL_CHANNEL},
    ),
    "a stale card": lambda data: (IT, {**data, "ver": 7}, {}),
    "an automatic refresh": lambda data: (IT, data, {"trigger": "automatic"}),
}


@pytest.mark.parametrize("forgery", list(FILTER_FORGERIES))
async def test_z1_forged_filter_decisions_change_nothing_and_are_audited_once(
    harness: Harness, forgery: str
) -> None:
    requester = IT if forgery == "the requester approving their own" else TEACHER
    await request_change(
        harness,
        who=requester,
        blocked_category="games",
        reason="Pupils will test the physics simulation game we built in Computing this week.",
    )
    await harness.settle()
    data = data_of(harness.connector.cards(IT_CHANNEL)[-1], "filter.approve")
    who, payload, options = FILTER_FORGERIES[forgery](data)
    who = IT if who == "own" else who
    before_state, before_audit = await state(harness, "filter_request"), await audit_count(harness)

    await harness.click(who, "filter.approve", payload, **options)

    assert await state(harness, "filter_request") == before_state
    assert await audit_count(harness) == before_audit + 1
    assert (await harness.parts.store.audit_log())[-1].outcome.startswith("refused")


async def test_z2_twenty_concurrent_approvals_by_two_approvers_make_one_transition(
    harness: Harness,
) -> None:
    await request_change(harness, blocked_category="extremism")
    await harness.settle()
    data = data_of(harness.connector.cards(IT_CHANNEL)[-1], "filter.approve")

    await asyncio.gather(
        *(harness.click(who, "filter.approve", data) for who in [DSL, DEPUTY_DSL] * 10)
    )

    [request] = await harness.parts.store.find("filter_request")
    assert request.version == 2
    assert request.data["reason_approval"]["by_id"] in {DSL, DEPUTY_DSL}
    log = await harness.parts.store.audit_log()
    approvals = [e for e in log if e.action == "filter.approve" and e.outcome == "ok"]
    assert len(approvals) == 1
    refused = [e for e in log if e.outcome.startswith("refused")]
    print(
        f"\n20 concurrent approvals by 2 approvers: 1 transition, {len(refused)} refusals audited"
    )


async def test_z3_the_same_filter_submit_three_times_makes_one_record_and_one_card(
    harness: Harness,
) -> None:
    form = await harness.click(TEACHER, "filter.start")
    submit = next(a for a in form["actions"] if a.get("verb") == "filter.submit")
    from tests.e2e.test_filter_over_http import form_fields

    activity = card_action(
        TEACHER, "filter.submit", harness.connector.url, data={**submit["data"], **form_fields()}
    )
    for _ in range(3):
        status, _ = await harness.post(activity)
        assert status == 200
    await harness.settle()

    assert len(await harness.parts.store.find("filter_request")) == 1
    assert len(harness.connector.cards(IT_CHANNEL)) == 1
