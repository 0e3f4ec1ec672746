"""One contract, every Directory implementation: the local directory file and Microsoft Graph.

Both serve the demo school (``config/demo-directory.json``, role groups from
``config/school.toml``). The Graph directory runs the real msgraph-sdk against the local Graph
double, where the DSL is in the DSL role group only through a nested group: finding her proves
that membership is checked transitively. Whatever the backend, the bot must see the same people
with the same roles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import DEFAULT_LOCAL_DIRECTORY, DEFAULT_SCHOOL_CONFIG, load_school_policy
from dialogs.ports import Directory
from graph.directory import GraphDirectory
from graph.local_directory import LocalDirectory
from policy.roles import Role
from tests.graphdouble.harness import graph_harness

PUPIL = "5c400000-0000-4000-8000-000000000001"
TEACHER = "5c400000-0000-4000-8000-000000000002"
HEAD_OF_DEPARTMENT = "5c400000-0000-4000-8000-000000000003"
HEADTEACHER = "5c400000-0000-4000-8000-000000000004"
DSL = "5c400000-0000-4000-8000-000000000006"
DEPUTY_DSL = "5c400000-0000-4000-8000-000000000007"
IT_TECHNICIAN = "5c400000-0000-4000-8000-000000000008"
CHAIR_OF_GOVERNORS = "5c400000-0000-4000-8000-000000000009"
YOUNG_PUPIL = "5c400000-0000-4000-8000-000000000010"
UNKNOWN = "5c400000-0000-4000-8000-000000000099"

ROLE_GROUPS = load_school_policy(DEFAULT_SCHOOL_CONFIG).role_groups()


@pytest.fixture(params=["local_file", "graph"])
async def directory(request: pytest.FixtureRequest) -> AsyncIterator[Directory]:
    if request.param == "local_file":
        yield LocalDirectory.load(DEFAULT_LOCAL_DIRECTORY, ROLE_GROUPS)
        return
    async with graph_harness() as graph:
        backend = GraphDirectory(graph.client, ROLE_GROUPS, graph.clock)
        yield backend
        await backend.close()


async def test_a_pupil_is_a_pupil_and_only_a_pupil(directory: Directory) -> None:
    person = await directory.person(PUPIL)

    assert person is not None
    assert person.name == "Ava Thompson"
    assert person.roles == {Role.PUPIL}
    assert person.is_pupil
    assert not person.is_staff
    assert person.year_group == "Year 8"


async def test_a_teacher_is_staff(directory: Directory) -> None:
    person = await directory.person(TEACHER)

    assert person is not None
    assert person.roles == {Role.STAFF}
    assert person.is_staff


async def test_the_dsl_is_dsl_and_staff(directory: Directory) -> None:
    person = await directory.person(DSL)

    assert person is not None
    assert person.name == "Fiona Blake"
    assert person.roles == {Role.DSL, Role.STAFF}


async def test_several_duties_are_all_held(directory: Directory) -> None:
    deputy = await directory.person(DEPUTY_DSL)
    technician = await directory.person(IT_TECHNICIAN)
    head = await directory.person(HEADTEACHER)

    assert deputy is not None
    assert deputy.roles == {Role.DEPUTY_DSL, Role.ONLINE_SAFETY_LEAD, Role.STAFF}
    assert technician is not None
    assert technician.roles == {Role.IT, Role.STAFF}
    assert head is not None
    assert head.roles == {Role.HEADTEACHER, Role.STAFF}


async def test_the_chair_of_governors_is_not_staff(directory: Directory) -> None:
    person = await directory.person(CHAIR_OF_GOVERNORS)

    assert person is not None
    assert person.roles == {Role.CHAIR_OF_GOVERNORS}
    assert not person.is_staff
    assert person.has_access


async def test_an_unknown_id_is_none(directory: Directory) -> None:
    assert await directory.person(UNKNOWN) is None


async def test_ids_compare_case_insensitively(directory: Directory) -> None:
    person = await directory.person(DSL.upper())

    assert person is not None
    assert person.id == DSL
    assert person.roles == {Role.DSL, Role.STAFF}


async def test_members_of_the_safeguarding_roles(directory: Directory) -> None:
    dsl = await directory.members(Role.DSL)
    deputies = await directory.members(Role.DEPUTY_DSL)

    assert [p.id for p in dsl] == [DSL]
    assert [p.id for p in deputies] == [DEPUTY_DSL]
    assert dsl[0].roles == {Role.DSL, Role.STAFF}


async def test_members_are_in_name_order_and_hold_the_role(directory: Directory) -> None:
    pupils = await directory.members(Role.PUPIL)
    staff = await directory.members(Role.STAFF)
    it = await directory.members(Role.IT)

    assert [p.name for p in pupils] == ["Ava Thompson", "Leo Martin"]
    assert [p.id for p in pupils] == [PUPIL, YOUNG_PUPIL]
    assert [p.name for p in staff] == [
        "Daniel Okafor",
        "Fiona Blake",
        "Helen Carter",
        "James Wright",
        "Nadia Khan",
        "Priya Shah",
        "Tom Hughes",
    ]
    assert all(Role.STAFF in p.roles for p in staff)
    assert [p.id for p in it] == [IT_TECHNICIAN]


async def test_staff_members_leave_out_the_chair_of_governors(directory: Directory) -> None:
    staff = await directory.members(Role.STAFF)

    assert CHAIR_OF_GOVERNORS not in {p.id for p in staff}
    assert HEAD_OF_DEPARTMENT in {p.id for p in staff}
