"""The records the school must show, through the use-case layer: open items, the incident log
(card and CSV), a concern's chronology, the governors' report, and the role check on each (fast
twin of tests/e2e/test_reports_over_http.py, over the same seeded records)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from tests.dialogs.conftest import School
from tests.e2e.test_reports_over_http import (
    ALLOWED,
    CHILD,
    EVERYONE,
    MESSAGE,
    NOTE,
    REQUESTS,
    STAFF_SUBJECT,
    buttons,
    leaks,
    links,
    seed,
)
from tests.support import (
    CHAIR_OF_GOVERNORS,
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    card_texts,
    visible_text,
)


@pytest.fixture
async def seeded(school: School) -> School:
    await seed(school.store)
    return school


def in_channel() -> dict[str, Any]:
    return {"scope": "channel", "conversation_id": DSL_CHANNEL}


async def test_open_items_lists_open_concerns_oldest_first_without_names(seeded: School) -> None:
    card = await seeded.click(DSL, "dsl.open_items", **in_channel())

    texts = card_texts(card)
    assert texts[0] == "Open items (3)"
    assert [t for t in texts if "OSC-" in t] == [
        "URGENT: OSC-2026-0002, 13.0 days old",
        "OSC-2026-0006, 7.0 days old (not yet acknowledged)",
        "OSC-2026-0003, 2.8 days old (not yet acknowledged)",
    ]
    # Closed ones, and the concern about staff (the headteacher's), are not the DSL's list.
    assert "OSC-2026-0001" not in visible_text(card) and "OSC-2026-0004" not in visible_text(card)
    assert leaks(json.dumps(card)) == ["OSC-2026"]
    opens = [b["data"] for b in buttons(card) if b["verb"] == "concern.open"]
    assert opens[0] == {"verb": "concern.open", "v": 1, "ref": "OSC-2026-0002", "ver": 1}
    assert "concern.chronology" not in json.dumps(card)  # not offered in a channel


async def test_open_from_the_list_answers_the_clicker_and_posts_nothing(seeded: School) -> None:
    card = await seeded.click(DSL, "dsl.open_items", **in_channel())
    data = next(b["data"] for b in buttons(card) if b["verb"] == "concern.open")

    detail = await seeded.click(DEPUTY_DSL, "concern.open", data, **in_channel())
    await seeded.settle()

    assert CHILD in visible_text(detail)
    assert seeded.messenger.posted == []


async def test_open_items_in_a_private_chat_offer_the_chronology_and_are_audited(
    seeded: School,
) -> None:
    card = await seeded.click(DEPUTY_DSL, "dsl.open_items")

    chronology = [b["data"] for b in buttons(card) if b["verb"] == "concern.chronology"]
    assert [d["ref"] for d in chronology] == ["OSC-2026-0002", "OSC-2026-0006", "OSC-2026-0003"]
    [entry] = [e for e in await seeded.audit() if e.action == "records.open_items"]
    assert (entry.actor, entry.outcome) == (DEPUTY_DSL, "viewed 3")


async def test_the_incident_log_suggests_the_term_so_far(seeded: School) -> None:
    card = await seeded.click(DSL, "dsl.incident_log")

    dates = {e["id"]: e.get("value") for e in card["body"] if e["type"] == "Input.Date"}
    assert dates == {"from": "2026-09-02", "to": "2026-11-23"}


async def test_the_incident_log_figures_and_csv_match_the_records(seeded: School) -> None:
    card = await seeded.click(
        DSL, "dsl.incident_log", {"step": "show", "from": "2026-11-01", "to": "2026-11-30"}
    )

    shown = visible_text(card)
    assert "Concerns reported 4" in shown and "Urgent 1" in shown and "Still open 3" in shown
    assert "Median time to acknowledge 17 min" in shown
    assert leaks(json.dumps({k: v for k, v in card.items() if k != "actions"})) == []
    [link] = links(card)
    media_type, content = seeded.exports.download(link)
    assert media_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["reference"] for r in rows] == [
        "OSC-2026-0001",
        "OSC-2026-0002",
        "OSC-2026-0006",
        "OSC-2026-0003",
    ]
    assert (rows[0]["status"], rows[0]["outcome"], rows[0]["handled_by"]) == (
        "closed",
        "Resolved in school",
        "Fiona Blake",
    )
    [entry] = [e for e in await seeded.audit() if e.action == "records.incident_log"]
    assert (entry.item, entry.outcome) == ("2026-11-01/2026-11-30", "exported 4 rows")


async def test_the_incident_log_in_the_channel_has_no_names_and_no_download(
    seeded: School,
) -> None:
    card = await seeded.click(
        DEPUTY_DSL,
        "dsl.incident_log",
        {"step": "show", "from": "2026-09-01", "to": "2026-11-30"},
        **in_channel(),
    )

    assert links(card) == []
    assert "offered only in a private chat" in visible_text(card)
    assert leaks(json.dumps(card)) == []


async def test_a_wrong_date_range_is_asked_again(seeded: School) -> None:
    card = await seeded.click(
        DSL, "dsl.incident_log", {"step": "show", "from": "2026-11-30", "to": "2026-11-01"}
    )

    assert "The period ends (2026-11-01) before it starts (2026-11-30)." in card_texts(card)


async def test_the_chronology_is_an_escaped_document_with_every_event(seeded: School) -> None:
    card = await seeded.click(DSL, "concern.chronology", {"ref": "osc-2026-0001"})

    assert card_texts(card)[0] == "Chronology of OSC-2026-0001"
    [link] = links(card)
    media_type, page = seeded.exports.download(link)
    assert media_type == "text/html"
    assert "Prepared by Fiona Blake on Mon 23 Nov 2026, 10:00" in page
    assert NOTE in page and MESSAGE in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    [entry] = [e for e in await seeded.audit() if e.action == "concern.chronology"]
    assert (entry.actor, entry.item, entry.outcome) == (DSL, "concern:OSC-2026-0001", "exported")


async def test_a_concern_about_staff_is_exported_for_the_headteacher_only(seeded: School) -> None:
    refused = await seeded.click(DSL, "concern.chronology", {"ref": "OSC-2026-0004"})
    allowed = await seeded.click(HEADTEACHER, "concern.chronology", {"ref": "OSC-2026-0004"})

    assert links(refused) == []
    assert "No concern that you handle has that reference." in card_texts(refused)
    assert STAFF_SUBJECT not in json.dumps(refused)
    [link] = links(allowed)
    assert STAFF_SUBJECT in seeded.exports.download(link)[1]
    outcomes = [
        (e.actor, e.outcome) for e in await seeded.audit() if e.action == "concern.chronology"
    ]
    assert outcomes == [(DSL, "refused: not a handler"), (HEADTEACHER, "exported")]


async def test_the_chronology_is_offered_only_in_a_private_chat(seeded: School) -> None:
    card = await seeded.click(DSL, "concern.chronology", {"ref": "OSC-2026-0001"}, **in_channel())

    assert links(card) == []
    assert "only in a private chat" in visible_text(card)


async def test_an_unknown_reference_is_refused_like_a_forbidden_one(seeded: School) -> None:
    missing = await seeded.click(DSL, "concern.chronology", {"ref": "OSC-2026-0999"})
    nonsense = await seeded.click(DSL, "concern.chronology", {"ref": "<b>x</b>"})

    for card in (missing, nonsense):
        assert "No concern that you handle has that reference." in card_texts(card)
        assert links(card) == []


async def test_the_chair_of_governors_gets_an_anonymised_report(seeded: School) -> None:
    picker = await seeded.click(CHAIR_OF_GOVERNORS, "records.governors")
    [choice] = [e for e in picker["body"] if e["type"] == "Input.ChoiceSet"]
    assert choice["value"] == "term:Autumn 2026"

    card = await seeded.click(
        CHAIR_OF_GOVERNORS, "records.governors", {"step": "make", "period": "term:Autumn 2026"}
    )

    shown = visible_text(card)
    assert "Governors' report: Autumn 2026" in shown
    assert "Cyberbullying fewer than 3" in shown and "Total 6" in shown
    assert leaks(json.dumps(card)) == []
    [link] = links(card)
    assert leaks(seeded.exports.download(link)[1]) == []


@pytest.mark.parametrize(
    ("typed", "heading"),
    [
        ("governors report", "Governors' report"),
        ("chronology", "Export a concern's chronology"),
        ("open items", "Open items (3)"),
        ("incident log", "Incident log"),
    ],
)
async def test_typed_commands(seeded: School, typed: str, heading: str) -> None:
    [reply] = await seeded.say(DSL, typed)

    assert reply.card is not None
    assert card_texts(dict(reply.card))[0] == heading


@pytest.mark.parametrize("verb", sorted(ALLOWED))
@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_every_command_is_role_checked(seeded: School, verb: str, who: str) -> None:
    card = await seeded.click(EVERYONE[who], verb, REQUESTS[verb])

    refused = [e for e in await seeded.audit() if e.outcome.startswith("refused")]
    if who in ALLOWED[verb]:
        assert "That isn't available to you" not in card_texts(card)
        return
    assert card_texts(card)[0] in {"That isn't available to you", "Sorry, you can't do that here"}
    assert links(card) == []
    assert leaks(json.dumps(card)) == []
    assert [(e.actor, e.action, e.outcome) for e in refused] == [
        (EVERYONE[who], verb, "refused: role does not allow it")
    ]
