"""The data a Graph double serves: one tenant's users, groups, calendars, meetings and teams
(with the app catalog, and the posts in the teams' channels).

Seeded from the demo school (``config/demo-directory.json`` and the role groups of
``config/school.toml``), with one difference that Graph has and the local file cannot express:
the DSL role group holds a *nested* group (the "DSL office"), and the DSL is a member of that
nested group only, so finding her proves that membership checks are transitive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIRECTORY = ROOT / "config" / "demo-directory.json"
MANIFEST_TEMPLATE = ROOT / "manifest" / "template.json"
DOMAIN = "oakfield.example"

#: The nested group inside the DSL role group (5c40…0103); the DSL is in this one only.
DSL_OFFICE_GROUP = "5c400000-0000-4000-8000-000000000300"
DSL_ROLE_GROUP = "5c400000-0000-4000-8000-000000000103"
#: A member of staff who is in no configured group and is not a student.
NOBODY_ID = "5c400000-0000-4000-8000-000000000011"
#: The Teams app as uploaded to the tenant's catalog (generated id) and its manifest id.
CATALOG_APP_ID = "5c400000-0000-4000-8000-00000000a001"
TEAMS_APP_ID = "5c400000-0000-4000-8000-00000000b07a"
#: A visitor from outside the school, invited to meetings marked with external guests.
VISITOR = "engineer@visiting-firm.example"


@dataclass(slots=True)
class User:
    """A user object, with its education facts if School Data Sync knows them."""

    id: str
    display_name: str
    mail: str
    user_type: str = "Member"
    primary_role: str | None = None  # "student" / "teacher"; None: not an education user
    grade: str | None = None


@dataclass(slots=True)
class Group:
    """A security group; ``members`` are user or group ids (groups nest)."""

    id: str
    display_name: str
    members: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Event:
    """A calendar event in the organiser's mailbox."""

    id: str
    organizer_id: str
    subject: str
    start: datetime
    end: datetime
    join_url: str | None = None
    attendees: list[str] = field(default_factory=list)  # email addresses
    is_organizer: bool = True


@dataclass(slots=True)
class OnlineMeeting:
    """The Teams meeting behind an event, with the options the video-call rules check."""

    id: str
    organizer_id: str
    join_url: str
    subject: str
    allow_recording: bool = True
    record_automatically: bool = False
    lobby_scope: str = "organization"
    allowed_presenters: str = "everyone"


@dataclass(slots=True)
class Installation:
    """A Teams app installed in a team, with the RSC permissions consented for that team."""

    id: str
    catalog_id: str
    external_id: str
    display_name: str
    consented: tuple[tuple[str, str], ...] = ()  # (permissionValue, permissionType)


@dataclass(frozen=True, slots=True)
class CatalogApp:
    """An app in the tenant's catalog: its manifest id, name and RSC permissions.

    ``resource_specific`` holds (name, type) pairs as the package's manifest spells them
    (``authorization.permissions.resourceSpecific``), such as
    ``("ChannelMessage.Read.Group", "Application")``.
    """

    external_id: str
    display_name: str
    resource_specific: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class ChannelPost:
    """A message in a team's channel as Graph lists it; a bot's card is JSON in ``cards``."""

    id: str
    created: datetime
    cards: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    modified: datetime | None = None  # None: never changed since it was created

    @property
    def last_modified(self) -> datetime:
        """``lastModifiedDateTime``: the last change, or the creation."""
        return self.modified or self.created


@dataclass(slots=True)
class Team:
    """A team (its id is its Microsoft 365 group id) with its channels and installed apps."""

    id: str
    display_name: str
    channels: dict[str, str] = field(default_factory=dict)  # channel id -> name
    installed: list[Installation] = field(default_factory=list)


@dataclass(slots=True)
class Tenant:
    """Everything the double knows."""

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    meetings: list[OnlineMeeting] = field(default_factory=list)
    teams: dict[str, Team] = field(default_factory=dict)
    catalog: dict[str, CatalogApp] = field(default_factory=dict)  # catalog (generated) id -> app
    #: (team id, channel id) -> the channel's messages, in the order they were posted.
    channel_posts: dict[tuple[str, str], list[ChannelPost]] = field(default_factory=dict)
    #: Organisers whose meetings the application access policy lets the app read.
    meeting_policy: set[str] = field(default_factory=set)

    def user_by_mail(self, mail: str) -> User | None:
        """The user with this mail address (case-insensitive), if any."""
        return next((u for u in self.users.values() if u.mail.lower() == mail.lower()), None)

    def add_channel_post(
        self,
        team_id: str,
        channel_id: str,
        *,
        created: datetime,
        cards: Iterable[Mapping[str, Any]] = (),
        text: str = "",
        modified: datetime | None = None,
        post_id: str | None = None,
    ) -> ChannelPost:
        """Put a message in a channel (as if someone, or the bot, had posted it) and return it.

        ``cards`` are Adaptive Cards (dicts); Graph returns each one's JSON as a string.
        """
        posts = self.channel_posts.setdefault((team_id.lower(), channel_id), [])
        if post_id is None:  # Graph's ids are the post's time in milliseconds, as text
            taken = {p.id for p in posts}
            number = int(created.timestamp() * 1000)
            while str(number) in taken:
                number += 1
            post_id = str(number)
        post = ChannelPost(
            id=post_id,
            created=created,
            cards=[dict(card) for card in cards],
            text=text,
            modified=modified,
        )
        posts.append(post)
        return post

    def transitive_groups(self, member_id: str) -> set[str]:
        """Every group ``member_id`` belongs to, directly or through nested groups."""
        found: set[str] = set()
        frontier = {member_id}
        while frontier:
            parents = {
                g.id
                for g in self.groups.values()
                if frontier & set(g.members) and g.id not in found
            }
            found |= parents
            frontier = parents
        return found

    def transitive_users(self, group_id: str) -> list[User]:
        """Every user in the group, through nested groups, each once, in a stable order."""
        seen: set[str] = set()
        users: list[User] = []
        stack = [group_id]
        while stack:
            group = self.groups.get(stack.pop())
            if group is None or group.id in seen:
                continue
            seen.add(group.id)
            for member in group.members:
                if member in self.groups:
                    stack.append(member)
                elif member in self.users and all(u.id != member for u in users):
                    users.append(self.users[member])
        return users


def _mail(name: str) -> str:
    return name.lower().replace(" ", ".") + "@" + DOMAIN


def demo_tenant() -> Tenant:
    """The demo school as Graph would hold it (see the module docstring)."""
    raw = json.loads(DEMO_DIRECTORY.read_text(encoding="utf-8"))
    tenant = Tenant()
    for group_id, name in raw["groups"].items():
        tenant.groups[group_id] = Group(group_id, name)
    tenant.groups[DSL_OFFICE_GROUP] = Group(DSL_OFFICE_GROUP, "DSL office")
    tenant.groups[DSL_ROLE_GROUP].members.append(DSL_OFFICE_GROUP)
    for entry in raw["people"]:
        role = entry.get("educationRole", "none")
        year = entry.get("yearGroup")
        tenant.users[entry["id"]] = User(
            id=entry["id"],
            display_name=entry["name"],
            mail=_mail(entry["name"]),
            primary_role=None if role == "none" else role,
            grade=year.removeprefix("Year ").strip() if year else None,
        )
        for group_id in entry["groups"]:
            # The DSL reaches her role group through the nested DSL office group only.
            target = DSL_OFFICE_GROUP if group_id == DSL_ROLE_GROUP else group_id
            tenant.groups[target].members.append(entry["id"])
    tenant.users[NOBODY_ID] = User(
        NOBODY_ID, "Sam Visitor", _mail("Sam Visitor"), primary_role="teacher"
    )
    for team in raw["teams"]:
        tenant.teams[team["groupId"]] = Team(
            id=team["groupId"],
            display_name=team["name"],
            channels={c["id"]: c["name"] for c in team["channels"]},
        )
    tenant.catalog[CATALOG_APP_ID] = CatalogApp(
        TEAMS_APP_ID, "Online Safety", package_resource_specific_permissions()
    )
    add_demo_meetings(tenant, raw.get("meetings", []))
    return tenant


def package_resource_specific_permissions() -> tuple[tuple[str, str], ...]:
    """The RSC permissions the app package declares (manifest/template.json), as (name, type):
    what the demo app in the catalog asks for, so the double refuses an install without them."""
    template = json.loads(MANIFEST_TEMPLATE.read_text(encoding="utf-8"))
    declared = template.get("authorization", {}).get("permissions", {}).get("resourceSpecific", [])
    return tuple((str(p["name"]), str(p["type"])) for p in declared)


def join_url(meeting_id: str) -> str:
    """A Teams join link shaped like the real ones."""
    return (
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_"
        f"{meeting_id}%40thread.v2/0?context=%7b%22Tid%22%3a%22demo%22%7d"
    )


def add_demo_meetings(tenant: Tenant, meetings: list[dict[str, Any]]) -> None:
    """The demo file's meetings as calendar events with Teams meetings (same ids and options).

    A meeting the file marks ``hasExternalGuests`` gets a visitor from outside the school.
    Organisers are covered by the application access policy.
    """
    for raw in meetings:
        meeting_id = str(raw["id"])
        organizer = str(raw["organizer"]).lower()
        attendees = [tenant.users[str(a).lower()].mail for a in raw.get("attendees", [])]
        if raw.get("hasExternalGuests"):
            attendees.append(VISITOR)
        tenant.events.append(
            Event(
                id=meeting_id,
                organizer_id=organizer,
                subject=str(raw["subject"]),
                start=datetime.fromisoformat(str(raw["start"])),
                end=datetime.fromisoformat(str(raw["end"])),
                join_url=join_url(meeting_id),
                attendees=attendees,
            )
        )
        tenant.meetings.append(
            OnlineMeeting(
                id="MSo" + meeting_id,
                organizer_id=organizer,
                join_url=join_url(meeting_id),
                subject=str(raw["subject"]),
                allow_recording=bool(raw.get("allowRecording", True)),
                record_automatically=bool(raw.get("recordAutomatically", False)),
                lobby_scope=str(raw.get("lobbyBypass", "organization")),
                allowed_presenters=str(raw.get("allowedPresenters", "everyone")),
            )
        )
        tenant.meeting_policy.add(organizer)
