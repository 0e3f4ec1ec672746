"""Video-call cards: the "Check a video call" form, the verdict, quick rule answers and the
Deputy Head (Academic)'s list of withdrawn pupils (000 §6, §8, §10; 001 §2.4).

Input ids are defined here (``Field``) and read by ``dialogs.video_call``. Values put back into
inputs are capped but not escaped (escaping would change them when sent again); everything shown
in a TextBlock that a person typed goes through ``safe_text``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from microsoft_teams.cards import (
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    DateInput,
    Fact,
    FactSet,
    NumberInput,
    TextBlock,
    TextInput,
    TimeInput,
    ToggleInput,
)

from cards.common import card, execute, heading, para, safe_text
from policy.actions import Verb
from policy.school import SchoolPolicy
from policy.video_calls import (
    DEPUTY_HEAD,
    Audience,
    CallPlan,
    CallVerdict,
    Location,
    Outcome,
    Verdict,
    day_text,
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

Color = Literal["Good", "Warning", "Attention"]

#: How each outcome is shown: symbol, words and colour.
OUTCOME_STYLE: dict[Outcome, tuple[str, str, Color]] = {
    Outcome.PASS: ("✅", "Pass", "Good"),
    Outcome.NEEDS_ACTION: ("⚠️", "Needs action", "Warning"),
    Outcome.NOT_ALLOWED: ("⛔", "Not allowed", "Attention"),
}
VERDICT_HEADING: dict[Verdict, tuple[str, Color]] = {
    Verdict.ALLOWED: ("✅ Allowed", "Good"),
    Verdict.ALLOWED_ONCE: ("⚠️ Allowed once you:", "Warning"),
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


def call_check_form(
    school: SchoolPolicy,
    *,
    values: Mapping[str, Any] | None = None,
    problems: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The "Check a video call" form (000 §6, §8, §10; 001 §2.4).

    Args:
        school: Gives the approved platforms and the hours shown as hints.
        values: What the person entered before (re-shown after bad input), by ``Field`` id.
        problems: Field id -> what is wrong; each is shown in red under its field.

    Returns:
        The Adaptive Card; its Submit button runs ``Verb.CALL_SUBMIT`` with every input.
    """
    values = values or {}
    problems = problems or {}
    calls = school.video_calls
    platforms = list(calls.approved_platforms)
    body: list[CardElement] = [
        heading("Check a video call"),
        para(
            "Tell me about the call you are planning, in school time (UK). I'll check it "
            "against the school's rules and tell you what to do.",
            subtle=True,
        ),
    ]
    if problems:
        body.append(
            TextBlock(text="Please fix the items marked in red.", color="Attention", wrap=True)
        )

    def add(element: CardElement, field_id: str) -> None:
        body.append(element)
        if field_id in problems:
            body.append(_problem(problems[field_id]))

    date_value = _text(values, Field.DATE, 10)
    add(
        DateInput(
            id=Field.DATE,
            label="Date of the call",
            is_required=True,
            error_message="Choose the date of the call.",
            value=date_value if _DATE.match(date_value) else None,
        ),
        Field.DATE,
    )
    start_value = _text(values, Field.START, 5)
    add(
        TimeInput(
            id=Field.START,
            label="Start time (school time)",
            is_required=True,
            error_message="Choose the start time.",
            value=start_value if _TIME.match(start_value) else None,
        ),
        Field.START,
    )
    minutes = _number(values, Field.DURATION) if Field.DURATION in values else 60.0
    add(
        NumberInput(
            id=Field.DURATION,
            label=f"Length in minutes ({MIN_MINUTES}–{MAX_MINUTES})",
            is_required=True,
            error_message=f"Enter a length between {MIN_MINUTES} and {MAX_MINUTES} minutes.",
            min=MIN_MINUTES,
            max=MAX_MINUTES,
            value=minutes,
        ),
        Field.DURATION,
    )
    add(
        ChoiceSetInput(
            id=Field.PLATFORM,
            label="Platform",
            is_required=True,
            error_message="Choose the platform.",
            style="compact",
            choices=[Choice(title=p, value=p) for p in platforms]
            + [Choice(title="Other", value=OTHER_PLATFORM)],
            value=_choice(values, Field.PLATFORM, [*platforms, OTHER_PLATFORM], platforms[0]),
        ),
        Field.PLATFORM,
    )
    add(
        ChoiceSetInput(
            id=Field.PURPOSE,
            label="What is the call for?",
            style="expanded",
            choices=[Choice(title=t, value=v) for v, t in PURPOSE_CHOICES],
            value=_choice(values, Field.PURPOSE, [v for v, _ in PURPOSE_CHOICES], Purpose.LESSON),
        ),
        Field.PURPOSE,
    )
    add(
        ChoiceSetInput(
            id=Field.WHO,
            label="Who is it with?",
            style="expanded",
            choices=[Choice(title=t, value=v) for v, t in WHO_CHOICES],
            value=_choice(values, Field.WHO, [v for v, _ in WHO_CHOICES], Audience.CLASS.value),
        ),
        Field.WHO,
    )
    add(
        TextInput(
            id=Field.PUPILS,
            label="Pupils' names, separated by commas (for named pupils or a 1:1)",
            max_length=MAX_NAMES_LENGTH,
            value=_text(values, Field.PUPILS, MAX_NAMES_LENGTH) or None,
        ),
        Field.PUPILS,
    )
    add(
        ToggleInput(
            id=Field.ONE_TO_ONE,
            title="It is a 1:1 call with a pupil",
            wrap=True,
            value=_toggle(values, Field.ONE_TO_ONE),
        ),
        Field.ONE_TO_ONE,
    )
    add(
        ToggleInput(
            id=Field.PARENTAL_CONSENT,
            title="Parents or carers have agreed to their children taking part",
            wrap=True,
            value=_toggle(values, Field.PARENTAL_CONSENT),
        ),
        Field.PARENTAL_CONSENT,
    )
    body.append(_subheading("Recording"))
    add(
        ToggleInput(
            id=Field.RECORDED,
            title="The call will be recorded",
            wrap=True,
            value=_toggle(values, Field.RECORDED),
        ),
        Field.RECORDED,
    )
    add(
        TextInput(
            id=Field.RECORDING_REASON,
            label="Why it will be recorded",
            max_length=MAX_REASON_LENGTH,
            value=_text(values, Field.RECORDING_REASON, MAX_REASON_LENGTH) or None,
        ),
        Field.RECORDING_REASON,
    )
    for field_id, title in (
        (Field.PERMISSION, f"The {DEPUTY_HEAD} has already given permission to record"),
        (Field.CONSENT, "Everyone taking part has given written permission to record"),
        (Field.ANNOUNCE, "I'll tell everyone at the start that it is recorded"),
    ):
        add(
            ToggleInput(id=field_id, title=title, wrap=True, value=_toggle(values, field_id)),
            field_id,
        )
    body.append(_subheading("Where you'll be"))
    add(
        ChoiceSetInput(
            id=Field.WHERE,
            label="Where will you be?",
            style="expanded",
            choices=[Choice(title=t, value=v) for v, t in WHERE_CHOICES],
            value=_choice(values, Field.WHERE, [v for v, _ in WHERE_CHOICES], "school"),
        ),
        Field.WHERE,
    )
    for field_id, title in (
        (Field.NOTHING_IDENTIFYING, "Nothing in view identifies my home or where it is"),
        (Field.WELL_LIT, "The room is well lit"),
        (Field.OTHERS_IN_ROOM, "Someone else from my household will be in the room"),
    ):
        add(
            ToggleInput(id=field_id, title=title, wrap=True, value=_toggle(values, field_id)),
            field_id,
        )
    back = execute("Back to the menu", Verb.MENU)
    back.associated_inputs = "none"
    return card(body, [execute("Check this call", Verb.CALL_SUBMIT, style="positive"), back])


def _when(plan: CallPlan, school: SchoolPolicy) -> str:
    start = plan.start.astimezone(school.zone)
    end = plan.end.astimezone(school.zone)
    return f"{day_text(start.date())}, {start:%H:%M}–{end:%H:%M} (school time)"


_WHO_TEXT: dict[Audience, str] = {
    Audience.CLASS: "A class",
    Audience.NAMED_PUPILS: "Named pupils",
    Audience.STAFF_ONLY: "Staff only",
}


def _rule_line(result_outcome: Outcome, title: str, clause: str) -> TextBlock:
    symbol, words, color = OUTCOME_STYLE[result_outcome]
    return TextBlock(
        text=f"{symbol} {words}: {title} ({clause})", weight="Bolder", color=color, wrap=True
    )


def call_verdict_card(verdict: CallVerdict, plan: CallPlan, school: SchoolPolicy) -> dict[str, Any]:
    """The answer to "Check a video call": the overall verdict, then every rule.

    The heading says Allowed, Allowed once you … (followed by what to do) or Not allowed (with
    why); then each rule shows Pass / Needs action / Not allowed, its reason and its clause.
    """
    title, color = VERDICT_HEADING[verdict.verdict]
    headline = heading(title)
    headline.color = color
    who = _WHO_TEXT[plan.audience]
    if plan.one_to_one_with_pupil:
        who += " (1:1)"
    body: list[CardElement] = [
        headline,
        FactSet(
            facts=[
                Fact(title="When", value=_when(plan, school)),
                Fact(title="Platform", value=safe_text(plan.platform, limit=100)),
                Fact(title="With", value=who),
                Fact(title="Recorded", value="Yes" if plan.recording else "No"),
            ]
        ),
    ]
    if verdict.verdict is Verdict.NOT_ALLOWED:
        body.append(_subheading("Why not"))
        body += [para(f"⛔ {safe_text(r.reason)}") for r in verdict.blockers]
        if verdict.to_do:
            body.append(_subheading("Also to do"))
    if verdict.to_do:
        body += [para(f"⚠️ {safe_text(r.reason)}") for r in verdict.to_do]
    if verdict.verdict is Verdict.ALLOWED:
        body.append(para("Everything checks out against the school's rules."))
    body.append(_subheading("Every rule"))
    for result in verdict.results:
        body.append(
            Container(
                spacing="Small",
                items=[
                    _rule_line(result.outcome, result.title, result.clause),
                    TextBlock(text=safe_text(result.reason), wrap=True, spacing="None"),
                ],
            )
        )
    return card(
        body,
        [
            execute("Check another call", Verb.CHECK_VIDEO_CALL),
            execute("Back to the menu", Verb.MENU),
        ],
    )


def rule_answer_card(title: str, text: str) -> dict[str, Any]:
    """A quick answer to a typed question ("can I record a lesson?"): the rule in plain words."""
    return card(
        [
            heading(safe_text(title, limit=120)),
            TextBlock(text=safe_text(text, limit=2000), wrap=True),
        ],
        [
            execute("Check a video call", Verb.CHECK_VIDEO_CALL),
            execute("Back to the menu", Verb.MENU),
        ],
    )


def withdrawn_pupils_card(
    pupils: Sequence[str],
    *,
    note: str | None = None,
    problem: str | None = None,
    value: str = "",
) -> dict[str, Any]:
    """The Deputy Head (Academic)'s list of pupils withdrawn from video calls (000 §6).

    Shows the list and a name box with Add and Remove buttons (``Verb.WITHDRAWN_PUPILS`` with
    ``op`` add or remove). Only the Deputy Head (Academic) may run that verb.
    """
    body: list[CardElement] = [
        heading("Pupils withdrawn from video calls"),
        para(
            "Parents have withdrawn these pupils from video-conferencing. A call that names "
            "one of them is not allowed (000 §6).",
            subtle=True,
        ),
    ]
    if note:
        body.append(para(safe_text(note), emphasis=True))
    if pupils:
        body += [
            TextBlock(text=f"• {safe_text(name, limit=MAX_PUPIL_NAME)}", wrap=True, spacing="None")
            for name in pupils
        ]
    else:
        body.append(para("No pupils are on the list."))
    body.append(
        TextInput(
            id=PUPIL_FIELD,
            label="Pupil's full name",
            max_length=MAX_PUPIL_NAME,
            value=value[:MAX_PUPIL_NAME] or None,
        )
    )
    if problem:
        body.append(_problem(problem))
    back = execute("Back to the menu", Verb.MENU)
    back.associated_inputs = "none"
    return card(
        body,
        [
            execute("Add to the list", Verb.WITHDRAWN_PUPILS, op="add"),
            execute("Remove from the list", Verb.WITHDRAWN_PUPILS, op="remove"),
            back,
        ],
    )
