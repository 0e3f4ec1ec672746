""" "Report this message": Teams' message-action invokes, translated to the use cases.

The manifest's compose extension has one action command, ``reportMessage``, in the ``message``
context (the "…" menu of any message in a chat or channel). Teams then sends:

- ``composeExtension/fetchTask`` with the message (``messagePayload``): answered with a dialog
  (``task: continue``) holding the first card (``MessageActions.fetch``).
- ``composeExtension/submitAction`` for each ``Action.Submit`` in the dialog, with the button's
  data and the inputs: run as the same verb as a click in the private chat
  (``MessageActions.submit``); the answer is the next card in the same dialog (a form with its
  problems marked, or the confirmation). A report made this way is also confirmed in the
  reporter's private chat.

Dialogs do not run ``Action.Execute``, so our cards' buttons become ``Action.Submit`` carrying
the same data (the verb included). The message's pictures and files are counted, never fetched.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any

from botbuilder.core import InvokeResponse
from botbuilder.schema import Activity

from dialogs.message_action import MessageActions, ReportedMessage
from dialogs.router import Reply, Turn

log = logging.getLogger(__name__)

FETCH_TASK = "composeExtension/fetchTask"
SUBMIT_ACTION = "composeExtension/submitAction"
INVOKES = frozenset({FETCH_TASK, SUBMIT_ACTION})
#: The manifest's command id (manifest/template.json).
COMMAND_ID = "reportMessage"
CARD = "application/vnd.microsoft.card.adaptive"
STAFF_TITLE = "Report an online-safety concern"
PUPIL_TITLE = "Tell a trusted adult about this message"
#: Said in the dialog when the full confirmation also went to the private chat.
COPY_SENT = "You'll find the details in your private chat with me."
#: The longest message text read (Teams allows about 28 KB; the form holds less).
READ_LIMIT = 20_000

Confirm = Callable[[str, Mapping[str, Any]], Awaitable[None]]


class _Text(HTMLParser):
    """A Teams message body (HTML) as plain text; images are counted, never fetched."""

    _BREAKS = frozenset({"br", "p", "div", "li", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def reported_message(payload: Mapping[str, Any]) -> ReportedMessage:
    """The message a message action was used on, from Teams' ``messagePayload``."""
    body = _mapping(payload.get("body"))
    content = str(body.get("content") or "")[: READ_LIMIT * 2]
    if str(body.get("contentType") or "").lower() == "html":
        parser = _Text()
        parser.feed(content)
        parser.close()
        raw, images = "".join(parser.parts), parser.images
    else:
        raw, images = content, 0
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    text = "\n".join(line for line in lines if line)[:READ_LIMIT]
    attachments = payload.get("attachments")
    files = images + sum(
        1
        for a in (attachments if isinstance(attachments, list) else [])
        if not str(_mapping(a).get("contentType") or "").startswith(
            "application/vnd.microsoft.card."
        )
    )  # a card the message shows is not a file; anything else (even malformed) counts as one
    user = _mapping(_mapping(payload.get("from")).get("user"))
    sent_at: datetime | None = None
    try:
        sent_at = datetime.fromisoformat(str(payload.get("createdDateTime") or ""))
        if sent_at.tzinfo is None:
            sent_at = None
    except ValueError:
        sent_at = None
    link = payload.get("linkToMessage")
    return ReportedMessage(
        text=text,
        author_id=str(user["id"]) if isinstance(user.get("id"), str) else None,
        author_name=str(user.get("displayName") or ""),
        sent_at=sent_at,
        link=link if isinstance(link, str) and link.startswith("https://") else "",
        files=files,
    )


def as_dialog_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """``card`` for a dialog: each ``Action.Execute`` becomes an ``Action.Submit`` with the same
    data (its verb included)."""

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                submit = {
                    k: convert(v) for k, v in node.items() if k not in {"type", "verb", "data"}
                }
                submit["type"] = "Action.Submit"
                submit["data"] = {**_mapping(node.get("data")), "verb": node.get("verb")}
                return submit
            return {k: convert(v) for k, v in node.items()}
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    converted: dict[str, Any] = convert(copy.deepcopy(dict(card)))
    return converted


def confirmation(card: Mapping[str, Any]) -> str:
    """The first two lines of a confirmation card, as one line ("Received: OSC-2026-0001. Your
    report about cyberbullying has been saved and sent.")."""
    body = card.get("body")
    lines = [
        str(block["text"]).rstrip(".")
        for block in (body if isinstance(body, list) else [])
        if isinstance(block, Mapping) and block.get("type") == "TextBlock" and block.get("text")
    ][:2]
    return ". ".join(lines) + "." if lines else "Sent."


def task_body(reply: Reply, title: str) -> dict[str, Any]:
    """The invoke answer showing ``reply`` in the dialog."""
    if reply.card is None:
        return {"task": {"type": "message", "value": reply.text or ""}}
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": title,
                "height": "large",
                "width": "medium",
                "card": {"contentType": CARD, "content": as_dialog_card(reply.card)},
            },
        }
    }


class MessageActionHandler:
    """Answers the message action's invokes (see the module docstring)."""

    def __init__(self, actions: MessageActions, *, confirm: Confirm | None = None) -> None:
        self._actions = actions
        self._confirm = confirm

    async def handle(self, activity: Activity, turn: Turn) -> InvokeResponse:
        value = _mapping(activity.value)
        if value.get("commandId") not in (COMMAND_ID, None):
            return InvokeResponse(
                status=int(HTTPStatus.BAD_REQUEST), body={"error": "unknown command"}
            )
        if activity.name == FETCH_TASK:
            message = reported_message(_mapping(value.get("messagePayload")))
            reply, pupil = await self._actions.fetch(turn, message)
            return self._ok(reply, PUPIL_TITLE if pupil else STAFF_TITLE)
        data = _mapping(value.get("data"))
        reply, made = await self._actions.submit(turn, data)
        pupil = str(data.get("verb", "")).startswith("worry.")
        if not made or reply.card is None:
            return self._ok(reply, PUPIL_TITLE if pupil else STAFF_TITLE)
        # Made: the dialog closes on a short confirmation; the full one (with its buttons) goes
        # to the reporter's private chat, where its buttons work.
        said = confirmation(reply.card)
        if self._confirm is not None and turn.actor_id:
            try:
                await self._confirm(turn.actor_id, reply.card)
                said += " " + COPY_SENT
            except Exception:  # noqa: BLE001 - the report is saved and confirmed; the copy is extra
                log.warning("the 1:1 copy of a message-action confirmation was not delivered")
        return InvokeResponse(
            status=int(HTTPStatus.OK), body={"task": {"type": "message", "value": said}}
        )

    @staticmethod
    def _ok(reply: Reply, title: str) -> InvokeResponse:
        return InvokeResponse(status=int(HTTPStatus.OK), body=task_body(reply, title))
