"""Web-filter exceptions through the use-case layer: request, decisions checked against who
clicked, IT's tasks, the end of the period with a moved clock, and the change log (fast twin of
tests/e2e/test_filter_over_http.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.dialogs.conftest import School
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT,
    IT_CHANNEL,
    PUPIL,
    TEACHER,
    assert_valid_card,
    button,
    card_texts,
    click_button,
    dm,
    visible_text,
)

GAME_REASON = "Pupils will test the physics simulation game we built in Computing this week."
REASON = "Year 10 are comparing how extremist groups recruit online, for the citizenship unit."


def form_fields(**changes: str) -> dict[str, str]:
    fields = {
        "site": "www.history-of-hate.example/propaganda",
        "blocked_category": "unknown",
        "audience": "class",
        "audience_detail": "10B",
        "reason": REASON,
        "topic": "Citizenship: radicalisation",
        "start": "2026-11-23",
        "end": "2026-11-27",
        "supervised": "yes",
        "age_appropriate": "yes",
    }
    fields.update(changes)
    return fields


async def request_change(s: School, who: str = TEACHER, **changes: str) -> dict[str, Any]:
    form = await s.click(who, "filter.start")
    return await s.click(
        who, "filter.submit", {**button(form, "filter.submit"), **form_fields(**changes)}
    )


async def it_card(s: School) -> dict[str, Any]:
    await s.settle()
    return s.messenger.cards(IT_CHANNEL)[-1]


async def records(s: School) -> list[Any]:
    return await s.find("filter_request")


async def refusals(s: School) -> list[Any]:
    return [e for e in await s.audit() if e.outcome.startswith("refused")]


async def approved_and_applied(s: School) -> None:
    await request_change(s, blocked_category="games", reason=GAME_REASON)
    await click_button(s, IT, await it_card(s), "filter.approve")
    await s.settle()
    await click_button(s, IT, s.messenger.latest(IT_CHANNEL, "Apply: allow"), "filter.applied")
    await s.settle()


# ----- requesting and deciding -----------------------------------------------------------------


async def test_a_plain_request_goes_to_it_and_is_approved_applied_and_reported(
    school: School,
) -> None:
    received = await request_change(school, blocked_category="games", reason=GAME_REASON)
    assert card_texts(received)[0] == "Sent: FLT-2026-0001"
    card = await it_card(school)
    assert school.messenger.cards(DSL_CHANNEL) == []  # not a sensitive topic

    approved = await click_button(school, IT, card, "filter.approve", channel=IT_CHANNEL)
    await school.settle()

    assert "Approved: waiting for IT to apply it" in visible_text(approved)
    [news] = school.messenger.cards(dm(TEACHER))
    assert "class 10B" in visible_text(news) and "Fri 27 Nov 2026" in visible_text(news)
    task = school.messenger.latest(IT_CHANNEL, "Apply: allow")

    done = await click_button(school, IT, task, "filter.applied", channel=IT_CHANNEL)
    await school.settle()

    assert "Applied by Nadia Khan" in visible_text(done)
    assert "Now allowed" in visible_text(school.messenger.cards(dm(TEACHER))[-1])
    [record] = await records(school)
    assert record.data["status"] == "applied"
    assert record.data["applied"]["by_name"] == "Nadia Khan"


async def test_a_sensitive_topic_needs_the_dsl_and_it_two_different_people(
    school: School,
) -> None:
    await request_change(school, blocked_category="extremism")
    card = await it_card(school)
    assert "Sensitive topic" in visible_text(school.messenger.cards(DSL_CHANNEL)[-1])

    first = await click_button(school, IT, card, "filter.approve")
    assert "Waiting for a decision" in visible_text(first)
    again = await click_button(school, IT, first, "filter.approve")
    assert "you have already approved it" in visible_text(again)
    second = await click_button(school, DSL, first, "filter.approve")
    await school.settle()

    assert "Approved: waiting for IT to apply it" in visible_text(second)
    assert "Reason approved by Fiona Blake" in visible_text(second)
    [record] = await records(school)
    assert record.data["status"] == "approved"
    assert [(e.actor, e.outcome) for e in await refusals(school)] == [
        (IT, "refused: rule: same person twice")
    ]
    assert "Approved" in visible_text(school.messenger.latest(DSL_CHANNEL, "FLT-2026-0001"))


async def test_nobody_approves_their_own_request(school: School) -> None:
    await request_change(school, who=IT, blocked_category="games")

    own = await click_button(school, IT, await it_card(school), "filter.approve")

    assert "nobody can decide their own request" in visible_text(own)
    [record] = await records(school)
    assert (record.data["status"], record.version) == ("pending", 1)
    [refusal] = await refusals(school)
    assert (refusal.actor, refusal.item) == (IT, "filter_request:FLT-2026-0001")


async def test_staff_without_a_deciding_role_cannot_approve(school: School) -> None:
    await request_change(school)

    refused = await click_button(school, TEACHER, await it_card(school), "filter.approve")

    assert "That isn't available to you" in card_texts(refused)
    assert (await records(school))[0].data["status"] == "pending"
    assert [e.actor for e in await refusals(school)] == [TEACHER]


async def test_the_approval_is_checked_against_who_clicked_not_the_card_data(
    school: School,
) -> None:
    await request_change(school, blocked_category="games", reason=GAME_REASON)
    data = button(await it_card(school), "filter.approve")

    forged = await school.click(TEACHER, "filter.approve", {**data, "by": IT, "role": "it"})

    assert "That isn't available to you" in card_texts(forged)
    assert (await records(school))[0].data["status"] == "pending"


@pytest.mark.parametrize("category", ["iwf_child_abuse", "police_terrorism"])
async def test_never_unblockable_is_refused_at_once_logged_and_the_dsl_told(
    school: School, category: str
) -> None:
    refused = await request_change(school, blocked_category=category)
    await school.settle()

    assert card_texts(refused)[0] == "Refused: FLT-2026-0001"
    assert "never unblocked" in visible_text(refused)
    [record] = await records(school)
    assert record.data["status"] == "refused"
    assert school.messenger.cards(IT_CHANNEL) == []
    [note] = school.messenger.cards(dm(DSL))
    assert "Daniel Okafor asked to unblock" in visible_text(note)
    [entry] = [e for e in await school.audit() if e.action == "filter.request"]
    assert entry.outcome == "refused: never unblockable"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"site": "ftp://files.example/x"}, "site", "Only web addresses"),
        ({"site": "http://10.0.0.5/admin"}, "site", "not a public website"),
        ({"site": "https://bob:pw@news.example/"}, "site", "Remove the user name or password"),
        ({"start": "2026-11-20"}, "start", "in the past"),
        ({"end": "2026-11-22"}, "end", "must be after the start"),
        ({"end": "2026-12-08"}, "end", "The longest period is 14 days"),
        ({"reason": ""}, "reason", "Give the educational reason"),
        ({"reason": "research"}, "reason", "not just 'research'"),
        ({"audience": "class", "audience_detail": ""}, "audience_detail", "which class"),
        ({"supervised": ""}, "supervised", "Answer yes or no"),
    ],
)
async def test_bad_input_is_shown_beside_its_field_and_changes_nothing(
    school: School, changes: dict[str, str], field: str, words: str
) -> None:
    card = await request_change(school, **changes)
    await school.settle()

    body = card["body"]
    index = next(i for i, e in enumerate(body) if e.get("id") == field)
    assert words in body[index + 1]["text"]
    assert await records(school) == []
    assert school.messenger.posted == []


async def test_a_pupil_cannot_request_a_filter_change(school: School) -> None:
    refused = await school.click(PUPIL, "filter.submit", {"form": "x", **form_fields()})

    assert "Sorry, you can't do that here" in card_texts(refused)
    assert await records(school) == []


async def test_the_same_request_clicked_twice_is_one_request(school: School) -> None:
    form = await school.click(TEACHER, "filter.start")
    data = {**button(form, "filter.submit"), **form_fields()}

    first = await school.click(TEACHER, "filter.submit", data)
    second = await school.click(TEACHER, "filter.submit", data)
    await school.settle()

    assert card_texts(first)[0] == card_texts(second)[0] == "Sent: FLT-2026-0001"
    assert len(await records(school)) == 1
    assert len(school.messenger.cards(IT_CHANNEL)) == 1


# ----- asking for more information -------------------------------------------------------------


async def test_asking_for_more_information_waits_for_the_requesters_answer(
    school: School,
) -> None:
    await request_change(school)

    asked = await click_button(
        school, IT, await it_card(school), "filter.ask", note="Which pages exactly?"
    )
    await school.settle()
    assert "Waiting for more information" in visible_text(asked)
    [question] = school.messenger.cards(dm(TEACHER))
    assert "Which pages exactly?" in visible_text(question)

    answered = await school.act(
        TEACHER,
        "filter.answer",
        {**button(question, "filter.answer"), "note": "Only the /propaganda pages"},
    )
    await school.settle()

    assert "your answer has been sent" in str(answered.text or answered.card)
    [record] = await records(school)
    assert record.data["status"] == "pending"
    assert [s["action"] for s in record.data["history"]] == [
        "requested",
        "asked for more information",
        "answered",
    ]
    assert "Waiting for a decision" in visible_text(
        school.messenger.latest(IT_CHANNEL, "FLT-2026-0001")
    )


# ----- the period ends -------------------------------------------------------------------------


async def test_at_the_end_date_it_gets_a_reblock_task_then_reminders_then_the_dsl_is_told(
    school: School,
) -> None:
    await approved_and_applied(school)

    school.clock.at = datetime(2026, 11, 27, 16, 59, tzinfo=UTC)  # Friday 16:59
    await school.settle()
    with pytest.raises(AssertionError):
        school.messenger.latest(IT_CHANNEL, "Re-block")
    school.clock.at = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    await school.settle()
    assert_valid_card(school.messenger.latest(IT_CHANNEL, "Re-block www.history-of-hate.example"))

    for day in (28, 29, 30):  # Saturday, Sunday, Monday: reminders, DSL not yet told
        school.clock.at = datetime(2026, 11, day, 17, 0, tzinfo=UTC)
        await school.settle()
    notes = school.messenger.texts(IT_CHANNEL)
    assert len(notes) == 3 and "should have been re-blocked on Fri 27 Nov 2026" in notes[0]
    assert school.messenger.to(dm(DSL)) == []

    school.clock.at = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # Tuesday: 2 school days
    await school.settle()
    [told] = school.messenger.cards(dm(DSL))
    assert "Overdue by 2 days" in visible_text(told)

    done = await click_button(
        school, IT, school.messenger.latest(IT_CHANNEL, "Re-block"), "filter.reblocked"
    )
    await school.settle()
    assert "Re-blocked by Nadia Khan" in visible_text(done)
    assert "Access ended" in visible_text(school.messenger.cards(dm(TEACHER))[-1])
    school.clock.at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    posted = len(school.messenger.posted)
    await school.settle()
    assert len(school.messenger.posted) == posted  # finished: no more reminders


async def test_an_approved_request_never_applied_lapses_at_the_end_date(school: School) -> None:
    await request_change(school, blocked_category="games", reason=GAME_REASON)
    await click_button(school, IT, await it_card(school), "filter.approve")
    school.clock.at = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    await school.settle()

    [record] = await records(school)
    assert record.data["status"] == "lapsed"
    with pytest.raises(AssertionError):
        school.messenger.latest(IT_CHANNEL, "Re-block")


# ----- the change log --------------------------------------------------------------------------


async def test_the_filter_log_card_and_csv_hold_every_event_with_actor_and_reason(
    school: School,
) -> None:
    await approved_and_applied(school)
    school.clock.at = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    await school.settle()
    await click_button(
        school, IT, school.messenger.latest(IT_CHANNEL, "Re-block"), "filter.reblocked"
    )
    await request_change(
        school, blocked_category="police_terrorism", start="2026-11-27", end="2026-11-30"
    )

    log_card = await school.click(DSL, "filter.log", scope="channel", conversation_id=DSL_CHANNEL)

    assert "Filtering change log" in visible_text(log_card)
    [content] = school.exports.files.values()
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r["reference"], r["event"], r["actor"]) for r in rows] == [
        ("FLT-2026-0001", "requested", "Daniel Okafor"),
        ("FLT-2026-0001", "change approved", "Nadia Khan"),
        ("FLT-2026-0001", "applied", "Nadia Khan"),
        ("FLT-2026-0001", "period ended", "The bot"),
        ("FLT-2026-0001", "re-blocked", "Nadia Khan"),
        ("FLT-2026-0002", "requested", "Daniel Okafor"),
        ("FLT-2026-0002", "refused", "The bot"),
    ]
    assert rows[0]["detail"] == GAME_REASON


async def test_no_cell_of_the_filter_log_csv_runs_as_a_spreadsheet_formula(
    school: School,
) -> None:
    await request_change(school, reason="-" + REASON)

    await school.click(DSL, "filter.log", scope="channel", conversation_id=DSL_CHANNEL)

    [content] = school.exports.files.values()
    [row] = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert row["detail"] == "'-" + REASON


async def test_the_filter_log_is_only_for_it_and_the_safeguarding_team(school: School) -> None:
    refused = await school.click(TEACHER, "filter.log")
    allowed = await school.click(DEPUTY_DSL, "filter.log")

    assert "That isn't available to you" in card_texts(refused)
    assert "Filtering change log" in visible_text(allowed)
