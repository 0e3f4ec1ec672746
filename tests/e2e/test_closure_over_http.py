"""Closing safely (issue 20) end to end: real HTTP into /api/messages, the real botbuilder
adapter, real TinyDB files and a fake Bot Connector. A serious concern cannot be closed by one
person: the DSL proposes, the channel card says so, the DSL's own confirmation is refused and
audited, and only a second senior person (a deputy DSL) closes it; the reporter hears "closed"
only then."""

from __future__ import annotations

from tests.conftest import Harness
from tests.e2e.test_concern_over_http import audit, channel_card, report, stored
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    TEACHER,
    assert_valid_card,
    click_button,
    close_form,
    dm,
    everything,
    visible_text,
)


async def test_a_serious_concern_cannot_be_closed_by_one_person(harness: Harness) -> None:
    await report(harness, "grooming")
    detail = await click_button(
        harness, DSL, await channel_card(harness), "concern.open", channel=DSL_CHANNEL
    )

    one_step = await click_button(
        harness,
        DSL,
        detail,
        "concern.close.propose",
        channel=DSL_CHANNEL,
        **close_form("grooming", outcome="police", reason="Police and CEOP have it"),
    )
    await harness.settle()
    assert_valid_card(one_step)
    [update] = harness.connector.updated
    on_channel = update["attachments"][0]["content"]
    assert_valid_card(on_channel)
    assert "Closure proposed by Fiona Blake, Mon 23 Nov 2026, 10:00" in visible_text(on_channel)
    assert "Police and CEOP have it" not in everything(on_channel)  # the reason stays inside
    [concern] = await stored(harness)
    assert concern.data["status"] == "acknowledged"

    harness.advance(hours=1)
    deputy = await click_button(
        harness, DEPUTY_DSL, on_channel, "concern.open", channel=DSL_CHANNEL
    )
    assert "Confirm closure" in everything(deputy)
    # The proposer's card offers no "Confirm closure"; a click forged from the deputy's card
    # is refused on the server, audited, and changes nothing.
    assert "concern.close.confirm" not in everything(one_step)
    own = await click_button(harness, DSL, deputy, "concern.close.confirm", channel=DSL_CHANNEL)
    assert "a second senior person must confirm it" in everything(own)
    await harness.settle()
    assert harness.connector.to(dm(TEACHER)) == []  # nobody told "closed"

    closed = await click_button(
        harness, DEPUTY_DSL, deputy, "concern.close.confirm", channel=DSL_CHANNEL
    )
    await harness.settle()

    assert_valid_card(closed)
    [concern] = await stored(harness)
    assert concern.data["status"] == "closed"
    assert concern.data["closure"]["confirmed_by_id"] == DEPUTY_DSL
    [notice] = harness.connector.to(dm(TEACHER))
    assert "has been closed" in visible_text(notice["attachments"][0]["content"])
    confirms = [
        (e.actor, e.outcome) for e in await audit(harness) if e.action == "concern.close.confirm"
    ]
    assert confirms == [(DSL, "refused: rule: own proposal"), (DEPUTY_DSL, "ok")]
