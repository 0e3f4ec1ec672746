"""Who approves a sensitive filter exception is one rule (``policy.filtering.reason_approver``):
the verb permission, the per-request check, where the card goes and every card's words ask it,
so a school that changed it would change all of them together (issue 23)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cards.filter import filter_form, request_card, request_received
from dialogs.reports import never_unblockable_text
from ops.reports import _readme
from policy import filtering
from policy.actions import PERMISSIONS, Verb
from policy.filtering import (
    Approver,
    FilterRuleBroken,
    FilterStatus,
    approve,
    approver_channels,
    every_decider,
    reason_approver,
)
from policy.roles import Role
from tests.support import visible_text
from tests.unit.test_filter_rules import AT, person, request
from tests.unit.test_video_call_rules import DEFAULT as SCHOOL

#: A variant of the rule: the headteacher approves the reason, in the IT channel.
HEAD_APPROVES = Approver(
    frozenset({Role.HEADTEACHER}), "headteacher", "the headteacher", "it_channel_id"
)


def words(card: dict[str, Any]) -> str:
    return " ".join(visible_text(card).split())


def test_the_shipped_rule_is_what_every_place_uses() -> None:
    sensitive = request(sensitive=True)

    assert PERMISSIONS[Verb.FILTER_APPROVE] == every_decider()
    assert Role.ONLINE_SAFETY_LEAD in reason_approver().roles
    assert approver_channels(sensitive, SCHOOL.channels) == [
        SCHOOL.channels.it_channel_id,
        SCHOOL.channels.dsl_channel_id,
    ]
    assert approver_channels(request(sensitive=False), SCHOOL.channels) == [
        SCHOOL.channels.it_channel_id
    ]
    assert "Waiting: DSL or online safety lead" in words(request_card(sensitive, SCHOOL, version=1))
    assert "IT and the DSL or online safety lead (this topic needs both)" in words(
        request_received(sensitive, SCHOOL)
    )
    assert "need the DSL or online safety lead as well as IT." in _readme(SCHOOL, AT, [])


def test_changing_the_one_rule_changes_permission_routing_and_words_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(filtering, "_REASON_APPROVER", HEAD_APPROVES)
    sensitive = request(sensitive=True)

    # Permission: the headteacher may now decide, and gives the reason approval; the DSL may not.
    assert Role.HEADTEACHER in every_decider()
    assert Role.DSL not in filtering.deciders(sensitive)
    with pytest.raises(FilterRuleBroken, match="your role cannot decide"):
        approve(sensitive, person("dsl", Role.DSL), AT)
    reason_given = approve(sensitive, person("head", Role.HEADTEACHER), AT)
    assert reason_given.reason_approval is not None
    assert reason_given.status is FilterStatus.PENDING
    done = approve(reason_given, person("it", Role.IT), AT)
    assert done.status is FilterStatus.APPROVED
    with pytest.raises(FilterRuleBroken, match="still needed is from the headteacher"):
        approve(
            replace(sensitive, change_approval=done.change_approval), person("it2", Role.IT), AT
        )

    # Routing: both approvals are in the IT channel, so the card goes there once.
    assert approver_channels(sensitive, SCHOOL.channels) == [SCHOOL.channels.it_channel_id]

    # Words: every card names the headteacher, and nowhere the DSL.
    shown = " ".join(
        words(c)
        for c in (
            request_card(sensitive, SCHOOL, version=1),
            request_received(sensitive, SCHOOL),
            filter_form(SCHOOL, form_id="f"),
        )
    )
    assert "Waiting: headteacher" in shown
    assert "the headteacher approves the reason and IT approves the change" in shown
    assert "IT and the headteacher (this topic needs both)" in shown
    assert "Some topics also need the headteacher to agree." in shown
    assert "online safety lead" not in shown

    # The review pack for governors says the same.
    pack = never_unblockable_text(SCHOOL) + _readme(SCHOOL, AT, [])
    assert "Topics that need the headteacher as well as IT to agree an exception:" in pack
    assert "need the headteacher as well as IT." in pack
    assert "online safety lead" not in pack
