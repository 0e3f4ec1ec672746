"""What one person sent is never answered with another's (de-duplication keys include who
sent it), and a Teams retry of the same activity changes nothing (fast twin of
tests/e2e/test_submissions_per_sender_over_http.py and the retry cases of the feature suites)."""

from __future__ import annotations

from tests.dialogs.conftest import School
from tests.dialogs.test_concern import report, report_fields
from tests.dialogs.test_filter_request import form_fields
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
    card_texts,
)

FORM = "form-made-by-the-same-card"


async def test_two_staff_with_the_same_form_id_each_get_their_own_concern(school: School) -> None:
    data = {"category": "fraud", "form": FORM, **report_fields()}

    first = await school.click(TEACHER, "concern.submit", data)
    second = await school.click(HEAD_OF_DEPARTMENT, "concern.submit", data)

    assert card_texts(first)[0] == "Received: OSC-2026-0001"
    assert card_texts(second)[0] == "Received: OSC-2026-0002"


async def test_two_pupils_with_the_same_form_id_each_get_their_worry_saved(school: School) -> None:
    for who in (PUPIL, YOUNG_PUPIL):
        data = {"form": FORM, "kind": "unkind", "safe": "yes", "words": f"Worry of {who}"}
        sent = await school.click(who, "worry.submit", {**data, "adult": ""})
        assert "Thank you" in " ".join(card_texts(sent))

    saved = sorted((r.id, r.data["reporter_id"]) for r in await school.find("concern"))
    assert saved == [("OSC-2026-0001", PUPIL), ("OSC-2026-0002", YOUNG_PUPIL)]


async def test_two_staff_with_the_same_filter_form_id_each_get_their_own_request(
    school: School,
) -> None:
    for who, site in ((TEACHER, "www.one.example/a"), (HEAD_OF_DEPARTMENT, "www.two.example/b")):
        data = {"form": FORM, **form_fields(site=site), "blocked_category": "games"}
        await school.click(who, "filter.submit", data)

    saved = {r.data["requester_id"]: r.id for r in await school.find("filter_request")}
    assert saved == {TEACHER: "FLT-2026-0001", HEAD_OF_DEPARTMENT: "FLT-2026-0002"}


async def test_two_staff_sending_the_same_activity_id_each_get_their_call_checked(
    school: School,
) -> None:
    for who, date in ((TEACHER, "2026-11-28"), (HEAD_OF_DEPARTMENT, "2026-11-24")):
        verdict = await school.click(
            who, "call.submit", {**CALL_FORM, "date": date}, activity_id="the-same-activity"
        )
        expected = "⛔ Not allowed" if date == "2026-11-28" else "✅ Allowed"
        assert card_texts(verdict)[0] == expected, who

    checks = {r.data["actor"]: r.data["date"] for r in await school.find("call_check")}
    assert checks == {TEACHER: "2026-11-28", HEAD_OF_DEPARTMENT: "2026-11-24"}


async def test_two_handlers_clicks_with_the_same_activity_id_are_two_decisions(
    school: School,
) -> None:
    await report(school, "fraud", who=TEACHER)
    await report(school, "fraud", who=HEAD_OF_DEPARTMENT)
    await school.settle()
    clicks = [button(card, "concern.ack") for card in school.messenger.cards(DSL_CHANNEL)]
    expected = {}
    for who, data in zip((DSL, DEPUTY_DSL), clicks, strict=True):
        await school.click(who, "concern.ack", data, activity_id="the-same-click")
        expected[data["ref"]] = who

    handled = {r.id: r.data["handler_id"] for r in await school.find("concern")}
    assert handled == expected


async def test_a_teams_retry_of_a_click_that_succeeded_gets_the_same_answer_not_a_refusal(
    school: School,
) -> None:
    await report(school, "fraud")
    await school.settle()
    data = button(school.messenger.cards(DSL_CHANNEL)[0], "concern.ack")

    first = await school.click(DSL, "concern.ack", data, activity_id="click-1")
    again = await school.click(DSL, "concern.ack", data, activity_id="click-1")

    assert card_texts(again) == card_texts(first)
    [concern] = await school.find("concern")
    assert (concern.version, concern.data["status"]) == (2, "acknowledged")
    assert [e.outcome for e in await school.audit() if e.actor == DSL] == ["ok"]


async def test_a_teams_retry_of_a_pupils_message_is_one_report(school: School) -> None:
    words = "someone online keeps messaging me and i dont feel safe"
    await school.router.on_message(school.turn(PUPIL, activity_id="msg-1"), words)
    await school.router.on_message(school.turn(PUPIL, activity_id="msg-1"), words)

    assert len(await school.find("concern")) == 1
