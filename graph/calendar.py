"""``GraphCalendar``: a teacher's upcoming Teams meetings and their options, from Graph.

For "Check a video call": the teacher's events in the next days
(``GET /users/{id}/calendarView``, times asked for in UTC), those they organise that are online
meetings, and for each the Teams meeting options the video-call rules check
(``GET /users/{id}/onlineMeetings?$filter=JoinWebUrl eq '…'``: ``allowRecording``,
``recordAutomatically``, ``lobbyBypassSettings.scope``, ``allowedPresenters``).

Attendees are matched to directory users by mail (``GET /users?$filter=mail in (…)``, 15 at a
time, Graph's limit for ``in``). An attendee is an external guest when the directory says
``userType`` Guest, or when their address is not a user and its domain is not the school's
(the organiser's own domain and any configured ``tenant_domains``).

Reading meetings needs ``OnlineMeetings.Read.All`` and an application access policy naming
the bot; without the policy Graph answers 403 and the check says so.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.event import Event
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.graph_service_client import GraphServiceClient

from dialogs.ports import Clock, DirectoryUnavailable, Meeting
from graph.directory import normalise_object_id
from graph.errors import GraphCallFailed, graph_call

log = logging.getLogger(__name__)

PERMISSION_CALENDAR = "Calendars.ReadBasic"
PERMISSION_MEETINGS = "OnlineMeetings.Read.All (and an application access policy for the bot)"
PERMISSION_USERS = "User.Read.All"
MAIL_IN_LIMIT = 15
MAX_EVENT_PAGES = 20
EVENT_PAGE_SIZE = 50


def _utc(value: Any) -> datetime | None:
    """A Graph ``dateTimeTimeZone`` (asked for in UTC) as an aware UTC datetime."""
    raw = getattr(value, "date_time", None)
    if not raw:
        return None
    text = str(raw).replace("Z", "")
    if "." in text:  # Graph gives 7 fractional digits; Python reads at most 6
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].lower() if "@" in address else ""


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _enum_value(value: Any, default: str) -> str:
    if value is None:
        return default
    return str(getattr(value, "value", value))


class GraphCalendar:
    """The Calendar port on Microsoft Graph (see the module docstring)."""

    def __init__(
        self,
        client: GraphServiceClient,
        clock: Clock,
        *,
        tenant_domains: Iterable[str] = (),
        timeout: float = 8.0,
        max_meetings: int = 25,
    ) -> None:
        """Set up the calendar; nothing is asked of Graph until ``upcoming``.

        Args:
            client: The process's Graph client.
            clock: "Now", for the window of upcoming meetings.
            tenant_domains: The school's mail domains besides the organiser's own.
            timeout: The longest one lookup may take (it answers a turn).
            max_meetings: The most meetings looked up in detail, soonest first.
        """
        self._client = client
        self._clock = clock
        self._domains = frozenset(d.lower().lstrip("@") for d in tenant_domains if d)
        self._timeout = timeout
        self._max_meetings = max_meetings

    async def upcoming(self, person_id: str, *, days: int = 7) -> tuple[Meeting, ...]:
        """The person's online meetings (as organiser) starting in the next ``days`` days.

        Raises:
            DirectoryUnavailable: Graph failed, was too slow, or refused (the message names the
                permission or the access policy to set up).
        """
        key = normalise_object_id(person_id)
        if key is None:
            return ()
        now = self._clock.now().astimezone(UTC)
        try:
            async with asyncio.timeout(self._timeout):
                events = await self._events(key, now, now + timedelta(days=max(0, days)))
                chosen = [
                    e
                    for e in events
                    if e.is_organizer
                    and e.is_online_meeting
                    and e.online_meeting is not None
                    and e.online_meeting.join_url
                    and (start := _utc(e.start)) is not None
                    and start >= now
                ][: self._max_meetings]
                guests = await self._directory_users(
                    a.email_address.address
                    for e in chosen
                    for a in e.attendees or []
                    if a.email_address is not None and a.email_address.address
                )
                meetings = await asyncio.gather(*(self._meeting(key, e, guests) for e in chosen))
        except TimeoutError:
            log.warning("calendar for %s: Graph did not answer in time", key)
            raise DirectoryUnavailable(
                "Graph did not answer in time to read the calendar"
            ) from None
        except GraphCallFailed as failed:
            reason = failed.problem.explain("read meetings")
            log.warning("calendar for %s unavailable: %s", key, reason)
            raise DirectoryUnavailable(reason) from None
        return tuple(sorted((m for m in meetings if m is not None), key=lambda m: m.start))

    async def _events(self, key: str, start: datetime, end: datetime) -> list[Event]:
        builder = self._client.users.by_user_id(key).calendar_view
        config = RequestConfiguration(
            query_parameters=builder.CalendarViewRequestBuilderGetQueryParameters(
                start_date_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                end_date_time=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                select=[
                    "id",
                    "subject",
                    "start",
                    "end",
                    "isOrganizer",
                    "isOnlineMeeting",
                    "onlineMeeting",
                    "organizer",
                    "attendees",
                ],
                orderby=["start/dateTime"],
                top=EVENT_PAGE_SIZE,
            )
        )
        config.headers.add("Prefer", 'outlook.timezone="UTC"')
        page = await graph_call(PERMISSION_CALENDAR, lambda: builder.get(config))
        events: list[Event] = []
        for _ in range(MAX_EVENT_PAGES):
            if page is None:
                break
            events.extend(page.value or [])
            if not page.odata_next_link:
                break
            page = await graph_call(PERMISSION_CALENDAR, builder.with_url(page.odata_next_link).get)
        return events

    async def _directory_users(self, addresses: Iterable[str]) -> dict[str, tuple[str, bool]]:
        """Mail (lower case) -> (object id, is a guest) for the addresses the directory knows."""
        unique = sorted({a.strip().lower() for a in addresses if "@" in a})
        found: dict[str, tuple[str, bool]] = {}
        for start in range(0, len(unique), MAIL_IN_LIMIT):
            chunk = unique[start : start + MAIL_IN_LIMIT]
            page = await graph_call(PERMISSION_USERS, functools.partial(self._users_by_mail, chunk))
            for user in (page.value or []) if page is not None else []:
                user_id = normalise_object_id(user.id or "")
                if user_id and user.mail:
                    found[user.mail.lower()] = (user_id, (user.user_type or "") == "Guest")
        return found

    async def _users_by_mail(self, mails: list[str]) -> UserCollectionResponse | None:
        builder = self._client.users
        config = RequestConfiguration(
            query_parameters=builder.UsersRequestBuilderGetQueryParameters(
                filter="mail in (" + ",".join(_odata_string(m) for m in mails) + ")",
                select=["id", "mail", "userType"],
            )
        )
        return await builder.get(config)

    async def _meeting(
        self, key: str, event: Event, users: dict[str, tuple[str, bool]]
    ) -> Meeting | None:
        join_url = event.online_meeting.join_url if event.online_meeting else None
        if not join_url:
            return None
        builder = self._client.users.by_user_id(key).online_meetings
        config = RequestConfiguration(
            query_parameters=builder.OnlineMeetingsRequestBuilderGetQueryParameters(
                filter=f"JoinWebUrl eq {_odata_string(join_url)}"
            )
        )
        found = await graph_call(PERMISSION_MEETINGS, lambda: builder.get(config))
        settings = found.value[0] if found is not None and found.value else None
        start, end = _utc(event.start), _utc(event.end)
        if settings is None or start is None or end is None:
            log.info("calendar for %s: no meeting options for event %s", key, event.id)
            return None
        organizer = ""
        if event.organizer is not None and event.organizer.email_address is not None:
            organizer = (event.organizer.email_address.address or "").lower()
        school = self._domains | ({_domain(organizer)} if organizer else set())
        attendee_ids: list[str] = []
        external = False
        for attendee in event.attendees or []:
            address = (attendee.email_address.address or "") if attendee.email_address else ""
            address = address.strip().lower()
            if not address or address == organizer:
                continue
            known = users.get(address)
            if known is not None:
                attendee_ids.append(known[0])
                external = external or known[1]
            elif _domain(address) not in school:
                external = True
        lobby = settings.lobby_bypass_settings
        return Meeting(
            id=event.id or settings.id or join_url,
            subject=event.subject or "",
            start=start,
            end=end,
            organizer_id=key,
            attendee_ids=tuple(dict.fromkeys(attendee_ids)),
            allow_recording=True if settings.allow_recording is None else settings.allow_recording,
            record_automatically=bool(settings.record_automatically),
            lobby_bypass=_enum_value(lobby.scope if lobby else None, "organization"),
            allowed_presenters=_enum_value(settings.allowed_presenters, "everyone"),
            has_external_guests=external,
        )
