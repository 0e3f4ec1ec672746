"""The turn context types every use case shares: where a conversation is (``Scope``), an
incoming activity without Teams (``Turn``), what a handler gets (``ActionContext``) and gives
back (``Reply``). A leaf, so ``dialogs.feature`` can name them without importing
``dialogs.router`` (which re-exports them: features import them from either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cards.payload import ClickIds
from policy.actions import Verb
from policy.roles import Person


class Scope(StrEnum):
    """Where the conversation is (Teams ``conversation.conversationType``)."""

    PERSONAL = "personal"
    GROUP_CHAT = "groupChat"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class Turn:
    """What the use cases need to know about an incoming activity, and nothing of Teams."""

    actor_id: str | None
    scope: Scope
    activity_id: str | None = None
    conversation_id: str = ""
    #: Teams refreshing a card by itself (``trigger: automatic``): never a decision by a person.
    automatic: bool = False


def channel_id_of(conversation_id: str) -> str:
    """The channel a channel conversation belongs to (Teams adds ``;messageid=…`` for the
    thread a card sits in)."""
    return conversation_id.split(";", 1)[0]


@dataclass(frozen=True, slots=True)
class Reply:
    """Something to send back: an Adaptive Card (JSON) and/or plain text."""

    card: Mapping[str, Any] | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What a verb handler gets: who (already authorised), where, the click's data, and the
    verb the server is running (its own, never the ``verb`` the card data claims).

    ``ids`` is the data's payload (the item's ``ref``, the card's ``ver``, ``view``…), read
    once, typed, when the context is made (again if ``data`` is replaced): making one from
    data no card would send raises ``PayloadRefused``. What people typed into the card's
    inputs is read from ``data`` (``dialogs.codec``)."""

    person: Person
    turn: Turn
    data: Mapping[str, Any] = field(default_factory=dict)
    verb: Verb | None = None
    ids: ClickIds = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", ClickIds.parse(self.data))
