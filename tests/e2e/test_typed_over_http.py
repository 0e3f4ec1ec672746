"""Nothing typed is ignored (issue 18), end to end: real HTTP into /api/messages, the real
botbuilder adapter, real TinyDB files and a fake Bot Connector.

- A pupil's sentence that shows risk reaches the DSL channel as an URGENT pupil report with 1:1
  alerts to the DSL and every deputy; the pupil is told plainly and sees the help links; what
  they type next joins that report.
- "I am safe now thanks" makes no report: a warm reply with help and their words ready to send.
- A teacher's pasted disclosure is offered as a prefilled concern (a 20 000-character paste is
  cut to the form's limit and they are told), and once sent is routed like any other.
- Nothing typed reaches a log line or the store unless it became a report; nothing typed is
  repeated in a channel.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from store import files
from tests.conftest import Harness
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    PUPIL,
    TEACHER,
    assert_valid_card,
    button,
    card_buttons,
    dm,
    everything,
    message,
    visible_text,
)

DISCLOSURE = "someone online keeps messaging me and i dont feel safe CANARY-7731"
PUPIL_CHAT = f"a:personal-{PUPIL}"
SAFE_WORDS = "I am safe now thanks CANARY-5520"
PASTE = (
    "Year 9 pupil came to me at break: an older boy online has been asking her for photos "
    "and says he will share the chat if she stops replying. CANARY-9904 "
)


def urls(card: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.OpenUrl":
                found.add(node["url"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def actions(node: Any) -> list[dict[str, Any]]:
    """Every action in a card, wherever it sits."""
    if isinstance(node, dict):
        own = [node] if str(node.get("type", "")).startswith("Action.") else []
        return own + [a for v in node.values() for a in actions(v)]
    if isinstance(node, list):
        return [a for v in node for a in actions(v)]
    return []


def store_bytes(h: Harness) -> bytes:
    return b"".join(p.read_bytes() for p in h.settings.data_dir.rglob("*") if p.is_file())


async def concerns(h: Harness) -> list[Any]:
    return sorted(await h.parts.store.find("concern"), key=lambda r: r.id)


# ----- pupils ----------------------------------------------------------------------------------


async def test_a_pupils_disclosure_reaches_the_dsl_as_an_urgent_report_at_once(
    harness: Harness,
) -> None:
    assert await harness.say(PUPIL, DISCLOSURE) in (200, 201)

    [reply] = harness.connector.cards(PUPIL_CHAT)
    assert_valid_card(reply)
    text = visible_text(reply)
    assert "Thank you for telling me" in text
    assert "adults who keep pupils safe at school" in text and "They have it now." in text
    assert "an adult will talk to you soon" in text
    assert "Here is what I can do." not in text
    assert {"tel:999", "tel:08001111"} <= urls(reply)
    assert any("ceop.police.uk" in u for u in urls(reply))

    [record] = await concerns(harness)
    assert record.data["urgent"] is True
    assert record.data["source"] == "pupil"
    assert "CANARY-7731" in record.data["what_happened"]
    await harness.settle()
    [card] = harness.connector.cards(DSL_CHANNEL)
    assert "URGENT: Pupil report OSC-2026-0001" in visible_text(card)
    assert "CANARY" not in everything(card) and "Ava" not in everything(card)
    for person in (DSL, DEPUTY_DSL):
        [alert] = harness.connector.to(dm(person))
        assert "CANARY" not in everything(alert)
    entries = await harness.parts.store.audit_log()
    assert [e.action for e in entries] == ["worry.report"]


async def test_what_the_pupil_types_next_joins_that_report(harness: Harness) -> None:
    await harness.say(PUPIL, DISCLOSURE)
    harness.advance(minutes=2)
    await harness.say(PUPIL, "he is 17 and lives near me CANARY-1188")
    harness.advance(minutes=3)
    await harness.say(PUPIL, "he said he would hurt me CANARY-2299")
    await harness.settle()

    [record] = await concerns(harness)
    for canary in ("CANARY-7731", "CANARY-1188", "CANARY-2299"):
        assert canary in record.data["what_happened"]
    assert len(harness.connector.cards(DSL_CHANNEL)) == 1
    assert len(harness.connector.to(dm(DSL))) == 1
    last = harness.connector.cards(PUPIL_CHAT)[-1]
    assert "I added this to your message." in visible_text(last)


async def test_the_dsl_channel_card_stays_current_when_more_words_join(harness: Harness) -> None:
    await harness.say(PUPIL, DISCLOSURE)
    await harness.settle()
    harness.advance(minutes=1)
    await harness.say(PUPIL, "he said he knows where i live CANARY-4455")
    await harness.settle()

    [update] = [u for u in harness.connector.updated if u["_conversation"] == DSL_CHANNEL]
    card = update["attachments"][0]["content"]
    assert "CANARY" not in everything(card)
    [data] = [a["data"] for a in actions(card) if a.get("verb") == "concern.ack"]
    assert data["ver"] == 2  # the version with the words added
    acknowledged = await harness.click(DSL, "concern.ack", data)
    assert "Fiona Blake" in everything(acknowledged)
    [record] = await concerns(harness)
    assert record.data["status"] == "acknowledged"
    assert "CANARY-4455" in record.data["what_happened"]


async def test_a_new_disclosure_after_ten_quiet_minutes_is_a_new_report(
    harness: Harness,
) -> None:
    await harness.say(PUPIL, DISCLOSURE)
    harness.advance(minutes=11)
    await harness.say(PUPIL, "i am scared to go home CANARY-3344")

    first, second = await concerns(harness)
    assert "CANARY-3344" not in first.data["what_happened"]
    assert "CANARY-3344" in second.data["what_happened"]
    assert second.data["urgent"] is True


async def test_a_teams_retry_of_the_same_message_is_one_report(harness: Harness) -> None:
    activity = message(PUPIL, DISCLOSURE, harness.connector.url)
    await harness.post(activity)
    await harness.post(activity)

    assert len(await concerns(harness)) == 1


async def test_a_disclosure_that_cannot_be_saved_is_never_called_sent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def io_error(path: Path, value: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    activity = message(PUPIL, DISCLOSURE, harness.connector.url)
    monkeypatch.setattr(files, "atomic_write_json", io_error)
    monkeypatch.setattr(files, "append_synced", io_error)
    await harness.post(activity)
    monkeypatch.undo()

    [reply] = harness.connector.cards(PUPIL_CHAT)
    text = visible_text(reply)
    assert "Sorry, your message was not sent" in text
    assert "They have it now." not in text
    assert {"tel:999", "tel:08001111"} <= urls(reply)
    assert await concerns(harness) == []
    # Teams sends it again (or she does): now it is saved and she is told.
    await harness.post(activity)
    assert len(await concerns(harness)) == 1
    assert "They have it now." in visible_text(harness.connector.cards(PUPIL_CHAT)[-1])


async def test_i_am_safe_makes_no_report_and_offers_help_and_the_worry_card(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await harness.say(PUPIL, SAFE_WORDS)
    await harness.settle()

    [reply] = harness.connector.cards()
    assert_valid_card(reply)
    text = visible_text(reply)
    assert "Thanks for your message" in text and "Get help now" in text
    assert "Here is what I can do." not in text
    assert {"tel:999", "tel:08001111"} <= urls(reply)
    assert ("Send this to a trusted adult", "worry.start") in card_buttons(reply)
    [box] = [e for e in reply["body"] if e.get("id") == "words"]
    assert box["value"] == SAFE_WORDS
    assert await concerns(harness) == []
    assert harness.connector.to(DSL_CHANNEL) == []
    assert await harness.parts.store.audit_log() == []
    assert b"CANARY" not in store_bytes(harness)
    assert "CANARY" not in "\n".join(r.getMessage() for r in caplog.records)

    # "Send this to a trusted adult": the worry card with their words, nothing sent yet.
    form = await harness.click(PUPIL, "worry.start", {"words": box["value"]})
    [words] = [e for e in form["body"] if e.get("id") == "words"]
    assert words["value"] == SAFE_WORDS
    assert await concerns(harness) == []


async def test_a_pupil_in_a_channel_is_sent_to_a_private_chat_and_nothing_is_repeated(
    harness: Harness,
) -> None:
    await harness.say(PUPIL, DISCLOSURE, scope="channel", conversation_id=DSL_CHANNEL)

    shown = everything(harness.connector.to(DSL_CHANNEL))
    assert "private chat" in shown
    assert "CANARY" not in shown


async def test_pupil_commands_still_work(harness: Harness) -> None:
    await harness.say(PUPIL, "I'm worried")

    [card] = harness.connector.cards()
    assert "Tell us about a worry" in visible_text(card)
    assert await concerns(harness) == []


# ----- staff -----------------------------------------------------------------------------------


async def test_a_teachers_pasted_disclosure_is_offered_as_a_prefilled_concern_and_routed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await harness.say(TEACHER, PASTE)

    [offer] = harness.connector.cards()
    assert_valid_card(offer)
    text = visible_text(offer)
    assert text.startswith("If a child is in immediate danger, call 999")
    assert "Do you want to report this as a concern?" in text
    assert "Nothing has been sent or saved yet." in text
    assert [t for t, _ in card_buttons(offer)] == [
        "Report this as a concern",
        "No, show the menu",
    ]
    [box] = [e for e in offer["body"] if e.get("id") == "what_happened"]
    assert box["value"] == " ".join(PASTE.split())
    assert await concerns(harness) == []
    assert b"CANARY" not in store_bytes(harness)

    data = {**button(offer, "concern.start"), "category": "grooming", "what_happened": box["value"]}
    form = await harness.click(TEACHER, "concern.start", data)
    assert_valid_card(form)
    [prefilled] = [e for e in form["body"] if e.get("id") == "what_happened"]
    assert prefilled["value"] == box["value"]
    submit = button(form, "concern.submit")
    received = await harness.click(
        TEACHER,
        "concern.submit",
        {
            **submit,
            "immediate_risk": "no",
            "involved": "A Year 9 pupil",
            "year_group": "Year 9",
            "what_happened": prefilled["value"],
            "where": "Instagram",
            "happened_on": "2026-11-23",
        },
    )
    assert "Received: OSC-2026-0001" in visible_text(received)
    await harness.settle()
    [card] = harness.connector.cards(DSL_CHANNEL)
    assert "URGENT" in visible_text(card)
    assert "CANARY" not in "\n".join(r.getMessage() for r in caplog.records)


async def test_a_20000_character_paste_is_cut_to_the_form_and_the_teacher_is_told(
    harness: Harness,
) -> None:
    paste = (PASTE * 200)[:20_000]
    await harness.say(TEACHER, paste)

    [offer] = harness.connector.cards()
    assert_valid_card(offer)
    [box] = [e for e in offer["body"] if e.get("id") == "what_happened"]
    assert len(box["value"]) == 4000
    text = visible_text(offer)
    assert "The report form holds 4,000" in text
    assert "Add anything important from the rest" in text


async def test_a_few_words_still_get_the_menu_and_commands_still_run(harness: Harness) -> None:
    await harness.say(TEACHER, "what is the wifi password??")
    await harness.say(TEACHER, "Report a concern")

    menu, picker = harness.connector.cards()
    assert "Here is what I can do." in visible_text(menu)
    assert "Report an online-safety concern" in visible_text(picker)


async def test_a_long_message_in_a_channel_is_never_repeated_there(harness: Harness) -> None:
    await harness.say(TEACHER, PASTE, scope="channel", conversation_id=DSL_CHANNEL)

    [said] = harness.connector.to(DSL_CHANNEL)
    assert "message me in a private chat" in said["text"]
    assert "CANARY" not in everything(said)
    assert await concerns(harness) == []


@pytest.mark.parametrize("typed", ["my reports", "check my next lessons"])
async def test_private_things_typed_in_a_channel_are_never_shown_there(
    harness: Harness, typed: str
) -> None:
    await harness.say(TEACHER, PASTE)  # a report of their own, to make sure none is shown
    offer = harness.connector.cards()[-1]
    data = {**button(offer, "concern.start"), "category": "cyberbullying", "what_happened": "x"}
    form = await harness.click(TEACHER, "concern.start", data)
    await harness.click(
        TEACHER,
        "concern.submit",
        {
            **button(form, "concern.submit"),
            "immediate_risk": "no",
            "involved": "A pupil",
            "year_group": "Year 9",
            "what_happened": "x",
            "where": "Instagram",
            "happened_on": "2026-11-23",
        },
    )
    staff_room = "19:staff-room@thread.tacv2"
    await harness.say(TEACHER, typed, scope="channel", conversation_id=staff_room)
    await harness.settle()

    # Issue 18: the answer goes to their 1:1 chat; the channel hears only that it was sent.
    [said] = harness.connector.to(staff_room)
    assert said["text"] == "I've sent you that in a private chat."
    assert "OSC-" not in everything(said) and not said.get("attachments")
    [sent] = harness.connector.to(dm(TEACHER))
    await harness.say(TEACHER, typed)
    in_private = harness.connector.cards(f"a:personal-{TEACHER}")[-1]
    assert "private chat" not in everything(in_private)
    assert visible_text(sent["attachments"][0]["content"]) == visible_text(in_private)


async def test_my_reports_in_the_it_channel_posts_nothing_personal_there(
    harness: Harness,
) -> None:
    from tests.e2e.test_concern_over_http import report
    from tests.support import IT_CHANNEL

    await report(harness, "staff_conduct")  # "Concern about a member of staff": never public
    await harness.settle()
    before = len(harness.connector.to(IT_CHANNEL))

    await harness.say(TEACHER, "my reports", scope="channel", conversation_id=IT_CHANNEL)
    await harness.settle()

    [said] = harness.connector.to(IT_CHANNEL)[before:]
    assert said["text"] == "I've sent you that in a private chat."
    for secret in ("OSC-", "member of staff", "waiting", "Mr", "Teacher"):
        assert secret not in everything(said)
    [sent] = harness.connector.to(dm(TEACHER))[-1:]
    card = sent["attachments"][0]["content"]
    assert_valid_card(card)
    assert "OSC-2026-0001" in visible_text(card)
    assert "Concern about a member of staff" in visible_text(card)


async def test_a_pupil_in_a_channel_is_pointed_to_their_private_chat_and_nothing_repeated(
    harness: Harness,
) -> None:
    group = "19:class-8b@thread.v2"
    for typed in ("my reports", DISCLOSURE):
        before = len(harness.connector.to(group))
        await harness.say(PUPIL, typed, scope="groupChat", conversation_id=group)
        await harness.settle()

        [said] = harness.connector.to(group)[before:]
        assert "private chat" in everything(said)
        assert "CANARY" not in everything(said) and "OSC-" not in everything(said)
    # The disclosure, typed in the wrong place, still reached the DSL as an urgent report, and
    # the pupil is told so in their own 1:1 chat (never in the shared one).
    [told] = harness.connector.cards(dm(PUPIL))
    assert "They have it now." in visible_text(told)
    assert "CANARY" not in everything(told)
    [record] = await concerns(harness)
    assert record.data["urgent"] is True and record.data["source"] == "pupil"
    assert "CANARY-7731" in record.data["what_happened"]
    [card] = harness.connector.cards(DSL_CHANNEL)
    assert "URGENT: Pupil report OSC-2026-0001" in visible_text(card)
    for person in (DSL, DEPUTY_DSL):
        assert harness.connector.to(dm(person))
