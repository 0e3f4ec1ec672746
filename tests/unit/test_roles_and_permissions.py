"""Who is who: role resolution and the verb permission table."""

from __future__ import annotations

import pytest

from policy.actions import PUPIL_VERBS, Verb, may
from policy.roles import EducationRole, Person, Role, resolve_roles

GROUPS = {
    Role.STAFF: frozenset({"g-staff"}),
    Role.PUPIL: frozenset({"g-pupils"}),
    Role.DSL: frozenset({"g-dsl"}),
    Role.IT: frozenset({"g-it"}),
    Role.CHAIR_OF_GOVERNORS: frozenset({"g-chair"}),
}


@pytest.mark.parametrize(
    ("education", "groups", "expected"),
    [
        (EducationRole.STUDENT, [], {Role.PUPIL}),
        (EducationRole.NONE, ["g-pupils"], {Role.PUPIL}),
        # A pupil in a staff group (a misconfigured group) is still only a pupil.
        (EducationRole.STUDENT, ["g-staff", "g-dsl"], {Role.PUPIL}),
        # A teacher education role alone grants nothing: never staff by default.
        (EducationRole.TEACHER, [], set()),
        (EducationRole.TEACHER, ["g-staff"], {Role.STAFF}),
        (EducationRole.TEACHER, ["g-dsl"], {Role.DSL, Role.STAFF}),
        (EducationRole.NONE, ["g-it", "g-unrelated"], {Role.IT, Role.STAFF}),
        (EducationRole.NONE, ["g-chair"], {Role.CHAIR_OF_GOVERNORS}),
    ],
    ids=[
        "student",
        "pupils-group",
        "pupil-never-widened",
        "teacher-without-groups",
        "staff",
        "dsl-is-staff",
        "it",
        "chair-not-staff",
    ],
)
def test_roles_resolve_from_education_role_and_groups(
    education: EducationRole, groups: list[str], expected: set[Role]
) -> None:
    assert resolve_roles(education, groups, GROUPS) == frozenset(expected)


def person(*roles: Role) -> Person:
    return Person(id="x", name="X", roles=frozenset(roles))


def test_a_pupil_may_do_exactly_the_pupil_things() -> None:
    pupil = person(Role.PUPIL)
    assert {verb for verb in Verb if may(pupil, verb)} == PUPIL_VERBS


def test_someone_with_no_roles_may_do_nothing() -> None:
    assert not any(may(person(), verb) for verb in Verb)


@pytest.mark.parametrize(
    ("roles", "verb", "allowed"),
    [
        ((Role.STAFF,), Verb.REPORT_CONCERN, True),
        ((Role.STAFF,), Verb.REPORT_WORRY, False),
        ((Role.STAFF,), Verb.OPEN_ITEMS, False),
        ((Role.DSL, Role.STAFF), Verb.OPEN_ITEMS, True),
        ((Role.DEPUTY_DSL, Role.STAFF), Verb.INCIDENT_LOG, True),
        ((Role.IT, Role.STAFF), Verb.FILTER_LOG, True),
        ((Role.IT, Role.STAFF), Verb.INCIDENT_LOG, False),
        ((Role.CHAIR_OF_GOVERNORS,), Verb.REPORT_CONCERN, False),
    ],
)
def test_permission_table(roles: tuple[Role, ...], verb: Verb, allowed: bool) -> None:
    assert may(person(*roles), verb) is allowed
