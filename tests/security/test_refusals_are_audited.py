"""The audit log says what the server did, once per refusal, and never what the client claimed.

Issue 22, items 5, 6 and 7, over real HTTP into the real app (real botbuilder adapter, real
TinyDB files):

- a Teams retry (the same activity id) of a click that succeeded gets the answer the click got,
  and no "refused: stale card" entry; copies of one click sent at once make one decision;
- an audit entry records the server's own verb and outcome: a forged ``verb`` in the card data,
  the text of a rule's message (a handler's name) or anything typed never reaches it;
- every refusal is exactly one audit entry: a pupil pressing a staff button in the DSL channel,
  an unknown payload version, a sender the directory does not know or with no object id
  (recorded as "unknown"), and each losing click of concurrent decisions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

from policy.audit import AuditEntry
from tests.conftest import Harness
from tests.e2e.test_concern_over_http import report
from tests.e2e.test_filter_over_http import data_of, request_change
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    IT,
    IT_CHANNEL,
    PUPIL,
    STRANGER,
    button,
    card_action,
    message,
    visible_text,
)

IN_DSL_CHANNEL = {"scope": "channel", "conversation_id": DSL_CHANNEL}
CANARY = "CANARY-client-text-5521"


async def audit(h: Harness) -> list[AuditEntry]:
    return await h.parts.store.audit_log()


async def new_concern(h: Harness, category: str = "cyberbullying") -> dict[str, Any]:
    """A teacher's report; returns its card in the DSL channel."""
    await report(h, category)
    await h.settle()
    return h.connector.cards(DSL_CHANNEL)[-1]


def click(h: Harness, who: str, verb: str, data: dict[str, Any], **where: Any) -> dict[str, Any]:
    return card_action(who, verb, h.connector.url, data={"v": 1, "verb": verb, **data}, **where)


async def answer(h: Harness, activity: dict[str, Any]) -> dict[str, Any]:
    status, body = await h.post(activity)
    assert status == 200, body
    return dict(body)


def written(entries: list[AuditEntry]) -> str:
    """The audit entries as the log holds them."""
    return json.dumps([dataclasses.asdict(e) for e in entries], default=str)


def refusals(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [e for e in entries if e.outcome.startswith("refused")]


# ----- item 5: a retry of something that succeeded -----------------------------------------------


async def test_a_retried_acknowledge_gets_the_first_answer_and_no_refusal(harness: Harness) -> None:
    card = await new_concern(harness)
    activity = click(harness, DSL, "concern.ack", button(card, "concern.ack"), **IN_DSL_CHANNEL)

    first = await answer(harness, activity)
    harness.advance(seconds=16)  # Teams re-sends after about 15 s without an answer
    again = await answer(harness, activity)

    assert "Acknowledged" in visible_text(first["value"])
    assert again == first
    entries = await audit(harness)
    assert [(e.action, e.outcome) for e in entries if e.actor == DSL] == [
        ("concern.acknowledge", "ok")
    ]


async def test_a_retried_approval_gets_the_first_answer_and_no_refusal(harness: Harness) -> None:
    await request_change(harness, blocked_category="games")
    await harness.settle()
    data = data_of(harness.connector.cards(IT_CHANNEL)[-1], "filter.approve")
    activity = click(
        harness, IT, "filter.approve", data, scope="channel", conversation_id=IT_CHANNEL
    )

    first = await answer(harness, activity)
    again = await answer(harness, activity)

    assert "Approved" in visible_text(first["value"])
    assert again == first
    assert [(e.action, e.outcome) for e in await audit(harness) if e.actor == IT] == [
        ("filter.approve", "ok")
    ]


async def test_copies_of_one_click_sent_at_once_make_one_decision_and_no_refusal(
    harness: Harness,
) -> None:
    card = await new_concern(harness)
    activity = click(harness, DSL, "concern.ack", button(card, "concern.ack"), **IN_DSL_CHANNEL)
    before = len(await audit(harness))

    answers = await asyncio.gather(*(answer(harness, activity) for _ in range(5)))

    entries = (await audit(harness))[before:]
    assert [(e.action, e.outcome) for e in entries] == [("concern.acknowledge", "ok")]
    assert all("Status Acknowledged" in visible_text(a["value"]) for a in answers)


# ----- item 6: the server's verb, never the client's words ----------------------------------------


async def test_a_forged_verb_in_the_card_data_is_never_audited(harness: Harness) -> None:
    card = await new_concern(harness)
    forged = {**button(card, "concern.ack"), "verb": "x.forged-by-client", "outcome": "no_further"}
    before = len(await audit(harness))

    await answer(harness, click(harness, HEADTEACHER, "concern.close", forged))
    await answer(harness, click(harness, DSL, "concern.close", forged | {"ref": "OSC-2026-9999"}))

    entries = (await audit(harness))[before:]
    assert [(e.actor, e.action, e.outcome) for e in entries] == [
        (HEADTEACHER, "concern.close", "refused: not a handler of this concern"),
        (DSL, "concern.close", "refused: not found"),
    ]
    assert "forged" not in written(await audit(harness))


async def test_a_rule_refusal_is_audited_without_names_or_typed_text(harness: Harness) -> None:
    card = await new_concern(harness)
    await harness.click(DSL, "concern.ack", button(card, "concern.ack"), **IN_DSL_CHANNEL)
    before = len(await audit(harness))

    # The deputy's Acknowledge on the current card: "already acknowledged by Fiona Blake".
    current = {**button(card, "concern.ack"), "ver": 2}
    again = await harness.click(DEPUTY_DSL, "concern.ack", current, **IN_DSL_CHANNEL)
    # An action that is not on the category's checklist, named by the client.
    await harness.click(DSL, "concern.action", {**current, "action": CANARY}, **IN_DSL_CHANNEL)

    assert "already acknowledged by Fiona Blake" in visible_text(again)
    entries = (await audit(harness))[before:]
    assert [(e.actor, e.action) for e in entries] == [
        (DEPUTY_DSL, "concern.ack"),
        (DSL, "concern.action"),
    ]
    assert all(e.outcome.startswith("refused: rule: ") for e in entries), entries
    text = written(entries)
    assert "Fiona" not in text and "Blake" not in text and CANARY not in text


# ----- item 7: every refusal, one audit entry ----------------------------------------------------


async def test_a_pupil_pressing_acknowledge_in_the_dsl_channel_is_audited_once(
    harness: Harness,
) -> None:
    card = await new_concern(harness)
    before = len(await audit(harness))

    await harness.click(PUPIL, "concern.ack", button(card, "concern.ack"), **IN_DSL_CHANNEL)

    entries = (await audit(harness))[before:]
    assert [(e.actor, e.action) for e in entries] == [(PUPIL, "concern.ack")]
    assert entries[0].outcome.startswith("refused")


async def test_a_payload_of_another_version_is_audited_once(harness: Harness) -> None:
    card = await new_concern(harness)
    data = {**button(card, "concern.ack"), "v": 2}
    before = len(await audit(harness))

    await answer(
        harness, card_action(DSL, "concern.ack", harness.connector.url, data=data, **IN_DSL_CHANNEL)
    )

    entries = (await audit(harness))[before:]
    assert [(e.actor, e.action, e.outcome) for e in entries] == [
        (DSL, "concern.ack", "refused: card version not supported")
    ]
    [concern] = await harness.parts.store.find("concern")
    assert concern.data["status"] == "new"


async def test_senders_the_directory_does_not_know_are_audited_as_unknown(
    harness: Harness,
) -> None:
    card = await new_concern(harness)
    nameless = card_action(
        DSL, "concern.ack", harness.connector.url, data=button(card, "concern.ack")
    )
    del nameless["from"]["aadObjectId"]
    stranger = card_action(
        STRANGER, "concern.ack", harness.connector.url, data=button(card, "concern.ack")
    )
    forged = card_action(
        STRANGER, "x.forged-by-client", harness.connector.url, data={"verb": "x", "v": 1}
    )
    before = len(await audit(harness))

    for activity in (nameless, stranger, forged):
        await answer(harness, activity)
    assert await harness.say(STRANGER, f"hello {CANARY}") in (200, 201)
    status, _ = await harness.post(
        message(STRANGER, "hi", harness.connector.url) | {"from": {"id": "29:x"}}
    )
    assert status in (200, 201)

    entries = (await audit(harness))[before:]
    assert [(e.actor, e.action) for e in entries] == [
        ("unknown", "concern.ack"),
        ("unknown", "concern.ack"),
        ("unknown", "unknown_verb"),
        ("unknown", "message"),
        ("unknown", "message"),
    ]
    assert all(e.outcome.startswith("refused") for e in entries)
    text = written(entries)
    assert STRANGER not in text and CANARY not in text and "forged" not in text


async def test_each_losing_click_of_concurrent_decisions_is_audited_once(harness: Harness) -> None:
    card = await new_concern(harness)
    data = button(card, "concern.ack")
    before = len(await audit(harness))

    await asyncio.gather(
        *(
            harness.click(who, "concern.ack", data, **IN_DSL_CHANNEL)
            for who in [DSL, DEPUTY_DSL] * 4
        )
    )

    entries = (await audit(harness))[before:]
    assert len(entries) == 8  # one for each click
    assert len([e for e in entries if e.outcome == "ok"]) == 1
    assert len(refusals(entries)) == 7
    [concern] = await harness.parts.store.find("concern")
    assert concern.version == 2
