"""Staff concerns end to end: real HTTP into /api/messages, Teams-shaped activities, the real
botbuilder adapter, real TinyDB files, and a fake Bot Connector that captures what is posted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from policy.categories import DEFAULT_CATEGORIES
from tests.conftest import Harness
from tests.support import (
    CHAIR_OF_GOVERNORS,
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    IT,
    IT_CHANNEL,
    TEACHER,
    assert_valid_card,
    button,
    card_texts,
    click_button,
    close_form,
    dm,
    everything,
    visible_text,
)

CHILD = "Ava Thompson"
STORY = "Sent messages at night asking to meet CANARY-7731"
SITE = "https://bad.example/page-CANARY"


def report_fields(**changes: str) -> dict[str, str]:
    fields = {
        "immediate_risk": "no",
        "involved": f"{CHILD} (8B)",
        "year_group": "Year 8",
        "what_happened": STORY,
        "where": "Snapchat",
        "url": "",
        "happened_on": "2026-11-22",
        "actions_taken": "Phone switched off and kept in the office",
    }
    fields.update(changes)
    return fields


def submit_data(card: dict[str, Any]) -> dict[str, Any]:
    [submit] = [a for a in card["actions"] if a.get("verb") == "concern.submit"]
    return dict(submit["data"])


async def report(h: Harness, category: str, who: str = TEACHER, **fields: str) -> dict[str, Any]:
    """Fill in the two-step form as ``who`` and send it; returns the card they see."""
    form = await h.click(who, "concern.start", {"step": "details", "category": category})
    assert_valid_card(form)
    data = submit_data(form)
    return await h.click(who, "concern.submit", {**data, **report_fields(**fields)})


async def stored(h: Harness) -> list[Any]:
    return await h.parts.store.find("concern")


async def audit(h: Harness) -> list[Any]:
    return await h.parts.store.audit_log()


# ----- reporting -------------------------------------------------------------------------------


async def test_report_a_concern_from_the_menu_to_a_reference(harness: Harness) -> None:
    assert await harness.say(TEACHER, "Report a concern") in (200, 201)
    [picker] = harness.connector.cards()
    assert_valid_card(picker)
    assert "Report an online-safety concern" in card_texts(picker)

    received = await report(harness, "cyberbullying")

    assert_valid_card(received)
    assert card_texts(received)[0] == "Received: OSC-2026-0001"
    text = " ".join(card_texts(received))
    assert "the safeguarding team (the DSL and deputy DSLs)" in everything(received)
    assert "What happens next" in text
    [concern] = await stored(harness)
    assert concern.id == "OSC-2026-0001"
    assert concern.data["what_happened"] == STORY


async def test_references_are_sequential(harness: Harness) -> None:
    first = await report(harness, "cyberbullying")
    second = await report(harness, "online_hate")

    assert card_texts(first)[0].endswith("OSC-2026-0001")
    assert card_texts(second)[0].endswith("OSC-2026-0002")


@pytest.mark.parametrize("category", [c.id for c in DEFAULT_CATEGORIES if c.imagery_rule])
async def test_imagery_categories_show_the_never_view_or_save_rule(
    harness: Harness, category: str
) -> None:
    form = await harness.click(TEACHER, "concern.start", {"step": "details", "category": category})

    text = " ".join(card_texts(form))
    assert "Do not view, copy, screenshot, forward or save the images" in text
    assert "Do not ask a child to send them" in text
    assert "Secure the device" in text


async def test_other_categories_do_not_show_the_imagery_rule(harness: Harness) -> None:
    form = await harness.click(TEACHER, "concern.start", {"step": "details", "category": "fraud"})
    assert "Do not view, copy" not in " ".join(card_texts(form))


async def test_immediate_risk_says_call_999_and_that_the_dsl_is_alerted(harness: Harness) -> None:
    received = await report(harness, "cyberbullying", immediate_risk="yes")

    text = " ".join(card_texts(received))
    assert "Call 999 now if a child is in immediate danger." in text
    assert "The DSL has been alerted." in text
    [concern] = await stored(harness)
    assert concern.data["urgent"] is True


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"what_happened": ""}, "what_happened", "Describe what happened."),
        ({"involved": "   "}, "involved", "Say who is involved"),
        ({"immediate_risk": "maybe"}, "immediate_risk", "immediate risk"),
        ({"year_group": "Year 99"}, "year_group", "Choose a year group"),
        ({"happened_on": "2027-01-01"}, "happened_on", "in the future"),
        ({"happened_on": "yesterday"}, "happened_on", "Give the date"),
        ({"url": "javascript:alert(1)"}, "url", "Only web addresses"),
        ({"url": "https://user:pw@bad.example/"}, "url", "Remove the user name or password"),
        ({"what_happened": "x" * 4001}, "what_happened", "under 4000 characters"),
    ],
)
async def test_bad_input_reshows_the_form_with_the_problem_and_saves_nothing(
    harness: Harness, changes: dict[str, str], field: str, words: str
) -> None:
    card = await report(harness, "cyberbullying", **changes)

    assert_valid_card(card)
    body = everything(card)
    assert words in body
    assert "Nothing has been sent yet" in body
    # The problem sits right after its field.
    fields = [e for e in card["body"] if e.get("id")]
    index = card["body"].index(next(e for e in fields if e["id"] == field))
    assert words in card["body"][index + 1]["text"]
    assert await stored(harness) == []
    await harness.settle()
    assert harness.connector.posted == []


async def test_a_url_is_normalised_before_it_is_kept(harness: Harness) -> None:
    await report(harness, "filtering_breach", url="BAD.Example:443/page?q=1#frag")

    [concern] = await stored(harness)
    assert concern.data["url"] == "https://bad.example/page?q=1"


async def test_reporting_needs_a_staff_role_checked_on_the_server(harness: Harness) -> None:
    from tests.support import PUPIL

    card = await harness.click(
        PUPIL, "concern.submit", {"category": "cyberbullying", "form": "f1", **report_fields()}
    )

    assert "Sorry, you can't do that here" in card_texts(card)
    assert await stored(harness) == []
    [entry] = await audit(harness)
    assert (entry.actor, entry.outcome) == (
        "5c400000-0000-4000-8000-000000000001",
        "refused: role does not allow it",
    )


async def test_files_sent_while_reporting_are_refused_and_the_refusal_recorded(
    harness: Harness,
) -> None:
    from tests.support import message

    image = {"contentType": "image/png", "contentUrl": "http://127.0.0.1:9/nude.png"}
    status, _ = await harness.post(
        message(TEACHER, "here is the picture", harness.connector.url, attachments=[image])
    )

    assert status in (200, 201)
    first = harness.connector.posted[0]
    assert "nothing you sent was opened or saved" in first["text"]
    [entry] = await audit(harness)
    assert (entry.action, entry.outcome) == ("attachment", "refused: 1 not accepted")
    store_files = b"".join(p.read_bytes() for p in harness.settings.data_dir.rglob("*.json*"))
    assert b"nude.png" not in store_files


# ----- routing, for every category -------------------------------------------------------------

EXPECTED_ROUTES = {
    # category: (channels posted to, people alerted 1:1)
    "nude_imagery": ({DSL_CHANNEL}, {DSL, DEPUTY_DSL}),
    "indecent_images": ({DSL_CHANNEL}, {DSL, DEPUTY_DSL}),
    "grooming": ({DSL_CHANNEL}, {DSL, DEPUTY_DSL}),
    "radicalisation": ({DSL_CHANNEL}, {DSL, DEPUTY_DSL}),
    "cyberbullying": ({DSL_CHANNEL}, set()),
    "online_hate": ({DSL_CHANNEL}, set()),
    "filtering_breach": ({DSL_CHANNEL, IT_CHANNEL}, set()),
    "harassment": ({DSL_CHANNEL}, set()),
    "fraud": ({DSL_CHANNEL}, set()),
    "hacking": ({DSL_CHANNEL}, set()),
    "staff_conduct": (set(), {HEADTEACHER}),
    "other": ({DSL_CHANNEL}, set()),
}


def test_every_shipped_category_has_an_expected_route() -> None:
    assert set(EXPECTED_ROUTES) == {c.id for c in DEFAULT_CATEGORIES}


@pytest.mark.parametrize("category", list(EXPECTED_ROUTES))
async def test_each_category_goes_where_the_policy_says_and_each_party_sees_only_its_part(
    harness: Harness, category: str
) -> None:
    await report(harness, category, url=SITE)
    await harness.settle()

    channels, people = EXPECTED_ROUTES[category]
    conversations = {a["_conversation"] for a in harness.connector.posted}
    assert conversations == channels | {dm(p) for p in people}
    assert {c["members"][0]["id"] for c in harness.connector.created} == people

    for activity in harness.connector.to(DSL_CHANNEL):
        shown = everything(activity)
        assert CHILD not in shown and "CANARY" not in shown and "Snapchat" not in shown
        assert_valid_card(activity["attachments"][0]["content"])
        assert "OSC-2026-0001" in shown
    for activity in harness.connector.to(IT_CHANNEL):
        shown = everything(activity)
        # IT needs the site to block it
        assert SITE in visible_text(activity["attachments"][0]["content"])
        assert CHILD not in shown and "CANARY-7731" not in shown and "Snapchat" not in shown
    for person in people:
        [alert] = harness.connector.to(dm(person))
        assert_valid_card(alert["attachments"][0]["content"])
    if category == "staff_conduct":
        [private] = harness.connector.to(dm(HEADTEACHER))
        # The headteacher gets it in full, privately.
        assert STORY in visible_text(private["attachments"][0]["content"])


async def test_a_concern_about_the_headteacher_goes_to_the_chair_of_governors_only(
    harness: Harness,
) -> None:
    received = await report(harness, "staff_conduct", about_headteacher="true")
    await harness.settle()

    assert "the chair of governors, privately" in everything(received)
    assert {a["_conversation"] for a in harness.connector.posted} == {dm(CHAIR_OF_GOVERNORS)}
    assert harness.connector.to(dm(HEADTEACHER)) == []


async def test_the_channel_card_data_never_carries_the_childs_details(harness: Harness) -> None:
    await report(harness, "grooming", url=SITE)
    await harness.settle()

    [card] = harness.connector.cards(DSL_CHANNEL)
    actions = [*card["actions"]]
    actions += [n for a in card["actions"] for n in a.get("card", {}).get("actions", [])]
    for action in actions:
        if "data" in action:
            assert set(action["data"]) <= {"verb", "v", "ref", "ver"}
    assert CHILD not in everything(card) and "CANARY" not in everything(card)
    texts = visible_text(card)
    assert "URGENT" in texts and "Year 8" in texts


# ----- handling in the DSL channel -------------------------------------------------------------


async def channel_card(h: Harness) -> dict[str, Any]:
    await h.settle()
    return h.connector.cards(DSL_CHANNEL)[-1]


async def test_the_dsl_acknowledges_in_the_channel_and_the_card_changes_for_everyone(
    harness: Harness,
) -> None:
    await report(harness, "cyberbullying")
    card = await channel_card(harness)
    assert "New: not yet acknowledged" in everything(card)

    clicked = await click_button(harness, DSL, card, "concern.ack", channel=DSL_CHANNEL)
    await harness.settle()

    assert "Acknowledged" in everything(clicked)
    assert "Fiona Blake" in everything(clicked)
    [update] = harness.connector.updated
    assert update["_conversation"] == DSL_CHANNEL
    assert update["_message"] == "posted-1"
    updated_card = update["attachments"][0]["content"]
    assert_valid_card(updated_card)
    assert "Fiona Blake" in everything(updated_card)
    assert CHILD not in everything(updated_card)
    entries = [e for e in await audit(harness) if e.action == "concern.acknowledge"]
    assert [(e.actor, e.item) for e in entries] == [(DSL, "concern:OSC-2026-0001")]


async def test_open_shows_the_detail_to_the_dsl_only(harness: Harness) -> None:
    await report(harness, "grooming", url=SITE)
    card = await channel_card(harness)

    detail = await click_button(harness, DSL, card, "concern.open", channel=DSL_CHANNEL)
    refused = await click_button(harness, TEACHER, card, "concern.open", channel=DSL_CHANNEL)

    assert_valid_card(detail)
    shown = visible_text(detail)
    assert CHILD in shown and STORY in shown and SITE in shown
    assert CHILD not in everything(refused)
    assert "That isn't available to you" in card_texts(refused)


@pytest.mark.parametrize("who", [TEACHER, IT, HEADTEACHER])
async def test_a_non_dsl_click_is_refused_audited_and_changes_nothing(
    harness: Harness, who: str
) -> None:
    await report(harness, "cyberbullying")
    card = await channel_card(harness)

    refused = await click_button(harness, who, card, "concern.ack", channel=DSL_CHANNEL)

    assert "That isn't available to you" in card_texts(refused)
    [concern] = await stored(harness)
    assert concern.data["status"] == "new" and concern.version == 1
    refusals = [e for e in await audit(harness) if e.outcome.startswith("refused")]
    assert [(e.actor, e.action) for e in refusals] == [(who, "concern.ack")]


async def test_the_dsl_cannot_act_on_a_concern_about_staff(harness: Harness) -> None:
    await report(harness, "staff_conduct")
    await harness.settle()
    [private] = harness.connector.to(dm(HEADTEACHER))
    data = button(private["attachments"][0]["content"], "concern.ack")

    refused = await harness.click(DSL, "concern.ack", data)
    accepted = await harness.click(HEADTEACHER, "concern.ack", data)

    assert "That isn't available to you" in card_texts(refused)
    assert "Helen Carter" in everything(accepted)
    refusal = [e for e in await audit(harness) if e.outcome.startswith("refused")]
    assert [(e.actor, e.outcome) for e in refusal] == [
        (DSL, "refused: not a handler of this concern")
    ]


async def test_two_concurrent_acknowledges_make_one_transition(harness: Harness) -> None:
    await report(harness, "grooming")
    card = await channel_card(harness)
    data = button(card, "concern.ack")

    results = await asyncio.gather(
        *(
            harness.click(who, "concern.ack", data, scope="channel", conversation_id=DSL_CHANNEL)
            for who in [DSL, DEPUTY_DSL] * 10
        )
    )

    [concern] = await stored(harness)
    assert concern.version == 2
    assert concern.data["status"] == "acknowledged"
    acks = [e for e in await audit(harness) if e.action == "concern.acknowledge"]
    assert len(acks) == 1
    assert (
        sum("already changed" in everything(r) or "out of date" in everything(r) for r in results)
        == 19
    )


async def test_the_same_submit_delivered_three_times_makes_one_record_and_one_card(
    harness: Harness,
) -> None:
    from tests.support import card_action

    form = await harness.click(
        TEACHER, "concern.start", {"step": "details", "category": "grooming"}
    )
    activity = card_action(
        TEACHER,
        "concern.submit",
        harness.connector.url,
        data={**submit_data(form), **report_fields()},
    )
    replies = [await harness.post(activity) for _ in range(3)]
    await harness.settle()

    assert [status for status, _ in replies] == [200, 200, 200]
    assert {card_texts(body["value"])[0] for _, body in replies} == {"Received: OSC-2026-0001"}
    assert len(await stored(harness)) == 1
    assert len(harness.connector.cards(DSL_CHANNEL)) == 1
    assert await harness.parts.store.next_sequence("OSC-2026") == 2  # no number was wasted


async def test_a_stale_card_is_refreshed_not_applied(harness: Harness) -> None:
    await report(harness, "cyberbullying")
    card = await channel_card(harness)
    old = button(card, "concern.ack")
    await harness.click(DSL, "concern.ack", old, scope="channel", conversation_id=DSL_CHANNEL)

    again = await harness.click(
        DEPUTY_DSL,
        "concern.note",
        {**old, "note": "late note"},
        scope="channel",
        conversation_id=DSL_CHANNEL,
    )

    assert "out of date" in everything(again)
    [concern] = await stored(harness)
    assert concern.version == 2
    assert "late note" not in everything(concern.data)


async def test_an_automatic_refresh_never_changes_state(harness: Harness) -> None:
    await report(harness, "cyberbullying")
    card = await channel_card(harness)

    await harness.click(
        DSL,
        "concern.ack",
        button(card, "concern.ack"),
        scope="channel",
        conversation_id=DSL_CHANNEL,
        trigger="automatic",
    )

    [concern] = await stored(harness)
    assert concern.data["status"] == "new"


async def test_actions_notes_and_close_build_the_chronology_and_tell_the_reporter(
    harness: Harness,
) -> None:
    await report(harness, "cyberbullying")
    card = await channel_card(harness)
    detail = await click_button(harness, DSL, card, "concern.open")
    detail = await click_button(
        harness, DSL, detail, "concern.action", action="parents_informed", note="Mum called"
    )
    detail = await click_button(harness, DSL, detail, "concern.note", note="Spoke to Ava")
    # Issue 20: closing asks for a reason and each open checklist item (done, or not needed
    # with a reason); the items answered join the chronology before the closing line.
    detail = await click_button(
        harness,
        DSL,
        detail,
        "concern.close",
        **close_form(
            "cyberbullying",
            outcome="no_further_action",
            reason="Resolved between the pupils",
            message="Sorted in school. Thank you.",
            item_sanctions="not_needed",
            item_sanctions_reason="Apologised",
        ),
    )
    await harness.settle()

    assert_valid_card(detail)
    [concern] = await stored(harness)
    chronology = [(e["kind"], e["text"]) for e in concern.data["chronology"]]
    assert chronology == [
        ("reported", "Reported"),
        ("acknowledged", "Acknowledged"),
        ("action", "Parents or carers informed: Mum called"),
        ("note", "Spoke to Ava"),
        (
            "action",
            "Risk assessment done; Reported to the platform or app; Support offered to the child; "
            "Review of how it was handled",
        ),
        ("not_needed", "Not needed: Sanctions applied. Reason: Apologised"),
        ("closed", "Closed: No further action needed. Reason: Resolved between the pupils"),
    ]
    [notice] = harness.connector.to(dm(TEACHER))
    shown = visible_text(notice["attachments"][0]["content"])
    assert "Sorted in school. Thank you." in shown
    assert "Spoke to Ava" not in shown and "Mum called" not in shown
    actions = [e.action for e in await audit(harness) if e.actor == DSL]
    assert actions == ["concern.action", "concern.note", "concern.close"]


async def test_nude_imagery_needs_the_ukcis_decision_before_it_can_close(harness: Harness) -> None:
    await report(harness, "nude_imagery")
    card = await channel_card(harness)
    detail = await click_button(harness, DSL, card, "concern.open")
    assert "An adult is involved" in everything(detail)

    # Issue 20: nude imagery is serious, so closing it is proposed (for a second person).
    blocked = await click_button(
        harness, DSL, detail, "concern.close.propose", **close_form("nude_imagery")
    )
    assert "record the UKCIS immediate-referral assessment before closing" in everything(blocked)
    no_decision = await click_button(
        harness, DSL, detail, "concern.assess", ukcis_coercion="true", reason="x"
    )
    assert "choose police and/or children's social care" in everything(no_decision)
    decided = await click_button(
        harness,
        DSL,
        detail,
        "concern.assess",
        ukcis_coercion="true",
        referrals="police,social_care",
        reason="Older boy demanding more images",
    )

    [concern] = await stored(harness)
    assert concern.data["assessment"] == {
        "criteria": ["coercion"],
        "referrals": ["police", "social_care"],
        "reason": "Older boy demanding more images",
    }
    assert "referred now to Police and Children's social care" in everything(decided)


async def test_my_reports_lists_only_the_senders_own(harness: Harness) -> None:
    from tests.support import HEAD_OF_DEPARTMENT

    await report(harness, "cyberbullying", who=TEACHER)
    await report(harness, "fraud", who=HEAD_OF_DEPARTMENT)

    mine = await harness.click(TEACHER, "reports.mine")
    theirs = await harness.click(HEAD_OF_DEPARTMENT, "reports.mine")

    assert "OSC-2026-0001" in everything(mine) and "OSC-2026-0002" not in everything(mine)
    assert "OSC-2026-0002" in everything(theirs) and "OSC-2026-0001" not in everything(theirs)


# ----- delivery faults, restarts and reminders -------------------------------------------------


async def test_the_outbox_keeps_trying_while_teams_fails_then_delivers_once(
    harness: Harness,
) -> None:
    harness.connector.fail_status = 500
    received = await report(harness, "cyberbullying", immediate_risk="yes")
    assert card_texts(received)[0] == "Received: OSC-2026-0001"  # saved, even though Teams is down

    for _ in range(8):
        harness.advance(minutes=1)
        await harness.settle()
    assert harness.connector.failures >= 8
    assert harness.connector.posted == []
    assert harness.parts.worker.status.pending == 3  # channel card and two 1:1 alerts

    harness.connector.fail_status = None
    harness.advance(minutes=5)
    await harness.settle()

    assert len(harness.connector.cards(DSL_CHANNEL)) == 1
    assert len(harness.connector.to(dm(DSL))) == 1
    assert len(harness.connector.to(dm(DEPUTY_DSL))) == 1
    assert await harness.parts.store.find("outbox") == []


async def test_throttling_is_honoured_with_retry_after(harness: Harness) -> None:
    harness.connector.fail_status = 429
    await report(harness, "cyberbullying")
    await harness.settle()
    [pending] = await harness.parts.store.find("outbox")
    next_at = datetime.fromisoformat(pending.data["next_at"])

    assert pending.data["last_error"] == "HTTP 429"
    assert (next_at - harness.clock.now()).total_seconds() == 1.0


async def test_deliveries_survive_a_restart(harness: Harness) -> None:
    harness.connector.fail_status = 503
    await report(harness, "radicalisation")
    await harness.settle()
    await harness.stop()

    harness.connector.fail_status = None
    harness.advance(minutes=10)
    await harness.start()
    await harness.settle()

    assert len(harness.connector.cards(DSL_CHANNEL)) == 1
    assert {a["_conversation"] for a in harness.connector.posted} == {
        DSL_CHANNEL,
        dm(DSL),
        dm(DEPUTY_DSL),
    }


async def test_an_unacknowledged_urgent_concern_is_chased_on_time(harness: Harness) -> None:
    await report(harness, "grooming")
    await harness.settle()
    before = len(harness.connector.posted)

    harness.advance(minutes=14, seconds=59)
    await harness.settle()
    assert len(harness.connector.posted) == before

    harness.advance(seconds=1)
    await harness.settle()
    reminders = harness.connector.posted[before:]
    assert {a["_conversation"] for a in reminders} == {dm(DSL), dm(DEPUTY_DSL), DSL_CHANNEL}
    nudge = next(a for a in reminders if a["_conversation"] == DSL_CHANNEL)
    assert nudge["text"] == "Reminder: URGENT concern OSC-2026-0001 has not been acknowledged yet."
    assert "waited 15 minutes" in everything(reminders)

    # Acknowledged: the reminders stop.
    card = harness.connector.cards(DSL_CHANNEL)[0]
    await click_button(harness, DSL, card, "concern.ack")
    after = len(harness.connector.posted)
    harness.advance(minutes=30)
    await harness.settle()
    assert len(harness.connector.posted) == after


async def test_a_routine_concern_is_chased_after_one_school_day_across_a_weekend(
    harness: Harness,
) -> None:
    harness.clock.at = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # Friday 15:00
    await report(harness, "fraud")
    await harness.settle()
    before = len(harness.connector.posted)

    harness.clock.at = datetime(2026, 11, 30, 14, 59, tzinfo=UTC)  # Monday 14:59
    await harness.settle()
    assert len(harness.connector.posted) == before
    harness.clock.at = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    await harness.settle()

    assert len(harness.connector.posted) == before + 3


async def test_reminder_timers_survive_a_restart(harness: Harness) -> None:
    await report(harness, "indecent_images")
    await harness.settle()
    await harness.stop()
    harness.advance(minutes=16)
    await harness.start()
    before = len(harness.connector.posted)

    await harness.settle()

    assert len(harness.connector.posted) == before + 3


async def test_no_concern_text_or_pupil_name_reaches_the_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await report(harness, "grooming", url=SITE)
    card = await channel_card(harness)
    await click_button(harness, DSL, card, "concern.ack")
    await harness.settle()

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "CANARY" not in logged
    assert CHILD not in logged
    assert "OSC-2026-0001" in logged


async def test_an_urgent_concern_also_rings_the_activity_feed_of_each_dsl_without_detail(
    harness: Harness,
) -> None:
    await report(harness, "grooming", url=SITE)
    await report(harness, "cyberbullying")  # routine: no feed alert
    await harness.settle()

    notifier = harness.app[
        __import__("bot.app", fromlist=["COMPONENTS"]).COMPONENTS
    ].worker.notifier
    assert sorted(notifier.sent) == sorted(
        [(DSL, "concern:OSC-2026-0001"), (DEPUTY_DSL, "concern:OSC-2026-0001")]
    )
