"""Pupil reports ("tell us about a worry") through the use-case layer: the pupil's card,
categories and urgency, refusals of every staff action, shared chats, pictures, bursts grouped on
one channel card (fast twin of tests/e2e/test_pupil_report_over_http.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from policy.actions import PUPIL_VERBS, Verb
from tests.dialogs.conftest import School
from tests.dialogs.test_concern import report
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT_CHANNEL,
    PUPIL,
    TEACHER,
    YOUNG_PUPIL,
    assert_valid_card,
    button,
    card_buttons,
    card_texts,
    click_button,
    close_form,
    dm,
    everything,
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


async def worry(s: School, who: str = PUPIL, **changes: str) -> dict[str, Any]:
    """Open the worry card as ``who``, answer it and send it; the card they see next."""
    form = await s.click(who, "worry.start")
    return await s.click(
        who, "worry.submit", {**button(form, "worry.submit"), **answers(**changes)}
    )


async def stored(s: School) -> list[Any]:
    return sorted(await s.find("concern"), key=lambda r: r.id)


def actions_in(card: Any) -> Iterator[dict[str, Any]]:
    """Every action in a card: at its foot, in action sets, and inside show-cards."""
    if isinstance(card, dict):
        if str(card.get("type", "")).startswith("Action."):
            yield card
        for value in card.values():
            yield from actions_in(value)
    elif isinstance(card, list):
        for value in card:
            yield from actions_in(value)


def open_buttons(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """ref -> data of every Open button on a card."""
    return {
        a["data"]["ref"]: dict(a["data"])
        for a in actions_in(card)
        if a.get("verb") == "concern.open"
    }


# ----- the pupil's side ------------------------------------------------------------------------


async def test_the_pupil_menu_offers_only_the_three_pupil_things(school: School) -> None:
    [menu] = await school.say(PUPIL, "hi")

    assert menu.card is not None
    assert {v for _, v in card_buttons(dict(menu.card))} == {"worry.start", "reports.mine", "help"}


async def test_sending_says_thank_you_signposts_help_and_says_nothing_of_what_staff_do(
    school: School,
) -> None:
    sent = await worry(school)

    assert_valid_card(sent)
    text = visible_text(sent)
    for words in (
        "Thank you for telling us",
        "Your worry has been sent.",
        "If you are in danger now, tell an adult near you or call 999.",
        "Childline is free. Call 0800 1111 or go to childline.org.uk.",
    ):
        assert words in text
    assert "OSC-" not in text and "DSL" not in text
    assert {verb for _, verb in card_buttons(sent)} <= {v.value for v in PUPIL_VERBS}


async def test_a_report_is_stored_as_a_pupil_concern_from_the_directory(school: School) -> None:
    await worry(school, kind="stranger")

    [record] = await stored(school)
    concern = record.data
    assert record.id == "OSC-2026-0001"
    assert concern["source"] == "pupil"
    assert (concern["category"], concern["urgent"]) == ("grooming", True)
    assert concern["reporter_id"] == PUPIL
    assert concern["involved"] == f"{NAME} {SURNAME}"  # from the directory, not typed
    assert concern["year_group"] == "Year 8"
    assert WORDS in concern["what_happened"]
    assert concern["trusted_adult"] == ADULT
    entries = [e for e in await school.audit() if e.action == "worry.report"]
    assert [(e.actor, e.item, e.outcome) for e in entries] == [
        (PUPIL, "concern:OSC-2026-0001", "ok")
    ]
    [reminder] = await school.find("timer")
    assert reminder.data["subject"] == "concern:OSC-2026-0001"


async def test_words_and_a_trusted_adult_are_optional(school: School) -> None:
    sent = await worry(school, kind="other", words="", adult="")

    assert "Your worry has been sent." in card_texts(sent)
    [record] = await stored(school)
    assert record.data["what_happened"].endswith("(no words given)")


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
    school: School, kind: str, category: str
) -> None:
    await worry(school, kind=kind)

    [record] = await stored(school)
    assert record.data["category"] == category
    # Being asked for photos, or contact from someone they don't know (a grooming risk), is
    # always urgent, whatever the pupil said about being safe.
    assert record.data["urgent"] is (kind in {"asked", "stranger"})


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"kind": ""}, "kind", "Please pick the one that fits best."),
        ({"kind": "grooming"}, "kind", "Please pick the one that fits best."),
        ({"safe": "maybe"}, "safe", "Please tell us if you are safe."),
        ({"words": "x" * 2001}, "words", "Please write less than 2000 letters."),
        ({"adult": "x" * 101}, "adult", "Please write a shorter name."),
    ],
)
async def test_a_problem_shows_the_card_again_kindly_and_sends_nothing(
    school: School, changes: dict[str, str], field: str, words: str
) -> None:
    card = await worry(school, **changes)
    await school.settle()

    assert "Nothing has been sent yet." in card_texts(card)
    index = card["body"].index(next(e for e in card["body"] if e.get("id") == field))
    assert card["body"][index + 1]["text"] == words
    assert await stored(school) == []
    assert school.messenger.posted == []


async def test_the_same_send_three_times_makes_one_report_and_one_card(school: School) -> None:
    form = await school.click(PUPIL, "worry.start")
    data = {**button(form, "worry.submit"), **answers()}

    replies = [await school.click(PUPIL, "worry.submit", data) for _ in range(3)]
    await school.settle()

    assert all("Your worry has been sent." in card_texts(r) for r in replies)
    assert len(await stored(school)) == 1
    assert len(school.messenger.cards(DSL_CHANNEL)) == 1
    assert await school.store.next_sequence("OSC-2026") == 2


async def test_pupil_reports_share_the_staff_reference_sequence(school: School) -> None:
    await report(school, "fraud")
    await worry(school)

    assert [r.id for r in await stored(school)] == ["OSC-2026-0001", "OSC-2026-0002"]


async def test_my_reports_shows_only_the_state_never_what_was_done(school: School) -> None:
    await worry(school, kind="asked")
    await school.settle()
    [card] = school.messenger.cards(DSL_CHANNEL)
    await click_button(school, DSL, card, "concern.ack", channel=DSL_CHANNEL)

    mine = await school.click(PUPIL, "reports.mine")

    text = visible_text(mine)
    # Its state in a child's words (issue 20), never who did what.
    assert "OSC-2026-0001" in text and "someone is looking after it" in text
    assert "grooming" not in text.lower() and "Acknowledged" not in text and "Fiona" not in text


# ----- the DSL channel, alerts and opening -----------------------------------------------------


async def test_the_channel_card_says_pupil_report_and_year_but_never_the_name(
    school: School,
) -> None:
    await worry(school, kind="upset")
    await school.settle()

    [card] = school.messenger.cards(DSL_CHANNEL)
    text = visible_text(card)
    assert "Pupil report OSC-2026-0001" in text
    assert "Year 8" in text and "Routine" in text
    for secret in (NAME, SURNAME, "CANARY", "Canaryfield"):
        assert secret not in everything(card)
    for action in actions_in(card):
        if "data" in action:
            assert set(action["data"]) <= {"verb", "v", "ref", "ver"}
    assert school.messenger.conversations() == {DSL_CHANNEL}
    assert school.messenger.to(IT_CHANNEL) == []


@pytest.mark.parametrize("safe", ["no", "not_sure"])
async def test_not_safe_or_not_sure_alerts_the_dsl_and_deputies_at_once(
    school: School, safe: str
) -> None:
    sent = await worry(school, kind="other", safe=safe)
    await school.settle()

    assert "have been told now" in visible_text(sent)
    [record] = await stored(school)
    assert record.data["urgent"] is True
    assert record.data["immediate_risk"] == {"no": "yes", "not_sure": "not_sure"}[safe]
    assert school.messenger.conversations() == {DSL_CHANNEL, dm(DSL), dm(DEPUTY_DSL)}
    [card] = school.messenger.cards(DSL_CHANNEL)
    assert "URGENT: Pupil report OSC-2026-0001" in visible_text(card)
    for person in (DSL, DEPUTY_DSL):
        [alert] = school.messenger.cards(dm(person))
        assert NAME not in everything(alert) and "CANARY" not in everything(alert)


async def test_an_urgent_pupil_report_is_chased_like_an_urgent_concern(school: School) -> None:
    await worry(school, safe="no")
    await school.settle()
    before = len(school.messenger.posted)

    school.advance(minutes=15)
    await school.settle()

    chased = {c for c, _ in school.messenger.posted[before:]}
    assert chased == {dm(DSL), dm(DEPUTY_DSL), DSL_CHANNEL}


async def test_the_dsl_sees_the_name_and_words_only_on_opening(school: School) -> None:
    await worry(school)
    await school.settle()
    [card] = school.messenger.cards(DSL_CHANNEL)
    opening = open_buttons(card)["OSC-2026-0001"]

    detail = await school.click(DSL, "concern.open", opening)
    refused = await school.click(TEACHER, "concern.open", opening)

    text = visible_text(detail)
    assert f"{NAME} {SURNAME}" in text and WORDS in text and ADULT in text
    assert NAME not in everything(refused)


async def test_acknowledging_updates_the_pupil_card_for_everyone(school: School) -> None:
    await worry(school)
    await school.settle()
    [card] = school.messenger.cards(DSL_CHANNEL)

    await click_button(school, DSL, card, "concern.ack", channel=DSL_CHANNEL)
    await school.settle()

    [latest] = school.messenger.shown(DSL_CHANNEL)
    assert "Acknowledged" in visible_text(latest) and "Fiona Blake" in visible_text(latest)
    assert NAME not in everything(latest)


async def test_closing_a_pupils_report_sends_the_pupil_nothing(school: School) -> None:
    await worry(school)
    await school.settle()
    [concern] = await stored(school)
    detail = await school.click(DSL, "concern.open", {"ref": concern.id, "ver": concern.version})

    # Issue 20: the close form gained a reason and the open checklist items.
    await click_button(
        school,
        DSL,
        detail,
        "concern.close",
        **close_form(concern.data["category"], message="Spoke to her."),
    )
    await school.settle()

    [closed] = await stored(school)
    assert closed.data["status"] == "closed"
    assert school.messenger.to(dm(PUPIL)) == []


# ----- what a pupil may not do -----------------------------------------------------------------

STAFF_VERBS = sorted(v for v in Verb if v not in PUPIL_VERBS)


@pytest.mark.parametrize("verb", STAFF_VERBS, ids=str)
async def test_every_staff_dsl_or_it_action_by_a_pupil_is_refused_kindly_and_audited(
    school: School, verb: Verb
) -> None:
    crafted = {"ref": "OSC-2026-0001", "ver": 1, "id": "x", "form": "f1", "category": "other"}

    card = await school.click(PUPIL, verb.value, crafted)

    assert card_texts(card) == [
        "Sorry, you can't do that here",
        "You can tell us about a worry, see your reports or get help.",
    ]
    entries = await school.audit()
    assert [(e.actor, e.action, e.outcome) for e in entries] == [(PUPIL, verb.value, REFUSED)]
    assert await stored(school) == []


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
    school: School, typed: str, verb: str
) -> None:
    [reply] = await school.say(PUPIL, typed)

    assert reply.card is not None
    assert {v for _, v in card_buttons(dict(reply.card))} == {"worry.start", "reports.mine", "help"}
    entries = await school.audit()
    assert [(e.actor, e.action, e.outcome) for e in entries] == [(PUPIL, verb, REFUSED)]


async def test_a_pupil_typing_report_a_concern_gets_the_worry_card(school: School) -> None:
    [reply] = await school.say(PUPIL, "report a concern")

    assert reply.card is not None
    assert "Tell us about a worry" in card_texts(dict(reply.card))
    assert "concern.submit" not in everything(reply.card)


async def test_a_picture_from_a_pupil_is_refused_kindly_and_only_the_refusal_kept(
    school: School,
) -> None:
    [said, *_] = await school.say(PUPIL, "", attachments=1)

    assert said.text == (
        "I didn't save your picture. You don't need to send pictures. An adult will talk to you."
    )
    [entry] = await school.audit()
    assert (entry.actor, entry.action, entry.outcome) == (
        PUPIL,
        "attachment",
        "refused: 1 not accepted",
    )
    assert await stored(school) == []


async def test_staff_still_get_the_staff_words_for_files(school: School) -> None:
    [said, *_] = await school.say(TEACHER, "", attachments=1)

    assert "secure the device and tell the DSL" in str(said.text)


@pytest.mark.parametrize(
    ("scope", "conversation"), [("groupChat", GROUP_CHAT), ("channel", DSL_CHANNEL)]
)
async def test_in_a_shared_chat_a_pupil_is_pointed_to_a_private_chat(
    school: School, scope: str, conversation: str
) -> None:
    where = {"scope": scope, "conversation_id": conversation}
    said = await school.say(PUPIL, "I'm worried", **where)
    clicked = await school.click(PUPIL, "worry.start", **where)
    submitted = await school.click(PUPIL, "worry.submit", {"form": "f1", **answers()}, **where)

    cards = [dict(r.card) for r in said if r.card] + [clicked, submitted]
    for card in cards:
        assert card_texts(card) == ["Message me in a private chat to get started."]
        assert NAME not in everything(card) and "worry" not in everything(card).lower()
    assert await stored(school) == []


# ----- a burst of reports ----------------------------------------------------------------------


async def test_a_burst_of_20_reports_stores_20_and_groups_them_on_one_card(
    school: School,
) -> None:
    for n in range(20):
        await worry(school, words=f"report number {n} CANARY")
        school.advance(seconds=10)
    await school.settle()

    refs = [f"OSC-2026-{n:04d}" for n in range(1, 21)]
    assert [r.id for r in await stored(school)] == refs
    assert len(await school.find("timer")) == 20  # each has its own reminder
    assert len(school.messenger.cards(DSL_CHANNEL)) == 1
    [latest] = school.messenger.shown(DSL_CHANNEL)
    assert "19 more reports from this pupil" in visible_text(latest)
    assert NAME not in everything(latest) and "CANARY" not in everything(latest)
    buttons = open_buttons(latest)
    assert sorted(buttons) == refs
    detail = await school.click(DSL, "concern.open", buttons[refs[7]])
    assert "report number 7 CANARY" in visible_text(detail)


async def test_a_burst_sent_all_at_once_is_stored_whole_and_grouped(school: School) -> None:
    forms = [await school.click(PUPIL, "worry.start") for _ in range(20)]

    await asyncio.gather(
        *(
            school.click(PUPIL, "worry.submit", {**button(f, "worry.submit"), **answers()})
            for f in forms
        )
    )
    await school.settle()

    assert len(await stored(school)) == 20
    [latest] = school.messenger.shown(DSL_CHANNEL)
    assert len(open_buttons(latest)) == 20


async def test_an_urgent_report_is_never_hidden_on_a_routine_card(school: School) -> None:
    for safe in ("yes", "yes", "no", "yes"):
        await worry(school, safe=safe)
    await school.settle()

    cards = school.messenger.shown(DSL_CHANNEL)
    [urgent] = [c for c in cards if card_texts(c)[0].startswith("URGENT")]
    [routine] = [c for c in cards if c is not urgent]
    assert sorted(open_buttons(routine)) == ["OSC-2026-0001", "OSC-2026-0002"]
    assert card_texts(urgent)[0] == "URGENT: Pupil report OSC-2026-0003"
    assert sorted(open_buttons(urgent)) == ["OSC-2026-0003", "OSC-2026-0004"]
    assert len(school.messenger.to(dm(DSL))) == 1


async def passes_until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition`` holds (event-loop passes, never time: the
    in-memory store needs a handful)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)


async def test_one_pupils_slow_save_does_not_hold_up_another_pupils_report(
    school: School,
) -> None:
    """The burst grouping takes one pupil's reports one at a time; another pupil's report goes
    through (and is told "sent") while the first pupil's save is still waiting for the disk."""
    gate, waiting = asyncio.Event(), asyncio.Event()
    commit = school.store.commit

    async def slow_disk_for_one_pupil(change: Any) -> Any:
        if any(event.actor == PUPIL for event in change.audit):
            waiting.set()
            await gate.wait()
        return await commit(change)

    school.store.commit = slow_disk_for_one_pupil  # type: ignore[method-assign]
    first = asyncio.create_task(worry(school, who=PUPIL))
    await passes_until(waiting.is_set)
    assert not first.done()
    second = asyncio.create_task(worry(school, who=YOUNG_PUPIL))
    await passes_until(second.done)

    assert second.done() and not first.done()
    assert "Your worry has been sent." in visible_text(second.result())
    gate.set()
    assert "Your worry has been sent." in visible_text(await first)
    await school.settle()
    assert len(await stored(school)) == 2
    assert len(school.messenger.cards(DSL_CHANNEL)) == 2


async def test_reports_from_different_pupils_are_never_grouped(school: School) -> None:
    await worry(school, who=PUPIL)
    await worry(school, who=YOUNG_PUPIL)
    await school.settle()

    cards = school.messenger.cards(DSL_CHANNEL)
    assert len(cards) == 2
    assert sorted("Year 4" in visible_text(c) for c in cards) == [False, True]
    assert "more report" not in everything(cards)


async def test_no_pupil_name_or_words_reach_the_logs(
    school: School, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    for _ in range(2):
        await worry(school, safe="no")
    await school.settle()

    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (NAME, SURNAME, "CANARY", "Canaryfield"):
        assert secret not in logged
