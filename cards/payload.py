"""What a click's ``Action.Execute`` data says, read once where the click comes in.

``cards.common.action_data`` writes the payload (the verb, the payload version ``v`` and the
ids: never the record); ``ClickIds.parse`` reads it back, typed, into the handler's context
(``dialogs.turns.ActionContext.ids``). The ids only say which item and which card: the server
still reloads the item by ``ref`` and re-checks who clicked, and runs the invoke's verb, never
the one the data claims. What people typed into the card's inputs stays a mapping
(``ActionContext.data``, read with ``dialogs.codec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cards.common import PAYLOAD_VERSION

#: The ids a card's buttons carry (``action_data``'s keys besides ``verb`` and ``v``).
TEXT_IDS = ("ref", "view", "step", "form", "op", "meeting", "check")
#: The ids read as trimmed text (as ``dialogs.codec.text_field`` reads an input); the others
#: exactly as sent.
_TRIMMED = frozenset({"ref", "form"})


class PayloadRefused(ValueError):
    """Click data this code will not act on: another payload version (``old_version``: a card
    from before a change of layout) or an id of the wrong type (forged or damaged). ``why``
    is a fixed phrase naming the field, never its value."""

    def __init__(self, why: str, *, old_version: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.old_version = old_version


@dataclass(frozen=True, slots=True)
class ClickIds:
    """The typed payload of a click: the ids ``action_data`` put on the card."""

    #: The verb the card data claims: never trusted (the server runs the invoke's verb).
    claimed_verb: str = ""
    #: The payload layout (``PAYLOAD_VERSION``; a card without one is the current layout).
    version: int = PAYLOAD_VERSION
    #: The item the card is about (its reference), "" when it names none.
    ref: str = ""
    #: The item's record version the card was drawn from (None: the card does not say).
    ver: int | None = None
    #: "detail" or "summary": which view of the item the button asks for.
    view: str = ""
    #: A multi-step form's step.
    step: str = ""
    #: A form's id (its submit is saved once per sender and form).
    form: str = ""
    #: An operation on a list ("add", "remove").
    op: str = ""
    #: A calendar meeting's id.
    meeting: str = ""
    #: A video-call check's id.
    check: str = ""

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> ClickIds:
        """Read a click's data: ``PayloadRefused`` for another payload version or an id that
        is not what a card would have sent (text ids as text, ``ver`` a whole number)."""
        if data.get("v", PAYLOAD_VERSION) != PAYLOAD_VERSION:
            raise PayloadRefused("card version not supported", old_version=True)
        texts: dict[str, str] = {}
        for key in ("verb", *TEXT_IDS):
            value = data.get(key)
            if value is None:
                texts[key] = ""
            elif isinstance(value, str):
                texts[key] = value.strip() if key in _TRIMMED else value
            else:
                raise PayloadRefused(f"card data not valid ({key})")
        ver = data.get("ver")
        if ver is not None and (isinstance(ver, bool) or not isinstance(ver, int)):
            raise PayloadRefused("card data not valid (ver)")
        return cls(
            claimed_verb=texts.pop("verb"),
            version=PAYLOAD_VERSION,
            ver=ver,
            **texts,
        )
