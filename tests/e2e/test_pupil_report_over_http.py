"""Pupil reports end to end: real HTTP into /api/messages, Teams-shaped activities, the real
botbuilder adapter, real TinyDB files, and a fake Bot Connector that captures what is posted.

Covers the pupil report issue's "Done means": the pupil sees only the pupil card; every staff,
DSL and IT action a pupil tries is refused kindly and audited; "not safe" (and "not sure")
alerts the DSL and deputies; no name in the channel card; pictures refused and not stored; use
in a group chat or channel redirected; a burst of 20 reports makes 20 stored concerns on one
(updated) channel card; every card valid against the Adaptive Cards 1.5 schema. The reading
level is checked in ``tests/unit/test_pupil_readability.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from policy.actions import PUPIL_VERBS, Verb
from tests.conftest import Harness
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT_CHANNEL,
    PUPIL,
    TEACHER,
    YOUNG_PUPIL,
    assert_valid_card,
    card_buttons,
    card_texts,
    click_button,
    dm,
    everything,
    message,
    visible_text,
)

NAME = "Ava"
SURNAME = "Thompson"
WORDS = "A boy in a game keeps messaging me CANARY-4410"
ADULT = "Mrs Ruby Canaryfield"
GROUP_CHAT = "19:class-8b@thread.v2"
REFUSED = "refused: role does not allow it"


def answers(**changes: str) -> dict[str, str]:
    fields = {"kind": "unkind", "words": WORDS, "safe": "yes", "adult": ADULT}
    fields.update(changes)
    return fields


def send_data(card: dict[str, Any]) -> dict[str, Any]:
    [send] = [a for a in card["actions"] if a.get("verb") == "worry.submit"]
    return dict(send["data"])


async def worry(h: Harness, who: str = PUPIL, **changes: str) -> dict[str, Any]:
    """Open the worry card as ``who``, answer it and send it; returns the card they see next."""
    form = await h.click(who, "worry.start")
    assert_valid_card(form)
    return await h.click(who, "worry.submit", {**send_data(form), **answers(**changes)})


async def stored(h: Harness) -> list[Any]:
    return sorted(await h.parts.store.find("concern"), key=lambda r: r.id)


async def audit(h: Harness) -> list[Any]:
    return await h.parts.store.audit_log()


def actions_in(card: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every action in a card: at its foot, in action sets, and inside show-cards."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Action."):
                yield node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(card)


def channel_cards(h: Harness) -> list[dict[str, Any]]:
    return h.connector.cards(DSL_CHANNEL)


def channel_updates(h: Harness) -> list[dict[str, Any]]:
    return [
        u["attachments"][0]["content"]
        for u in h.connector.updated
        if u["_conversation"] == DSL_CHANNEL
    ]


def shown_cards(h: Harness) -> list[dict[str, Any]]:
    """What the DSL channel shows now: each card the bot posted there, as last updated.

    (A grouped report's update may be delivered before the first report's card is posted;
    then the post itself shows the latest, as the outbox promises.)
    """
    latest: list[dict[str, Any]] = []
    for number, activity in enumerate(h.connector.posted, start=1):
        if activity["_conversation"] != DSL_CHANNEL or not activity.get("attachments"):
            continue
        updates = [u for u in h.connector.updated if u["_message"] == f"posted-{number}"]
        source = updates[-1] if updates else activity
        latest.append(source["attachments"][0]["content"])
    return latest


def open_buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ref -> data of every Open button on a card."""
    return {
        a["data"]["ref"]: dict(a["data"])
        for a in actions_in(card)
        if a.get("verb") == "concern.open"
    }


# ----- the pupil sees only the pupil card -------------------------------------------------------


async def test_the_pupil_gets_a_warm_open_card_that_asks_for_no_pictures(harness: Harness) -> None:
    assert await harness.say(PUPIL, "I'm worried about something") in (200, 201)
    [card] = harness.connector.cards()

    assert_valid_card(card)
    text = visible_text(card)
    assert "Tell us about a worry" in text
    assert "The people who keep pupils safe at school will read it." in text
    assert "Please don't send pictures. An adult will talk to you." in text
    assert "call 999" in text
    inputs = {e["id"]: e for e in card["body"] if "id" in e}
    assert list(inputs) == ["kind", "words", "safe", "adult"]
    assert inputs["kind"]["label"] == "What kind of thing happened?"
    assert [c["value"] for c in inputs["kind"]["choices"]] == [
        "unkind",
        "upset",
        "stranger",
        "asked",
        "other",
    ]
    assert inputs["words"]["label"] == "Tell us what happened, in your own words"
    assert inputs["words"].get("isRequired") is not True
    assert inputs["safe"]["label"] == "Are you safe right now?"
    assert [c["title"] for c in inputs["safe"]["choices"]] == ["Yes", "No", "Not sure"]
    assert inputs["adult"]["label"] == "Who would you like to talk to?"
    assert inputs["adult"].get("isRequired") is not True
    # Never asks for screenshots, photos or files, and never promises secrecy.
    lowered = everything(card).lower()
    for word in ("screenshot", "upload", "attach", "secret", "confidential", "only you", "anonym"):
        assert word not in lowered
    assert all(e["type"] in {"TextBlock", "Input.ChoiceSet", "Input.Text"} for e in card["body"])
    # Only pupil actions on it.
    assert {verb for _, verb in card_buttons(card)} <= {v.value for v in PUPIL_VERBS}


async def test_the_pupil_menu_offers_only_the_three_pupil_things(harness: Harness) -> None:
    await harness.say(YOUNG_PUPIL, "hello")

    [card] = harness.connector.cards()
    assert_valid_card(card)
    assert card_buttons(card) == [
        ("Tell us about a worry", "worry.start"),
        ("My reports", "reports.mine"),
        ("Get help", "help"),
    ]
    worry_card = await harness.click(YOUNG_PUPIL, "worry.start")
    assert "Tell us about a worry" in card_texts(worry_card)


async def test_sending_says_thank_you_and_signposts_help(harness: Harness) -> None:
    sent = await worry(harness)

    assert_valid_card(sent)
    text = visible_text(sent)
    for words in (
        "Thank you for telling us",
        "Your worry has been sent.",
        "An adult will talk to you soon.",
        "If you are in danger now, tell an adult near you or call 999.",
        "Childline is free. Call 0800 1111 or go to childline.org.uk.",
        "Childline and the IWF",
        "Report Remove",
        "Click CEOP",
    ):
        assert words in text
    assert "OSC-" not in text and "DSL" not in text  # nothing about what anyone will do
    assert {verb for _, verb in card_buttons(sent)} <= {v.value for v in PUPIL_VERBS}


async def test_a_report_is_stored_as_a_pupil_concern_from_the_directory(
    harness: Harness,
) -> None:
    await worry(harness, kind="stranger", safe="yes")

    [record] = await stored(harness)
    concern = record.data
    assert record.id == "OSC-2026-0001"
    assert concern["source"] == "pupil"
    assert concern["category"] == "grooming"  # contact from a stranger: a grooming risk
    assert concern["urgent"] is True
    assert concern["immediate_risk"] == "no"
    assert concern["reporter_id"] == PUPIL
    assert concern["reporter_name"] == f"{NAME} {SURNAME}"
    assert concern["involved"] == f"{NAME} {SURNAME}"
    assert concern["year_group"] == "Year 8"
    assert WORDS in concern["what_happened"]
    assert "Someone I don't know got in touch with me" in concern["what_happened"]
    assert concern["trusted_adult"] == ADULT
    entries = [e for e in await audit(harness) if e.action == "worry.report"]
    assert [(e.actor, e.item, e.outcome) for e in entries] == [
        (PUPIL, "concern:OSC-2026-0001", "ok")
    ]
    [reminder] = await harness.parts.store.find("timer")
    assert reminder.data["subject"] == "concern:OSC-2026-0001"


async def test_words_and_a_trusted_adult_are_optional(harness: Harness) -> None:
    sent = await worry(harness, kind="other", words="", adult="")

    assert "Your worry has been sent." in card_texts(sent)
    [record] = await stored(harness)
    assert record.data["what_happened"].endswith("(no words given)")
    assert record.data["trusted_adult"] == ""


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        ("unkind", "cyberbullying"),
        ("upset", "other"),
        ("stranger", "grooming"),
        ("asked", "grooming"),
        ("other", "other"),
    ],
)
async def test_each_kind_of_thing_files_under_its_category(
    harness: Harness, kind: str, category: str
) -> None:
    await worry(harness, kind=kind)

    [record] = await stored(harness)
    assert record.data["category"] == category
    # Being asked for photos, or contact from someone they don't know (a grooming risk), is
    # always urgent, whatever the pupil said about being safe.
    assert record.data["urgent"] is (kind in {"asked", "stranger"})


#: Every choice on the worry card -> (the category label the DSL sees, urgent when "safe: yes").
#: "Not safe" and "not sure" make every one of them urgent.
EVERY_CHOICE = {
    "unkind": ("Cyberbullying", False),
    "upset": ("Something else", False),
    "stranger": ("Online sexual abuse, exploitation or grooming", True),
    "asked": ("Online sexual abuse, exploitation or grooming", True),
    "other": ("Something else", False),
}


@pytest.mark.parametrize("safe", ["yes", "no", "not_sure"])
async def test_every_choice_on_the_card_reaches_the_dsl_under_its_category_and_urgency(
    harness: Harness, safe: str
) -> None:
    form = await harness.click(PUPIL, "worry.start")
    [kinds] = [e for e in form["body"] if e.get("id") == "kind"]
    offered = [c["value"] for c in kinds["choices"]]
    assert set(offered) == set(EVERY_CHOICE)  # a new choice needs a row here

    for number, kind in enumerate(offered, start=1):
        before = len(harness.connector.posted)
        await worry(harness, kind=kind, safe=safe)
        await harness.settle()

        label, urgent_anyway = EVERY_CHOICE[kind]
        urgent = urgent_anyway or safe != "yes"
        ref = f"OSC-2026-{number:04d}"
        [record] = [r for r in await stored(harness) if r.id == ref]
        assert record.data["urgent"] is urgent, kind
        posted = harness.connector.posted[before:]
        alerted = {a["_conversation"] for a in posted} - {DSL_CHANNEL}
        assert alerted == ({dm(DSL), dm(DEPUTY_DSL)} if urgent else set()), kind
        # The DSL sees the category (never "Something else" for a stranger) on opening.
        detail = await harness.click(
            DSL, "concern.open", {"ref": ref}, scope="channel", conversation_id=DSL_CHANNEL
        )
        assert label in visible_text(detail), kind
        for alert in (a for a in posted if a["_conversation"] == dm(DSL)):
            assert label in visible_text(alert["attachments"][0]["content"]), kind


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kind": ""}, "kind", "Please pick the one that fits best."),
        ({"kind": "grooming"}, "kind", "Please pick the one that fits best."),
        ({"safe": ""}, "safe", "Please tell us if you are safe."),
        ({"safe": "maybe"}, "safe", "Please tell us if you are safe."),
        ({"words": "x" * 2001}, "words", "Please write less than 2000 letters."),
        ({"adult": "x" * 101}, "adult", "Please write a shorter name."),
    ],
)
async def test_a_problem_shows_the_card_again_kindly_and_sends_nothing(
    harness: Harness, changes: dict[str, str], field: str, words: str
) -> None:
    card = await worry(harness, **changes)

    assert_valid_card(card)
    assert "Nothing has been sent yet." in card_texts(card)
    index = card["body"].index(next(e for e in card["body"] if e.get("id") == field))
    assert card["body"][index + 1]["text"] == words
    assert await stored(harness) == []
    await harness.settle()
    assert harness.connector.posted == []


async def test_the_same_send_three_times_makes_one_report_and_one_card(harness: Harness) -> None:
    form = await harness.click(PUPIL, "worry.start")
    data = {**send_data(form), **answers()}

    replies = [await harness.click(PUPIL, "worry.submit", data) for _ in range(3)]
    await harness.settle()

    assert all("Your worry has been sent." in card_texts(r) for r in replies)
    assert len(await stored(harness)) == 1
    assert len(channel_cards(harness)) == 1
    assert await harness.parts.store.next_sequence("OSC-2026") == 2  # no number was wasted


async def test_pupil_reports_share_the_staff_reference_sequence(harness: Harness) -> None:
    from tests.e2e.test_concern_over_http import report

    await report(harness, "fraud")
    await worry(harness)

    assert [r.id for r in await stored(harness)] == ["OSC-2026-0001", "OSC-2026-0002"]


async def test_my_reports_shows_only_the_state_never_what_was_done(harness: Harness) -> None:
    await worry(harness, kind="asked")
    await harness.settle()
    [card] = channel_cards(harness)
    await click_button(harness, DSL, card, "concern.ack", channel=DSL_CHANNEL)

    mine = await harness.click(PUPIL, "reports.mine")

    assert_valid_card(mine)
    text = visible_text(mine)
    # Its state in a child's words (issue 20), never who did what.
    assert "OSC-2026-0001" in text and "someone is looking after it" in text
    assert "Your worry" in text
    assert "grooming" not in text.lower() and "Acknowledged" not in text
    assert "Fiona" not in text


# ----- the DSL channel card, alerts and opening ------------------------------------------------


async def test_the_channel_card_says_pupil_report_and_year_but_never_the_name(
    harness: Harness,
) -> None:
    await worry(harness, kind="upset")
    await harness.settle()

    [card] = channel_cards(harness)
    assert_valid_card(card)
    text = visible_text(card)
    assert "Pupil report OSC-2026-0001" in text
    assert "Year 8" in text and "Routine" in text
    shown = everything(card)
    for secret in (NAME, SURNAME, "CANARY", "Canaryfield"):
        assert secret not in shown
    for action in actions_in(card):
        if "data" in action:
            assert set(action["data"]) <= {"verb", "v", "ref", "ver"}
    assert {a["_conversation"] for a in harness.connector.posted} == {DSL_CHANNEL}
    assert harness.connector.to(IT_CHANNEL) == []


@pytest.mark.parametrize("safe", ["no", "not_sure"])
async def test_not_safe_or_not_sure_alerts_the_dsl_and_deputies_at_once(
    harness: Harness, safe: str
) -> None:
    sent = await worry(harness, kind="other", safe=safe)
    await harness.settle()

    said = "not safe right now" if safe == "no" else "not sure if you are safe"
    assert said in visible_text(sent)
    assert "have been told now" in visible_text(sent)
    [record] = await stored(harness)
    assert record.data["urgent"] is True
    assert record.data["immediate_risk"] == {"no": "yes", "not_sure": "not_sure"}[safe]
    assert {a["_conversation"] for a in harness.connector.posted} == {
        DSL_CHANNEL,
        dm(DSL),
        dm(DEPUTY_DSL),
    }
    [card] = channel_cards(harness)
    assert "URGENT: Pupil report OSC-2026-0001" in visible_text(card)
    for person in (DSL, DEPUTY_DSL):
        [alert] = harness.connector.to(dm(person))
        content = alert["attachments"][0]["content"]
        assert_valid_card(content)
        assert NAME not in everything(content) and "CANARY" not in everything(content)


async def test_an_urgent_pupil_report_is_chased_like_an_urgent_concern(harness: Harness) -> None:
    await worry(harness, safe="no")
    await harness.settle()
    before = len(harness.connector.posted)

    harness.advance(minutes=15)
    await harness.settle()

    reminders = harness.connector.posted[before:]
    assert {a["_conversation"] for a in reminders} == {dm(DSL), dm(DEPUTY_DSL), DSL_CHANNEL}


async def test_the_dsl_sees_the_name_and_words_only_on_opening(harness: Harness) -> None:
    await worry(harness)
    await harness.settle()
    [card] = channel_cards(harness)
    opening = open_buttons(card)["OSC-2026-0001"]

    detail = await harness.click(
        DSL, "concern.open", opening, scope="channel", conversation_id=DSL_CHANNEL
    )
    refused = await harness.click(
        TEACHER, "concern.open", opening, scope="channel", conversation_id=DSL_CHANNEL
    )

    assert_valid_card(detail)
    text = visible_text(detail)
    assert f"{NAME} {SURNAME}" in text and WORDS in text and ADULT in text
    assert "Someone was mean to me online" in text
    assert NAME not in everything(refused)


async def test_acknowledging_updates_the_pupil_card_for_everyone(harness: Harness) -> None:
    await worry(harness)
    await harness.settle()
    [card] = channel_cards(harness)

    await click_button(harness, DSL, card, "concern.ack", channel=DSL_CHANNEL)
    await harness.settle()

    [update] = channel_updates(harness)
    assert_valid_card(update)
    assert "Pupil report OSC-2026-0001" in visible_text(update)
    assert "Acknowledged" in visible_text(update) and "Fiona Blake" in visible_text(update)
    assert NAME not in everything(update)


# ----- what a pupil may not do -------------------------------------------------------------------

STAFF_VERBS = sorted(v for v in Verb if v not in PUPIL_VERBS)


def test_there_are_staff_verbs_to_try() -> None:
    assert Verb.CONCERN_OPEN in STAFF_VERBS and Verb.REPORT_CONCERN in STAFF_VERBS
    assert len(STAFF_VERBS) == len(Verb) - len(PUPIL_VERBS)


@pytest.mark.parametrize("verb", STAFF_VERBS, ids=str)
async def test_every_staff_dsl_or_it_action_by_a_pupil_is_refused_kindly_and_audited(
    harness: Harness, verb: Verb
) -> None:
    crafted = {"ref": "OSC-2026-0001", "ver": 1, "id": "x", "form": "f1", "category": "other"}

    card = await harness.click(PUPIL, verb.value, crafted)

    assert_valid_card(card)
    assert card_texts(card) == [
        "Sorry, you can't do that here",
        "You can tell us about a worry, see your reports or get help.",
    ]
    entries = await audit(harness)
    assert [(e.actor, e.action, e.outcome) for e in entries] == [(PUPIL, verb.value, REFUSED)]
    assert await stored(harness) == []


@pytest.mark.parametrize("verb", ["concern.open", "concern.ack", "concern.close"])
async def test_a_pupil_cannot_open_or_act_on_someone_elses_concern(
    harness: Harness, verb: str
) -> None:
    from tests.e2e.test_concern_over_http import STORY, report

    await report(harness, "cyberbullying")
    await harness.settle()
    [card] = harness.connector.cards(DSL_CHANNEL)
    data = {**open_buttons(card)["OSC-2026-0001"], "outcome": "no_further_action", "message": "x"}

    refused = await harness.click(PUPIL, verb, data)

    assert "Sorry, you can't do that here" in card_texts(refused)
    assert STORY not in everything(refused) and "Daniel" not in everything(refused)
    [concern] = await stored(harness)
    assert concern.version == 1 and concern.data["status"] == "new"
    refusals = [e for e in await audit(harness) if e.outcome.startswith("refused")]
    assert [(e.actor, e.action, e.outcome) for e in refusals] == [(PUPIL, verb, REFUSED)]


@pytest.mark.parametrize(
    ("typed", "verb"),
    [
        ("filter log", "filter.log"),
        ("open items", "dsl.open_items"),
        ("incident log", "dsl.incident_log"),
        ("I want to unblock a website", "filter.start"),
        ("check a video call", "call.start"),
    ],
)
async def test_typed_staff_commands_get_the_pupil_menu_and_are_audited(
    harness: Harness, typed: str, verb: str
) -> None:
    await harness.say(PUPIL, typed)

    [card] = harness.connector.cards()
    assert_valid_card(card)
    assert {v for _, v in card_buttons(card)} == {"worry.start", "reports.mine", "help"}
    assert "Hi Ava" in card_texts(card)
    entries = await audit(harness)
    assert [(e.actor, e.action, e.outcome) for e in entries] == [(PUPIL, verb, REFUSED)]


async def test_a_pupil_typing_report_a_concern_gets_the_worry_card(harness: Harness) -> None:
    await harness.say(PUPIL, "report a concern")

    [card] = harness.connector.cards()
    assert "Tell us about a worry" in card_texts(card)
    assert "concern.submit" not in everything(card)


# ----- pictures and files -------------------------------------------------------------------------


async def test_a_picture_from_a_pupil_is_refused_kindly_and_never_stored(
    harness: Harness,
) -> None:
    image = {"contentType": "image/png", "contentUrl": "http://127.0.0.1:9/CANARY-photo.png"}
    status, _ = await harness.post(message(PUPIL, "", harness.connector.url, attachments=[image]))

    assert status in (200, 201)
    first = harness.connector.posted[0]
    assert first["text"] == (
        "I didn't save your picture. You don't need to send pictures. An adult will talk to you."
    )
    [entry] = await audit(harness)
    assert (entry.actor, entry.action, entry.outcome) == (
        PUPIL,
        "attachment",
        "refused: 1 not accepted",
    )
    assert await stored(harness) == []
    store_files = b"".join(p.read_bytes() for p in harness.settings.data_dir.rglob("*.json*"))
    assert b"CANARY-photo" not in store_files


async def test_staff_still_get_the_staff_words_for_files(harness: Harness) -> None:
    image = {"contentType": "image/png", "contentUrl": "http://127.0.0.1:9/x.png"}
    await harness.post(message(TEACHER, "", harness.connector.url, attachments=[image]))

    assert "secure the device and tell the DSL" in harness.connector.posted[0]["text"]


# ----- group chats and channels -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "conversation"), [("groupChat", GROUP_CHAT), ("channel", DSL_CHANNEL)]
)
async def test_in_a_shared_chat_a_pupil_is_pointed_to_a_private_chat(
    harness: Harness, scope: str, conversation: str
) -> None:
    await harness.say(PUPIL, "I'm worried", scope=scope, conversation_id=conversation)
    clicked = await harness.click(PUPIL, "worry.start", scope=scope, conversation_id=conversation)
    submitted = await harness.click(
        PUPIL,
        "worry.submit",
        {"form": "f1", **answers()},
        scope=scope,
        conversation_id=conversation,
    )

    [said] = harness.connector.cards(conversation)  # the one message others could see
    for card in (said, clicked, submitted):
        assert_valid_card(card)
        assert card_texts(card) == ["Message me in a private chat to get started."]
        assert NAME not in everything(card) and "worry" not in everything(card).lower()
    assert await stored(harness) == []


# ----- a burst of reports -------------------------------------------------------------------------


async def test_a_burst_of_20_reports_stores_20_and_groups_them_on_one_card(
    harness: Harness,
) -> None:
    for n in range(20):
        sent = await worry(harness, words=f"report number {n} CANARY")
        assert "Your worry has been sent." in card_texts(sent)
        harness.advance(seconds=10)
    await harness.settle()

    records = await stored(harness)
    refs = [f"OSC-2026-{n:04d}" for n in range(1, 21)]
    assert [r.id for r in records] == refs
    reported = [e.item for e in await audit(harness) if e.action == "worry.report"]
    assert reported == [f"concern:{ref}" for ref in refs]
    assert len(await harness.parts.store.find("timer")) == 20  # each has its own reminder
    assert len(channel_cards(harness)) == 1  # one card posted in the channel…
    assert len(channel_updates(harness)) >= 1  # …and updated as more came in
    [latest] = shown_cards(harness)
    assert_valid_card(latest)
    assert "19 more reports from this pupil" in visible_text(latest)
    assert "Pupil report OSC-2026-0001" in visible_text(latest)
    shown = everything(latest)
    assert NAME not in shown and "CANARY" not in shown
    buttons = open_buttons(latest)
    assert sorted(buttons) == refs
    # Every report can be opened by the DSL, with the pupil's words.
    for n, ref in enumerate(refs):
        detail = await harness.click(DSL, "concern.open", buttons[ref])
        assert f"report number {n} CANARY" in visible_text(detail)


async def test_a_burst_sent_all_at_once_is_stored_whole_and_grouped(harness: Harness) -> None:
    forms = [await harness.click(PUPIL, "worry.start") for _ in range(20)]

    replies = await asyncio.gather(
        *(harness.click(PUPIL, "worry.submit", {**send_data(form), **answers()}) for form in forms)
    )
    await harness.settle()

    assert all("Your worry has been sent." in card_texts(r) for r in replies)
    assert len(await stored(harness)) == 20
    assert len(channel_cards(harness)) == 1
    [latest] = shown_cards(harness)
    assert "19 more reports from this pupil" in visible_text(latest)
    assert len(open_buttons(latest)) == 20


async def test_an_urgent_report_is_never_hidden_on_a_routine_card(harness: Harness) -> None:
    await worry(harness, safe="yes")
    await worry(harness, safe="yes")
    await worry(harness, safe="no")
    await worry(harness, safe="yes")
    await harness.settle()

    routine, urgent = shown_cards(harness)
    assert card_texts(routine)[:2] == [
        "Pupil report OSC-2026-0001",
        "1 more report from this pupil",
    ]
    assert sorted(open_buttons(routine)) == ["OSC-2026-0001", "OSC-2026-0002"]
    # The urgent report has its own card and alerted the DSL and deputies at once; the routine
    # one after it joined the urgent card.
    assert card_texts(urgent)[:2] == [
        "URGENT: Pupil report OSC-2026-0003",
        "1 more report from this pupil",
    ]
    assert sorted(open_buttons(urgent)) == ["OSC-2026-0003", "OSC-2026-0004"]
    assert len(harness.connector.to(dm(DSL))) == 1
    assert len(harness.connector.to(dm(DEPUTY_DSL))) == 1


async def test_every_urgent_report_in_a_burst_alerts_the_dsl_and_deputies(
    harness: Harness,
) -> None:
    for _ in range(3):
        await worry(harness, safe="not_sure")
    await harness.settle()

    assert len(channel_cards(harness)) == 1
    assert len(harness.connector.to(dm(DSL))) == 3
    assert len(harness.connector.to(dm(DEPUTY_DSL))) == 3


async def test_after_the_window_or_an_acknowledgement_a_new_card_is_posted(
    harness: Harness,
) -> None:
    await worry(harness)
    harness.advance(minutes=11)
    await worry(harness)  # outside the window: a card of its own
    await harness.settle()
    assert len(channel_cards(harness)) == 2

    second = channel_cards(harness)[1]
    await click_button(harness, DSL, second, "concern.ack", channel=DSL_CHANNEL)
    await worry(harness)  # the card was acknowledged: a new card, not hidden on it
    await harness.settle()

    assert [card_texts(c)[0] for c in channel_cards(harness)] == [
        "Pupil report OSC-2026-0001",
        "Pupil report OSC-2026-0002",
        "Pupil report OSC-2026-0003",
    ]


async def test_reports_from_different_pupils_are_never_grouped(harness: Harness) -> None:
    await worry(harness, who=PUPIL)
    await worry(harness, who=YOUNG_PUPIL)
    await harness.settle()

    cards = channel_cards(harness)
    assert len(cards) == 2
    assert "Year 4" in visible_text(cards[1])
    assert "more report" not in everything(cards)


async def test_the_grouped_card_keeps_its_count_when_acknowledged(harness: Harness) -> None:
    for _ in range(3):
        await worry(harness)
    await harness.settle()
    [card] = channel_cards(harness)

    await click_button(harness, DSL, card, "concern.ack", channel=DSL_CHANNEL)
    await harness.settle()

    [latest] = shown_cards(harness)
    assert "Acknowledged" in visible_text(latest)
    assert "2 more reports from this pupil" in visible_text(latest)


# ----- logs ---------------------------------------------------------------------------------------


async def test_no_pupil_name_or_words_reach_the_logs(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    for _ in range(2):
        await worry(harness, safe="no")
    await harness.settle()

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "OSC-2026-0001" in logged
    for secret in (NAME, SURNAME, "CANARY", "Canaryfield"):
        assert secret not in logged


async def test_closing_a_pupils_report_sends_the_pupil_nothing(harness: Harness) -> None:
    from tests.support import DSL, close_form, dm

    await worry(harness)
    await harness.settle()
    [concern] = await stored(harness)
    detail = await harness.click(DSL, "concern.open", {"ref": concern.id, "ver": concern.version})
    await click_button(
        harness,
        DSL,
        detail,
        "concern.close",
        # Issue 20: the close form gained a reason and the open checklist items.
        **close_form(concern.data["category"], message="Spoke to her tutor."),
    )
    await harness.settle()

    [closed] = await stored(harness)
    assert closed.data["status"] == "closed"
    assert harness.connector.to(dm(PUPIL)) == []
    assert "Spoke to her tutor" not in everything(harness.connector.posted)
