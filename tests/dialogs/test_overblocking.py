"""Over-blocking, "Blocked but I need it for teaching" (issue 21), through the use-case layer:
a teacher's report reaches IT; "Request an exception from this" makes a request for the
teacher in two clicks; "Not needed / explained" needs a reason and tells the teacher; only IT
answers; IT's open items list the whole school's waiting requests and reports."""

from __future__ import annotations

from typing import Any

from tests.dialogs.conftest import School
from tests.support import (
    DSL,
    IT,
    IT_CHANNEL,
    TEACHER,
    assert_valid_card,
    button,
    card_texts,
    click_button,
    dm,
    visible_text,
)

FRANK = "https://www.talktofrank.com/drugs-a-z"
IMPACT = "The drugs A to Z page was blocked halfway through the PSHE lesson on risk."

#: What IT fills in on the prefilled form (what the report could not know).
IT_FILLS = {
    "blocked_category": "games",
    "audience": "class",
    "audience_detail": "10B",
    "supervised": "yes",
    "age_appropriate": "yes",
}


async def report(s: School, who: str = TEACHER, **changes: str) -> dict[str, Any]:
    form = await s.click(who, "overblock.start")
    assert_valid_card(form)
    fields = {"site": FRANK, "lesson": "PSHE: drugs and risk", "impact": IMPACT, **changes}
    return await s.click(who, "overblock.submit", {**button(form, "overblock.submit"), **fields})


async def it_card(s: School) -> dict[str, Any]:
    await s.settle()
    return s.messenger.latest(IT_CHANNEL, "Blocked but needed for teaching")


async def test_a_report_reaches_it_and_two_clicks_make_an_exception_request_for_the_teacher(
    school: School,
) -> None:
    sent = await report(school)
    assert card_texts(sent)[0] == "Sent to IT: OBR-2026-0001"
    card = await it_card(school)
    assert_valid_card(card)
    assert IMPACT in visible_text(card)

    form = await click_button(school, IT, card, "overblock.exception", channel=IT_CHANNEL)
    assert_valid_card(form)
    prefilled = {e["id"]: e.get("value") or "" for e in form["body"] if "id" in e}
    assert prefilled["site"] == FRANK and prefilled["topic"] == "PSHE: drugs and risk"
    assert prefilled["scope"] == "page"
    done = await click_button(
        school,
        IT,
        form,
        "overblock.exception_submit",
        channel=IT_CHANNEL,
        **{**prefilled, **IT_FILLS},
    )
    await school.settle()

    assert "Exception requested: FLT-2026-0001, by Nadia Khan" in visible_text(done)
    [record] = await school.find("filter_request")
    assert record.data["requester_id"] == TEACHER and record.data["from_report"] == (
        "OBR-2026-0001"
    )
    assert record.data["scope"] == "page"
    request_card = school.messenger.latest(IT_CHANNEL, "Filter request FLT-2026-0001")
    assert "Allow exactly: www.talktofrank.com/drugs-a-z" in visible_text(request_card)
    told = school.messenger.cards(dm(TEACHER))[-1]
    assert "FLT-2026-0001" in visible_text(told)
    [obr] = await school.find("overblock_report")
    assert obr.data["status"] == "exception_requested"


async def test_not_needed_needs_a_reason_and_the_teacher_is_told(school: School) -> None:
    await report(school)
    card = await it_card(school)

    empty = await click_button(school, IT, card, "overblock.explain", channel=IT_CHANNEL, note="")
    assert "give the reason" in visible_text(empty)
    done = await click_button(
        school,
        IT,
        card,
        "overblock.explain",
        channel=IT_CHANNEL,
        note="That page is allowed now: the block was a category error, fixed today.",
    )
    await school.settle()

    assert "No change: explained by Nadia Khan" in visible_text(done)
    told = school.messenger.cards(dm(TEACHER))[-1]
    assert "category error" in visible_text(told)
    assert await school.find("filter_request") == []


async def test_only_it_answers_a_report(school: School) -> None:
    await report(school)
    card = await it_card(school)

    refused = await click_button(
        school, DSL, card, "overblock.explain", channel=IT_CHANNEL, note="Not needed at all."
    )

    assert "That isn't available to you" in card_texts(refused)
    [obr] = await school.find("overblock_report")
    assert (obr.data["status"], obr.version) == ("open", 1)


async def test_bad_input_is_sent_back_and_nothing_is_saved(school: School) -> None:
    card = await report(school, site="http://10.0.0.5/", impact="")
    await school.settle()

    assert "Nothing has been sent yet" in visible_text(card)
    assert await school.find("overblock_report") == []
    assert school.messenger.posted == []


async def test_a_typed_phrase_opens_the_report_form(school: School) -> None:
    [reply] = await school.say(TEACHER, "it's blocked but I need it for teaching")

    assert reply.card is not None
    assert card_texts(dict(reply.card))[0] == "Blocked but I need it for teaching"


async def test_its_open_items_list_the_whole_schools_waiting_requests_and_reports(
    school: School,
) -> None:
    await report(school)
    school.advance(hours=2)
    items = await school.click(IT, "filter.open_items")

    assert_valid_card(items)
    assert "OBR-2026-0001, 2 h old" in visible_text(items)
    refused = await school.click(TEACHER, "filter.open_items")
    assert "That isn't available to you" in card_texts(refused)


async def test_a_never_unblockable_site_cannot_be_requested_from_a_report(school: School) -> None:
    await report(school)
    card = await it_card(school)
    form = await click_button(school, IT, card, "overblock.exception", channel=IT_CHANNEL)
    values = {e["id"]: e.get("value") or "" for e in form["body"] if "id" in e}

    shown = await click_button(
        school,
        IT,
        form,
        "overblock.exception_submit",
        channel=IT_CHANNEL,
        **{**values, **IT_FILLS, "blocked_category": "police_terrorism"},
    )

    assert "never unblocked" in visible_text(shown)
    assert await school.find("filter_request") == []
    [obr] = await school.find("overblock_report")
    assert obr.data["status"] == "open"


async def test_an_answered_report_offers_no_second_answer(school: School) -> None:
    await report(school)
    card = await it_card(school)
    await click_button(
        school, IT, card, "overblock.explain", channel=IT_CHANNEL, note="Covered by a resource."
    )

    again = await click_button(school, IT, card, "overblock.exception", channel=IT_CHANNEL)

    assert "Request a web-filter change" not in visible_text(again)
    assert "No change: explained by Nadia Khan" in visible_text(again)
    assert await school.find("filter_request") == []


async def test_the_form_is_only_opened_from_the_it_channel(school: School) -> None:
    await report(school)
    card = await it_card(school)

    refused = await click_button(school, IT, card, "overblock.exception", channel="19:other@x")

    assert "That isn't available to you" in card_texts(refused)
    assert any(e.outcome == "refused: wrong conversation" for e in await school.audit())


async def test_my_reports_lists_the_report_and_the_request_made_from_it(school: School) -> None:
    await report(school)
    card = await it_card(school)
    form = await click_button(school, IT, card, "overblock.exception", channel=IT_CHANNEL)
    values = {e["id"]: e.get("value") or "" for e in form["body"] if "id" in e}
    await click_button(
        school,
        IT,
        form,
        "overblock.exception_submit",
        channel=IT_CHANNEL,
        **{**values, **IT_FILLS},
    )

    mine = visible_text(await school.click(TEACHER, "reports.mine"))
    others = visible_text(await school.click(IT, "reports.mine"))

    assert "OBR-2026-0001" in mine and "IT asked for an exception" in mine
    assert "FLT-2026-0001" in mine and "Blocked site: www.talktofrank.com" in mine
    assert "OBR-2026-0001" not in others and "FLT-2026-0001" not in others
