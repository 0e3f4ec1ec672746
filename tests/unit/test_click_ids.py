"""A click's payload, typed (issue 23): what ``action_data`` puts on a card is what
``ClickIds.parse`` reads back, once, into ``ActionContext.ids``; another payload version or an
id no card would send is refused clearly, never half-read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from cards.common import PAYLOAD_VERSION, action_data, card, execute, para
from cards.payload import ClickIds, PayloadRefused
from dialogs.turns import ActionContext, Scope, Turn
from policy.actions import Verb
from policy.roles import Person, Role

DSL = Person("dsl-1", "Sam Patel", frozenset({Role.DSL, Role.STAFF}))
TURN = Turn(DSL.id, Scope.PERSONAL, activity_id="a-1")


def test_what_a_card_carries_reads_back_typed() -> None:
    data = action_data(Verb.CONCERN_ACKNOWLEDGE, ref="OSC-2026-0001", ver=3, view="detail")
    assert data == {  # the card's payload is what it always was
        "verb": "concern.ack",
        "v": PAYLOAD_VERSION,
        "ref": "OSC-2026-0001",
        "ver": 3,
        "view": "detail",
    }
    ids = ClickIds.parse(data)
    assert ids == ClickIds(claimed_verb="concern.ack", ref="OSC-2026-0001", ver=3, view="detail")


def test_an_execute_buttons_data_reads_back_with_its_form_and_step() -> None:
    button = execute("Send", Verb.FILTER_SUBMIT, form="form-9", step="make")
    data = card([para("A form")], [button])["actions"][0]["data"]  # as Teams sends it back
    ids = ClickIds.parse(data)
    assert (ids.form, ids.step, ids.ref, ids.ver) == ("form-9", "make", "", None)


def test_a_payload_without_a_version_is_the_current_layout() -> None:
    assert ClickIds.parse({"ref": " OSC-1 "}) == ClickIds(ref="OSC-1")  # trimmed, as before
    assert ClickIds.parse({}) == ClickIds()


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_another_payload_version_is_refused_as_an_old_card(version: Any) -> None:
    with pytest.raises(PayloadRefused) as refused:
        ClickIds.parse({"verb": "concern.ack", "v": version, "ref": "OSC-1"})
    assert refused.value.old_version
    assert refused.value.why == "card version not supported"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"ref": ["OSC-1"]}, "ref"),
        ({"ref": 7}, "ref"),
        ({"ver": "3"}, "ver"),
        ({"ver": True}, "ver"),
        ({"ver": 3.0}, "ver"),
        ({"view": {"detail": 1}}, "view"),
        ({"verb": 5}, "verb"),
    ],
)
def test_an_id_no_card_would_send_is_refused_naming_the_field_not_the_value(
    data: dict[str, Any], field: str
) -> None:
    with pytest.raises(PayloadRefused) as refused:
        ClickIds.parse({"v": 1, **data})
    assert not refused.value.old_version
    assert refused.value.why == f"card data not valid ({field})"


def test_the_context_reads_the_ids_once_and_keeps_what_people_typed_as_data() -> None:
    data = {"verb": "concern.note", "v": 1, "ref": "OSC-1", "ver": 2, "note": "typed words"}
    ctx = ActionContext(DSL, TURN, data, Verb.CONCERN_NOTE)
    assert (ctx.ids.ref, ctx.ids.ver) == ("OSC-1", 2)
    assert ctx.data["note"] == "typed words"
    # A handler that replaces the data (concern acknowledge, a newer version) gets its ids
    # read again: the two never disagree.
    assert replace(ctx, data={**ctx.data, "ver": 5}).ids.ver == 5


def test_a_context_cannot_be_made_from_data_no_card_would_send() -> None:
    with pytest.raises(PayloadRefused):
        ActionContext(DSL, TURN, {"ref": {"$ne": ""}}, Verb.CONCERN_OPEN)
