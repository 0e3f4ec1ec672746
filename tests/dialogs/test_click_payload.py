"""A click's payload read once at the edge (issue 23), through ``Router.on_action``: a forged
or damaged id is refused before any handler runs (audited once, nothing changed); a card's own
payload works as before, and the stale-card check reads the typed ``ver``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialogs.conftest import School
from tests.dialogs.test_concern import channel_card, report
from tests.support import DSL, DSL_CHANNEL, button, visible_text


async def _ack_button(school: School) -> dict[str, Any]:
    await report(school, "grooming")
    return button(await channel_card(school), "concern.ack")


async def _statuses(school: School) -> list[tuple[str, int, str]]:
    return [(r.id, r.version, r.data["status"]) for r in await school.find("concern")]


@pytest.mark.parametrize(
    ("forged", "field"),
    [({"ref": ["OSC"]}, "ref"), ({"ver": "1"}, "ver"), ({"view": 3}, "view")],
)
async def test_a_forged_id_is_refused_once_and_changes_nothing(
    school: School, forged: dict[str, Any], field: str
) -> None:
    data = await _ack_button(school)
    before, audited = await _statuses(school), len(await school.audit())
    reply = await school.act(
        DSL, "concern.ack", {**data, **forged}, scope="channel", conversation_id=DSL_CHANNEL
    )
    assert reply.card is not None
    assert "That card could not be read" in visible_text(dict(reply.card))
    assert await _statuses(school) == before
    log = await school.audit()
    assert len(log) == audited + 1
    assert (log[-1].actor, log[-1].action, log[-1].outcome) == (
        DSL,
        "concern.ack",  # the server's name for the verb
        f"refused: card data not valid ({field})",
    )


async def test_the_cards_own_payload_still_acknowledges_and_a_stale_ver_is_refused(
    school: School,
) -> None:
    data = await _ack_button(school)
    where: dict[str, Any] = {"scope": "channel", "conversation_id": DSL_CHANNEL}
    await school.act(DSL, "concern.ack", data, **where)
    [(ref, version, status)] = await _statuses(school)
    assert status == "acknowledged"
    await school.act(DSL, "concern.note", {**data, "ver": version - 1, "note": "x"}, **where)
    assert (await school.audit())[-1].outcome == "refused: stale card"
    assert await _statuses(school) == [(ref, version, status)]
