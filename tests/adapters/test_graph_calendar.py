"""GraphCalendar: a teacher's upcoming Teams meetings and their options, through msgraph-sdk.

The double holds the demo school's meetings (``config/demo-directory.json``) as calendar
events with Teams meetings behind them, so the Graph calendar must give exactly what the local
calendar gives for the same school.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import DEFAULT_LOCAL_DIRECTORY, DEFAULT_SCHOOL_CONFIG, load_school_policy
from dialogs.ports import DirectoryUnavailable
from graph.calendar import GraphCalendar
from graph.local_directory import LocalCalendar, LocalDirectory
from tests.graphdouble.harness import GraphHarness, graph_harness
from tests.graphdouble.tenant import Event, OnlineMeeting, User, join_url

TEACHER = "5c400000-0000-4000-8000-000000000002"
PUPIL = "5c400000-0000-4000-8000-000000000001"
HEAD_OF_DEPARTMENT = "5c400000-0000-4000-8000-000000000003"
VIEW = r"/users/[^/]+/calendarView"
MEETINGS = r"/users/[^/]+/onlineMeetings"


@pytest.fixture
async def graph() -> AsyncIterator[GraphHarness]:
    async with graph_harness() as harness:
        yield harness


def calendar(graph: GraphHarness, **options: object) -> GraphCalendar:
    return GraphCalendar(graph.client, graph.clock, **options)  # type: ignore[arg-type]


def add_meeting(
    graph: GraphHarness, meeting_id: str, hours_from_now: float, **event: object
) -> None:
    start = graph.clock.now() + timedelta(hours=hours_from_now)
    graph.tenant.events.append(
        Event(
            id=meeting_id,
            organizer_id=TEACHER,
            subject=f"Lesson {meeting_id}",
            start=start,
            end=start + timedelta(hours=1),
            join_url=join_url(meeting_id),
            **event,  # type: ignore[arg-type]
        )
    )
    graph.tenant.meetings.append(
        OnlineMeeting("MSo" + meeting_id, TEACHER, join_url(meeting_id), f"Lesson {meeting_id}")
    )


async def test_the_same_meetings_as_the_local_calendar(graph: GraphHarness) -> None:
    school = load_school_policy(DEFAULT_SCHOOL_CONFIG)
    local = LocalCalendar(
        LocalDirectory.load(DEFAULT_LOCAL_DIRECTORY, school.role_groups()), graph.clock
    )

    expected = await local.upcoming(TEACHER)
    found = await calendar(graph).upcoming(TEACHER)

    print(f"\n{len(found)} upcoming meetings for the demo teacher, as in the local file")
    assert expected  # the demo file has meetings in the next week
    assert found == expected


async def test_meeting_options_come_from_the_online_meeting(graph: GraphHarness) -> None:
    add_meeting(graph, "m-risky", 2)
    graph.tenant.meetings[-1].allow_recording = True
    graph.tenant.meetings[-1].record_automatically = True
    graph.tenant.meetings[-1].lobby_scope = "everyone"
    graph.tenant.meetings[-1].allowed_presenters = "organization"

    [meeting] = [m for m in await calendar(graph).upcoming(TEACHER) if m.id == "m-risky"]

    assert meeting.allow_recording
    assert meeting.record_automatically
    assert meeting.lobby_bypass == "everyone"
    assert meeting.allowed_presenters == "organization"
    assert meeting.organizer_id == TEACHER
    [asked] = [s for s in graph.double.seen(MEETINGS) if "m-risky" in s.query["$filter"]]
    assert asked.query["$filter"] == f"JoinWebUrl eq '{join_url('m-risky')}'"


async def test_only_online_meetings_the_teacher_organises_in_the_window(
    graph: GraphHarness,
) -> None:
    graph.tenant.events.clear()
    add_meeting(graph, "in-window", 1)
    add_meeting(graph, "started-already", -0.5)
    add_meeting(graph, "next-month", 24 * 30)
    add_meeting(graph, "someone-elses", 3, is_organizer=False)
    start = graph.clock.now() + timedelta(hours=4)
    graph.tenant.events.append(
        Event("in-person", TEACHER, "Parents' evening", start, start + timedelta(hours=2))
    )

    found = await calendar(graph).upcoming(TEACHER, days=7)

    assert [m.id for m in found] == ["in-window"]
    view = graph.double.seen(VIEW)[0]
    assert view.query["startDateTime"] == "2026-11-23T10:00:00Z"
    assert view.query["endDateTime"] == "2026-11-30T10:00:00Z"
    assert view.headers["prefer"] == 'outlook.timezone="UTC"'


async def test_calendar_pages_are_followed(graph: GraphHarness) -> None:
    graph.tenant.events.clear()
    for n in range(5):
        add_meeting(graph, f"lesson-{n}", 1 + n)

    found = await calendar(graph).upcoming(TEACHER)

    print(f"\n5 meetings over {graph.double.count(VIEW)} calendar pages of 2")
    assert [m.id for m in found] == [f"lesson-{n}" for n in range(5)]
    assert graph.double.count(VIEW) == 3


async def test_attendees_become_ids_and_guests_are_spotted(graph: GraphHarness) -> None:
    graph.tenant.users["5c400000-0000-4000-8000-000000000777"] = User(
        "5c400000-0000-4000-8000-000000000777",
        "Gwen Guest",
        "gwen@partner-school.example",
        user_type="Guest",
    )
    pupil = graph.tenant.users[PUPIL].mail
    add_meeting(graph, "with-guest", 1, attendees=[pupil, "gwen@partner-school.example"])
    add_meeting(graph, "with-trust", 2, attendees=[pupil, "adviser@our-trust.example"])
    add_meeting(graph, "with-stranger", 3, attendees=[pupil, "someone@elsewhere.example"])
    add_meeting(graph, "school-only", 4, attendees=[pupil])

    found = {
        m.id: m
        for m in await calendar(graph, tenant_domains=["our-trust.example"]).upcoming(TEACHER)
    }

    assert found["with-guest"].has_external_guests  # the directory says Guest
    assert found["with-guest"].attendee_ids == (PUPIL, "5c400000-0000-4000-8000-000000000777")
    assert not found["with-trust"].has_external_guests  # a configured school domain
    assert found["with-stranger"].has_external_guests  # unknown, outside the school's domains
    assert not found["school-only"].has_external_guests
    assert found["school-only"].attendee_ids == (PUPIL,)


async def test_attendees_are_looked_up_fifteen_at_a_time(graph: GraphHarness) -> None:
    graph.tenant.events.clear()
    crowd = [f"pupil{n}@oakfield.example" for n in range(20)]
    add_meeting(graph, "assembly", 1, attendees=crowd)

    await calendar(graph).upcoming(TEACHER)

    lookups = graph.double.seen(r"/users", "GET")
    assert len(lookups) == 2
    assert all(s.query["$filter"].startswith("mail in (") for s in lookups)


async def test_no_application_access_policy_is_named(graph: GraphHarness) -> None:
    graph.tenant.meeting_policy.clear()

    with pytest.raises(DirectoryUnavailable, match="application access policy") as raised:
        await calendar(graph).upcoming(TEACHER)

    assert "403" in str(raised.value)


async def test_a_missing_calendar_permission_is_named(graph: GraphHarness) -> None:
    graph.double.fail(VIEW, 403)

    with pytest.raises(DirectoryUnavailable, match=r"Calendars\.ReadBasic"):
        await calendar(graph).upcoming(TEACHER)


async def test_a_throttled_calendar_is_unavailable_at_once(graph: GraphHarness) -> None:
    graph.double.fail(VIEW, 429, retry_after=60)

    with pytest.raises(DirectoryUnavailable, match="throttled"):
        await calendar(graph).upcoming(TEACHER)

    assert graph.double.count(VIEW) == 1


async def test_a_slow_calendar_is_unavailable_in_bounded_time(graph: GraphHarness) -> None:
    graph.double.slow(VIEW, 2.0)

    with pytest.raises(DirectoryUnavailable, match="in time"):
        await calendar(graph, timeout=0.3).upcoming(TEACHER)


async def test_a_malformed_id_has_no_meetings_and_asks_nothing(graph: GraphHarness) -> None:
    assert await calendar(graph).upcoming("not-an-id") == ()
    assert graph.double.count() == 0
