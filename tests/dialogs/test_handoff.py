"""Hand-off to the school's safeguarding record system through the use-case layer (issue 20):
the DSL only, the pack in their 1:1 chat only, the concern marked, every refusal audited."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from typing import Any

import pytest

from dialogs.handoff import KIND as HANDOFF_KIND
from dialogs.outbox import OUTBOX
from policy.handoff import CSV_COLUMNS, SCHEMA, Handoff
from policy.school import SchoolPolicy
from tests.dialogs.conftest import School
from tests.dialogs.test_concern import CHILD, STORY, report
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    TEACHER,
    assert_valid_card,
    card_buttons,
    click_button,
    close_form,
    dm,
    everything,
    visible_text,
)

IN_CHANNEL = {"scope": "channel", "conversation_id": DSL_CHANNEL}


def handoff_button(card: dict[str, Any]) -> dict[str, Any]:
    """The data of the card's "Send to …" button (in its own row in the body)."""
    for element in card["body"]:
        for action in element.get("actions", []) if element.get("type") == "ActionSet" else []:
            if action.get("verb") == "concern.handoff":
                return {"title": action["title"], **action["data"]}
    raise AssertionError("no hand-off button")


@pytest.fixture
def myconcern(demo_school: SchoolPolicy, school: School) -> School:
    """The demo school, keeping its records in MyConcern (as 004 requires)."""
    changed = replace(demo_school, handoff=Handoff(system="MyConcern"))
    return School(changed, school.directory)


async def reported(s: School) -> tuple[str, dict[str, Any]]:
    """A cyberbullying concern; its reference and the DSL's detail card of it."""
    received = await report(s, "cyberbullying")
    ref = next(w for w in visible_text(received).split() if w.startswith("OSC-")).strip(".:")
    await s.settle()
    detail = await s.click(DSL, "concern.open", {"ref": ref, "ver": 1})
    return ref, detail


async def test_the_dsl_hands_off_and_gets_the_pack_in_their_own_chat_only(
    myconcern: School,
) -> None:
    s = myconcern
    ref, detail = await reported(s)
    press = handoff_button(detail)
    assert press["title"] == "Send to MyConcern"
    assert_valid_card(detail)

    after = await s.click(DSL, "concern.handoff", press)
    assert "Handed off to MyConcern by Fiona Blake at Mon 23 Nov 2026, 10:00" in visible_text(after)
    assert "on its way to your private chat" in visible_text(after)
    before = set(s.messenger.conversations())
    await s.settle()

    packs = [c for c in s.messenger.cards(dm(DSL)) if "Hand-off pack" in visible_text(c)]
    assert len(packs) == 1
    assert_valid_card(packs[0])
    # Never to a channel, never to anyone else: the pack went to the DSL's 1:1 chat alone.
    for conversation in s.messenger.conversations() - before:
        assert conversation == dm(DSL)
    for conversation in s.messenger.conversations() - {dm(DSL)}:
        assert STORY not in everything(s.messenger.cards(conversation))
        assert not any("Hand-off pack" in visible_text(c) for c in s.messenger.cards(conversation))
    # The channel card says it was handed off (no detail of the concern).
    channel = s.messenger.latest(DSL_CHANNEL, ref)
    assert "Handed off to MyConcern by Fiona Blake" in visible_text(channel)
    assert CHILD not in everything(channel)

    links = [a["url"] for a in packs[0]["actions"] if a["type"] == "Action.OpenUrl"]
    assert len(links) == 3
    kinds = {s.exports.download(link)[0] for link in links}
    assert kinds == {"text/html", "application/json", "text/csv"}
    html = next(t for m, t in map(s.exports.download, links) if m == "text/html")
    assert "Hand-off to MyConcern" in html and STORY in html
    data = json.loads(next(t for m, t in map(s.exports.download, links) if m == "application/json"))
    assert data["schema"] == SCHEMA
    assert data["concern"]["reference"] == ref
    assert data["concern"]["what_happened"] == STORY
    assert data["handoff"]["system"] == "MyConcern"
    assert data["handoff"]["handed_off_by"]["name"] == "Fiona Blake"
    assert [e["kind"] for e in data["chronology"]] == ["reported", "acknowledged", "handoff"]
    rows = list(
        csv.DictReader(
            io.StringIO(next(t for m, t in map(s.exports.download, links) if m == "text/csv"))
        )
    )
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["entry_kind"] for r in rows] == ["reported", "acknowledged", "handoff"]
    assert {r["handoff_id"] for r in rows} == {data["handoff"]["id"]}

    [record] = await s.find(HANDOFF_KIND)
    assert record.id == data["handoff"]["id"]
    audit = [e for e in await s.audit() if e.action == "concern.handoff"]
    assert [(e.actor, e.outcome) for e in audit] == [(DSL, "ok")]


async def test_a_closed_concern_can_be_handed_off_too(myconcern: School) -> None:
    s = myconcern
    ref, detail = await reported(s)
    closed = await s.click(
        DSL,
        "concern.close",
        {
            "ref": ref,
            "ver": detail["actions"][0]["data"]["ver"],
            **close_form("cyberbullying"),
            "view": "detail",
        },
    )
    assert "Closed" in visible_text(closed)
    after = await s.click(DSL, "concern.handoff", handoff_button(closed))
    assert "Handed off to MyConcern" in visible_text(after)


@pytest.mark.parametrize("who", [DEPUTY_DSL, TEACHER])
async def test_a_deputy_or_a_teacher_is_refused_audited_and_nothing_changes(
    myconcern: School, who: str
) -> None:
    s = myconcern
    ref, detail = await reported(s)
    outbox_before = len(await s.find(OUTBOX))

    refused = await s.click(who, "concern.handoff", handoff_button(detail))

    assert "Handed off" not in visible_text(refused)
    assert await s.find(HANDOFF_KIND) == []
    assert len(await s.find(OUTBOX)) == outbox_before
    stored = await s.click(DSL, "concern.open", {"ref": ref, "ver": 2})
    assert "Handed off" not in visible_text(stored)
    refusals = [
        e
        for e in await s.audit()
        if e.action == "concern.handoff" and e.outcome.startswith("refused")
    ]
    assert [e.actor for e in refusals] == [who]


async def test_a_stale_card_hands_off_once(myconcern: School) -> None:
    s = myconcern
    _, detail = await reported(s)
    press = handoff_button(detail)
    await s.click(DSL, "concern.handoff", press)
    again = await s.click(DSL, "concern.handoff", press)  # the same old card, clicked again

    assert "out of date" in visible_text(again)
    assert len(await s.find(HANDOFF_KIND)) == 1


async def test_in_the_dsl_channel_the_pack_still_goes_only_to_the_private_chat(
    myconcern: School,
) -> None:
    s = myconcern
    _, detail = await reported(s)
    shown = await s.click(DSL, "concern.handoff", handoff_button(detail), **IN_CHANNEL)
    await s.settle()

    assert "private chat" in visible_text(shown)
    assert not any("Hand-off pack" in visible_text(c) for c in s.messenger.cards(DSL_CHANNEL))
    assert any("Hand-off pack" in visible_text(c) for c in s.messenger.cards(dm(DSL)))


async def test_a_school_that_names_no_system_gets_plain_words(school: School) -> None:
    _, detail = await reported(school)
    assert handoff_button(detail)["title"] == "Send to your safeguarding records system"


async def test_the_incident_log_shows_handoffs_by_system(myconcern: School) -> None:
    s = myconcern
    ref, detail = await reported(s)
    await s.click(DSL, "concern.handoff", handoff_button(detail))

    shown = await s.click(
        DSL, "dsl.incident_log", {"step": "show", "from": "2026-11-01", "to": "2026-11-30"}
    )

    text = visible_text(shown)
    assert "Handed off to the safeguarding records" in text
    assert "MyConcern 1" in text.splitlines()
    [link] = [a["url"] for a in shown["actions"] if a["type"] == "Action.OpenUrl"]
    rows = list(csv.DictReader(io.StringIO(s.exports.download(link)[1])))
    [row] = [r for r in rows if r["reference"] == ref]
    assert row["handed_off_to"] == "MyConcern (2026-11-23T10:00+00:00)"


async def test_the_proposer_who_hands_off_is_not_offered_their_own_confirmation(
    myconcern: School,
) -> None:
    """After a hand-off the detail card knows who is looking, like every other concern view:
    the DSL who proposed the closure sees "You cannot confirm your own proposal", no button."""
    s = myconcern
    received = await report(s, "grooming")
    ref = next(w for w in visible_text(received).split() if w.startswith("OSC-")).strip(".:")
    await s.settle()
    detail = await s.click(DSL, "concern.open", {"ref": ref, "ver": 1})
    proposed = await click_button(
        s, DSL, detail, "concern.close.propose", **close_form("grooming", outcome="police")
    )
    assert ("Confirm closure", "concern.close.confirm") not in card_buttons(proposed)

    after = await s.click(DSL, "concern.handoff", handoff_button(proposed))

    assert "Handed off to MyConcern" in visible_text(after)
    assert "You cannot confirm your own proposal" in visible_text(after)
    assert ("Confirm closure", "concern.close.confirm") not in card_buttons(after)
