"""``LocalDirectory``: the Directory port on a JSON file, for local mode and the demo school.

The file lists people with their education role and group memberships, exactly the facts Graph
gives; roles are then resolved by the same policy rule as in production
(``policy.roles.resolve_roles``), with the school's role -> group mapping.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialogs.ports import Clock, Meeting
from policy.roles import EducationRole, Person, Role, resolve_roles

log = logging.getLogger(__name__)


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


class _Meeting(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    subject: str
    start: datetime
    end: datetime
    organizer: str
    attendees: tuple[str, ...] = ()
    allow_recording: bool = Field(True, alias="allowRecording")
    record_automatically: bool = Field(False, alias="recordAutomatically")
    lobby_bypass: str = Field("organization", alias="lobbyBypass")
    allowed_presenters: str = Field("everyone", alias="allowedPresenters")
    has_external_guests: bool = Field(False, alias="hasExternalGuests")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    tenant_id: str = Field(alias="tenantId")
    people: tuple[_Entry, ...]
    groups: dict[str, str] = {}
    teams: tuple[_Team, ...] = ()
    meetings: tuple[_Meeting, ...] = ()


class DirectoryFileError(ValueError):
    """The local directory file is missing or malformed."""


class LocalDirectory:
    """People and roles from a local JSON file (no Graph, no network)."""

    def __init__(
        self, people: Mapping[str, Person], tenant_id: str, meetings: tuple[Meeting, ...] = ()
    ) -> None:
        self._people = dict(people)
        self.tenant_id = tenant_id
        self.meetings = meetings

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
        meetings = tuple(
            Meeting(
                id=m.id,
                subject=m.subject,
                start=m.start,
                end=m.end,
                organizer_id=m.organizer.lower(),
                attendee_ids=tuple(a.lower() for a in m.attendees),
                allow_recording=m.allow_recording,
                record_automatically=m.record_automatically,
                lobby_bypass=m.lobby_bypass,
                allowed_presenters=m.allowed_presenters,
                has_external_guests=m.has_external_guests,
            )
            for m in parsed.meetings
        )
        return cls(people, parsed.tenant_id, meetings)

    async def person(self, object_id: str) -> Person | None:
        """The person with this Entra object id (ids compare case-insensitively, like Entra)."""
        return self._people.get(object_id.lower())

    async def members(self, role: Role) -> tuple[Person, ...]:
        """Everyone holding ``role``, in name order."""
        return tuple(
            sorted((p for p in self._people.values() if role in p.roles), key=lambda p: p.name)
        )


class LocalCalendar:
    """The Calendar port on the demo directory file's ``meetings`` (local mode)."""

    def __init__(self, directory: LocalDirectory, clock: Clock) -> None:
        self._directory = directory
        self._clock = clock

    async def upcoming(self, person_id: str, *, days: int = 7) -> tuple[Meeting, ...]:
        """The person's meetings (as organiser) starting within ``days`` days, soonest first."""
        now = self._clock.now()
        until = now + timedelta(days=days)
        return tuple(
            sorted(
                (
                    m
                    for m in self._directory.meetings
                    if m.organizer_id == person_id.lower() and now <= m.start < until
                ),
                key=lambda m: m.start,
            )
        )


class LocalNotifier:
    """Local mode has no Teams activity feed: notifications are logged (ids only)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def notify(self, person_id: str, *, title: str, preview: str, item_ref: str) -> None:
        """Record the notification and log that it would have been sent."""
        self.sent.append((person_id, item_ref))
        log.info("activity-feed notification for %s (local mode: not sent)", item_ref)
