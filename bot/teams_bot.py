"""The thin Teams handler: activity -> ``Turn`` -> ``Router`` -> replies. No business logic here.

botbuilder 4.17 facts handled here: ``AdaptiveCardInvokeValue`` drops ``trigger``, so the raw
``activity.value`` is read; the invoke response body is a plain dict (a text reply through
``AdaptiveCardInvokeResponse`` fails to serialise).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from copy import copy
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from botbuilder.core import (
    ActivityHandler,
    CardFactory,
    InvokeResponse,
    MessageFactory,
    TurnContext,
)
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, DeliveryModes

from bot.message_action import INVOKES as MESSAGE_ACTION_INVOKES
from bot.message_action import MessageActionHandler
from bot.undelivered import worth_keeping
from dialogs.router import Reply, Router, Scope, Turn

#: ``keep(incoming activity, unsent replies, reason)``: saves replies to send later.
Keep = Callable[[Activity, Sequence[Activity], str], Awaitable[None]]

log = logging.getLogger(__name__)

CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"


def to_turn(activity: Activity) -> Turn:
    """The parts of a Teams activity the use cases need (ids only)."""
    sender = activity.from_property
    conversation = activity.conversation
    kind = getattr(conversation, "conversation_type", None) or "personal"
    try:
        scope = Scope(kind)
    except ValueError:
        scope = Scope.GROUP_CHAT  # unknown kinds are treated as shared: nothing private shown
    return Turn(
        actor_id=getattr(sender, "aad_object_id", None),
        scope=scope,
        activity_id=activity.id,
        conversation_id=getattr(conversation, "id", "") or "",
    )


def count_files(activity: Activity) -> int:
    """Files or images sent with a message (the message's own HTML body is not a file)."""
    attachments = activity.attachments if isinstance(activity.attachments, list) else []
    count = 0
    for attachment in attachments:
        raw_type = getattr(attachment, "content_type", None)
        content_type = raw_type.lower() if isinstance(raw_type, str) else ""
        if content_type == "text/html":
            if "<img" in str(getattr(attachment, "content", "") or "").lower():
                count += 1
        elif not content_type.startswith("application/vnd.microsoft.card."):
            count += 1  # anything else, even malformed, is treated as a file: never opened
    return count


def to_activity(reply: Reply) -> Activity:
    """A message activity for a reply."""
    if reply.card is not None:
        activity = MessageFactory.attachment(CardFactory.adaptive_card(dict(reply.card)))
        if reply.text:
            activity.text = reply.text
        return activity
    return MessageFactory.text(reply.text or "")


def invoke_body(reply: Reply) -> dict[str, Any]:
    """The Universal Actions invoke response body for a reply."""
    if reply.card is not None:
        return {"statusCode": 200, "type": CARD_RESPONSE, "value": dict(reply.card)}
    return {"statusCode": 200, "type": MESSAGE_RESPONSE, "value": reply.text or ""}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _direct(turn_context: TurnContext) -> bool:
    """Whether this turn's answers may skip ``TurnContext.send_activities``: no send handler
    is registered (the app registers none) and the sender did not ask for its replies
    buffered (``expectReplies``, which Teams never sends)."""
    return (
        not turn_context._on_send_activities
        and turn_context.activity.delivery_mode != DeliveryModes.expect_replies
    )


async def send_reply(turn_context: TurnContext, activity: Activity) -> None:
    """``turn_context.send_activity(activity)`` less its deep copy of the reply (its card,
    ~250 ``deepcopy`` calls a welcome): the reply is addressed on a shallow copy, as botbuilder
    addresses its deep one (``activity`` itself is left as it was), and handed to the adapter.
    """
    if not _direct(turn_context):
        await turn_context.send_activity(activity)
        return
    out = TurnContext.apply_conversation_reference(
        copy(activity), TurnContext.get_conversation_reference(turn_context.activity)
    )
    if not out.type:
        out.type = ActivityTypes.message
    if not out.input_hint:
        out.input_hint = "acceptingInput"
    out.id = None
    await turn_context.adapter.send_activities(turn_context, [out])
    if out.type != ActivityTypes.trace:
        turn_context.responded = True


class TeamsBot(ActivityHandler):  # type: ignore[misc]
    """Hands every activity to the use cases and sends back what they answer."""

    def __init__(
        self,
        router: Router,
        *,
        on_activity: Callable[[str | None, str | None], Awaitable[None]] | None = None,
        keep_unsent: Keep | None = None,
        reply_budget: float = 5.0,
        message_actions: MessageActionHandler | None = None,
    ) -> None:
        self._router = router
        self._on_activity = on_activity
        self._keep_unsent = keep_unsent
        self._reply_budget = reply_budget
        self._message_actions = message_actions

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if self._on_activity is not None:
            # Remember where Teams can be reached, for proactive messages later.
            await self._on_activity(activity.service_url, getattr(activity.recipient, "id", None))
        if activity.type == ActivityTypes.invoke and _direct(turn_context):
            # ActivityHandler.on_turn's invoke branch, less send_activity's deep copy of the
            # answer (a whole card): the adapter takes the invoke response from the turn state,
            # where its send_activities would have put it.
            response = await self.on_invoke_activity(turn_context)
            if response and not turn_context.turn_state.get(TurnContext._INVOKE_RESPONSE_KEY):
                turn_context.turn_state[TurnContext._INVOKE_RESPONSE_KEY] = Activity(
                    type=ActivityTypes.invoke_response, value=response
                )
                turn_context.responded = True
            return
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        # In a channel the text starts with "<at>Online Safety</at>": take the mention out.
        text = TurnContext.remove_recipient_mention(activity) or ""
        replies = await self._router.on_message(
            to_turn(activity), text, attachments=count_files(activity)
        )
        await self._send(turn_context, replies)

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        bot_id = getattr(activity.recipient, "id", None)
        if not any(member.id == bot_id for member in members_added or []):
            return  # someone else joined a team the bot is in: say nothing
        await self._send(turn_context, await self._router.on_added(to_turn(activity)))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        if activity.name in MESSAGE_ACTION_INVOKES and self._message_actions is not None:
            # "Report this message" (issue 18): the message action's dialog.
            return await self._message_actions.handle(activity, to_turn(activity))
        if activity.name != "adaptiveCard/action":
            # The app uses Universal Actions only: any other invoke is the sender's mistake.
            return InvokeResponse(
                status=int(HTTPStatus.BAD_REQUEST), body={"error": "unsupported invoke"}
            )
        value = _mapping(activity.value)
        action = _mapping(value.get("action"))
        verb = action.get("verb")
        data = _mapping(action.get("data"))
        # botbuilder's AdaptiveCardInvokeValue drops "trigger": read it from the raw value.
        turn = replace(to_turn(activity), automatic=value.get("trigger") == "automatic")
        reply = await self._router.on_action(turn, verb if isinstance(verb, str) else "", data)
        return InvokeResponse(status=int(HTTPStatus.OK), body=invoke_body(reply))

    async def _send(self, turn_context: TurnContext, replies: list[Reply]) -> None:
        """Send the replies, in order, within ``reply_budget`` seconds; what is not sent by
        then (a slow or hung Connector) or fails in a way worth retrying is kept to be sent
        later, so the turn ends and nobody's reply is lost (issue 22, item 4)."""
        activities = [to_activity(r) for r in replies]
        sent = 0
        try:
            async with asyncio.timeout(self._reply_budget):
                for activity in activities:
                    await send_reply(turn_context, activity)
                    sent += 1
            return
        except Exception as exc:
            if self._keep_unsent is None or not worth_keeping(exc):
                raise
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.__class__.__name__
        await self._keep_unsent(turn_context.activity, activities[sent:], reason)
