"""Typed words the fast tier did not yet say (issue 18, issue 23): "my reports" (answered only in
the sender's 1:1 chat), "open filter items" (IT's list; a teacher gets the menu, never a
refusal) and a pupil's disclosure typed in a shared chat, whose "an adult has your message"
reaches their own 1:1 chat and never the shared one."""

from __future__ import annotations

from tests.dialogs.conftest import School
from tests.dialogs.test_concern import report
from tests.dialogs.test_overblocking import report as report_overblocking
from tests.dialogs.test_typed import DISCLOSURE, concerns
from tests.support import (
    DSL_CHANNEL,
    HEAD_OF_DEPARTMENT,
    IT,
    PUPIL,
    TEACHER,
    card_texts,
    dm,
    everything,
    visible_text,
)

STAFF_ROOM = "19:staff@thread.tacv2"
CLASS_CHAT = "19:class-8b@thread.v2"
AGAIN = "he is still messaging me tonight and i dont feel safe CANARY-AGAIN"


async def test_typing_my_reports_lists_only_the_senders_own(school: School) -> None:
    await report(school, "cyberbullying", who=TEACHER)
    await report(school, "fraud", who=HEAD_OF_DEPARTMENT)

    [reply] = await school.say(TEACHER, "show my reports please")

    assert reply.card is not None
    mine = everything(reply.card)
    assert "OSC-2026-0001" in mine and "OSC-2026-0002" not in mine
    assert reply.card == await school.click(TEACHER, "reports.mine")


async def test_my_reports_typed_in_a_channel_are_answered_in_the_private_chat(
    school: School,
) -> None:
    await report(school, "cyberbullying", who=TEACHER)
    await school.settle()

    [reply] = await school.say(TEACHER, "my reports", scope="channel", conversation_id=STAFF_ROOM)
    await school.settle()

    assert (reply.card, reply.text) == (None, "I've sent you that in a private chat.")
    assert school.messenger.to(STAFF_ROOM) == []
    [mine] = [c for c in school.messenger.cards(dm(TEACHER)) if "OSC-2026-0001" in everything(c)]
    assert mine == await school.click(TEACHER, "reports.mine")


async def test_typing_open_filter_items_gives_it_the_list_and_a_teacher_the_menu(
    school: School,
) -> None:
    await report_overblocking(school)
    school.advance(hours=2)

    [items] = await school.say(IT, "open filter items")
    [menu] = await school.say(TEACHER, "open filter items")

    assert items.card is not None
    assert "OBR-2026-0001, 2 h old" in visible_text(dict(items.card))
    assert items.card == await school.click(IT, "filter.open_items")
    assert menu.card is not None
    assert "OBR-2026-0001" not in everything(menu.card)
    assert not [e for e in await school.audit() if e.outcome.startswith("refused")]


async def test_a_pupils_disclosure_in_a_shared_chat_is_acknowledged_in_their_own_chat(
    school: School,
) -> None:
    replies = await school.say(PUPIL, DISCLOSURE, scope="groupChat", conversation_id=CLASS_CHAT)
    await school.settle()

    assert "CANARY" not in everything([r.card for r in replies] + [r.text for r in replies])
    assert "CANARY" not in everything(school.messenger.to(CLASS_CHAT))
    [record] = await concerns(school)
    assert (record.data["urgent"], record.data["source"]) == (True, "pupil")
    assert "URGENT: Pupil report" in visible_text(school.messenger.cards(DSL_CHANNEL)[0])
    [told] = school.messenger.cards(dm(PUPIL))
    assert card_texts(told)[:2] == [
        "Thank you for telling me",
        "I sent your message to the adults who keep pupils safe at school. They have it now.",
    ]

    school.advance(minutes=2)
    await school.say(PUPIL, AGAIN, scope="groupChat", conversation_id=CLASS_CHAT)
    await school.settle()

    [record] = await concerns(school)
    assert "CANARY-AGAIN" in record.data["what_happened"]
    assert len(school.messenger.cards(dm(PUPIL))) == 2
    added = school.messenger.cards(dm(PUPIL))[-1]
    assert card_texts(added)[:2] == [
        "Thank you for telling me",
        "I added this to your message. The adults who keep you safe can read it now.",
    ]
