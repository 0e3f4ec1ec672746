"""Test support shared by the suites: the demo school's ids, Teams-shaped activities, a fake
Bot Connector, card validation and a running bot server."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
TENANT = "5c400000-0000-4000-8000-000000000000"


def demo_id(n: int) -> str:
    """The Entra object id of demo person ``n`` (1 = pupil, 2 = teacher … 10 = Year 4 pupil)."""
    return f"5c400000-0000-4000-8000-{n:012d}"


PUPIL = demo_id(1)
TEACHER = demo_id(2)
HEAD_OF_DEPARTMENT = demo_id(3)
HEADTEACHER = demo_id(4)
DEPUTY_HEAD = demo_id(5)
DSL = demo_id(6)
DEPUTY_DSL = demo_id(7)
IT = demo_id(8)
CHAIR_OF_GOVERNORS = demo_id(9)
YOUNG_PUPIL = demo_id(10)
STRANGER = "5c400000-0000-4000-8000-00000000ffff"

TEAM_ID = "19:safeguarding@thread.tacv2"
DSL_CHANNEL = "19:dsl@thread.tacv2"
IT_CHANNEL = "19:it@thread.tacv2"
BOT_ID = "28:online-safety-bot"

_ids = itertools.count(1)


def _envelope(
    kind: str, who: str, service_url: str, scope: str, conversation_id: str | None
) -> dict[str, Any]:
    n = next(_ids)
    conversation: dict[str, Any] = {
        "id": conversation_id or f"a:personal-{who}",
        "conversationType": scope,
        "tenantId": TENANT,
    }
    if scope != "personal":
        conversation["isGroup"] = True
    activity: dict[str, Any] = {
        "type": kind,
        "id": f"activity-{n}",
        "timestamp": "2026-11-23T10:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{who}", "name": "Someone", "aadObjectId": who},
        "recipient": {"id": BOT_ID, "name": "Online Safety"},
        "conversation": conversation,
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "en-GB",
    }
    if scope == "channel":
        activity["channelData"].update(
            {"teamsTeamId": TEAM_ID, "teamsChannelId": conversation["id"]}
        )
    return activity


def message(
    who: str,
    text: str,
    service_url: str,
    *,
    scope: str = "personal",
    conversation_id: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Teams message activity from ``who``."""
    activity = _envelope("message", who, service_url, scope, conversation_id)
    activity["text"] = text
    if attachments:
        activity["attachments"] = attachments
    return activity


def card_action(
    who: str,
    verb: str,
    service_url: str,
    *,
    data: dict[str, Any] | None = None,
    scope: str = "personal",
    conversation_id: str | None = None,
    trigger: str = "manual",
) -> dict[str, Any]:
    """A Teams ``adaptiveCard/action`` invoke, as Teams sends for an ``Action.Execute`` click."""
    activity = _envelope("invoke", who, service_url, scope, conversation_id)
    activity["name"] = "adaptiveCard/action"
    activity["value"] = {
        "action": {"type": "Action.Execute", "verb": verb, "data": data or {"verb": verb, "v": 1}},
        "trigger": trigger,
    }
    activity["replyToId"] = "1700000000000"
    return activity


def bot_added(who: str, service_url: str, *, scope: str = "personal") -> dict[str, Any]:
    """The ``conversationUpdate`` Teams sends when ``who`` installs the bot."""
    activity = _envelope("conversationUpdate", who, service_url, scope, None)
    activity["membersAdded"] = [{"id": BOT_ID}]
    return activity


@dataclass
class FakeConnector:
    """A local Bot Connector: records what the bot posts, answers like Teams does.

    ``posted`` holds every new message (replies, channel posts, 1:1 messages) with its
    ``_conversation``; ``updated`` every card update; ``created`` every 1:1 conversation opened.
    Set ``fail_status`` (e.g. 500 or 429) to make every request fail until it is set to None.
    """

    posted: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    fail_status: int | None = None
    failures: int = 0
    #: The clock Teams stamps posts with (a test's clock; None: the real one).
    clock: Any = None
    #: Reads of a channel's messages through the Graph route.
    graph_reads: int = 0
    #: Set to make the Graph route fail with this status.
    graph_fail_status: int | None = None
    #: Statuses for the next posts to answer with after taking them (a gateway time-out: the
    #: post is in the channel, the bot is told it failed).
    lose_answers: list[int] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._reply)
        app.router.add_post("/v3/conversations/{cid}/activities", self._reply)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        # Teams' Graph API for reading a channel back (the bot's PostFinder, LOCAL_GRAPH_URL).
        app.router.add_get("/v1.0/teams/{team}/channels/{channel}/messages", self._channel_messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _failing(self) -> web.Response | None:
        if self.fail_status is None:
            return None
        self.failures += 1
        headers = {"Retry-After": "1"} if self.fail_status == 429 else {}
        return web.json_response(
            {"error": {"code": "ServiceError", "message": "injected"}},
            status=self.fail_status,
            headers=headers,
        )

    async def _create(self, request: web.Request) -> web.Response:
        if failed := self._failing():
            return failed
        body = await request.json()
        self.created.append(body)
        return web.json_response({"id": f"a:dm-{body['members'][0]['id']}"})

    async def _reply(self, request: web.Request) -> web.Response:
        if failed := self._failing():
            return failed
        body = await request.json()
        body["_conversation"] = request.match_info["cid"]
        body["_id"] = f"posted-{len(self.posted) + 1}"
        body["_sent"] = (self.clock.now() if self.clock else datetime.now(UTC)).isoformat()
        self.posted.append(body)
        if self.lose_answers:  # Teams took the post, but its answer never arrived
            status = self.lose_answers.pop(0)
            return web.json_response({"error": {"code": "GatewayTimeout"}}, status=status)
        return web.json_response({"id": body["_id"]})

    async def _channel_messages(self, request: web.Request) -> web.Response:
        """Graph's list of channel messages: newest first, ``$top`` to a page, card JSON as a
        string in each attachment's ``content``, as Teams returns a bot's cards."""
        self.graph_reads += 1
        if self.graph_fail_status is not None:
            return web.json_response(
                {"error": {"code": "ServiceNotAvailable", "message": "injected"}},
                status=self.graph_fail_status,
            )
        channel = request.match_info["channel"]
        top = int(request.query.get("$top", "20"))
        skip = int(request.query.get("$skiptoken", "0"))
        posts = [a for a in reversed(self.posted) if a["_conversation"] == channel]
        page = posts[skip : skip + top]
        body: dict[str, Any] = {
            "value": [
                {
                    "id": a["_id"],
                    "messageType": "message",
                    "createdDateTime": a["_sent"],
                    "lastModifiedDateTime": a["_sent"],
                    "attachments": [
                        {
                            "id": str(i),
                            "contentType": attachment.get("contentType"),
                            "content": json.dumps(attachment.get("content")),
                        }
                        for i, attachment in enumerate(a.get("attachments") or [])
                    ],
                }
                for a in page
            ]
        }
        if skip + top < len(posts):
            body["@odata.nextLink"] = str(request.url.update_query({"$skiptoken": str(skip + top)}))
        return web.json_response(body)

    async def _update(self, request: web.Request) -> web.Response:
        if failed := self._failing():
            return failed
        body = await request.json()
        body["_conversation"] = request.match_info["cid"]
        body["_message"] = request.match_info["aid"]
        self.updated.append(body)
        return web.json_response({"id": request.match_info["aid"]})

    def cards(self, conversation: str | None = None) -> list[dict[str, Any]]:
        """Every Adaptive Card posted so far (to ``conversation`` if given), in order."""
        return [
            a["content"]
            for activity in self.posted
            if conversation is None or activity["_conversation"] == conversation
            for a in activity.get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]

    def to(self, conversation: str) -> list[dict[str, Any]]:
        """Every message posted to ``conversation``."""
        return [a for a in self.posted if a["_conversation"] == conversation]

    async def wait_for(self, count: int, timeout: float = 60.0) -> None:
        """Wait until at least ``count`` activities were posted (returns as soon as they are;
        the time-out only ends a test that would otherwise hang, so it is generous)."""
        async with asyncio.timeout(timeout):
            while len(self.posted) < count:
                await asyncio.sleep(0.01)


def dm(person: str) -> str:
    """The 1:1 conversation id the fake connector gives the bot for ``person``."""
    return f"a:dm-{person}"


@cache
def _card_validator() -> jsonschema.Draft6Validator:
    schema = json.loads((ROOT / "tests/schemas/adaptive-card-1.5.json").read_text())
    return jsonschema.Draft6Validator(schema)


def _strip_host_properties(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_host_properties(v) for k, v in value.items() if k != "msteams"}
    if isinstance(value, list):
        return [_strip_host_properties(v) for v in value]
    return value


def assert_valid_card(card: dict[str, Any]) -> None:
    """Fail with every schema error if ``card`` is not a valid Adaptive Card 1.5."""
    errors = sorted(
        _card_validator().iter_errors(_strip_host_properties(copy.deepcopy(card))),
        key=lambda e: list(e.path),
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert card["version"] == "1.5"


def card_texts(card: dict[str, Any]) -> list[str]:
    """Every TextBlock text in a card, in order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("isVisible") is False:  # hidden (the outbox's delivery marker)
                return
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(card.get("body", []))
    return found


def visible_text(card: dict[str, Any]) -> str:
    """What a person reads on a card: every TextBlock and fact, with Markdown escapes removed."""
    return re.sub(r"\\(.)", r"\1", "\n".join(raw_texts(card)))


def raw_texts(card: Any) -> list[str]:
    """Every TextBlock text and fact of a card (anywhere in it), as sent (Markdown escaped)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("isVisible") is False:  # hidden (the outbox's delivery marker)
                return
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            if node.get("type") == "FactSet":
                found.extend(f"{f['title']} {f['value']}" for f in node["facts"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(card)
    return found


def card_buttons(card: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, verb) of every Action.Execute at the card's foot."""
    return [
        (a["title"], a["verb"]) for a in card.get("actions", []) if a["type"] == "Action.Execute"
    ]


def iter_json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file."""
    with path.open() as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


# ----- shared by the end-to-end suites ---------------------------------------------------------

#: A filled-in "Check a video call" form as Teams sends it (every input a string): a lesson
#: with a class, at school, on Monday 23 November 2026 from 10:00 for an hour, not recorded.
CALL_FORM: dict[str, str] = {
    "date": "2026-11-23",
    "start": "10:00",
    "duration": "60",
    "platform": "Microsoft Teams",
    "purpose": "lesson",
    "who": "class",
    "pupils": "",
    "one_to_one": "false",
    "parental_consent": "true",
    "recorded": "false",
    "recording_reason": "",
    "permission": "false",
    "consent": "false",
    "announce": "false",
    "where": "school",
    "nothing_identifying": "false",
    "well_lit": "true",
    "others_in_room": "false",
}


def everything(value: Any) -> str:
    """A card, an activity or stored data as one JSON text, to look for words anywhere in it."""
    return json.dumps(value, ensure_ascii=False)


def button(card: dict[str, Any], verb: str, **match: Any) -> dict[str, Any]:
    """The data of the card's ``verb`` button (at its foot, or inside a show-card) whose data
    hold ``match``."""
    for action in card.get("actions", []):
        for candidate in [action, *action.get("card", {}).get("actions", [])]:
            data = candidate.get("data", {})
            if candidate.get("verb") == verb and all(data.get(k) == v for k, v in match.items()):
                return dict(data)
    raise AssertionError(f"no {verb} button with {match}")


async def click_button(
    h: Any, who: str, card: dict[str, Any], verb: str, *, channel: str = "", **inputs: Any
) -> dict[str, Any]:
    """``who`` clicks the ``verb`` button of ``card`` (in ``channel``, or else in a private
    chat) with ``inputs`` filled in; returns the card Teams then shows them.

    ``h`` is the test's ``Harness`` (``tests.conftest``).
    """
    where = {"scope": "channel", "conversation_id": channel} if channel else {}
    return dict(await h.click(who, verb, {**button(card, verb), **inputs}, **where))


def close_form(category: str, **overrides: str) -> dict[str, str]:
    """A complete close form (issue 20, "Closing safely"): an outcome from the default list, a
    reason, the reporter's message and every checklist item of ``category`` answered "done";
    ``overrides`` by field id (``item_<action>``, ``item_<action>_reason``, ``outcome``…)."""
    from policy.concerns import checklist

    return {
        "outcome": "monitoring",
        "reason": "Agreed with parents; form tutor keeping an eye on it",
        "message": "Thank you: this has been dealt with.",
        **{f"item_{a}": "done" for a in checklist(category)},
        **overrides,
    }
