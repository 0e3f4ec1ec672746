"""Building blocks shared by every card: the card envelope, safe text and action payloads.

Cards are built from the typed models of ``microsoft-teams-cards`` and serialised to plain JSON
dicts; tests validate every card against the official Adaptive Cards 1.5 schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from microsoft_teams.cards import (
    Action,
    AdaptiveCard,
    CardElement,
    Choice,
    ChoiceSetInput,
    DateInput,
    ExecuteAction,
    Fact,
    FactSet,
    NumberInput,
    ShowCardAction,
    TextBlock,
    TextInput,
    TimeInput,
    ToggleInput,
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


def menu_button(title: str = "Back to the menu", *, send_inputs: bool = True) -> ExecuteAction:
    """The button back to the menu; with ``send_inputs=False`` the click neither checks nor
    sends the card's inputs (leaving a half-filled form)."""
    back = execute(title, Verb.MENU)
    if not send_inputs:
        back.associated_inputs = "none"
    return back


def show_card(title: str, body: Sequence[CardElement], *actions: Action) -> ShowCardAction:
    """An ``Action.ShowCard``: ``title`` opens a card of ``body`` (its inputs) and ``actions``.

    The inputs sit in the show-card, so each button sends only its own fields.
    """
    inner = AdaptiveCard(body=list(body))
    if actions:
        inner.actions = list(actions)
    return ShowCardAction(title=title, card=inner)


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


def school_day(day: date) -> str:
    """A day as every card writes it: ``Sun 6 Dec 2026`` (the one date style of the bot)."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def school_time(at: datetime, zone: ZoneInfo) -> str:
    """A time as people at school read it: ``Mon 23 Nov 2026, 10:05`` in school time."""
    local = at.astimezone(zone)
    return f"{school_day(local.date())}, {local:%H:%M}"


def day_given(text: str | None, *, missing: str = "Not given") -> str:
    """A date someone entered (stored as ``YYYY-MM-DD``) in the card style, ``missing`` when
    there is none; anything else is shown as typed, made safe."""
    if not text:
        return missing
    try:
        return school_day(date.fromisoformat(text))
    except ValueError:
        return safe_text(text, limit=40)


def attention(text: str) -> TextBlock:
    """A problem shown next to the field it is about (red, small)."""
    return TextBlock(text=text, wrap=True, color="Attention", size="Small", spacing="None")


def facts(pairs: Sequence[tuple[str, str]]) -> FactSet:
    """Label/value lines. Values are ours or already passed through ``safe_text``."""
    return FactSet(facts=[Fact(title=title, value=value) for title, value in pairs])


def labelled_text(label: str, text: str, *, limit: int) -> list[TextBlock]:
    """Someone's words under a bold label of ours: ``text`` made safe and cut at ``limit``."""
    return [para(label, emphasis=True), para(safe_text(text, limit=limit))]


def item_head(
    title: str, summary: Sequence[tuple[str, str]], *, note: str | None = None
) -> list[CardElement]:
    """The top of an item's card in a channel: why it was posted again (``note``, when it
    was, in grey), its title and its summary facts."""
    head: list[CardElement] = [para(note, subtle=True)] if note else []
    return [*head, heading(title), facts(summary)]


def required_choice(
    values: Mapping[str, str],
    field_id: str,
    label: str,
    choices: Sequence[Choice],
    *,
    error: str,
    style: Literal["compact", "expanded"] = "expanded",
) -> ChoiceSetInput:
    """A choice a form needs (``error`` when none is made), showing the value sent, if any."""
    return ChoiceSetInput(
        id=field_id,
        label=label,
        style=style,
        is_required=True,
        error_message=error,
        choices=list(choices),
        value=values.get(field_id) or None,
    )


#: The inputs a form is made of.
FormInput = ChoiceSetInput | DateInput | NumberInput | TextInput | TimeInput | ToggleInput


def check_fields(problems: Mapping[str, str], *, nothing: str = "sent") -> list[CardElement]:
    """The line above a form sent back with ``problems`` (nothing when there are none): the
    fields to check, and that nothing has been ``nothing`` ("sent", "saved") yet."""
    if not problems:
        return []
    return [attention(f"Please check the fields marked below. Nothing has been {nothing} yet.")]


def date_box(values: Mapping[str, str], field_id: str, label: str, *, error: str) -> DateInput:
    """A date a form needs (``error`` when none is given), showing the value sent, if any."""
    return _needed(DateInput, values, field_id, label, error)


def time_box(values: Mapping[str, str], field_id: str, label: str, *, error: str) -> TimeInput:
    """A time a form needs (``error`` when none is given), showing the value sent, if any."""
    return _needed(TimeInput, values, field_id, label, error)


_DateOrTime = TypeVar("_DateOrTime", DateInput, TimeInput)


def _needed(
    kind: type[_DateOrTime], values: Mapping[str, str], field_id: str, label: str, error: str
) -> _DateOrTime:
    """A required ``kind`` of input showing the value sent, if any."""
    return kind(
        id=field_id,
        label=label,
        is_required=True,
        error_message=error,
        value=values.get(field_id) or None,
    )


def with_problems(inputs: Sequence[FormInput], problems: Mapping[str, str]) -> list[CardElement]:
    """A form's inputs, each followed (in red) by what is wrong with it: ``problems`` by input
    id; an empty problem shows nothing."""
    shown: list[CardElement] = []
    for element in inputs:
        shown.append(element)
        if problem := problems.get(element.id or ""):
            shown.append(attention(problem))
    return shown


def note_box(label: str, limit: int, *, field_id: str = "note") -> TextInput:
    """A multi-line box for a note (a reason, a question, an answer) of at most ``limit``."""
    return TextInput(id=field_id, label=label, is_multiline=True, max_length=limit)


def entered_box(
    values: Mapping[str, str],
    field_id: str,
    label: str,
    *,
    limit: int,
    error: str | None = None,
    placeholder: str | None = None,
    multiline: bool = False,
) -> TextInput:
    """A form's ``text_box`` showing what was entered in it (``values`` by input id), if any."""
    return text_box(
        field_id,
        label,
        limit=limit,
        value=values.get(field_id) or None,
        error=error,
        placeholder=placeholder,
        multiline=multiline,
    )


def text_box(
    field_id: str,
    label: str,
    *,
    limit: int,
    value: str | None = None,
    error: str | None = None,
    placeholder: str | None = None,
    multiline: bool = False,
) -> TextInput:
    """A form's text input showing ``value``; required when it has an ``error`` message."""
    return TextInput(
        id=field_id,
        label=label,
        is_multiline=True if multiline else None,
        is_required=True if error else None,
        error_message=error,
        placeholder=placeholder,
        max_length=limit,
        value=value,
    )
