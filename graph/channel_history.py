"""``GraphPostFinder``: reads a channel back through Graph, so a post is never made twice.

The Bot Connector gives a post no idempotency key: if the bot is killed after Teams took a
channel card but before the outbox recorded it, or Teams' answer is lost to a time-out, the
outbox cannot know whether the card is there. Each card the outbox posts carries its outbox
message's id in an unseen element (``bot.messenger.marked_card``); before trying such a post
again the outbox asks this finder, which lists the channel's recent messages
(``GET /teams/{team}/channels/{channel}/messages``, newest change first, 50 to a page) and looks
for that id in their card attachments. The message id Graph gives is the one the Bot Connector
gave, so later card updates go to the post that was found.

Permission: ``ChannelMessage.Read.Group``, a resource-specific (RSC) application permission the
app's manifest asks for; the team's owner grants it by installing the app in the team, for that
team only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_service_client import GraphServiceClient

from dialogs.ports import DeliveryFailed, NotReadYet
from graph.client import warm_up
from graph.errors import GraphCallFailed, GraphProblem, ProblemKind, graph_call

log = logging.getLogger(__name__)

PERMISSION_READ_CHANNEL = "ChannelMessage.Read.Group"
#: Graph's largest page for channel messages.
PAGE_SIZE = 50
#: Pages read at most. Reading stops as soon as the listing is older than the attempt (a few
#: minutes back at most), so this only bounds a channel busier than any school's.
MAX_PAGES = 20
#: Seconds after a post before Graph's listing is trusted to show it.
SETTLE_SECONDS = 10.0
#: How long before an attempt a post it made may be listed as changed (clocks differ between
#: this server and Graph): the listing is read back this far.
MARGIN_SECONDS = 300.0


def channel_of(conversation_id: str) -> str:
    """The Graph channel id of a Bot Framework channel conversation (``19:…@thread.tacv2``,
    without any ``;messageid=`` thread suffix)."""
    return conversation_id.split(";", 1)[0]


def carries(message: Mapping[str, Any], mark: str) -> bool:
    """Whether one of the message's attachments (a card's JSON, as a string) holds ``mark``."""
    attachments = message.get("attachments") or ()
    return any(
        isinstance(a, dict) and isinstance(a.get("content"), str) and mark in a["content"]
        for a in attachments
    )


def changed_at(message: Mapping[str, Any]) -> datetime | None:
    """When the message last changed (else was made), as Graph lists it; None if unreadable."""
    for key in ("lastModifiedDateTime", "createdDateTime"):
        value = message.get(key)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value)
    return None


def _reason(problem: GraphProblem) -> str:
    """Why the channel could not be read, for the log and the outbox."""
    if problem.kind is not ProblemKind.DENIED:
        return problem.explain("read the channel's messages")
    # A resource-specific permission: admin consent in Entra does not grant it, the app's
    # installation in the team does.
    where = f" (HTTP {problem.status}{', ' + problem.code if problem.code else ''})"
    return (
        f"Graph refused to read the channel's messages{where}: the app needs the "
        f"resource-specific permission {PERMISSION_READ_CHANNEL} in the safeguarding team, "
        "granted when the app is installed there (docs/graph-permissions.md)"
    )


class GraphPostFinder:
    """The PostFinder port on Graph's channel messages (see the module docstring)."""

    def __init__(
        self,
        client: GraphServiceClient,
        team_group_id: str,
        *,
        mark_prefix: str,
        settle_seconds: float = SETTLE_SECONDS,
        margin_seconds: float = MARGIN_SECONDS,
        timeout: float = 10.0,
    ) -> None:
        """Set up the finder; nothing is asked until ``find_post``.

        Args:
            client: The process's Graph client.
            team_group_id: The safeguarding team's Microsoft 365 group id.
            mark_prefix: What comes before the marker in a card (``MARKER_PREFIX``).
            settle_seconds: How long after a post its listing is trusted.
            margin_seconds: How far before an attempt the listing is read back (clock skew;
                a local stand-in on this machine's clock needs only a few seconds).
            timeout: The most one whole search may take.
        """
        self._client = client
        self._team = team_group_id
        self._prefix = mark_prefix
        self.settle_seconds = settle_seconds
        self.margin_seconds = margin_seconds
        self._timeout = timeout
        self._warm: asyncio.Future[None] | None = None

    async def prepare(self) -> None:
        """Build the SDK's models now, in a worker thread (at start-up; reads wait for it)."""
        if self._warm is None:
            self._warm = asyncio.ensure_future(asyncio.to_thread(warm_up))
        with contextlib.suppress(Exception):
            await asyncio.shield(self._warm)

    async def _page(self, request: RequestInformation) -> dict[str, Any]:
        """One page of the listing as plain JSON. Only the ids, times and attachments' strings
        are looked at, so the SDK's models are not built: turning a page of 50 card posts into
        them took about 2 s of CPU on the event loop (more than the read's time limit on a busy
        machine, when the card was then posted again)."""
        adapter: Any = self._client.request_adapter

        async def fetch() -> Any:
            return await adapter.send_primitive_async(request, "bytes", {"XXX": ODataError})

        raw = await graph_call(PERMISSION_READ_CHANNEL, fetch)
        try:
            page = json.loads(raw or b"{}")
        except ValueError:
            raise DeliveryFailed("Graph's list of channel messages was not JSON") from None
        return page if isinstance(page, dict) else {}

    def _ready(self) -> None:
        """The SDK's models are built in a worker thread before the first answer is parsed:
        parsing a channel listing first imports about 1,200 model modules, which on the event
        loop would stall every other turn for a second or more (seen after each restart), and
        on a busy machine outlast the read's time limit, so that the card was posted again.

        Raises:
            NotReadYet: they are still being built (started now if not yet): ask again soon.
        """
        if self._warm is None:
            self._warm = asyncio.ensure_future(asyncio.to_thread(warm_up))
        if not self._warm.done():
            raise NotReadYet("getting ready to read the channel back", retry_after=1.0)
        if not self._warm.cancelled() and self._warm.exception() is not None:
            log.warning("could not build the Graph SDK's models in advance; reading anyway")

    async def find_post(self, conversation_id: str, marker: str, since: datetime) -> str | None:
        """The id of the post carrying ``marker`` in the channel, changed since ``since``."""
        mark = f'"{self._prefix}{marker}"'
        messages = (
            self._client.teams.by_team_id(self._team)
            .channels.by_channel_id(channel_of(conversation_id))
            .messages
        )
        config = RequestConfiguration(
            query_parameters=messages.MessagesRequestBuilderGetQueryParameters(top=PAGE_SIZE)
        )
        self._ready()
        try:
            async with asyncio.timeout(self._timeout):
                page = await self._page(messages.to_get_request_information(config))
                for read in range(1, MAX_PAGES + 1):
                    values = [m for m in page.get("value") or () if isinstance(m, dict)]
                    for message in values:
                        if isinstance(message.get("id"), str) and carries(message, mark):
                            return str(message["id"])
                    link = page.get("@odata.nextLink")
                    changed = [changed_at(m) for m in values]
                    if not isinstance(link, str) or any(
                        when is not None and when < since for when in changed
                    ):
                        return None  # the listing has gone back past the attempt
                    if read == MAX_PAGES:
                        break  # never ask for a page that would not be read
                    page = await self._page(messages.with_url(link).to_get_request_information())
        except TimeoutError:
            raise DeliveryFailed("Graph did not answer in time to read the channel") from None
        except GraphCallFailed as failed:
            reason = _reason(failed.problem)
            log.warning("could not read the channel back: %s", reason)
            raise DeliveryFailed(reason, retry_after=failed.problem.retry_after) from None
        return None
