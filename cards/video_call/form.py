"""The video-call forms' shared parts: input ids (``Field``, read by ``dialogs.video_call``),
choices, limits, outcome styles and input builders.

Values put back into inputs are capped but not escaped (escaping would change them when sent
again); everything shown in a TextBlock that a person typed goes through ``safe_text``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from microsoft_teams.cards import (
    Action,
    CardElement,
    Choice,
    ChoiceSetInput,
    DateInput,
    TextBlock,
    TextInput,
    TimeInput,
    ToggleInput,
)

from cards.common import (
    execute,
    menu_button,
    safe_text,
    text_box,
)
from policy.actions import Verb
from policy.video_calls import (
    Audience,
    Location,
    Outcome,
    Verdict,
)


class Field:
    """Input ids of the "Check a video call" form (what ``Action.Execute`` sends back)."""

    DATE = "date"
    START = "start"
    DURATION = "duration"
    PLATFORM = "platform"
    PURPOSE = "purpose"
    WHO = "who"
    PUPILS = "pupils"
    ONE_TO_ONE = "one_to_one"
    PARENTAL_CONSENT = "parental_consent"
    RECORDED = "recorded"
    RECORDING_REASON = "recording_reason"
    PERMISSION = "permission"
    CONSENT = "consent"
    ANNOUNCE = "announce"
    WHERE = "where"
    NOTHING_IDENTIFYING = "nothing_identifying"
    WELL_LIT = "well_lit"
    OTHERS_IN_ROOM = "others_in_room"


FORM_FIELDS: tuple[str, ...] = tuple(
    value for name, value in vars(Field).items() if not name.startswith("_")
)


def form_values(data: Mapping[str, Any]) -> dict[str, str]:
    """The form's answers as sent (text only, each capped), to fill the form in again."""
    return {
        key: value[:2000]
        for key in FORM_FIELDS
        if isinstance(value := data.get(key), str) and value
    }


#: The form's "Other" platform choice (never an approved platform).
OTHER_PLATFORM = "other"
#: Input id of the withdrawn-list card's name box.
PUPIL_FIELD = "pupil"


class Purpose:
    """Values of the "What is the call for?" choice."""

    LESSON = "lesson"
    CONTACT_AT_HOME = "contact"
    PUPIL_TO_PUPIL = "pupils"


PURPOSE_CHOICES: tuple[tuple[str, str], ...] = (
    (Purpose.LESSON, "A lesson or staff meeting"),
    (Purpose.CONTACT_AT_HOME, "Contacting a pupil at home (not a lesson)"),
    (Purpose.PUPIL_TO_PUPIL, "Pupils calling each other"),
)
WHO_CHOICES: tuple[tuple[str, str], ...] = (
    (Audience.CLASS.value, "A class"),
    (Audience.NAMED_PUPILS.value, "Named pupils"),
    (Audience.STAFF_ONLY.value, "Staff only"),
)
WHERE_CHOICES: tuple[tuple[str, str], ...] = (
    (Location.SCHOOL.value, "At school"),
    (Location.HOME.value, "At home, not in a bedroom"),
    (Location.BEDROOM.value, "In a bedroom"),
)

#: Longest text put back into a text input, and the limits the server checks too.
MAX_NAMES_LENGTH = 1000
MAX_REASON_LENGTH = 500
MAX_PUPIL_NAME = 100
MIN_MINUTES = 5
MAX_MINUTES = 480

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")

Color = Literal["Default", "Attention"]

#: How each outcome is shown: symbol, words and colour.
OUTCOME_STYLE: dict[Outcome, tuple[str, str, Color]] = {
    Outcome.PASS: ("✅", "Pass", "Default"),
    Outcome.NEEDS_ACTION: ("⚠️", "Needs action", "Default"),
    Outcome.NOT_ALLOWED: ("⛔", "Not allowed", "Attention"),
}
#: Pale green and yellow text fail AA contrast in Teams' light theme: the symbol and the words
#: carry the meaning, and only "Not allowed" is coloured (red passes).
VERDICT_HEADING: dict[Verdict, tuple[str, Color]] = {
    Verdict.ALLOWED: ("✅ Allowed", "Default"),
    Verdict.ALLOWED_ONCE: ("⚠️ Allowed once you:", "Default"),
    Verdict.NOT_ALLOWED: ("⛔ Not allowed", "Attention"),
}


def _problem(text: str) -> TextBlock:
    """A problem shown in red under its field."""
    return TextBlock(text=safe_text(text), color="Attention", wrap=True, spacing="None")


def _subheading(text: str) -> TextBlock:
    return TextBlock(text=text, weight="Bolder", wrap=True, spacing="Medium")


def _text(values: Mapping[str, Any], key: str, limit: int) -> str:
    value = values.get(key)
    return value[:limit] if isinstance(value, str) else ""


def _choice(values: Mapping[str, Any], key: str, options: Sequence[str], default: str) -> str:
    value = values.get(key)
    return value if isinstance(value, str) and value in options else default


def _toggle(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    return "true" if value is True or (isinstance(value, str) and value == "true") else "false"


def _number(values: Mapping[str, Any], key: str) -> float | None:
    value = values.get(key)
    try:
        number = float(value) if isinstance(value, str | int | float) else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _form_fields(
    body: list[CardElement], problems: Mapping[str, str]
) -> Callable[[CardElement, str], None]:
    """Start a form's inputs: say what to fix (when anything is wrong), then return ``add``,
    which puts an input on the card with its problem in red under it."""
    if problems:
        body.append(
            TextBlock(text="Please fix the items marked in red.", color="Attention", wrap=True)
        )

    def add(element: CardElement, field_id: str) -> None:
        body.append(element)
        if field_id in problems:
            body.append(_problem(problems[field_id]))

    return add


def _date_input(values: Mapping[str, Any], field_id: str, label: str) -> DateInput:
    """A required date picker, showing the value sent only when it is a YYYY-MM-DD date."""
    value = _text(values, field_id, 10)
    return DateInput(
        id=field_id,
        label=label,
        is_required=True,
        error_message="Choose the date of the call.",
        value=value if _DATE.match(value) else None,
    )


def _start_input(values: Mapping[str, Any], field_id: str) -> TimeInput:
    """The required start time (school time), showing the value sent only when it is HH:MM."""
    value = _text(values, field_id, 5)
    return TimeInput(
        id=field_id,
        label="Start time (school time)",
        is_required=True,
        error_message="Choose the start time.",
        value=value if _TIME.match(value) else None,
    )


def _text_input(
    values: Mapping[str, Any],
    field_id: str,
    label: str,
    limit: int,
    *,
    error: str | None = None,
    multiline: bool = False,
) -> TextInput:
    """A text input showing the value sent (capped at ``limit``); required when it has an
    ``error`` message."""
    return text_box(
        field_id,
        label,
        limit=limit,
        value=_text(values, field_id, limit) or None,
        error=error,
        multiline=multiline,
    )


def _pick(
    values: Mapping[str, Any],
    field_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    default: str,
) -> ChoiceSetInput:
    """One of ``choices`` ((value, title) pairs), as radio buttons; ``default`` unless the
    value sent is one of them."""
    return ChoiceSetInput(
        id=field_id,
        label=label,
        style="expanded",
        choices=[Choice(title=t, value=v) for v, t in choices],
        value=_choice(values, field_id, [v for v, _ in choices], default),
    )


def _add_toggles(
    add: Callable[[CardElement, str], None], values: Mapping[str, Any], *toggles: tuple[str, str]
) -> None:
    """Add a yes/no toggle for each (field id, title) of ``toggles``."""
    for field_id, title in toggles:
        add(
            ToggleInput(id=field_id, title=title, wrap=True, value=_toggle(values, field_id)),
            field_id,
        )


def _check_or_menu(*first: Action) -> list[Action]:
    """A card's buttons: ``first``, then "Check a video call" and "Back to the menu"."""
    return [*first, execute("Check a video call", Verb.CHECK_VIDEO_CALL), menu_button()]
