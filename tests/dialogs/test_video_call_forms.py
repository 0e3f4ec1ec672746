"""The "Check a video call" form's starting points and repeats through the use-case layer:
filled in from a meeting on the teacher's own calendar (never anyone else's), "Check another
call" starting from the teacher's own last answers (never anyone else's), a Teams retry of a
check answered the same and kept once, and two changes to the withdrawn list at once both kept."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dialogs.ports import Change, Record
from tests.dialogs.conftest import School
from tests.dialogs.test_video_call import LESSON, RECORDED, check, inputs
from tests.support import (
    DEPUTY_HEAD,
    HEAD_OF_DEPARTMENT,
    TEACHER,
    button,
    card_texts,
    dm,
    visible_text,
)


def shown(card: dict[str, Any]) -> list[str]:
    return [t.replace("\\", "") for t in card_texts(card)]


NOT_FOUND = "couldn't find that meeting in your calendar"


async def test_a_meeting_on_my_calendar_fills_in_the_form(school: School) -> None:
    form = await school.click(TEACHER, "call.start", {"meeting": "demo-meeting-y8-revision"})

    values = inputs(form)
    assert (values["date"], values["start"], values["duration"]) == ("2026-11-25", "14:00", 60.0)
    assert (values["who"], values["pupils"], values["recorded"]) == (
        "named",
        "Ava Thompson, Leo Martin",
        "true",
    )
    assert button(form, "call.submit")["meeting"] == "demo-meeting-y8-revision"
    assert "Filled in from your Teams meeting." in visible_text(form)


async def test_a_one_to_one_meeting_fills_in_a_one_to_one(school: School) -> None:
    school.clock.at = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 1 December is within 7 days
    card = await school.click(TEACHER, "call.next")
    block = next(
        b for b in card["body"] if b.get("type") == "Container" and "1:1" in b["items"][0]["text"]
    )

    form = await school.click(TEACHER, "call.start", block["items"][-1]["actions"][0]["data"])

    assert (inputs(form)["one_to_one"], inputs(form)["pupils"]) == ("true", "Leo Martin")


async def test_someone_elses_meeting_gives_the_plain_form(school: School) -> None:
    form = await school.click(
        HEAD_OF_DEPARTMENT, "call.start", {"meeting": "demo-meeting-y8-revision"}
    )

    assert NOT_FOUND in visible_text(form)
    assert inputs(form)["pupils"] is None
    assert inputs(form)["date"] == "2026-11-23"  # today, school time
    assert "meeting" not in button(form, "call.submit")


async def test_check_another_call_starts_from_my_last_answers_only(school: School) -> None:
    verdict = await check(school, who="named", pupils="Leo Martin")
    again = button(verdict, "call.start")
    assert again.get("check")

    mine = await school.click(TEACHER, "call.start", again)
    theirs = await school.click(HEAD_OF_DEPARTMENT, "call.start", again)

    assert (inputs(mine)["pupils"], inputs(mine)["date"]) == ("Leo Martin", LESSON["date"])
    assert inputs(theirs)["pupils"] is None
    assert "Leo Martin" not in visible_text(theirs)


async def test_a_teams_retry_of_a_check_is_answered_the_same_and_kept_once(
    school: School,
) -> None:
    data = {**LESSON, **RECORDED}
    replies = [
        await school.act(TEACHER, "call.submit", data, activity_id="activity-retried")
        for _ in range(3)
    ]
    await school.settle()

    shown = {visible_text(dict(r.card or {})) for r in replies}
    assert len(shown) == 1 and "REC-2026-0001" in shown.pop()
    assert len(await school.find("recording_request")) == 1
    assert len(await school.find("call_check")) == 1
    assert len(school.messenger.cards(dm(DEPUTY_HEAD))) == 1
    assert [e.action for e in await school.audit()].count("call.check") == 1


def someone_else_first(s: School, times: int) -> list[str]:
    """Before each of the next ``times`` commits of the withdrawn list, someone else adds a
    pupil to it first (as another click a moment earlier would); the names they added."""
    commit = s.store.commit
    added: list[str] = []

    async def rival_first(change: Change) -> Any:
        if len(added) < times and any(r.kind == "withdrawn_pupils" for r in change.records):
            name = f"Rival Pupil {len(added) + 1}"
            stored = await s.store.get("withdrawn_pupils", "list")
            version = stored.version if stored else 0
            pupils = [*(stored.data["pupils"] if stored else []), name]
            await commit(
                Change(
                    records=[Record("withdrawn_pupils", "list", version + 1, {"pupils": pupils})]
                )
            )
            added.append(name)
        return await commit(change)

    s.store.commit = rival_first  # type: ignore[method-assign]
    return added


async def test_a_change_to_the_withdrawn_list_made_meanwhile_is_kept_with_mine(
    school: School,
) -> None:
    rivals = someone_else_first(school, times=1)

    card = await school.click(DEPUTY_HEAD, "call.withdrawn", {"op": "add", "pupil": "Ava Thompson"})

    stored = await school.store.get("withdrawn_pupils", "list")
    assert stored is not None
    assert stored.data["pupils"] == ["Ava Thompson", *rivals]
    assert "Added Ava Thompson to the list." in shown(card)
    assert [e.action for e in await school.audit()] == ["withdrawn.add"]


async def test_a_list_changed_twice_meanwhile_asks_to_check_and_try_again(school: School) -> None:
    rivals = someone_else_first(school, times=2)

    card = await school.click(DEPUTY_HEAD, "call.withdrawn", {"op": "add", "pupil": "Ava Thompson"})

    stored = await school.store.get("withdrawn_pupils", "list")
    assert stored is not None
    assert stored.data["pupils"] == rivals  # not added: the Deputy Head is asked to look again
    assert "Someone else changed the list at the same moment." in " ".join(shown(card))
    assert await school.audit() == []
