"""The five policy schools' shipped profiles (config/schools/), each booted as the real bot over
HTTP (issue 19): a concern in each of the school's categories reaches a real person as its
policy says, a pupil's worry reaches the DSL, a filter exception goes to IT (and the IWF list
never), and a video call is judged at the edge of that school's own teaching hours, with the
school's own clause names and no seed-file numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import PROFILES_DIR, load_settings
from dialogs.ports import FixedClock
from policy.categories import Route
from policy.roles import Role
from policy.school import SchoolPolicy
from tests.conftest import Harness, local_env
from tests.e2e.test_concern_over_http import report
from tests.e2e.test_filter_over_http import GAME_REASON, request_change
from tests.e2e.test_pupil_report_over_http import worry
from tests.support import (
    CALL_FORM,
    CHAIR_OF_GOVERNORS,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    IT_CHANNEL,
    TEACHER,
    FakeConnector,
    card_texts,
    dm,
    everything,
)

PROFILES = sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


def test_the_five_policy_schools_are_shipped() -> None:
    assert [p[:3] for p in PROFILES] == ["000", "001", "002", "003", "004"]


@pytest.fixture(params=PROFILES)
async def school(
    request: pytest.FixtureRequest, tmp_path: Path, connector: FakeConnector
) -> AsyncIterator[Harness]:
    """The bot started with ``SCHOOL_CONFIG`` naming a shipped profile (by its number)."""
    settings = load_settings(local_env(tmp_path / "data", SCHOOL_CONFIG=request.param[:3]))
    assert settings.school_config_path.stem == request.param
    running = Harness(settings, connector, FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
    await running.start()
    yield running
    await running.stop()


def policy_of(h: Harness) -> SchoolPolicy:
    school: SchoolPolicy = h.settings.school
    return school


async def test_a_concern_in_each_category_reaches_a_person_as_the_policy_says(
    school: Harness,
) -> None:
    h = school
    policy = policy_of(h)
    year = "Year 4" if "Year 4" in policy.year_groups else policy.year_groups[0]
    for number, category in enumerate(policy.categories, start=1):
        before = len(h.connector.posted)
        card = await report(h, category.id, year_group=year)
        await h.settle()
        await h.settle()
        assert card_texts(card)[0] == f"Received: OSC-2026-{number:04d}", category.id
        new = h.connector.posted[before:]
        where = {a["_conversation"] for a in new}
        if category.route is Route.HEADTEACHER:
            assert where == {dm(HEADTEACHER)}, category.id  # privately, never a channel
            assert f"the {policy.role_name(Role.HEADTEACHER)}, privately" in (everything(card))
        else:
            assert DSL_CHANNEL in where, category.id
            if category.route is Route.DSL_AND_IT:
                assert IT_CHANNEL in where, category.id
        assert "§" not in everything(card)

    about_head = await report(h, "staff_conduct", about_headteacher="true", year_group=year)
    await h.settle()
    await h.settle()
    assert h.connector.to(dm(CHAIR_OF_GOVERNORS)), "the chair did not receive it"
    assert policy.role_name(Role.CHAIR_OF_GOVERNORS) in everything(about_head)


async def test_a_pupils_worry_reaches_the_dsl(school: Harness) -> None:
    h = school
    sent = await worry(h, kind="asked", safe="not_sure")
    await h.settle()
    await h.settle()

    assert "Your worry has been sent." in everything(sent)
    assert h.connector.cards(DSL_CHANNEL), "no card in the DSL channel"
    assert h.connector.to(dm(DSL)), "an unsure pupil is urgent: the DSL is alerted directly"


async def test_a_filter_exception_goes_to_it_and_the_iwf_list_never_does(school: Harness) -> None:
    h = school
    asked = await request_change(h, blocked_category="games", reason=GAME_REASON)
    await h.settle()
    assert card_texts(asked)[0].startswith("Sent"), card_texts(asked)
    assert h.connector.cards(IT_CHANNEL)

    refused = await request_change(h, blocked_category="iwf_child_abuse")
    assert card_texts(refused)[0].startswith("Refused")


async def test_a_video_call_is_judged_at_the_edge_of_the_schools_own_hours(
    school: Harness,
) -> None:
    h = school
    hours = policy_of(h).video_calls.teaching_hours
    last_start = (
        datetime.combine(datetime(2026, 11, 24), hours.end) - timedelta(minutes=30)
    ).time()

    inside = await h.click(
        TEACHER,
        "call.submit",
        {**CALL_FORM, "date": "2026-11-24", "start": f"{last_start:%H:%M}", "duration": "30"},
    )
    over = await h.click(
        TEACHER,
        "call.submit",
        {**CALL_FORM, "date": "2026-11-24", "start": f"{last_start:%H:%M}", "duration": "45"},
    )

    assert card_texts(inside)[0] == "✅ Allowed", card_texts(inside)
    assert card_texts(over)[0] == "⛔ Not allowed", card_texts(over)
    assert "§" not in everything(over)
    own = policy_of(h).clauses.get("remote_teaching") or policy_of(h).clauses.get(
        "video_conferencing"
    )
    if own:
        assert own in everything(over) or own in everything(inside)


async def test_permission_to_record_is_asked_of_the_person_the_school_names(
    school: Harness,
) -> None:
    h = school
    title = policy_of(h).role_name(Role.DEPUTY_HEAD_ACADEMIC)
    recorded = {
        **CALL_FORM,
        "date": "2026-11-24",
        "consent": "true",
        "announce": "true",
        "recorded": "true",
        "recording_reason": "For pupils absent with flu",
    }

    verdict = await h.click(TEACHER, "call.submit", recorded)

    said = everything(verdict)
    assert f"I've asked the {title} for permission to record this call" in said
    if title != "Deputy Head (Academic)":
        assert "Deputy Head (Academic)" not in said
