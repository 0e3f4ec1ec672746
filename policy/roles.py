"""Who is who: the roles the policies name, and how a person's role is resolved.

Every school names these people differently (domain brief, "People and roles"), so the mapping
from directory groups to roles is configuration; the roles themselves are fixed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A role the policies give duties to."""

    PUPIL = "pupil"
    STAFF = "staff"
    DSL = "dsl"
    DEPUTY_DSL = "deputy_dsl"
    ONLINE_SAFETY_LEAD = "online_safety_lead"
    IT = "it"
    HEADTEACHER = "headteacher"
    DEPUTY_HEAD_ACADEMIC = "deputy_head_academic"
    HEAD_OF_DEPARTMENT = "head_of_department"
    CHAIR_OF_GOVERNORS = "chair_of_governors"


#: Roles that make a person a member of staff (they may use the staff flows).
STAFF_ROLES: frozenset[Role] = frozenset(Role) - {Role.PUPIL, Role.CHAIR_OF_GOVERNORS}

#: People who receive every child-protection concern (004 §2 flowchart "report to the DSL").
SAFEGUARDING_LEADS: frozenset[Role] = frozenset({Role.DSL, Role.DEPUTY_DSL})


class EducationRole(StrEnum):
    """The education role a directory reports (Graph ``educationUser.primaryRole``)."""

    STUDENT = "student"
    TEACHER = "teacher"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Person:
    """A person as the directory knows them. ``roles`` is empty for someone with no access."""

    id: str
    name: str
    roles: frozenset[Role]
    year_group: str | None = None
    form: str | None = None

    @property
    def is_pupil(self) -> bool:
        """A pupil holds the pupil role (least privilege wins, see resolve_roles)."""
        return Role.PUPIL in self.roles

    @property
    def is_staff(self) -> bool:
        """Staff hold at least one staff role and are not pupils."""
        return not self.is_pupil and bool(self.roles & STAFF_ROLES)

    @property
    def has_access(self) -> bool:
        """Someone in no configured group and not a student may use nothing."""
        return bool(self.roles)


def resolve_roles(
    education_role: EducationRole,
    member_of: Iterable[str],
    role_groups: Mapping[Role, frozenset[str]],
) -> frozenset[Role]:
    """Resolve a person's roles from their directory facts.

    A student, or a member of the pupils group, is a pupil and only a pupil: no staff group
    membership can widen a pupil's access (least privilege). Staff roles come only from
    membership of the configured groups; a teacher education role alone grants nothing, so a
    person in no configured group has no access (they are told who to contact), never staff.
    """
    groups = set(member_of)
    pupil_groups = role_groups.get(Role.PUPIL, frozenset())
    if education_role is EducationRole.STUDENT or groups & pupil_groups:
        return frozenset({Role.PUPIL})
    roles = {role for role, ids in role_groups.items() if role is not Role.PUPIL and groups & ids}
    if roles - {Role.CHAIR_OF_GOVERNORS}:
        # Every holder of a staff duty is staff, even if the school forgot the staff group.
        roles.add(Role.STAFF)
    return frozenset(roles)
