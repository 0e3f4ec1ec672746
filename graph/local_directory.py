"""``LocalDirectory``: the Directory port on a JSON file, for local mode and the demo school.

The file lists people with their education role and group memberships, exactly the facts Graph
gives; roles are then resolved by the same policy rule as in production
(``policy.roles.resolve_roles``), with the school's role -> group mapping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from policy.roles import EducationRole, Person, Role, resolve_roles


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    education_role: EducationRole = Field(EducationRole.NONE, alias="educationRole")
    groups: tuple[str, ...] = ()
    year_group: str | None = Field(None, alias="yearGroup")
    form: str | None = None
    note: str | None = None


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str


class _Team(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    name: str
    group_id: str | None = Field(None, alias="groupId")
    channels: tuple[_Channel, ...] = ()


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tenant_id: str = Field(alias="tenantId")
    people: tuple[_Entry, ...]
    groups: dict[str, str] = {}
    teams: tuple[_Team, ...] = ()


class DirectoryFileError(ValueError):
    """The local directory file is missing or malformed."""


class LocalDirectory:
    """People and roles from a local JSON file (no Graph, no network)."""

    def __init__(self, people: Mapping[str, Person], tenant_id: str) -> None:
        self._people = dict(people)
        self.tenant_id = tenant_id

    @classmethod
    def load(cls, path: Path, role_groups: Mapping[Role, frozenset[str]]) -> LocalDirectory:
        """Read ``path`` and resolve everyone's roles.

        Raises:
            DirectoryFileError: the file is missing, not JSON, or not in the expected shape.
        """
        try:
            parsed = _File.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise DirectoryFileError(f"local directory file {path} does not exist") from None
        except (json.JSONDecodeError, ValidationError) as exc:
            raise DirectoryFileError(f"local directory file {path} is not valid: {exc}") from None
        people = {
            entry.id.lower(): Person(
                id=entry.id.lower(),
                name=entry.name,
                roles=resolve_roles(entry.education_role, entry.groups, role_groups),
                year_group=entry.year_group,
                form=entry.form,
            )
            for entry in parsed.people
        }
        return cls(people, parsed.tenant_id)

    async def person(self, object_id: str) -> Person | None:
        """The person with this Entra object id (ids compare case-insensitively, like Entra)."""
        return self._people.get(object_id.lower())

    async def members(self, role: Role) -> tuple[Person, ...]:
        """Everyone holding ``role``, in name order."""
        return tuple(
            sorted((p for p in self._people.values() if role in p.roles), key=lambda p: p.name)
        )
