"""Cards for recording a check of the filtering and monitoring systems, and for reminders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from microsoft_teams.cards import CardElement, Choice

from cards.common import (
    FormInput,
    attention,
    card,
    check_fields,
    date_box,
    entered_box,
    execute,
    facts,
    heading,
    menu_button,
    para,
    required_choice,
    safe_text,
    school_day,
    school_time,
    with_problems,
)
from policy.actions import Verb
from policy.fm_checks import LIMITS, RESULT_WORDS, FmCheck, Result
from policy.school import SchoolPolicy

_CHOICES = [Choice(title=words, value=result.value) for result, words in RESULT_WORDS.items()]


def check_form(
    school: SchoolPolicy,
    items: Mapping[str, str],
    *,
    form_id: str,
    values: Mapping[str, str],
    problems: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The form: a result for every item, what was found, the actions, and the next date."""
    problems = problems or {}
    body: list[CardElement] = [
        heading("Record a filtering and monitoring check"),
        para(
            "Go through each item (for example with SWGfL Test Filtering and a test alert), "
            "then record what you found. The record goes to the DSL and IT channels and into "
            "the filtering review pack."
        ),
    ]
    inputs: list[FormInput] = [
        date_box(values, "checked_on", "Day of the check", error="Give a date."),
        *(
            required_choice(
                values, item, words[:120], _CHOICES, error="Choose what you found.", style="compact"
            )
            for item, words in items.items()
        ),
        entered_box(
            values,
            "found",
            "What was wrong (if anything)",
            limit=LIMITS["found"],
            multiline=True,
            placeholder="e.g. the test site for self-harm loaded on the library laptops",
        ),
        entered_box(
            values,
            "actions",
            "What is being done about it, and by whom",
            limit=LIMITS["actions"],
            multiline=True,
        ),
        date_box(values, "next_due", "Next check due", error="Give a date."),
    ]
    body += [*check_fields(problems, nothing="saved"), *with_problems(inputs, problems)]
    submit = execute("Record the check", Verb.FM_CHECK_SUBMIT, style="positive", form=form_id)
    return card(body, [submit, menu_button("Cancel", send_inputs=False)])


def _summary(check: FmCheck, school: SchoolPolicy) -> list[CardElement]:
    working = sum(1 for r in check.results.values() if r is Result.WORKING)
    pairs = [
        ("Checked", school_day(check.checked_on)),
        ("By", safe_text(check.by_name, limit=80)),
        ("Working", f"{working} of {len(check.results)}"),
    ]
    if check.not_checked:
        pairs.append(("Not checked", safe_text("; ".join(check.not_checked))))
    if check.problems:
        pairs.append(("Problem found with", safe_text("; ".join(check.problems))))
    if check.next_due is not None:
        pairs.append(("Next check due", school_day(check.next_due)))
    body: list[CardElement] = [facts(pairs)]
    if check.found:
        body.append(para("What was wrong: " + safe_text(check.found)))
    if check.actions:
        body.append(para("Actions: " + safe_text(check.actions)))
    return body


def check_recorded(check: FmCheck, school: SchoolPolicy) -> dict[str, Any]:
    """What the checker sees once the record is saved."""
    body: list[CardElement] = [
        heading(f"Check recorded ({check.ref})"),
        para(
            "Thank you. The DSL and IT channels have been told, and the check is in the "
            "filtering review pack. IT and the online safety lead (or the DSL) will be "
            "reminded when the next one is due."
        ),
        *_summary(check, school),
    ]
    return card(body, [menu_button()])


def check_channel_note(check: FmCheck, school: SchoolPolicy) -> dict[str, Any]:
    """The note in the DSL and IT channels: the check and anything that needs acting on."""
    if check.problems:
        title = f"Filtering and monitoring check {check.ref}: problems found"
        lead = attention("Something is not working as it should. The actions are below.")
    else:
        title = f"Filtering and monitoring check {check.ref}: everything checked is working"
        lead = para(f"Recorded {school_time(check.recorded_at, school.zone)}.", subtle=True)
    return card([heading(title), lead, *_summary(check, school)])


def check_due(last: FmCheck | None, due: date, overdue_days: int) -> dict[str, Any]:
    """The reminder that a check is due (or overdue), with the button that starts it."""
    if last is None:
        text = "No filtering and monitoring check has been recorded yet."
    else:
        when = {
            0: f"The next is due today, {school_day(due)}.",
            1: f"The next was due yesterday, {school_day(due)}.",
        }.get(overdue_days, f"The next was due {overdue_days} days ago, on {school_day(due)}.")
        text = (
            f"The last filtering and monitoring check was on {school_day(last.checked_on)} "
            f"({last.ref}). {when}"
        )
    body: list[CardElement] = [
        heading("A filtering and monitoring check is due"),
        para(text),
        para(
            "The DfE standards ask schools to check that filtering and monitoring work, and "
            "to keep a record of each check.",
            subtle=True,
        ),
    ]
    return card(body, [execute("Record a check", Verb.FM_CHECK_START)])
