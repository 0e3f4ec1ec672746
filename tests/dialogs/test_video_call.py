"""Video calls through the use-case layer: the check and its stored verdict, permission to
record asked of the Deputy Head and decided by the person who clicked, and the 1:1 call log sent
after the call. The rules themselves are case-by-case in tests/unit/test_video_call_rules.py;
this is the fast twin of tests/e2e/test_video_call*_over_http.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.dialogs.conftest import School
from tests.support import (
    CALL_FORM,
    DEPUTY_HEAD,
    HEAD_OF_DEPARTMENT,
    PUPIL,
    TEACHER,
    button,
    card_buttons,
    card_texts,
    click_button,
    dm,
    everything,
    visible_text,
)

#: A filled-in "Check a video call" form: a lesson with a class on Tuesday 24 November 2026.
LESSON: dict[str, str] = {
    **CALL_FORM,
    "date": "2026-11-24",
    "consent": "true",
    "announce": "true",
    "nothing_identifying": "true",
}
RECORDED = {"recorded": "true", "recording_reason": "For pupils absent with flu CANARY-REASON"}
ONE_TO_ONE = {
    "who": "named",
    "pupils": "Leo Martin",
    "one_to_one": "true",
    "date": "2026-11-23",
    "start": "14:00",
    "duration": "30",
}
PURPOSE = "Went over the reading plan CANARY-PURPOSE"
OUTCOME = "Agreed two chapters a week CANARY-OUTCOME"
REC = "REC-2026-0001"


async def check(s: School, sender: str = TEACHER, **fields: str) -> dict[str, Any]:
    return await s.click(sender, "call.submit", {**LESSON, **fields})


async def audit(s: School) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.item, e.outcome) for e in await s.audit()]


async def recording_request(s: School) -> Any:
    record = await s.store.get("recording_request", REC)
    assert record is not None
    return record


async def request_for_recording(s: School) -> dict[str, Any]:
    """The teacher checks a recorded lesson; the card the Deputy Head receives."""
    await check(s, **RECORDED)
    await s.settle()
    [card] = s.messenger.cards(dm(DEPUTY_HEAD))
    return card


def inputs(card: dict[str, Any]) -> dict[str, Any]:
    return {
        e["id"]: e.get("value")
        for e in card["body"]
        if str(e.get("type", "")).startswith("Input.") and "id" in e
    }


async def log_card(s: School) -> dict[str, Any]:
    """Check a 1:1 call today 14:00–14:30 and move to its end; the card the teacher gets."""
    await check(s, **ONE_TO_ONE)
    s.clock.at = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    await s.settle()
    card = s.messenger.cards(dm(TEACHER))[-1]
    assert card_texts(card)[0].startswith("Log your 1:1 call")
    return card


def log_fields(card: dict[str, Any], **changes: str) -> dict[str, Any]:
    values = {k: v for k, v in inputs(card).items() if v is not None}
    return {
        **button(card, "call.log.submit"),
        **values,
        "purpose": PURPOSE,
        "outcome": OUTCOME,
        **changes,
    }


# ----- the check -------------------------------------------------------------------------------


async def test_a_teacher_gets_the_form(school: School) -> None:
    card = await school.click(TEACHER, "call.start")

    assert card_texts(card)[0] == "Check a video call"
    assert ("Check this call", "call.submit") in card_buttons(card)


async def test_a_saturday_lesson_is_not_allowed_stored_and_audited(school: School) -> None:
    card = await check(school, date="2026-11-28")

    assert card_texts(card)[0] == "⛔ Not allowed"
    assert any("Sat 28 Nov 2026 is not a school day" in t for t in card_texts(card))
    [record] = await school.find("call_check")
    assert (record.data["verdict"], record.data["actor"]) == ("not_allowed", TEACHER)
    assert await audit(school) == [(TEACHER, "call.check", record.ref, "not_allowed")]


async def test_a_weekday_teams_lesson_is_allowed(school: School) -> None:
    card = await check(school, date="2026-11-23")

    assert card_texts(card)[0] == "✅ Allowed"
    [record] = await school.find("call_check")
    assert set(record.data["rules"].values()) == {"pass"}


async def test_bad_input_reshows_the_form_and_stores_nothing(school: School) -> None:
    card = await check(school, date="", duration="0", pupils="Ben Ali")

    assert "Please fix the items marked in red." in card_texts(card)
    assert next(e for e in card["body"] if e.get("id") == "pupils")["value"] == "Ben Ali"
    assert await school.find("call_check") == []
    assert await school.audit() == []


async def test_a_pupil_checking_a_call_is_refused_and_audited(school: School) -> None:
    card = await check(school, PUPIL)

    assert "Sorry, you can't do that here" in card_texts(card)
    assert [(a, action, o) for a, action, _, o in await audit(school)] == [
        (PUPIL, "call.submit", "refused: role does not allow it")
    ]


# ----- permission to record --------------------------------------------------------------------


async def test_a_recorded_lesson_asks_the_deputy_head_who_sees_no_pupil_names(
    school: School,
) -> None:
    verdict = await check(school, who="named", pupils="Ava Thompson, Leo Martin", **RECORDED)
    await school.settle()

    assert card_texts(verdict)[0] == "⚠️ Allowed once permission to record is given"
    assert f"({REC})" in visible_text(verdict)
    assert (await recording_request(school)).data["status"] == "pending"
    [request] = school.messenger.cards(dm(DEPUTY_HEAD))
    assert f"Permission to record a lesson: {REC}" in visible_text(request)
    assert "Ava" not in everything(request) and "Leo" not in everything(request)
    approve = button(request, "call.recording.decide", decision="approve")
    assert set(approve) == {"verb", "v", "ref", "ver", "decision"}
    assert school.messenger.cards(dm(TEACHER)) == []


async def test_the_deputy_head_approves_and_the_teacher_is_told_the_conditions(
    school: School,
) -> None:
    request = await request_for_recording(school)

    decided = await click_button(school, DEPUTY_HEAD, request, "call.recording.decide")
    await school.settle()

    assert "Approved by James Wright" in visible_text(decided)
    record = await recording_request(school)
    assert (record.version, record.data["status"], record.data["decided_by_id"]) == (
        2,
        "approved",
        DEPUTY_HEAD,
    )
    [told] = school.messenger.cards(dm(TEACHER))
    assert card_texts(told)[0] == f"✅ You may record this lesson: {REC}"
    again = await check(school, **RECORDED)
    assert card_texts(again)[0] == "✅ Allowed"
    assert len(await school.find("recording_request")) == 1


async def test_declining_needs_a_reason_which_the_teacher_is_told(school: School) -> None:
    decline = button(
        await request_for_recording(school), "call.recording.decide", decision="decline"
    )

    no_reason = await school.click(DEPUTY_HEAD, "call.recording.decide", {**decline, "reason": " "})
    assert "Give the reason for declining." in visible_text(no_reason)
    assert (await recording_request(school)).version == 1

    await school.click(
        DEPUTY_HEAD, "call.recording.decide", {**decline, "reason": "Use the notes instead"}
    )
    await school.settle()

    [told] = school.messenger.cards(dm(TEACHER))
    assert card_texts(told)[0] == f"⛔ Permission to record declined: {REC}"
    assert "Use the notes instead" in visible_text(told)


@pytest.mark.parametrize(
    ("who", "changes", "trigger", "outcome"),
    [
        (TEACHER, {}, "manual", "refused: role does not allow it"),
        (HEAD_OF_DEPARTMENT, {}, "manual", "refused: role does not allow it"),
        (PUPIL, {}, "manual", "refused: role does not allow it"),
        (DEPUTY_HEAD, {"ref": "REC-2026-9999"}, "manual", "refused: not found"),
        (DEPUTY_HEAD, {"ver": 7}, "manual", "refused: stale card"),
        (DEPUTY_HEAD, {}, "automatic", "refused: automatic refresh"),
        (DEPUTY_HEAD, {"decision": "maybe"}, "manual", "refused: no decision"),
    ],
    ids=["teacher", "head-of-department", "pupil", "other-item", "stale", "automatic", "junk"],
)
async def test_forged_or_stale_decisions_change_nothing_and_are_audited(
    school: School, who: str, changes: dict[str, Any], trigger: str, outcome: str
) -> None:
    request = await request_for_recording(school)
    before = len(await audit(school))

    await school.click(
        who,
        "call.recording.decide",
        {**button(request, "call.recording.decide"), **changes},
        trigger=trigger,
    )
    await school.settle()

    record = await recording_request(school)
    assert (record.version, record.data["status"]) == (1, "pending")
    [refusal] = (await audit(school))[before:]
    assert (refusal[0], refusal[3]) == (who, outcome)
    assert school.messenger.cards(dm(TEACHER)) == []


async def test_concurrent_decisions_make_exactly_one(school: School) -> None:
    request = await request_for_recording(school)
    approve = button(request, "call.recording.decide", decision="approve")
    decline = {**button(request, "call.recording.decide", decision="decline"), "reason": "No"}

    await asyncio.gather(
        *(
            school.click(DEPUTY_HEAD, "call.recording.decide", data)
            for data in [approve, decline] * 10
        )
    )
    await school.settle()

    assert (await recording_request(school)).version == 2
    assert len([e for e in await audit(school) if e[3] in ("approved", "declined")]) == 1
    assert len(school.messenger.cards(dm(TEACHER))) == 1


async def test_the_deputy_head_cannot_give_themselves_permission(school: School) -> None:
    own = await check(school, DEPUTY_HEAD, **RECORDED)

    assert "someone other than the person recording" in visible_text(own)
    assert await school.find("recording_request") == []


# ----- the 1:1 call log ------------------------------------------------------------------------


async def test_a_one_to_one_call_is_logged_after_it_ends_and_reaches_both_recipients(
    school: School,
) -> None:
    await check(school, **ONE_TO_ONE)
    school.clock.at = datetime(2026, 11, 23, 14, 29, 59, tzinfo=UTC)
    await school.settle()
    assert school.messenger.cards(dm(TEACHER)) == []
    school.clock.at = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    await school.settle()

    [form] = school.messenger.cards(dm(TEACHER))
    sent = await school.click(TEACHER, "call.log.submit", log_fields(form))
    await school.settle()

    assert card_texts(sent)[0] == "Sent: your 1:1 call log LOG-2026-0001"
    for person in (DEPUTY_HEAD, HEAD_OF_DEPARTMENT):
        [received] = school.messenger.cards(dm(person))
        assert PURPOSE in visible_text(received) and OUTCOME in visible_text(received)
    trail = await audit(school)
    assert [(a, action, o) for a, action, _, o in trail] == [
        (TEACHER, "call.check", "allowed_once"),
        (TEACHER, "call.log.request", "pending"),
        ("system", "call.log.ask", "sent"),
        (TEACHER, "call.log.submit", "ok"),
    ]
    assert "Leo" not in str(trail) and "CANARY" not in str(trail)


async def test_only_the_teacher_who_made_the_check_may_send_the_log(school: School) -> None:
    form = await log_card(school)

    refused = await school.click(HEAD_OF_DEPARTMENT, "call.log.submit", log_fields(form))

    assert "That isn't available to you" in card_texts(refused)
    [pending] = await school.find("call_log")
    assert (pending.version, pending.data["status"]) == (1, "pending")
    assert (await audit(school))[-1][3] == "refused: not the member of staff who made the call"


async def test_a_log_is_sent_once_however_often_it_is_clicked(school: School) -> None:
    data = log_fields(await log_card(school))

    first = await school.click(TEACHER, "call.log.submit", data)
    second = await school.click(TEACHER, "call.log.submit", data)
    await school.settle()

    assert card_texts(first)[0].startswith("Sent:")
    assert "This log was already sent." in visible_text(second)
    assert len(school.messenger.cards(dm(DEPUTY_HEAD))) == 1
