"""Cards people read in a hurry (issue 24), end to end: real HTTP into /api/messages, the real
botbuilder adapter, real TinyDB files and a fake Bot Connector.

A DSL working through a concern keeps its detail open until they close it; records several
actions in one go; every card reads dates the same way; the video-call verdict leads with the
answer; a channel is greeted once; "My reports" lists a teacher's filter requests too.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Harness
from tests.support import (
    BOT_ID,
    CALL_FORM,
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEAD_OF_DEPARTMENT,
    TEACHER,
    assert_valid_card,
    bot_added,
    button,
    card_texts,
    click_button,
    message,
    visible_text,
)

CHILD = "Ava Thompson"


async def report(h: Harness, category: str = "cyberbullying") -> None:
    form = await h.click(TEACHER, "concern.start", {"step": "details", "category": category})
    [submit] = [a for a in form["actions"] if a.get("verb") == "concern.submit"]
    fields = {
        "immediate_risk": "no",
        "involved": f"{CHILD} (8B)",
        "year_group": "Year 8",
        "what_happened": "Unkind messages in a group chat",
        "where": "WhatsApp",
        "url": "",
        "happened_on": "2026-11-22",
        "actions_taken": "",
    }
    await h.click(TEACHER, "concern.submit", {**submit["data"], **fields})


async def channel_card(h: Harness) -> dict[str, Any]:
    """The DSL channel card as it is now (the last post, or its last update)."""
    await h.settle()
    updates = [u for u in h.connector.updated if u["_conversation"] == DSL_CHANNEL]
    if updates:
        return dict(updates[-1]["attachments"][0]["content"])
    return h.connector.cards(DSL_CHANNEL)[-1]


async def refresh(h: Harness, who: str, card: dict[str, Any]) -> dict[str, Any]:
    """What Teams shows ``who`` when it refreshes ``card`` by itself (``trigger: automatic``)."""
    action = card["refresh"]["action"]
    return await h.click(
        who,
        action["verb"],
        action["data"],
        scope="channel",
        conversation_id=DSL_CHANNEL,
        trigger="automatic",
    )


def close_details(card: dict[str, Any]) -> dict[str, Any]:
    """The "Close details" button, at the top of the detail card."""
    [found] = [
        a
        for e in card["body"]
        if e.get("type") == "ActionSet"
        for a in e["actions"]
        if a["title"] == "Close details"
    ]
    return dict(found)


async def click_close_details(h: Harness, card: dict[str, Any]) -> dict[str, Any]:
    action = close_details(card)
    return await h.click(
        DSL, action["verb"], action["data"], scope="channel", conversation_id=DSL_CHANNEL
    )


def is_detail(card: dict[str, Any]) -> bool:
    return CHILD in visible_text(card)


# ----- the DSL's detail view stays open -------------------------------------------------------


async def test_the_detail_stays_open_for_the_dsl_who_opened_it_until_they_close_it(
    harness: Harness,
) -> None:
    await report(harness)
    card = await channel_card(harness)
    assert "refresh" not in card  # nobody has it open yet

    detail = await click_button(harness, DSL, card, "concern.open", channel=DSL_CHANNEL)
    assert is_detail(detail)
    assert_valid_card(detail)
    # Acknowledge from the detail: Teams shows the clicker the detail again…
    after = await click_button(harness, DSL, detail, "concern.ack", channel=DSL_CHANNEL)
    assert is_detail(after) and "Fiona Blake" in visible_text(after)
    # …and the channel card, changed for everyone, asks Teams to refresh it for her only.
    updated = await channel_card(harness)
    assert_valid_card(updated)
    assert not is_detail(updated)
    assert updated["refresh"]["userIds"] == [f"8:orgid:{DSL}"]
    assert CHILD not in str(updated["refresh"])
    assert is_detail(await refresh(harness, DSL, updated))
    # A deputy who never opened it sees the summary, even if Teams refreshes for them.
    assert not is_detail(await refresh(harness, DEPUTY_DSL, updated))

    # Record two actions from the detail: still open.
    after = await click_button(
        harness,
        DSL,
        after,
        "concern.action",
        channel=DSL_CHANNEL,
        action="platform_report,parents_informed",
        note="Mum called",
    )
    assert is_detail(after)
    assert is_detail(await refresh(harness, DSL, await channel_card(harness)))

    # Close details: the summary for her, and Teams' next refresh keeps it closed.
    closed = await click_close_details(harness, after)
    assert not is_detail(closed)
    assert_valid_card(closed)
    assert not is_detail(await refresh(harness, DSL, await channel_card(harness)))


async def test_close_details_is_offered_in_the_channel_only(harness: Harness) -> None:
    await report(harness)
    card = await channel_card(harness)
    in_channel = await click_button(harness, DSL, card, "concern.open", channel=DSL_CHANNEL)
    in_chat = await click_button(harness, DSL, card, "concern.open")

    assert close_details(in_channel)["data"]["view"] == "summary"
    assert "Close details" not in str(in_chat)


# ----- several actions in one go --------------------------------------------------------------


async def test_a_dsl_records_several_actions_with_one_note(harness: Harness) -> None:
    await report(harness)
    card = await channel_card(harness)
    detail = await click_button(harness, DSL, card, "concern.open")
    [record] = [a for a in detail["actions"] if a.get("title") == "Record an action"]
    [choices] = [e for e in record["card"]["body"] if e.get("id") == "action"]
    assert choices["isMultiSelect"] is True and choices["isRequired"] is True

    after = await click_button(
        harness,
        DSL,
        detail,
        "concern.action",
        action="platform_report,parents_informed",
        note="Mum called",
    )

    [concern] = await harness.parts.store.find("concern")
    assert concern.data["actions_done"] == ["platform_report", "parents_informed"]
    lines = [e["text"] for e in concern.data["chronology"] if e["kind"] == "action"]
    assert lines == ["Reported to the platform or app; Parents or carers informed: Mum called"]
    assert (
        "Reported to the platform or app; Parents or carers informed: Mum called"
        in visible_text(after)
    )


async def test_recording_no_action_asks_for_one_and_changes_nothing(harness: Harness) -> None:
    await report(harness)
    card = await channel_card(harness)
    detail = await click_button(harness, DSL, card, "concern.open")

    after = await click_button(harness, DSL, detail, "concern.action", action="")

    assert "Choose at least one action you took." in visible_text(after)
    [concern] = await harness.parts.store.find("concern")
    assert concern.data["actions_done"] == []


# ----- one date style -------------------------------------------------------------------------


async def test_the_dsl_card_and_my_reports_write_dates_like_every_other_card(
    harness: Harness,
) -> None:
    await report(harness)  # happened on 2026-11-22, reported on Mon 23 Nov 2026 at 10:00
    card = await channel_card(harness)
    detail = await click_button(harness, DSL, card, "concern.open")
    mine = await harness.click(TEACHER, "reports.mine")

    shown = visible_text(detail)
    assert "When it happened Sun 22 Nov 2026" in shown
    assert "Reported Mon 23 Nov 2026, 10:00" in shown
    assert "2026-11-22" not in shown
    assert "Mon 23 Nov 2026" in visible_text(mine)


# ----- every string read once, as a teacher would -----------------------------------------------


async def test_the_detail_has_no_rows_the_form_never_asked_for_and_close_says_what_it_needs(
    harness: Harness,
) -> None:
    await report(harness)
    card = await channel_card(harness)
    detail = await click_button(harness, DSL, card, "concern.open")

    assert "Device" not in visible_text(detail)  # only a filtering breach asks for it
    [close] = [a for a in detail["actions"] if a.get("title") == "Close"]
    inputs = {e["id"]: e for e in close["card"]["body"] if "id" in e}
    assert inputs["outcome"]["isRequired"] and inputs["message"]["isRequired"]
    assert inputs["message"]["errorMessage"].startswith("Write a short message")


async def test_the_report_form_asks_in_plain_words(harness: Harness) -> None:
    form = await harness.click(
        TEACHER, "concern.start", {"step": "details", "category": "cyberbullying"}
    )
    errors = [e["errorMessage"] for e in form["body"] if e.get("errorMessage")]
    assert "Say who is involved." in errors
    assert not [e for e in errors if "? is" in e]


# ----- the video-call verdict -----------------------------------------------------------------


def unfolded(card: dict[str, Any]) -> list[str]:
    """The texts shown before anyone unfolds anything (show-cards left closed)."""

    def closed(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: closed(v)
                for k, v in node.items()
                if not (k == "card" and node.get("type") == "Action.ShowCard")
            }
        if isinstance(node, list):
            return [closed(v) for v in node]
        return node

    return card_texts(closed(card))


def folded(card: dict[str, Any]) -> tuple[str, list[str]]:
    """The title of the button that unfolds the rules that passed, and the texts it shows."""
    [action] = [
        a
        for e in card["body"]
        if e.get("type") == "ActionSet"
        for a in e["actions"]
        if a["type"] == "Action.ShowCard"
    ]
    return action["title"], card_texts(action["card"])


async def test_a_verdict_leads_with_the_answer_and_folds_the_rules_that_passed(
    harness: Harness,
) -> None:
    verdict = await harness.click(TEACHER, "call.submit", {**CALL_FORM, "date": "2026-11-28"})

    assert_valid_card(verdict)
    shown = unfolded(verdict)
    assert shown[0] == "⛔ Not allowed"
    assert shown[1].startswith("⛔ Sat 28 Nov 2026 is not a school day")
    # Meaning never by colour alone: every status has its symbol and words.
    assert (
        "⛔ Not allowed: School day (Online Safety Policy: Remote teaching and learning)" in shown
    )
    assert not [t for t in shown if t.startswith("✅ Pass")]
    title, passed = folded(verdict)
    assert "✅ Pass: Teaching hours (Online Safety Policy: Remote teaching and learning)" in passed
    assert (
        title == f"Show the {len([t for t in passed if t.startswith('✅ Pass')])} rules that passed"
    )
    colours = {e.get("color") for e in verdict["body"] if e.get("type") == "TextBlock"}
    assert colours <= {None, "Default", "Attention"}  # no pale green or yellow text


async def test_check_another_call_starts_from_the_last_answers_for_that_teacher_only(
    harness: Harness,
) -> None:
    answers = {**CALL_FORM, "date": "2026-11-28", "start": "14:30", "duration": "45"}
    verdict = await harness.click(TEACHER, "call.submit", answers)
    again = button(verdict, "call.start")

    form = await harness.click(TEACHER, "call.start", again)
    someone_else = await harness.click(HEAD_OF_DEPARTMENT, "call.start", again)

    values = {e["id"]: e.get("value") for e in form["body"] if "id" in e}
    assert (values["date"], values["start"], values["duration"]) == ("2026-11-28", "14:30", 45)
    other = {e["id"]: e.get("value") for e in someone_else["body"] if "id" in e}
    assert other["date"] == "2026-11-23"  # today: nobody else's answers
    assert set(again) == {"verb", "v", "check"}  # the button carries an id, not the answers


# ----- a channel is greeted once --------------------------------------------------------------


def added_in_channel(who: str, service_url: str) -> dict[str, Any]:
    """The ``conversationUpdate`` Teams sends in the DSL channel when the bot is added (or
    the install event repeats for another member)."""
    activity = message(who, "", service_url, scope="channel", conversation_id=DSL_CHANNEL)
    activity["type"] = "conversationUpdate"
    del activity["text"]
    activity["membersAdded"] = [{"id": BOT_ID}]
    return activity


async def test_a_channel_is_greeted_once_briefly_and_without_names(harness: Harness) -> None:
    for who in (DSL, DEPUTY_DSL, DSL):
        status, _ = await harness.post(added_in_channel(who, harness.connector.url))
        assert status in (200, 201)
    await harness.restart()
    await harness.post(added_in_channel(DEPUTY_DSL, harness.connector.url))

    [greeting] = harness.connector.cards(DSL_CHANNEL)
    assert_valid_card(greeting)
    shown = visible_text(greeting)
    assert "Hello" not in shown and "Fiona" not in shown and "Tom" not in shown
    assert "message me in a private chat" in shown


async def test_a_private_chat_is_still_greeted_by_name(harness: Harness) -> None:
    await harness.post(bot_added(TEACHER, harness.connector.url))
    [welcome] = harness.connector.cards()
    assert "Hello Daniel" in visible_text(welcome)


# ----- "My reports" lists a teacher's filter requests too ---------------------------------------


async def test_my_reports_lists_the_teachers_filter_requests_with_their_concerns(
    harness: Harness,
) -> None:
    from tests.e2e.test_filter_over_http import request_change

    await report(harness)
    harness.advance(minutes=5)
    await request_change(harness)
    [request] = await harness.parts.store.find("filter_request")

    mine = await harness.click(TEACHER, "reports.mine")
    theirs = await harness.click(HEAD_OF_DEPARTMENT, "reports.mine")

    assert_valid_card(mine)
    lines = visible_text(mine).splitlines()
    assert lines[0] == "Your reports and requests"
    assert lines[1] == "Filter change for www.history-of-hate.example: sent, waiting for a decision"
    assert lines[2] == f"{request.id}, sent Mon 23 Nov 2026"
    assert lines[3].startswith("Cyberbullying")
    assert request.id not in visible_text(theirs)
