"""Video-call cards: the "Check a video call" form, the verdict, quick rule answers, the
Deputy Head (Academic)'s list of withdrawn pupils, permission to record, the 1:1 call log and
"Check my next lessons" (000 §6, §8, §10; 001 §2.4).

Input ids are defined here (``Field``) and read by ``dialogs.video_call``. Values put back into
inputs are capped but not escaped (escaping would change them when sent again); everything shown
in a TextBlock that a person typed goes through ``safe_text``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from microsoft_teams.cards import (
    Action,
    ActionSet,
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

from cards.common import (
    card,
    execute,
    facts,
    heading,
    menu_button,
    para,
    safe_text,
    school_time,
    show_card,
    text_box,
)
from policy.actions import Verb
from policy.school import SchoolPolicy
from policy.video_calls import (
    DEPUTY_HEAD,
    MAX_DECISION_REASON,
    Audience,
    CallLog,
    CallPlan,
    CallVerdict,
    Decision,
    Location,
    MeetingCheck,
    Outcome,
    RecordingRequest,
    RequestStatus,
    RuleId,
    Verdict,
    day_text,
    recording_conditions,
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


def call_check_form(
    school: SchoolPolicy,
    *,
    values: Mapping[str, Any] | None = None,
    problems: Mapping[str, str] | None = None,
    meeting_id: str = "",
    note: str | None = None,
) -> dict[str, Any]:
    """The "Check a video call" form (000 §6, §8, §10; 001 §2.4).

    Args:
        school: Gives the approved platforms and the hours shown as hints.
        values: What the person entered before (re-shown after bad input), by ``Field`` id.
        problems: Field id -> what is wrong; each is shown in red under its field.
        meeting_id: The calendar meeting the form was filled from, sent back with the inputs
            (an id only) so that a recording request or call log is linked to the meeting.
        note: A line of our own shown under the heading.

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
    if note:
        body.append(para(note, emphasis=True))
    add = _form_fields(body, problems)
    add(_date_input(values, Field.DATE, "Date of the call"), Field.DATE)
    add(_start_input(values, Field.START), Field.START)
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
        _pick(values, Field.PURPOSE, "What is the call for?", PURPOSE_CHOICES, Purpose.LESSON),
        Field.PURPOSE,
    )
    add(_pick(values, Field.WHO, "Who is it with?", WHO_CHOICES, Audience.CLASS.value), Field.WHO)
    add(
        _text_input(
            values,
            Field.PUPILS,
            "Pupils' names, separated by commas (for named pupils or a 1:1)",
            MAX_NAMES_LENGTH,
        ),
        Field.PUPILS,
    )
    _add_toggles(
        add,
        values,
        (Field.ONE_TO_ONE, "It is a 1:1 call with a pupil"),
        (Field.PARENTAL_CONSENT, "Parents or carers have agreed to their children taking part"),
    )
    body.append(_subheading("Recording"))
    _add_toggles(add, values, (Field.RECORDED, "The call will be recorded"))
    add(
        _text_input(values, Field.RECORDING_REASON, "Why it will be recorded", MAX_REASON_LENGTH),
        Field.RECORDING_REASON,
    )
    _add_toggles(
        add,
        values,
        (Field.PERMISSION, f"The {DEPUTY_HEAD} has already given permission to record"),
        (Field.CONSENT, "Everyone taking part has given written permission to record"),
        (Field.ANNOUNCE, "I'll tell everyone at the start that it is recorded"),
    )
    body.append(_subheading("Where you'll be"))
    add(_pick(values, Field.WHERE, "Where will you be?", WHERE_CHOICES, "school"), Field.WHERE)
    _add_toggles(
        add,
        values,
        (Field.NOTHING_IDENTIFYING, "Nothing in view identifies my home or where it is"),
        (Field.WELL_LIT, "The room is well lit"),
        (Field.OTHERS_IN_ROOM, "Someone else from my household will be in the room"),
    )
    ids: dict[str, str | int] = {"meeting": meeting_id} if meeting_id else {}
    return card(
        body,
        [
            execute("Check this call", Verb.CALL_SUBMIT, style="positive", ids=ids),
            menu_button(send_inputs=False),
        ],
    )


def _span(start: datetime, end: datetime, school: SchoolPolicy) -> str:
    """A call's day and times in school time: "Monday 23 November 2026, 10:00–11:00"."""
    local_start = start.astimezone(school.zone)
    local_end = end.astimezone(school.zone)
    return f"{day_text(local_start.date())}, {local_start:%H:%M}–{local_end:%H:%M} (school time)"


def _when(plan: CallPlan, school: SchoolPolicy) -> str:
    return _span(plan.start, plan.end, school)


_WHO_TEXT: dict[Audience, str] = {
    Audience.CLASS: "A class",
    Audience.NAMED_PUPILS: "Named pupils",
    Audience.STAFF_ONLY: "Staff only",
}


def _rule_line(result_outcome: Outcome, title: str, clause: str) -> TextBlock:
    """A rule's result in words and a symbol (never colour alone), with its clause."""
    symbol, words, _ = OUTCOME_STYLE[result_outcome]
    return TextBlock(text=f"{symbol} {words}: {title} ({clause})", wrap=True, spacing="Small")


def call_verdict_card(
    verdict: CallVerdict,
    plan: CallPlan,
    school: SchoolPolicy,
    *,
    follow_ups: Sequence[str] = (),
    done_by_bot: Sequence[RuleId] = (),
    check_id: str = "",
) -> dict[str, Any]:
    """The answer to "Check a video call", for someone reading it in a hurry.

    It leads with the answer (Allowed, Allowed once you…, Not allowed: a symbol and words, not
    colour alone), then why not and what to do; ``done_by_bot`` are to-dos the bot has already
    done (asking the Deputy Head for permission to record), left out of the list and said
    under "What happens next" (``follow_ups``, our own words). Then the call's facts and the
    rules: any problem shown, the rules that passed folded away behind a button.
    ``check_id`` (the stored check) lets "Check another call" start from this call's answers.
    """
    to_do = [r for r in verdict.to_do if r.rule_id not in done_by_bot]
    title, color = VERDICT_HEADING[verdict.verdict]
    if verdict.verdict is Verdict.ALLOWED_ONCE and not to_do:
        title = "⚠️ Allowed once permission to record is given"
    headline = heading(title)
    headline.color = color
    who = _WHO_TEXT[plan.audience]
    if plan.one_to_one_with_pupil:
        who += " (1:1)"
    body: list[CardElement] = [headline]
    if verdict.verdict is Verdict.NOT_ALLOWED:
        body += [para(f"⛔ {safe_text(r.reason)}") for r in verdict.blockers]
        if to_do:
            body.append(_subheading("Also to do"))
    body += [para(f"⚠️ {safe_text(r.reason)}") for r in to_do]
    if verdict.verdict is Verdict.ALLOWED:
        body.append(para("Everything checks out against the school's rules."))
    if follow_ups:
        body.append(_subheading("What happens next"))
        body += [para(f"➡️ {line}") for line in follow_ups]
    body.append(
        FactSet(
            separator=True,
            facts=[
                Fact(title="When", value=_when(plan, school)),
                Fact(title="Platform", value=safe_text(plan.platform, limit=100)),
                Fact(title="With", value=who),
                Fact(title="Recorded", value="Yes" if plan.recording else "No"),
            ],
        )
    )
    problems = [r for r in verdict.results if r.outcome is not Outcome.PASS]
    passed = [r for r in verdict.results if r.outcome is Outcome.PASS]
    if problems:
        body.append(_subheading("Rules with a problem"))
        body += [_rule_line(r.outcome, r.title, r.clause) for r in problems]
    if passed:
        count = f"{len(passed)} rule{'s' if len(passed) != 1 else ''}"
        # A show-card, not Action.ToggleVisibility: renderers that leave hidden elements out of
        # the page give the toggle an aria-controls pointing at nothing (axe-core: critical).
        folded = show_card(
            f"Show the {count} that passed",
            [
                Container(
                    spacing="Small",
                    items=[
                        _rule_line(r.outcome, r.title, r.clause),
                        TextBlock(
                            text=safe_text(r.reason), wrap=True, spacing="None", is_subtle=True
                        ),
                    ],
                )
                for r in passed
            ],
        )
        body.append(ActionSet(actions=[folded]))
    again = execute(
        "Check another call", Verb.CHECK_VIDEO_CALL, ids={"check": check_id} if check_id else None
    )
    return card(
        body,
        [again, execute("Check my next lessons", Verb.NEXT_LESSONS), menu_button()],
    )


def rule_answer_card(title: str, text: str) -> dict[str, Any]:
    """A quick answer to a typed question ("can I record a lesson?"): the rule in plain words."""
    return card(
        [
            heading(safe_text(title, limit=120)),
            TextBlock(text=safe_text(text, limit=2000), wrap=True),
        ],
        _check_or_menu(),
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
    return card(
        body,
        [
            execute("Add to the list", Verb.WITHDRAWN_PUPILS, op="add"),
            execute("Remove from the list", Verb.WITHDRAWN_PUPILS, op="remove"),
            menu_button(send_inputs=False),
        ],
    )


# ---------------------------------------------------------------------------------------------
# Permission to record (000 §8; 001 §2.4)
# ---------------------------------------------------------------------------------------------

#: Input id of the reason box on the Decline show-card.
DECISION_REASON_FIELD = "reason"


def _audience_text(audience: Audience, pupil_count: int) -> str:
    if audience is Audience.CLASS:
        return "A class"
    if audience is Audience.STAFF_ONLY:
        return "Staff only"
    return f"{pupil_count} named pupil{'s' if pupil_count != 1 else ''}"


def _request_facts(request: RecordingRequest, school: SchoolPolicy) -> list[tuple[str, str]]:
    return [
        ("Reference", request.ref),
        ("Teacher", safe_text(request.requester_name, limit=100)),
        ("When", _span(request.start, request.end, school)),
        ("With", _audience_text(request.audience, request.pupil_count)),
        ("Platform", safe_text(request.platform, limit=100)),
        ("Reason", safe_text(request.reason or "Not given")),
    ]


def _decided_line(request: RecordingRequest, school: SchoolPolicy) -> str:
    words = "Approved" if request.status is RequestStatus.APPROVED else "Declined"
    when = school_time(request.decided_at, school.zone) if request.decided_at else ""
    return f"{words} by {safe_text(request.decided_by_name, limit=100)}, {when}."


def recording_request_card(
    request: RecordingRequest,
    school: SchoolPolicy,
    *,
    version: int,
    note: str | None = None,
    problem: str | None = None,
    decidable: bool = True,
) -> dict[str, Any]:
    """The 1:1 card asking the Deputy Head (Academic) for permission to record (000 §8).

    Shows who, when, with whom and why (no pupil names). While it is pending and ``decidable``
    it has Approve, and Decline in a show-card that asks for the reason; each button carries
    only ``ref``, ``ver`` and ``decision``. Once decided it says who decided and when.
    """
    body: list[CardElement] = []
    if note:
        body.append(para(safe_text(note), subtle=True))
    if problem:
        body.append(_problem(problem))
    body += [
        heading(f"Permission to record a lesson: {request.ref}"),
        para(
            f"{safe_text(request.requester_name, limit=100)} asks for your permission, as "
            f"{DEPUTY_HEAD}, to record an online lesson (000 §8).",
        ),
        facts(_request_facts(request, school)),
    ]
    actions: list[Any] = []
    if request.status is RequestStatus.PENDING:
        body.append(
            para(
                "If you approve, they will be reminded to get everyone's written permission, "
                "give the reason, say at the start that it is recorded and store the recording "
                "securely (001 §2.4).",
                subtle=True,
            )
        )
        if decidable:
            ids: dict[str, str | int] = {"ref": request.ref, "ver": version}
            approve = execute(
                "Approve",
                Verb.RECORDING_DECIDE,
                style="positive",
                ids=ids,
                decision=Decision.APPROVE.value,
            )
            approve.associated_inputs = "none"
            decline = show_card(
                "Decline",
                [
                    TextInput(
                        id=DECISION_REASON_FIELD,
                        label="Why are you declining? (the teacher will see this)",
                        is_multiline=True,
                        is_required=True,
                        error_message="Give the reason for declining.",
                        max_length=MAX_DECISION_REASON,
                    )
                ],
                execute(
                    "Decline",
                    Verb.RECORDING_DECIDE,
                    style="destructive",
                    ids=ids,
                    decision=Decision.DECLINE.value,
                ),
            )
            actions = [approve, decline]
    else:
        body.append(para(_decided_line(request, school), emphasis=True))
        if request.decision_reason:
            body.append(para(f"Reason: {safe_text(request.decision_reason)}"))
    return card(body, actions)


def recording_decision_card(request: RecordingRequest, school: SchoolPolicy) -> dict[str, Any]:
    """What the member of staff hears once the Deputy Head (Academic) has decided.

    On approval: the conditions that still apply (written permission of everyone, the reason,
    announced at the start, stored securely: 001 §2.4; pupils never record: 000 §6).
    """
    approved = request.status is RequestStatus.APPROVED
    title = (
        f"✅ You may record this lesson: {request.ref}"
        if approved
        else f"⛔ Permission to record declined: {request.ref}"
    )
    headline = heading(title)
    headline.color = "Default" if approved else "Attention"
    body: list[CardElement] = [
        headline,
        facts(
            [
                ("When", _span(request.start, request.end, school)),
                ("With", _audience_text(request.audience, request.pupil_count)),
                ("Decided by", safe_text(request.decided_by_name, limit=100)),
            ]
        ),
    ]
    if approved:
        body.append(_subheading("Before and during the call you must"))
        body += [
            TextBlock(text=f"• {line}", wrap=True, spacing="None")
            for line in recording_conditions()
        ]
        body.append(para(f"Your reason: {safe_text(request.reason)}", subtle=True))
    else:
        if request.decision_reason:
            body.append(para(f"Reason: {safe_text(request.decision_reason)}"))
        body.append(para("Do not record this call."))
    return card(
        body,
        _check_or_menu(),
    )


# ---------------------------------------------------------------------------------------------
# The 1:1 call log (000 §6)
# ---------------------------------------------------------------------------------------------


class LogField:
    """Input ids of the "Log this call" card."""

    NAMES = "names"
    DATE = "date"
    START = "start"
    DURATION = "duration"
    PURPOSE = "purpose"
    OUTCOME = "outcome"
    HEAD_OF_DEPARTMENT = "hod"


#: The head-of-department choice meaning "send it to every head of department".
EVERY_HEAD = "all"
MAX_LOG_TEXT = 1000


def call_log_card(
    log: CallLog,
    school: SchoolPolicy,
    *,
    version: int,
    heads: Sequence[tuple[str, str]],
    values: Mapping[str, Any],
    problems: Mapping[str, str] | None = None,
    reminder: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    """The 1:1 "Log this call" card (000 §6: names, date, time/duration, purpose, outcome).

    Args:
        log: The pending log.
        school: For school time.
        version: The log record's version, carried by the Send button (``ver``).
        heads: (person id, name) of every head of department, offered as recipients, with
            "Every head of department" for a member of staff who is not sure.
        values: The inputs' values by ``LogField`` id (prefilled from the check, or as sent).
        problems: Field id -> what is wrong, shown in red under the field.
        reminder: The log is overdue: say so in the heading.
        note: A line of our own under the heading.
    """
    problems = problems or {}
    title = (
        f"Reminder: log your 1:1 call ({log.ref})" if reminder else f"Log your 1:1 call ({log.ref})"
    )
    body: list[CardElement] = [
        heading(title),
        para(
            "Extra 1:1 calls with a pupil are logged and sent to the "
            f"{DEPUTY_HEAD} and your head of department (000 §6). Check the details below, "
            "add the purpose and the outcome, and send it.",
        ),
        facts([("Planned", _span(log.planned_start, log.planned_end, school))]),
    ]
    if note:
        body.append(para(safe_text(note), emphasis=True))
    add = _form_fields(body, problems)
    add(
        _text_input(
            values,
            LogField.NAMES,
            "Who was on the call (names)",
            MAX_NAMES_LENGTH,
            error="Give the names of everyone on the call.",
        ),
        LogField.NAMES,
    )
    add(_date_input(values, LogField.DATE, "Date"), LogField.DATE)
    add(_start_input(values, LogField.START), LogField.START)
    add(
        NumberInput(
            id=LogField.DURATION,
            label="How long it lasted, in minutes",
            is_required=True,
            error_message=f"Enter a length between 1 and {MAX_MINUTES} minutes.",
            min=1,
            max=MAX_MINUTES,
            value=_number(values, LogField.DURATION),
        ),
        LogField.DURATION,
    )
    for field_id, label, error in (
        (LogField.PURPOSE, "Purpose of the call", "Say what the call was for."),
        (LogField.OUTCOME, "Outcome", "Say what came of the call."),
    ):
        add(
            _text_input(values, field_id, label, MAX_LOG_TEXT, error=error, multiline=True),
            field_id,
        )
    options = [*(person_id for person_id, _ in heads), EVERY_HEAD]
    add(
        ChoiceSetInput(
            id=LogField.HEAD_OF_DEPARTMENT,
            label="Your head of department",
            style="compact",
            choices=[Choice(title=safe_text(name, limit=100), value=pid) for pid, name in heads]
            + [Choice(title="Every head of department (if you are not sure)", value=EVERY_HEAD)],
            value=_choice(values, LogField.HEAD_OF_DEPARTMENT, options, EVERY_HEAD),
        ),
        LogField.HEAD_OF_DEPARTMENT,
    )
    return card(
        body,
        [
            execute(
                "Send the log",
                Verb.CALL_LOG_SUBMIT,
                style="positive",
                ids={"ref": log.ref, "ver": version},
            )
        ],
    )


def _log_facts(log: CallLog, school: SchoolPolicy) -> list[tuple[str, str]]:
    entry = log.entry
    if entry is None:
        return [("Reference", log.ref), ("Status", "Not submitted yet")]
    start = entry.start.astimezone(school.zone)
    minutes = int(entry.duration.total_seconds() // 60)
    return [
        ("Reference", log.ref),
        ("Staff", safe_text(log.teacher_name, limit=100)),
        ("Names", safe_text(entry.names, limit=MAX_NAMES_LENGTH)),
        ("Date", day_text(start.date())),
        ("Time", f"{start:%H:%M} (school time), {minutes} minutes"),
        ("Purpose", safe_text(entry.purpose, limit=MAX_LOG_TEXT)),
        ("Outcome", safe_text(entry.outcome, limit=MAX_LOG_TEXT)),
    ]


def call_log_sent_card(
    log: CallLog, school: SchoolPolicy, *, recipients: str, note: str | None = None
) -> dict[str, Any]:
    """What the member of staff sees once the log is sent: where it went and what it says."""
    body: list[CardElement] = []
    if note:
        body.append(para(safe_text(note), subtle=True))
    body += [
        heading(f"Sent: your 1:1 call log {log.ref}"),
        para(f"It has gone to {recipients} (000 §6)."),
        facts(_log_facts(log, school)),
    ]
    return card(body, [menu_button()])


def call_log_record_card(log: CallLog, school: SchoolPolicy) -> dict[str, Any]:
    """The submitted 1:1 call log, as the Deputy Head (Academic) and the head of department
    receive it (000 §6)."""
    return card(
        [
            heading(f"1:1 call log {log.ref}"),
            para(
                f"{safe_text(log.teacher_name, limit=100)} logged an additional 1:1 call with "
                "a pupil (000 §6).",
            ),
            facts(_log_facts(log, school)),
            para(
                f"Submitted {school_time(log.submitted_at, school.zone)}."
                if log.submitted_at
                else "Submitted.",
                subtle=True,
            ),
        ]
    )


# ---------------------------------------------------------------------------------------------
# "Check my next lessons"
# ---------------------------------------------------------------------------------------------


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _meeting_block(check: MeetingCheck, school: SchoolPolicy) -> Container:
    verdict = check.verdict
    title, color = VERDICT_HEADING[verdict.verdict]
    who = [_count(check.pupils, "pupil", "pupils"), _count(check.staff, "member", "members")]
    who[1] += " of staff"
    if check.others:
        who.append(_count(check.others, "guest", "guests"))
    if check.plan.one_to_one_with_pupil:
        who[0] += " (1:1)"
    items: list[CardElement] = [
        TextBlock(
            text=safe_text(check.subject or "Teams meeting", limit=120),
            weight="Bolder",
            wrap=True,
        ),
        facts([("When", _when(check.plan, school)), ("With", ", ".join(who))]),
        TextBlock(text=title, color=color, weight="Bolder", wrap=True, spacing="Small"),
    ]
    items += [
        TextBlock(text=f"⛔ {safe_text(r.reason)} ({r.clause})", wrap=True, spacing="Small")
        for r in verdict.blockers
    ]
    items += [
        TextBlock(text=f"⚠️ {safe_text(r.reason)} ({r.clause})", wrap=True, spacing="Small")
        for r in verdict.to_do
    ]
    if check.permission_ref:
        items.append(para(f"Permission to record: {check.permission_ref} (approved).", subtle=True))
    items.append(
        ActionSet(
            actions=[
                execute("Check this call in full", Verb.CHECK_VIDEO_CALL, meeting=check.meeting_id)
            ]
        )
    )
    return Container(separator=True, spacing="Medium", items=items)


def next_lessons_card(
    checks: Sequence[MeetingCheck], school: SchoolPolicy, *, days: int, more: int = 0
) -> dict[str, Any]:
    """The member of staff's upcoming Teams meetings, each checked against the rules.

    Each meeting shows its time and who attends (counts only), the verdict, what forbids it and
    what to change (the exact Teams setting), and a button to check it in full (where the
    calendar cannot tell: location, parents' consent, asking permission to record).
    """
    body: list[CardElement] = [
        heading("Your next lessons"),
        para(
            f"Your Teams meetings in the next {days} days, checked against the school's rules "
            "(000 §6, §8, §10; 001 §2.4).",
            subtle=True,
        ),
    ]
    if not checks:
        body.append(para(f"You have no Teams meetings in the next {days} days."))
    else:
        body += [_meeting_block(check, school) for check in checks]
        if more:
            body.append(para(f"And {_count(more, 'more meeting', 'more meetings')}.", subtle=True))
        body.append(
            para(
                "The calendar can't tell me where you'll be or whether parents agreed: use "
                "Check this call in full for those.",
                subtle=True,
            )
        )
    return card(
        body,
        _check_or_menu(execute("Check again", Verb.NEXT_LESSONS)),
    )


def calendar_unavailable_card() -> dict[str, Any]:
    """The calendar could not be read: say so kindly; nothing was lost or changed."""
    return card(
        [
            heading("I can't check your calendar right now"),
            para(
                "Your calendar didn't answer just now. Nothing is lost: please try again in a "
                "few minutes, or check a call by hand."
            ),
        ],
        _check_or_menu(execute("Try again", Verb.NEXT_LESSONS)),
    )
