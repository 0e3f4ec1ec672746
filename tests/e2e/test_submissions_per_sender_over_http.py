"""Two people who send the same form id (or the same activity id) are two submissions.

A form id comes from the client: a card copied into another chat, a crafted invoke, or two
clients that happen to pick the same one. Teams activity ids are not unique across senders
either. De-duplication is per sender, for every feature: each person's submission is saved
and each is answered with their own reference, never with someone else's (issue 22, item 1).
Real HTTP into /api/messages, the real botbuilder adapter and real TinyDB files.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Harness
from tests.e2e.test_concern_over_http import report_fields
from tests.e2e.test_filter_over_http import form_fields
from tests.support import (
    CALL_FORM,
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEAD_OF_DEPARTMENT,
    PUPIL,
    TEACHER,
    YOUNG_PUPIL,
    button,
    card_action,
    card_texts,
)

FORM = "f" * 32  # the same form id on both people's cards


async def invoke(h: Harness, activity: dict[str, Any]) -> dict[str, Any]:
    status, body = await h.post(activity)
    assert status == 200, body
    return dict(body["value"])


def concern_submit(h: Harness, who: str, story: str) -> dict[str, Any]:
    data = {
        "verb": "concern.submit",
        "v": 1,
        "category": "cyberbullying",
        "form": FORM,
        **report_fields(what_happened=story),
    }
    return card_action(who, "concern.submit", h.connector.url, data=data)


async def test_two_staff_with_the_same_form_id_each_get_their_own_concern_saved(
    harness: Harness,
) -> None:
    teacher = await invoke(harness, concern_submit(harness, TEACHER, "The teacher's report"))
    head = await invoke(harness, concern_submit(harness, HEAD_OF_DEPARTMENT, "The head's report"))

    assert card_texts(teacher)[0] == "Received: OSC-2026-0001"
    assert card_texts(head)[0] == "Received: OSC-2026-0002"
    saved = {
        r.data["reporter_id"]: (r.id, r.data["what_happened"])
        for r in await harness.parts.store.find("concern")
    }
    assert saved == {
        TEACHER: ("OSC-2026-0001", "The teacher's report"),
        HEAD_OF_DEPARTMENT: ("OSC-2026-0002", "The head's report"),
    }


async def test_the_same_form_id_sent_at_once_by_two_staff_saves_both(harness: Harness) -> None:
    answers = await asyncio.gather(
        *(
            invoke(harness, concern_submit(harness, who, f"Report by {who}"))
            for who in (TEACHER, HEAD_OF_DEPARTMENT, TEACHER, HEAD_OF_DEPARTMENT)
        )
    )

    saved = {r.data["reporter_id"]: r.id for r in await harness.parts.store.find("concern")}
    assert sorted(saved.values()) == ["OSC-2026-0001", "OSC-2026-0002"]
    # Each person is told their own reference, however the four copies interleaved.
    assert card_texts(answers[0])[0] == card_texts(answers[2])[0] == f"Received: {saved[TEACHER]}"
    head = f"Received: {saved[HEAD_OF_DEPARTMENT]}"
    assert card_texts(answers[1])[0] == card_texts(answers[3])[0] == head


async def test_two_pupils_with_the_same_form_id_each_get_their_worry_saved(
    harness: Harness,
) -> None:
    for who in (PUPIL, YOUNG_PUPIL):
        data = {"verb": "worry.submit", "v": 1, "form": FORM, "kind": "unkind", "safe": "yes"}
        data |= {"words": f"Worry of {who}", "adult": ""}
        sent = await invoke(
            harness, card_action(who, "worry.submit", harness.connector.url, data=data)
        )
        assert "Thank you" in " ".join(card_texts(sent))

    saved = sorted((r.id, r.data["reporter_id"]) for r in await harness.parts.store.find("concern"))
    assert saved == [("OSC-2026-0001", PUPIL), ("OSC-2026-0002", YOUNG_PUPIL)]


async def test_two_staff_with_the_same_filter_form_id_each_get_their_own_request(
    harness: Harness,
) -> None:
    answers = []
    for who, site in ((TEACHER, "www.one.example/a"), (HEAD_OF_DEPARTMENT, "www.two.example/b")):
        data = {"verb": "filter.submit", "v": 1, "form": FORM, **form_fields(site=site)}
        data["blocked_category"] = "games"
        answers.append(
            await invoke(
                harness, card_action(who, "filter.submit", harness.connector.url, data=data)
            )
        )

    saved = {r.data["requester_id"]: r.id for r in await harness.parts.store.find("filter_request")}
    assert saved == {TEACHER: "FLT-2026-0001", HEAD_OF_DEPARTMENT: "FLT-2026-0002"}
    assert "FLT-2026-0001" in card_texts(answers[0])[0]
    assert "FLT-2026-0002" in card_texts(answers[1])[0]


async def test_two_staff_sending_the_same_activity_id_each_get_their_call_checked(
    harness: Harness,
) -> None:
    for who, date in ((TEACHER, "2026-11-28"), (HEAD_OF_DEPARTMENT, "2026-11-24")):
        activity = card_action(
            who,
            "call.submit",
            harness.connector.url,
            data={"verb": "call.submit", "v": 1, **CALL_FORM, "date": date},
        )
        activity["id"] = "the-same-activity"
        verdict = await invoke(harness, activity)
        expected = "⛔ Not allowed" if date == "2026-11-28" else "✅ Allowed"
        assert card_texts(verdict)[0] == expected, who

    checks = {r.data["actor"]: r.data["date"] for r in await harness.parts.store.find("call_check")}
    assert checks == {TEACHER: "2026-11-28", HEAD_OF_DEPARTMENT: "2026-11-24"}


async def test_two_handlers_clicks_with_the_same_activity_id_are_two_decisions(
    harness: Harness,
) -> None:
    for who in (TEACHER, HEAD_OF_DEPARTMENT):
        await invoke(harness, concern_submit(harness, who, f"Report by {who}"))
    await harness.settle()
    first, second = harness.connector.cards(DSL_CHANNEL)[:2]

    for who, card in ((DSL, first), (DEPUTY_DSL, second)):
        activity = card_action(
            who,
            "concern.ack",
            harness.connector.url,
            data=button(card, "concern.ack"),
            scope="channel",
            conversation_id=DSL_CHANNEL,
        )
        activity["id"] = "the-same-click"
        await invoke(harness, activity)

    handled = {r.id: r.data["handler_id"] for r in await harness.parts.store.find("concern")}
    assert handled == {"OSC-2026-0001": DSL, "OSC-2026-0002": DEPUTY_DSL}
