"""``GraphNotifier``: Teams activity-feed alerts through Graph ``sendActivityNotification``.

``POST /users/{id}/teamwork/sendActivityNotification`` puts an alert (the bell) in a person's
Teams activity feed, for urgent items such as a concern nobody has acknowledged. Graph allows
5 of these requests per second per app per tenant; one ``SlidingWindowLimiter`` per process
keeps to that (at most 5 in any window of a little over one second), and a 429 from Graph
pauses it for the ``Retry-After`` Graph gave.

What is sent holds no safeguarding detail: the topic is the caller's title (a reference and a
category at most), the preview is capped at Graph's 150 characters, and the link opens the
chat with the bot, where the reader's role is checked before anything is shown.

The app's manifest must declare the activity type (``activityType``, default ``urgentItem``)
in ``activities.activityTypes``; the app must be installed for the recipient (the safeguarding
team install covers its members).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import quote

from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.key_value_pair import KeyValuePair
from msgraph.generated.models.teamwork_activity_topic import TeamworkActivityTopic
from msgraph.generated.models.teamwork_activity_topic_source import TeamworkActivityTopicSource
from msgraph.generated.users.item.teamwork.send_activity_notification.send_activity_notification_post_request_body import (  # noqa: E501
    SendActivityNotificationPostRequestBody,
)
from msgraph.graph_service_client import GraphServiceClient

from dialogs.ports import DeliveryFailed
from graph.directory import normalise_object_id
from graph.errors import GraphCallFailed, ProblemKind, graph_call

log = logging.getLogger(__name__)

PERMISSION_NOTIFY = "TeamsActivity.Send"
#: Graph's documented limit for sendActivityNotification: 5 requests per second per tenant.
REQUESTS_PER_SECOND = 5
#: Teams shows the first 150 characters of the preview.
PREVIEW_LIMIT = 150
TOPIC_LIMIT = 100


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``period`` seconds; waiters queue in order.

    A sliding window, not a token bucket: a bucket of 5 refilling at 5/s lets 9 or 10 requests
    through in one second (a full bucket, then the refill), which Graph would throttle.
    """

    def __init__(
        self,
        limit: int = REQUESTS_PER_SECOND,
        period: float = 1.2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Set up an empty window.

        Args:
            limit: Acquisitions allowed per window.
            period: The window in seconds (a little over 1 s so that requests arriving at
                Graph, after network jitter, still fall at most 5 to a second).
            monotonic: The clock (seconds).
        """
        if limit < 1 or period <= 0:
            raise ValueError("limit must be at least 1 and period positive")
        self.limit = limit
        self.period = period
        self._now = monotonic
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Let nothing through for ``seconds`` (Graph said ``Retry-After``)."""
        self._paused_until = max(self._paused_until, self._now() + max(0.0, seconds))

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, then count it."""
        async with self._lock:
            while True:
                now = self._now()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                wait = self._paused_until - now
                if len(self._sent) >= self.limit:
                    wait = max(wait, self._sent[0] + self.period - now)
                if wait <= 0:
                    self._sent.append(now)
                    return
                await asyncio.sleep(wait)


def bot_chat_link(bot_app_id: str) -> str:
    """A Teams deep link that opens the 1:1 chat with the bot (``28:`` is the bot prefix)."""
    return "https://teams.microsoft.com/l/chat/0/0?users=" + quote(f"28:{bot_app_id}", safe="")


class GraphNotifier:
    """The Notifier port on Graph's activity feed (see the module docstring)."""

    def __init__(
        self,
        client: GraphServiceClient,
        *,
        bot_app_id: str,
        teams_app_id: str | None = None,
        activity_type: str = "urgentItem",
        limiter: SlidingWindowLimiter | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Set up the notifier; nothing is sent until ``notify``.

        Args:
            client: The process's Graph client.
            bot_app_id: The bot's Microsoft App ID (for the link to its chat).
            teams_app_id: The Teams app's catalog id, to pick the app when several share the
                Entra app id (usually not needed).
            activity_type: The activity type declared in the app manifest.
            limiter: The process's limiter (one per tenant); a new 5-per-second one by default.
            timeout: The longest one notification may take, waiting for the limiter included.
        """
        self._client = client
        self._link = bot_chat_link(bot_app_id)
        self._teams_app_id = teams_app_id
        self._activity_type = activity_type
        self.limiter = limiter or SlidingWindowLimiter()
        self._timeout = timeout

    async def notify(self, person_id: str, *, title: str, preview: str, item_ref: str) -> None:
        """Put an alert in the person's Teams activity feed.

        Raises:
            DeliveryFailed: not delivered (``retry_after`` set when Graph gave one); the caller
                retries through the outbox.
        """
        key = normalise_object_id(person_id)
        if key is None:
            raise DeliveryFailed("not an Entra object id")
        body = SendActivityNotificationPostRequestBody(
            topic=TeamworkActivityTopic(
                source=TeamworkActivityTopicSource.Text,
                value=title[:TOPIC_LIMIT],
                web_url=self._link,
            ),
            activity_type=self._activity_type,
            preview_text=ItemBody(content=preview[:PREVIEW_LIMIT]),
            template_parameters=[
                KeyValuePair(name="title", value=title[:TOPIC_LIMIT]),
                KeyValuePair(name="reference", value=item_ref),
            ],
            teams_app_id=self._teams_app_id,
        )
        send = self._client.users.by_user_id(key).teamwork.send_activity_notification
        try:
            async with asyncio.timeout(self._timeout):
                await self.limiter.acquire()
                await graph_call(PERMISSION_NOTIFY, lambda: send.post(body))
        except TimeoutError:
            raise DeliveryFailed("Graph did not answer in time to send an activity alert") from None
        except GraphCallFailed as failed:
            problem = failed.problem
            if problem.kind is ProblemKind.THROTTLED:
                self.limiter.pause(problem.retry_after if problem.retry_after is not None else 1.0)
            reason = problem.explain("send an activity alert")
            log.warning("activity alert for %s to %s not sent: %s", item_ref, key, reason)
            raise DeliveryFailed(reason, retry_after=problem.retry_after) from None
        log.info("activity alert for %s sent to %s", item_ref, key)
