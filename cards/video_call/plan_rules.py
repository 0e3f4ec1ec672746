"""The "Check a video call" form, the verdict, quick rule answers and the Deputy Head
(Academic)'s list of withdrawn pupils (000 §6, §10; 001 §2.4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    Fact,
    FactSet,
    NumberInput,
    TextBlock,
    TextInput,
)

from cards.common import (
    card,
    execute,
    heading,
    menu_button,
    para,
    safe_text,
    show_card,
)
from cards.video_call.form import (
    MAX_MINUTES,
    MAX_NAMES_LENGTH,
    MAX_PUPIL_NAME,
    MAX_REASON_LENGTH,
    MIN_MINUTES,
    OTHER_PLATFORM,
    OUTCOME_STYLE,
    PUPIL_FIELD,
    PURPOSE_CHOICES,
    VERDICT_HEADING,
    WHERE_CHOICES,
    WHO_CHOICES,
    Field,
    Purpose,
    _add_toggles,
    _check_or_menu,
    _choice,
    _date_input,
    _form_fields,
    _number,
    _pick,
    _problem,
    _start_input,
    _subheading,
    _text_input,
)
from policy.actions import Verb
from policy.school import SchoolPolicy
from policy.video_calls import (
    DEPUTY_HEAD,
    Audience,
    CallPlan,
    CallVerdict,
    Outcome,
    RuleId,
    RuleResult,
    Verdict,
    day_text,
)

# What ``_form_fields`` returns: puts an input on the card, its problem in red under it.
_Add = Callable[[CardElement, str], None]


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
    add = _form_fields(body, problems or {})
    _add_when_fields(add, values, list(school.video_calls.approved_platforms))
    _add_who_fields(add, values)
    body.append(_subheading("Recording"))
    _add_recording_fields(add, values)
    body.append(_subheading("Where you'll be"))
    _add_location_fields(add, values)
    ids: dict[str, str | int] = {"meeting": meeting_id} if meeting_id else {}
    return card(
        body,
        [
            execute("Check this call", Verb.CALL_SUBMIT, style="positive", ids=ids),
            menu_button(send_inputs=False),
        ],
    )


def _add_when_fields(add: _Add, values: Mapping[str, Any], platforms: list[str]) -> None:
    """The call form's date, start, length and platform."""
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


def _add_who_fields(add: _Add, values: Mapping[str, Any]) -> None:
    """The call form's purpose, who it is with, the pupils' names, 1:1 and parents' consent."""
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


def _add_recording_fields(add: _Add, values: Mapping[str, Any]) -> None:
    """The call form's recording questions (000 §8; 001 §2.4)."""
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


def _add_location_fields(add: _Add, values: Mapping[str, Any]) -> None:
    """The call form's questions about where the member of staff will be (000 §6)."""
    add(_pick(values, Field.WHERE, "Where will you be?", WHERE_CHOICES, "school"), Field.WHERE)
    _add_toggles(
        add,
        values,
        (Field.NOTHING_IDENTIFYING, "Nothing in view identifies my home or where it is"),
        (Field.WELL_LIT, "The room is well lit"),
        (Field.OTHERS_IN_ROOM, "Someone else from my household will be in the room"),
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
    body = _verdict_answer(verdict, to_do, follow_ups)
    body.append(_call_facts(plan, school))
    body += _rule_results(verdict)
    again = execute(
        "Check another call", Verb.CHECK_VIDEO_CALL, ids={"check": check_id} if check_id else None
    )
    return card(
        body,
        [again, execute("Check my next lessons", Verb.NEXT_LESSONS), menu_button()],
    )


def _verdict_answer(
    verdict: CallVerdict, to_do: Sequence[RuleResult], follow_ups: Sequence[str]
) -> list[CardElement]:
    """The answer first: the verdict's heading, why not, what to do and what happens next."""
    title, color = VERDICT_HEADING[verdict.verdict]
    if verdict.verdict is Verdict.ALLOWED_ONCE and not to_do:
        title = "⚠️ Allowed once permission to record is given"
    headline = heading(title)
    headline.color = color
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
    return body


def _call_facts(plan: CallPlan, school: SchoolPolicy) -> FactSet:
    """The call's facts: when, the platform, who it is with and whether it is recorded."""
    who = _WHO_TEXT[plan.audience]
    if plan.one_to_one_with_pupil:
        who += " (1:1)"
    return FactSet(
        separator=True,
        facts=[
            Fact(title="When", value=_when(plan, school)),
            Fact(title="Platform", value=safe_text(plan.platform, limit=100)),
            Fact(title="With", value=who),
            Fact(title="Recorded", value="Yes" if plan.recording else "No"),
        ],
    )


def _rule_results(verdict: CallVerdict) -> list[CardElement]:
    """Every rule with a problem, then the rules that passed folded away behind a button."""
    body: list[CardElement] = []
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
    return body


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
