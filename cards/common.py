"""Building blocks shared by every card: the card envelope, safe text and action payloads.

Cards are built from the typed models of ``microsoft-teams-cards`` and serialised to plain JSON
dicts; tests validate every card against the official Adaptive Cards 1.5 schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from microsoft_teams.cards import (
    Action,
    AdaptiveCard,
    CardElement,
    ExecuteAction,
    Fact,
    FactSet,
    TextBlock,
)

from policy.actions import Verb

CARD_VERSION: Literal["1.5"] = "1.5"
#: Version of the action payload layout; a card carrying another version is stale.
PAYLOAD_VERSION = 1
#: Longest user-entered text a card shows before cutting it.
MAX_SHOWN_TEXT = 500

# Characters that Markdown in TextBlock would act on: escape them so user text stays text.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def safe_text(text: str, *, limit: int = MAX_SHOWN_TEXT) -> str:
    """User or directory text made safe for a TextBlock: Markdown escaped, length capped.

    No link, image or mention can render from it, and a 20 000-character paste cannot swamp a
    card (quality note, I3).
    """
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return _MARKDOWN.sub(r"\\\1", text)


def action_data(verb: Verb, **ids: str | int) -> dict[str, Any]:
    """The data an ``Action.Execute`` carries: the verb, ids and the payload version only.

    Never the record itself: the server reloads by id and re-checks who clicked.
    """
    return {"verb": verb.value, "v": PAYLOAD_VERSION, **ids}


ButtonStyle = Literal["default", "positive", "destructive"]


def execute(
    title: str,
    verb: Verb,
    *,
    style: ButtonStyle | None = None,
    ids: Mapping[str, str | int] | None = None,
    **more: str | int,
) -> ExecuteAction:
    """An ``Action.Execute`` button for ``verb``, carrying ``ids`` (and ``more``) as data."""
    action = ExecuteAction(
        title=title, verb=verb.value, data=action_data(verb, **(ids or {}), **more)
    )
    if style:
        action.style = style
    return action


def heading(text: str) -> TextBlock:
    """A card's title line."""
    return TextBlock(text=text, weight="Bolder", size="Medium", wrap=True)


def para(text: str, *, subtle: bool = False, emphasis: bool = False) -> TextBlock:
    """A wrapped paragraph of our own (trusted) words."""
    block = TextBlock(text=text, wrap=True)
    if subtle:
        block.is_subtle = True
    if emphasis:
        block.weight = "Bolder"
    return block


def card(body: Sequence[CardElement], actions: Sequence[Action] = ()) -> dict[str, Any]:
    """The Adaptive Card JSON for ``body`` and ``actions``."""
    model = AdaptiveCard(version=CARD_VERSION, body=list(body))
    if actions:
        model.actions = list(actions)
    data: dict[str, Any] = model.model_dump(exclude_none=True, by_alias=True)
    data["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json"
    return data


def school_time(at: datetime, zone: ZoneInfo) -> str:
    """A time as people at school read it: ``Mon 23 Nov 2026, 10:05`` in school time."""
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def attention(text: str) -> TextBlock:
    """A problem shown next to the field it is about (red, small)."""
    return TextBlock(text=text, wrap=True, color="Attention", size="Small", spacing="None")


def facts(pairs: Sequence[tuple[str, str]]) -> FactSet:
    """Label/value lines. Values are ours or already passed through ``safe_text``."""
    return FactSet(facts=[Fact(title=title, value=value) for title, value in pairs])
