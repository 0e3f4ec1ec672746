"""The 1:1 call log: the form, "sent" and the record (000 §6)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from microsoft_teams.cards import (
    CardElement,
    Choice,
    ChoiceSetInput,
    NumberInput,
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
)
from cards.video_call.form import (
    MAX_MINUTES,
    MAX_NAMES_LENGTH,
    _choice,
    _date_input,
    _form_fields,
    _number,
    _start_input,
    _text_input,
)
from cards.video_call.plan_rules import _span
from policy.actions import Verb
from policy.school import SchoolPolicy
from policy.video_calls import (
    DEPUTY_HEAD,
    CallLog,
    day_text,
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
    body = _log_intro(log, school, reminder=reminder, note=note)
    add = _form_fields(body, problems or {})
    _add_log_fields(add, values)
    add(_head_of_department_input(values, heads), LogField.HEAD_OF_DEPARTMENT)
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


def _log_intro(
    log: CallLog, school: SchoolPolicy, *, reminder: bool, note: str | None
) -> list[CardElement]:
    """The log card's heading (a reminder when overdue), what the log is for, the planned
    time and our own note."""
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
    return body


def _add_log_fields(add: Callable[[CardElement, str], None], values: Mapping[str, Any]) -> None:
    """The log's names, date, start, length, purpose and outcome (000 §6)."""
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


def _head_of_department_input(
    values: Mapping[str, Any], heads: Sequence[tuple[str, str]]
) -> ChoiceSetInput:
    """Who the log goes to: a head of department, or every one of them when not sure."""
    options = [*(person_id for person_id, _ in heads), EVERY_HEAD]
    return ChoiceSetInput(
        id=LogField.HEAD_OF_DEPARTMENT,
        label="Your head of department",
        style="compact",
        choices=[Choice(title=safe_text(name, limit=100), value=pid) for pid, name in heads]
        + [Choice(title="Every head of department (if you are not sure)", value=EVERY_HEAD)],
        value=_choice(values, LogField.HEAD_OF_DEPARTMENT, options, EVERY_HEAD),
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
