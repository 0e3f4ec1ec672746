"""Cards for monitoring alerts and sensitive-lesson notices (issue 21).

The DSL channel card is seen by everyone in the channel: the provider, the category, the
severity and the count, never the pupil's name, their device or what they typed or viewed. The
detail ("Open") is for the DSL and deputies only, answered to the clicker alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from microsoft_teams.cards import (
    CardElement,
    Choice,
    ChoiceSetInput,
    DateInput,
    ExecuteAction,
    OpenUrlAction,
    ShowCardAction,
    TextInput,
)

from cards.common import (
    FormInput,
    card,
    entered_box,
    execute,
    facts,
    heading,
    item_head,
    menu_button,
    para,
    safe_text,
    school_day,
    school_time,
    show_card,
    time_box,
    with_problems,
)
from policy.actions import Verb
from policy.monitoring import (
    FINISHED,
    NOTICE_LIMITS,
    STATUS_WORDS,
    AlertStatus,
    LessonNotice,
    MonitoringAlert,
)
from policy.roles import Person
from policy.school import SchoolPolicy

REASON_LIMIT = 300
STALE_NOTE = "This alert changed since that card was shown, so here is how it stands now."


def count_words(alert: MonitoringAlert, school: SchoolPolicy) -> str:
    """ "12 alerts since 10:04" (or "1 alert at 10:04"), in school time."""
    first = alert.occurred_at.astimezone(school.zone)
    if alert.count == 1:
        return f"1 alert at {first:%H:%M}"
    return f"{alert.count} alerts since {first:%H:%M}"


def _provider_name(alert: MonitoringAlert, school: SchoolPolicy) -> str:
    provider = school.monitoring.provider(alert.provider)
    return provider.name if provider else alert.provider


def _summary_facts(alert: MonitoringAlert, school: SchoolPolicy) -> list[tuple[str, str]]:
    return [
        ("From", safe_text(_provider_name(alert, school), limit=80)),
        ("Category", safe_text(alert.category, limit=100)),
        ("Severity", alert.severity.value.capitalize()),
        ("Alerts", count_words(alert, school)),
        ("First", school_time(alert.occurred_at, school.zone)),
        ("Status", STATUS_WORDS[alert.status]),
    ]


def _with_note(title: str, decide: ExecuteAction) -> ShowCardAction:
    """A decision that takes an optional note: ``title`` opens the note and ``decide``."""
    note = TextInput(id="reason", label="Note (optional)", max_length=REASON_LIMIT)
    return show_card(title, [note], decide)


def _actions(alert: MonitoringAlert, version: int, *, detail: bool) -> list[Any]:
    ids: dict[str, str | int] = {"ref": alert.ref, "ver": version}
    if detail:
        ids = {**ids, "view": "detail"}
    open_it = execute("Open", Verb.ALERT_OPEN, ids={"ref": alert.ref, "ver": version})
    if alert.status in FINISHED:
        return [] if detail else [open_it]
    decisions: list[Any] = [
        show_card(
            "False positive",
            [
                TextInput(
                    id="reason",
                    label="Why is it a false positive?",
                    is_required=True,
                    error_message="Say why.",
                    max_length=REASON_LIMIT,
                )
            ],
            execute("Record false positive", Verb.ALERT_FALSE_POSITIVE, ids=ids),
        ),
    ]
    if alert.status is not AlertStatus.MONITORING:
        decisions.append(
            _with_note("Monitor", execute("Keep monitoring", Verb.ALERT_MONITOR, ids=ids))
        )
    if alert.status is not AlertStatus.CONTACTED:
        decisions.append(
            _with_note(
                "Contact pupil", execute("Record: contact the pupil", Verb.ALERT_CONTACT, ids=ids)
            )
        )
    decisions.append(execute("Escalate to a concern", Verb.ALERT_ESCALATE, ids=ids))
    return decisions if detail else [open_it, *decisions]


def alert_channel_card(
    alert: MonitoringAlert, school: SchoolPolicy, *, version: int, note: str | None = None
) -> dict[str, Any]:
    """The DSL channel card: no name, no device, nothing the pupil typed or viewed."""
    title = f"{'URGENT: ' if alert.urgent else ''}Monitoring alert {alert.ref}"
    body = item_head(title, _summary_facts(alert, school), note=note)
    if alert.expected:
        body.append(para(safe_text(alert.expected, limit=200), emphasis=True))
    if alert.concern_ref:
        body.append(para(f"Escalated to concern {alert.concern_ref}.", subtle=True))
    body.append(para("Open it to see who and what (DSL and deputies only).", subtle=True))
    return card(body, _actions(alert, version, detail=False))


def alert_urgent_card(
    alert: MonitoringAlert, school: SchoolPolicy, *, version: int
) -> dict[str, Any]:
    """The 1:1 alert each DSL and deputy gets for an urgent monitoring alert."""
    body: list[CardElement] = [
        heading(f"URGENT monitoring alert {alert.ref}"),
        para("The school's monitoring flagged something serious. Please act now."),
        facts(_summary_facts(alert, school)[:5]),
    ]
    if alert.expected:
        body.append(para(safe_text(alert.expected, limit=200), emphasis=True))
    return card(body, [execute("Open", Verb.ALERT_OPEN, ids={"ref": alert.ref, "ver": version})])


def alert_detail_card(
    alert: MonitoringAlert,
    pupil: Person | None,
    school: SchoolPolicy,
    *,
    version: int,
    note: str | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    """The full alert for a DSL or deputy: who, which device, what was typed or viewed."""
    who = pupil.name if pupil is not None else (alert.pupil_upn or "Not in the directory")
    year = pupil.year_group if pupil is not None else None
    form_group = pupil.form if pupil is not None else None
    form = ", ".join(x for x in (year, f"form {form_group}" if form_group else None) if x)
    body: list[CardElement] = []
    if note:
        body.append(para(note, subtle=True))
    if problem:
        body.append(para(problem, emphasis=True))
    body += [
        heading(f"{'URGENT: ' if alert.urgent else ''}Monitoring alert {alert.ref}"),
        facts(
            [
                ("Pupil", safe_text(who, limit=100)),
                ("Class", safe_text(form or "Not known", limit=60)),
                ("Device", safe_text(alert.device, limit=200)),
                (
                    "Typed" if alert.kind.value == "typed" else "Viewed",
                    safe_text(alert.text, limit=1000),
                ),
                *_summary_facts(alert, school),
            ]
        ),
    ]
    if alert.expected:
        body.append(para(safe_text(alert.expected, limit=200), emphasis=True))
    if alert.reason:
        body.append(para(f"Note: {safe_text(alert.reason, limit=REASON_LIMIT)}", subtle=True))
    if alert.concern_ref:
        body.append(para(f"Escalated to concern {alert.concern_ref}.", emphasis=True))
    for event in alert.history[-5:]:
        body.append(
            para(
                f"{school_time(event.at, school.zone)}: {safe_text(event.text, limit=200)} "
                f"({safe_text(event.actor_name, limit=60)})",
                subtle=True,
            )
        )
    actions: list[Any] = _actions(alert, version, detail=True)
    if alert.console_url:
        actions.append(OpenUrlAction(title="Open in the provider's console", url=alert.console_url))
    actions.append(
        execute(
            "Close details",
            Verb.ALERT_OPEN,
            ids={"ref": alert.ref, "ver": version, "view": "summary"},
        )
    )
    return card(body, actions)


# ----- sensitive-lesson notices ------------------------------------------------------------------


def notice_form(
    school: SchoolPolicy,
    *,
    form_id: str,
    today: date,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """ "Tell monitoring about a sensitive lesson": class, topic, date and times, reason."""
    body: list[CardElement] = [
        heading("Tell monitoring about a sensitive lesson"),
        para(
            "The DSL and IT will know that monitoring alerts from this class on this topic "
            "during the lesson are expected. Alerts still reach the DSL."
        ),
        *with_problems(_notice_inputs(school, today, values or {}), problems or {}),
    ]
    send = execute("Send", Verb.LESSON_NOTICE_SUBMIT, style="positive", form=form_id)
    return card(body, [send, menu_button("Cancel", send_inputs=False)])


def _notice_inputs(school: SchoolPolicy, today: date, values: Mapping[str, str]) -> list[FormInput]:
    """The lesson notice's inputs: class, topic, date (today unless sent), times, reason."""
    return [
        entered_box(
            values,
            "class_name",
            "Class (such as 10B or Year 10)",
            limit=NOTICE_LIMITS["class_name"],
            error="Say which class.",
        ),
        ChoiceSetInput(
            id="topic",
            label="Topic",
            is_required=True,
            error_message="Choose the topic.",
            choices=[Choice(title=t.label, value=t.id) for t in school.monitoring.lesson_topics],
            value=values.get("topic") or None,
        ),
        DateInput(
            id="day",
            label="Date of the lesson",
            is_required=True,
            error_message="Give the date.",
            value=values.get("day") or today.isoformat(),
        ),
        time_box(values, "start", "Starts", error="Give the start time."),
        time_box(values, "end", "Ends", error="Give the end time."),
        entered_box(
            values,
            "reason",
            "What the lesson covers (a few words)",
            limit=NOTICE_LIMITS["reason"],
            error="Say what it covers.",
            multiline=True,
        ),
    ]


def _notice_facts(notice: LessonNotice) -> list[tuple[str, str]]:
    return [
        ("Class", safe_text(notice.class_name, limit=30)),
        ("Topic", safe_text(notice.topic_label, limit=80)),
        ("When", f"{school_day(notice.day)}, {notice.start:%H:%M} to {notice.end:%H:%M}"),
        ("Why", safe_text(notice.reason, limit=300)),
        ("From", safe_text(notice.teacher_name, limit=80)),
    ]


def notice_received_card(notice: LessonNotice) -> dict[str, Any]:
    """What the teacher sees once the notice is saved."""
    return card(
        [
            heading(f"Notice sent: {notice.ref}"),
            para("The DSL and IT have been told. Alerts during the lesson will show your notice."),
            facts(_notice_facts(notice)),
        ],
        [menu_button()],
    )


def notice_channel_card(notice: LessonNotice) -> dict[str, Any]:
    """The DSL and IT channel card for a notice (a class and a topic: no pupil is named)."""
    return card(
        [
            heading(f"Sensitive lesson notice {notice.ref}"),
            para("Monitoring alerts from this class on this topic during the lesson are expected."),
            facts(_notice_facts(notice)),
        ]
    )
