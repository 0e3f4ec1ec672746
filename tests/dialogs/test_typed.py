"""Nothing typed is ignored (``dialogs/typed.py``), through the use-case layer: a pupil's
disclosure becomes an urgent report, "I am safe" makes none, a teacher's paste is offered as a
prefilled concern, nothing is repeated in a channel (fast twin of
tests/e2e/test_typed_over_http.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dialogs.conftest import School
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    PUPIL,
    TEACHER,
    button,
    card_buttons,
    dm,
    everything,
    visible_text,
)

DISCLOSURE = "someone online keeps messaging me and i dont feel safe CANARY-7731"
SAFE_WORDS = "I am safe now thanks CANARY-5520"
PASTE = (
    "Year 9 pupil came to me at break: an older boy online has been asking her for photos "
    "and says he will share the chat if she stops replying. CANARY-9904 "
)


async def said(s: School, who: str, text: str, **where: Any) -> dict[str, Any]:
    """``who`` types ``text``; the one card they get."""
    [reply] = [r for r in await s.say(who, text, **where) if r.card is not None]
    assert reply.card is not None
    return dict(reply.card)


async def concerns(s: School) -> list[Any]:
    return sorted(await s.find("concern"), key=lambda r: r.id)


async def test_a_pupils_disclosure_reaches_the_dsl_as_an_urgent_report_at_once(
    school: School,
) -> None:
    reply = await said(school, PUPIL, DISCLOSURE)
    await school.settle()

    assert "Thank you for telling me" in visible_text(reply)
    assert "Here is what I can do." not in visible_text(reply)
    [record] = await concerns(school)
    assert (record.data["urgent"], record.data["source"]) == (True, "pupil")
    assert "CANARY-7731" in record.data["what_happened"]
    [card] = school.messenger.cards(DSL_CHANNEL)
    assert "URGENT: Pupil report OSC-2026-0001" in visible_text(card)
    assert "CANARY" not in everything(card) and "Ava" not in everything(card)
    for person in (DSL, DEPUTY_DSL):
        [alert] = school.messenger.cards(dm(person))
        assert "CANARY" not in everything(alert)
    assert [e.action for e in await school.audit()] == ["worry.report"]


async def test_what_the_pupil_types_next_joins_that_report(school: School) -> None:
    await school.say(PUPIL, DISCLOSURE)
    school.advance(minutes=2)
    await school.say(PUPIL, "he is 17 and lives near me CANARY-1188")
    school.advance(minutes=3)
    last = await said(school, PUPIL, "he said he would hurt me CANARY-2299")
    await school.settle()

    [record] = await concerns(school)
    for canary in ("CANARY-7731", "CANARY-1188", "CANARY-2299"):
        assert canary in record.data["what_happened"]
    assert len(school.messenger.cards(DSL_CHANNEL)) == 1
    assert len(school.messenger.to(dm(DSL))) == 1
    assert "I added this to your message." in visible_text(last)


async def test_a_new_disclosure_after_ten_quiet_minutes_is_a_new_report(school: School) -> None:
    await school.say(PUPIL, DISCLOSURE)
    school.advance(minutes=11)
    await school.say(PUPIL, "i am scared to go home CANARY-3344")

    first, second = await concerns(school)
    assert "CANARY-3344" not in first.data["what_happened"]
    assert "CANARY-3344" in second.data["what_happened"]
    assert second.data["urgent"] is True


async def test_i_am_safe_makes_no_report_and_offers_the_worry_card_with_their_words(
    school: School, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    reply = await said(school, PUPIL, SAFE_WORDS)
    await school.settle()

    assert "Thanks for your message" in visible_text(reply)
    assert ("Send this to a trusted adult", "worry.start") in card_buttons(reply)
    [box] = [e for e in reply["body"] if e.get("id") == "words"]
    assert box["value"] == SAFE_WORDS
    assert await concerns(school) == []
    assert school.messenger.posted == []
    assert await school.audit() == []
    assert "CANARY" not in "\n".join(r.getMessage() for r in caplog.records)


async def test_a_pupil_in_a_channel_is_sent_to_a_private_chat_and_nothing_is_repeated(
    school: School,
) -> None:
    replies = await school.say(PUPIL, DISCLOSURE, scope="channel", conversation_id=DSL_CHANNEL)

    shown = everything([r.card for r in replies] + [r.text for r in replies])
    assert "private chat" in shown
    assert "CANARY" not in shown


async def test_a_teachers_paste_is_offered_as_a_prefilled_concern_then_routed(
    school: School,
) -> None:
    offer = await said(school, TEACHER, PASTE)

    assert "Do you want to report this as a concern?" in visible_text(offer)
    assert "Nothing has been sent or saved yet." in visible_text(offer)
    [box] = [e for e in offer["body"] if e.get("id") == "what_happened"]
    assert box["value"] == " ".join(PASTE.split())
    assert await concerns(school) == []

    data = {**button(offer, "concern.start"), "category": "grooming", "what_happened": box["value"]}
    form = await school.click(TEACHER, "concern.start", data)
    [prefilled] = [e for e in form["body"] if e.get("id") == "what_happened"]
    received = await school.click(
        TEACHER,
        "concern.submit",
        {
            **button(form, "concern.submit"),
            "immediate_risk": "no",
            "involved": "A Year 9 pupil",
            "year_group": "Year 9",
            "what_happened": prefilled["value"],
            "where": "Instagram",
            "happened_on": "2026-11-23",
        },
    )
    await school.settle()

    assert "Received: OSC-2026-0001" in visible_text(received)
    [card] = school.messenger.cards(DSL_CHANNEL)
    assert "URGENT" in visible_text(card)


async def test_a_20000_character_paste_is_cut_to_the_form_and_the_teacher_is_told(
    school: School,
) -> None:
    offer = await said(school, TEACHER, (PASTE * 200)[:20_000])

    [box] = [e for e in offer["body"] if e.get("id") == "what_happened"]
    assert len(box["value"]) == 4000
    assert "The report form holds 4,000" in visible_text(offer)


async def test_a_few_words_still_get_the_menu_and_commands_still_run(school: School) -> None:
    menu = await said(school, TEACHER, "what is the wifi password??")
    picker = await said(school, TEACHER, "Report a concern")

    assert "Here is what I can do." in visible_text(menu)
    assert "Report an online-safety concern" in visible_text(picker)


async def test_a_long_message_in_a_channel_is_never_repeated_there(school: School) -> None:
    replies = await school.say(TEACHER, PASTE, scope="channel", conversation_id=DSL_CHANNEL)

    assert any("message me in a private chat" in (r.text or "") for r in replies)
    assert "CANARY" not in everything([r.card for r in replies] + [r.text for r in replies])
    assert await concerns(school) == []
