"""A local Microsoft Graph double: a real aiohttp server the real msgraph-sdk talks to.

It serves the JSON shapes of the Graph v1.0 endpoints the bot uses (written from the Graph
reference pages: ``user``, ``educationUser``, ``checkMemberGroups``, ``transitiveMembers``,
``calendarView``, ``onlineMeeting``, ``teamsAppInstallation``, ``channel``, ``chatMessage``,
``sendActivityNotification``), pages collections with ``@odata.nextLink``, answers errors in
Graph's ``{"error": {"code", "message", "innerError"}}`` form, and can be told to fail:
404, 403, 429 with ``Retry-After``, 503, or answer slowly. Every request is recorded, so a
test can assert how many HTTP calls a lookup made.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.graphdouble.tenant import ChannelPost, Event, Installation, Tenant, User

TOKEN = "graph-double-token"  # a test token, the only one the double accepts
V1 = "/v1.0"
#: The error code with which the double refuses to install an app that asks for
#: resource-specific consent (RSC) without ``consentedPermissionSet`` (Graph answers 403; the
#: code is the double's own, so a test can tell this refusal from a missing permission).
RSC_CONSENT_REQUIRED = "ResourceSpecificConsentRequired"
#: The most channel messages Graph returns to a page (``$top`` may not ask for more).
CHANNEL_MESSAGES_TOP_MAX = 50


@dataclass(slots=True)
class Fault:
    """Make matching requests fail (or answer late) ``times`` times (None: every time)."""

    method: str
    path: str  # a regular expression matched against the path after /v1.0
    status: int | None = None  # None: answer normally (after ``delay``)
    retry_after: str | None = None
    delay: float = 0.0
    times: int | None = 1
    code: str | None = None
    hits: int = 0
    after: int = 0  # matching requests answered normally before the fault starts
    passed: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            (self.times is None or self.hits < self.times)
            and self.method in {"*", method}
            and re.fullmatch(self.path, path) is not None
        )


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the double received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float  # time.monotonic() on arrival
    headers: dict[str, str] = field(default_factory=dict)


_CODES = {
    400: ("BadRequest", "Invalid request."),
    401: ("InvalidAuthenticationToken", "Access token is empty or invalid."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "Resource does not exist."),
    429: ("TooManyRequests", "Too many requests, retry after the time given."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable."),
}


def odata_error(status: int, code: str | None = None, message: str | None = None) -> web.Response:
    """A Graph error response (``ODataError`` shape)."""
    default_code, default_message = _CODES.get(status, ("UnknownError", "An error occurred."))
    body = {
        "error": {
            "code": code or default_code,
            "message": message or default_message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }
    return web.json_response(body, status=status)


def _graph_time(value: datetime) -> dict[str, str]:
    return {
        "dateTime": value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
        "timeZone": "UTC",
    }


def _iso(value: datetime) -> str:
    """A Graph ``DateTimeOffset``: UTC, milliseconds, ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(raw: str) -> datetime:
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class GraphDouble:
    """The double. ``await start()``, use ``base_url`` with the SDK, ``await stop()``."""

    def __init__(self, tenant: Tenant, *, page_size: int = 2) -> None:
        self.tenant = tenant
        self.page_size = page_size
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []
        self._server: TestServer | None = None

    # -- control -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1.0``."""
        assert self._server is not None, "start the double first"
        return str(self._server.make_url(V1))

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", V1 + "/{tail:.*}", self._dispatch)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            await self._server.close()

    def fail(
        self,
        path: str,
        status: int,
        *,
        method: str = "*",
        times: int | None = 1,
        retry_after: float | str | None = None,
        code: str | None = None,
        after: int = 0,
    ) -> Fault:
        """Answer requests whose path matches ``path`` (a regex) with ``status``.

        ``after``: let that many matching requests through first (a failure on page 2).
        """
        fault = Fault(
            method,
            path,
            status,
            None if retry_after is None else str(retry_after),
            times=times,
            code=code,
            after=after,
        )
        self.faults.append(fault)
        return fault

    def slow(self, path: str, seconds: float, *, method: str = "*", times: int | None = 1) -> Fault:
        """Answer matching requests only after ``seconds``."""
        fault = Fault(method, path, None, delay=seconds, times=times)
        self.faults.append(fault)
        return fault

    def count(self, path: str = ".*", method: str = "*") -> int:
        """How many requests matched ``path`` (a regex) and ``method`` so far."""
        return sum(
            1
            for seen in self.requests
            if method in {"*", seen.method} and re.fullmatch(path, seen.path) is not None
        )

    def seen(self, path: str = ".*", method: str = "*") -> list[Seen]:
        """The requests that matched, oldest first."""
        return [
            s
            for s in self.requests
            if method in {"*", s.method} and re.fullmatch(path, s.path) is not None
        ]

    # -- dispatch ------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw else None
        self.requests.append(
            Seen(
                request.method,
                path,
                dict(request.query),
                body,
                time.monotonic(),
                {k.lower(): v for k, v in request.headers.items()},
            )
        )
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return odata_error(401)
        for fault in self.faults:
            if fault.matches(request.method, path):
                if fault.passed < fault.after:
                    fault.passed += 1
                    continue
                fault.hits += 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    response = odata_error(fault.status, fault.code)
                    if fault.retry_after is not None:
                        response.headers["Retry-After"] = fault.retry_after
                    return response
                break
        for method, pattern, handler in self._routes():
            if method == request.method and (match := re.fullmatch(pattern, path)):
                result: web.StreamResponse = await handler(request, body, *match.groups())
                return result
        return odata_error(400, "BadRequest", f"Resource not found for the segment '{path}'.")

    def _routes(self) -> list[tuple[str, str, Any]]:
        guid = r"([0-9A-Fa-f-]{36})"
        return [
            ("GET", rf"/users/{guid}", self._get_user),
            ("GET", r"/users", self._list_users),
            ("POST", rf"/users/{guid}/checkMemberGroups", self._check_member_groups),
            ("GET", rf"/education/users/{guid}", self._get_education_user),
            (
                "GET",
                rf"/groups/{guid}/transitiveMembers/(?:microsoft\.)?graph\.user",
                self._members,
            ),
            ("GET", rf"/users/{guid}/calendarView", self._calendar_view),
            ("GET", rf"/users/{guid}/onlineMeetings", self._online_meetings),
            (
                "POST",
                rf"/users/{guid}/teamwork/sendActivityNotification",
                self._send_activity_notification,
            ),
            ("GET", rf"/teams/{guid}/installedApps", self._installed_apps),
            ("POST", rf"/teams/{guid}/installedApps", self._install_app),
            ("GET", rf"/teams/{guid}/channels", self._channels),
            ("GET", rf"/teams/{guid}/channels/([^/]+)/messages", self._channel_messages),
        ]

    def _context(self, tail: str) -> str:
        return f"https://graph.microsoft.com/v1.0/$metadata#{tail}"

    def _page(
        self, request: web.Request, items: list[dict[str, Any]], context: str
    ) -> web.Response:
        """One page of ``items``; ``@odata.nextLink`` carries the query and a skip token."""
        top = int(request.query.get("$top", self.page_size))
        size = min(top, self.page_size)
        start = int(request.query.get("$skiptoken", "0"))
        body: dict[str, Any] = {
            "@odata.context": self._context(context),
            "value": items[start : start + size],
        }
        if start + size < len(items):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(start + size)
            body["@odata.nextLink"] = (
                str(request.url.with_query(None)).split("?")[0] + "?" + urlencode(query)
            )
        return web.json_response(body)

    # -- users and groups ----------------------------------------------------------------------

    def _user(self, user_id: str) -> User | None:
        return self.tenant.users.get(user_id.lower())

    @staticmethod
    def _user_json(user: User) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.user",
            "id": user.id,
            "displayName": user.display_name,
            "mail": user.mail,
            "userPrincipalName": user.mail,
            "userType": user.user_type,
        }

    async def _get_user(self, request: web.Request, body: Any, user_id: str) -> web.Response:
        user = self._user(user_id)
        if user is None:
            return odata_error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{user_id}' does not exist or one of its queried reference-property "
                "objects are not present.",
            )
        data = {"@odata.context": self._context("users/$entity"), **self._user_json(user)}
        return web.json_response(data)

    async def _list_users(self, request: web.Request, body: Any) -> web.Response:
        raw = request.query.get("$filter", "")
        mails = [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", raw)]
        if not raw.startswith("mail ") or len(mails) > 15:
            return odata_error(400, "Request_UnsupportedQuery", "Unsupported query.")
        found = [self._user_json(u) for m in mails if (u := self.tenant.user_by_mail(m))]
        return web.json_response({"@odata.context": self._context("users"), "value": found})

    async def _check_member_groups(
        self, request: web.Request, body: Any, user_id: str
    ) -> web.Response:
        if self._user(user_id) is None:
            return odata_error(404)
        ids = [str(g).lower() for g in (body or {}).get("groupIds", [])]
        if len(ids) > 20:
            return odata_error(
                400, "Request_BadRequest", "The maximum number of groupIds is 20 per request."
            )
        member_of = self.tenant.transitive_groups(user_id.lower())
        return web.json_response(
            {
                "@odata.context": self._context("Collection(Edm.String)"),
                "value": [g for g in ids if g in member_of],
            }
        )

    async def _get_education_user(
        self, request: web.Request, body: Any, user_id: str
    ) -> web.Response:
        user = self._user(user_id)
        if user is None or user.primary_role is None:
            return odata_error(404, "Request_ResourceNotFound", "Resource not found.")
        data: dict[str, Any] = {
            "@odata.context": self._context("education/users/$entity"),
            "id": user.id,
            "displayName": user.display_name,
            "primaryRole": user.primary_role,
            "userPrincipalName": user.mail,
        }
        if user.primary_role == "student":
            data["student"] = {
                "externalId": "S-" + user.id[-4:],
                "grade": user.grade,
                "graduationYear": None,
                "birthDate": None,
                "gender": None,
                "studentNumber": None,
            }
        else:
            data["teacher"] = {"externalId": "T-" + user.id[-4:], "teacherNumber": None}
        return web.json_response(data)

    async def _members(self, request: web.Request, body: Any, group_id: str) -> web.Response:
        if group_id.lower() not in self.tenant.groups:
            return odata_error(404)
        users = [self._user_json(u) for u in self.tenant.transitive_users(group_id.lower())]
        return self._page(request, users, "users")

    # -- calendars and meetings ----------------------------------------------------------------

    def _event_json(self, event: Event) -> dict[str, Any]:
        organizer = self.tenant.users[event.organizer_id]
        data: dict[str, Any] = {
            "@odata.etag": 'W/"' + event.id[-8:] + '"',
            "id": event.id,
            "subject": event.subject,
            "isOrganizer": event.is_organizer,
            "isOnlineMeeting": event.join_url is not None,
            "onlineMeetingProvider": "teamsForBusiness" if event.join_url else "unknown",
            "start": _graph_time(event.start),
            "end": _graph_time(event.end),
            "organizer": {
                "emailAddress": {"name": organizer.display_name, "address": organizer.mail}
            },
            "attendees": [
                {
                    "type": "required",
                    "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": {"name": address.split("@")[0], "address": address},
                }
                for address in event.attendees
            ],
            "onlineMeeting": {"joinUrl": event.join_url} if event.join_url else None,
        }
        return data

    async def _calendar_view(self, request: web.Request, body: Any, user_id: str) -> web.Response:
        if self._user(user_id) is None:
            return odata_error(404, "ErrorInvalidUser", "The requested user is invalid.")
        try:
            start = _parse_time(request.query["startDateTime"])
            end = _parse_time(request.query["endDateTime"])
        except (KeyError, ValueError):
            return odata_error(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters "
                "StartDateTime and EndDateTime.",
            )
        events = sorted(
            (
                e
                for e in self.tenant.events
                if e.organizer_id == user_id.lower() and e.start < end and e.end > start
            ),
            key=lambda e: e.start,
        )
        return self._page(
            request, [self._event_json(e) for e in events], f"users('{user_id}')/calendarView"
        )

    async def _online_meetings(self, request: web.Request, body: Any, user_id: str) -> web.Response:
        if user_id.lower() not in self.tenant.meeting_policy:
            return odata_error(
                403,
                "General",
                "No application access policy found for this app.",
            )
        match = re.fullmatch(
            r"(?i)joinWebUrl eq '((?:[^']|'')*)'", request.query.get("$filter", "")
        )
        if match is None:
            return odata_error(400, "BadRequest", "Filter on JoinWebUrl is required.")
        url = match.group(1).replace("''", "'")
        found = [
            {
                "id": m.id,
                "joinWebUrl": m.join_url,
                "subject": m.subject,
                "allowRecording": m.allow_recording,
                "recordAutomatically": m.record_automatically,
                "allowedPresenters": m.allowed_presenters,
                "lobbyBypassSettings": {"scope": m.lobby_scope, "isDialInBypassEnabled": False},
                "isEntryExitAnnounced": True,
                "participants": {"organizer": {"identity": {"user": {"id": m.organizer_id}}}},
            }
            for m in self.tenant.meetings
            if m.organizer_id == user_id.lower() and m.join_url == url
        ]
        return web.json_response(
            {"@odata.context": self._context(f"users('{user_id}')/onlineMeetings"), "value": found}
        )

    # -- activity feed -------------------------------------------------------------------------

    async def _send_activity_notification(
        self, request: web.Request, body: Any, user_id: str
    ) -> web.Response:
        if self._user(user_id) is None:
            return odata_error(404)
        if not isinstance(body, dict) or not body.get("activityType") or "topic" not in body:
            return odata_error(400, "BadRequest", "activityType and topic are required.")
        topic = body["topic"]
        if topic.get("source") == "text" and not topic.get("webUrl"):
            return odata_error(400, "BadRequest", "webUrl is required when source is text.")
        return web.Response(status=204)

    # -- teams ---------------------------------------------------------------------------------

    async def _installed_apps(self, request: web.Request, body: Any, team_id: str) -> web.Response:
        team = self.tenant.teams.get(team_id.lower())
        if team is None:
            return odata_error(404, "NotFound", "No team found with Group Id " + team_id)
        wanted = None
        if raw := request.query.get("$filter"):
            match = re.fullmatch(r"teamsApp/externalId eq '([^']*)'", raw)
            if match is None:
                return odata_error(400)
            wanted = match.group(1)
        expand = "teamsApp" in request.query.get("$expand", "")
        items = []
        for app in team.installed:
            if wanted is not None and app.external_id != wanted:
                continue
            item: dict[str, Any] = {"id": app.id}
            if app.consented:
                item["consentedPermissionSet"] = _permission_set(app.consented)
            if expand:
                item["teamsApp"] = {
                    "id": app.catalog_id,
                    "externalId": app.external_id,
                    "displayName": app.display_name,
                    "distributionMethod": "organization",
                }
            items.append(item)
        return web.json_response(
            {"@odata.context": self._context(f"teams('{team_id}')/installedApps"), "value": items}
        )

    async def _install_app(self, request: web.Request, body: Any, team_id: str) -> web.Response:
        team = self.tenant.teams.get(team_id.lower())
        if team is None:
            return odata_error(404, "NotFound", "No team found with Group Id " + team_id)
        bind = (body or {}).get("teamsApp@odata.bind", "")
        match = re.fullmatch(
            r"https://graph\.microsoft\.com/v1\.0/appCatalogs/teamsApps/(.+)", bind
        )
        if match is None:
            return odata_error(400, "BadRequest", "teamsApp@odata.bind is required.")
        catalog_id = match.group(1)
        app = self.tenant.catalog.get(catalog_id)
        if app is None:
            return odata_error(404, "NotFound", "App not found in the catalog.")
        consented: tuple[tuple[str, str], ...] = ()
        if app.resource_specific:
            # Graph: an app that asks for RSC permissions is installed only with consent to
            # exactly the permissions its definition asks for (consentedPermissionSet), which
            # TeamsAppInstallation.ReadWriteSelfForTeam.All cannot give.
            consent = (body or {}).get("consentedPermissionSet")
            if not isinstance(consent, dict):
                return odata_error(
                    403,
                    RSC_CONSENT_REQUIRED,
                    "The app requires consent to resource-specific permissions: give them in "
                    "consentedPermissionSet, with a permission that allows consent "
                    "(TeamsAppInstallation.ReadWriteAndConsentSelfForTeam.All).",
                )
            given = {
                (str(p.get("permissionValue")), str(p.get("permissionType")).lower())
                for p in consent.get("resourceSpecificPermissions") or []
                if isinstance(p, dict)
            }
            wanted = {(name, kind.lower()) for name, kind in app.resource_specific}
            if given != wanted:
                return odata_error(
                    400,
                    "BadRequest",
                    "The consented permissions do not match the resource-specific permissions "
                    "of the app definition.",
                )
            consented = tuple(sorted(wanted))
        if any(installed.catalog_id == catalog_id for installed in team.installed):
            return odata_error(409, "Conflict", "The app is already installed.")
        team.installed.append(
            Installation(
                str(uuid.uuid4()), catalog_id, app.external_id, app.display_name, consented
            )
        )
        return web.Response(status=200)

    async def _channels(self, request: web.Request, body: Any, team_id: str) -> web.Response:
        team = self.tenant.teams.get(team_id.lower())
        if team is None:
            return odata_error(404, "NotFound", "No team found with Group Id " + team_id)
        items = [
            {
                "id": channel_id,
                "displayName": name,
                "description": None,
                "membershipType": "standard",
                "webUrl": f"https://teams.microsoft.com/l/channel/{channel_id}/{name}",
            }
            for channel_id, name in team.channels.items()
        ]
        return self._page(request, items, f"teams('{team_id}')/channels")

    async def _channel_messages(
        self, request: web.Request, body: Any, team_id: str, channel_id: str
    ) -> web.Response:
        """A channel's messages (no replies), the most recently changed first, in pages.

        Needs ``ChannelMessage.Read.Group`` (RSC) or ``ChannelMessage.Read.All``; the double does
        not check which: use ``fail(...)`` for a 403.
        """
        team = self.tenant.teams.get(team_id.lower())
        if team is None:
            return odata_error(404, "NotFound", "No team found with Group Id " + team_id)
        if channel_id not in team.channels:
            return odata_error(404, "NotFound", "Channel not found: " + channel_id)
        raw_top = request.query.get("$top", str(CHANNEL_MESSAGES_TOP_MAX))
        if not raw_top.isdigit() or not 1 <= int(raw_top) <= CHANNEL_MESSAGES_TOP_MAX:
            return odata_error(
                400,
                "BadRequest",
                f"Invalid page size requested: {raw_top}. The maximum is "
                f"{CHANNEL_MESSAGES_TOP_MAX}.",
            )
        posts = sorted(
            self.tenant.channel_posts.get((team.id.lower(), channel_id), []),
            key=lambda p: p.last_modified,
            reverse=True,
        )
        items = [self._message_json(team.id, channel_id, post) for post in posts]
        return self._page(request, items, f"teams('{team_id}')/channels('{channel_id}')/messages")

    @staticmethod
    def _message_json(team_id: str, channel_id: str, post: ChannelPost) -> dict[str, Any]:
        attachments = [
            {
                "id": f"{post.id}-{index}",
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": json.dumps(card),
                "name": None,
                "thumbnailUrl": None,
                "teamsAppId": None,
            }
            for index, card in enumerate(post.cards)
        ]
        html = post.text + "".join(f'<attachment id="{a["id"]}"></attachment>' for a in attachments)
        return {
            "id": post.id,
            "replyToId": None,
            "etag": str(int(post.last_modified.timestamp() * 1000)),
            "messageType": "message",
            "createdDateTime": _iso(post.created),
            "lastModifiedDateTime": _iso(post.last_modified),
            "lastEditedDateTime": _iso(post.modified) if post.modified else None,
            "deletedDateTime": None,
            "subject": None,
            "summary": None,
            "chatId": None,
            "importance": "normal",
            "locale": "en-us",
            "webUrl": f"https://teams.microsoft.com/l/message/{channel_id}/{post.id}",
            "policyViolation": None,
            "eventDetail": None,
            "from": {
                "application": {
                    "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
                    "id": "bot",
                    "displayName": "Online Safety",
                    "applicationIdentityType": "bot",
                },
                "device": None,
                "user": None,
            },
            "body": {"contentType": "html", "content": html},
            "channelIdentity": {"teamId": team_id, "channelId": channel_id},
            "attachments": attachments,
            "mentions": [],
            "reactions": [],
        }


def _permission_set(permissions: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """A ``teamsAppPermissionSet``."""
    return {
        "resourceSpecificPermissions": [
            {"permissionValue": name, "permissionType": kind} for name, kind in permissions
        ]
    }
