"""Cards for web-filter exception requests, their decisions, IT's tasks and the change log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import (
    CardElement,
    Choice,
    ChoiceSetInput,
    ExecuteAction,
    OpenUrlAction,
    TextBlock,
)

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
    item_head,
    labelled_text,
    menu_button,
    note_box,
    para,
    required_choice,
    safe_text,
    school_day,
    school_time,
    show_card,
    with_problems,
)
from policy.actions import Verb
from policy.filter_scope import SCOPE_CHOICES, ExceptionScope
from policy.filtering import (
    AUDIENCES,
    BLOCKED_CATEGORIES,
    CHANGE_APPROVER,
    STATUS_WORDS,
    Approval,
    Approver,
    FilterRequest,
    FilterStatus,
    approvers,
    reason_approver,
)
from policy.school import SchoolPolicy

LIMITS = {
    "site": 2000,
    "audience_detail": 300,
    "reason": 1000,
    "topic": 200,
    "note": 500,
    "scope_reason": 300,
}


def _day(value: date) -> str:
    return school_day(value)


def _who_when(name: str, at: datetime, zone: ZoneInfo) -> str:
    return f"{safe_text(name, limit=80)}, {school_time(at, zone)}"


#: Who needs access, as it reads after "for": (without the detail, with it).
_AUDIENCE_PHRASES: dict[str, tuple[str, str]] = {
    "class": ("a class", "class {}"),
    "year_group": ("a year group", "year group {}"),
    "named_pupils": ("named pupils", "named pupils ({})"),
    "staff_only": ("staff only", "staff only ({})"),
}


def audience_words(request: FilterRequest) -> str:
    """Who needs access, as it reads in a sentence: "class 10B", "staff only"."""
    kind = AUDIENCES.get(request.audience, request.audience)
    alone, with_detail = _AUDIENCE_PHRASES.get(request.audience, (kind, kind + ": {}"))
    return with_detail.format(request.audience_detail) if request.audience_detail else alone


def request_cells(request: FilterRequest) -> tuple[str, str, str, str]:
    """How a request is named in a CSV row (the change log, the sites allowed now): its
    reference, site, filter category and who needs access."""
    return (
        request.ref,
        request.site,
        BLOCKED_CATEGORIES.get(request.blocked_category, request.blocked_category),
        audience_words(request),
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _yes_no(values: Mapping[str, str], field_id: str, label: str) -> ChoiceSetInput:
    yes_no = [Choice(title="Yes", value="yes"), Choice(title="No", value="no")]
    return required_choice(values, field_id, label, yes_no, error="Answer yes or no.")


def filter_form(
    school: SchoolPolicy,
    *,
    form_id: str,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
    for_report: tuple[str, str, int] | None = None,
) -> dict[str, Any]:
    """The request form, with any problems shown next to their fields.

    ``for_report`` (over-blocking report reference, the teacher's name, its version): IT makes
    the request for the teacher from their report; the form is prefilled and its button sends
    it on the teacher's behalf.
    """
    values = values or {}
    problems = problems or {}
    body: list[CardElement] = [
        heading("Request a web-filter change"),
        _form_intro(school, for_report),
        *check_fields(problems),
        *with_problems(_request_inputs(values), problems),
    ]
    return card(body, _form_actions(form_id, for_report))


def _form_intro(school: SchoolPolicy, for_report: tuple[str, str, int] | None) -> TextBlock:
    """What the form is for: the teacher's report it comes from, or the period and approvers."""
    if for_report is not None:
        report_ref, teacher, _ = for_report
        return para(
            f"For {safe_text(teacher, limit=80)}, from their report {report_ref} that a "
            "blocked site got in the way of teaching. Check the details, add the dates and "
            "send it: it is decided as any other request.",
        )
    return para(
        f"Ask IT to allow a blocked site for a period of study "
        f"(up to {school.filtering.max_exception_days} days). "
        f"Some topics also need {reason_approver().in_sentence} to agree.",
    )


def _request_inputs(values: Mapping[str, str]) -> list[FormInput]:
    """Every field of the request, in the order the form asks them."""
    return [
        *_site_inputs(values),
        *_audience_inputs(values),
        *_purpose_inputs(values),
        date_box(values, "start", "From", error="Give the first day."),
        date_box(values, "end", "Until", error="Give the last day."),
        _yes_no(values, "supervised", "Will the pupils be supervised while using it?"),
        _yes_no(values, "age_appropriate", "Is the content appropriate for their age?"),
    ]


def _site_inputs(values: Mapping[str, str]) -> list[FormInput]:
    """The site, how much of it, why the whole site, and what the filter calls it."""
    return [
        entered_box(
            values,
            "site",
            "Site (web address or domain)",
            limit=LIMITS["site"],
            error="Give the site.",
            placeholder="example.org/topic",
        ),
        required_choice(
            {"scope": ExceptionScope.PAGE.value, **values},
            "scope",
            "How much of the site is needed?",
            [Choice(title=t, value=v.value) for v, t in SCOPE_CHOICES.items()],
            error="Say how much of the site is needed.",
        ),
        entered_box(
            values,
            "scope_reason",
            "If the whole site: why?",
            limit=LIMITS["scope_reason"],
            placeholder="e.g. pupils follow links across the whole site",
        ),
        ChoiceSetInput(
            id="blocked_category",
            label="What does the filter say it is? (if you know)",
            style="compact",
            choices=[Choice(title=t, value=v) for v, t in BLOCKED_CATEGORIES.items()],
            value=values.get("blocked_category") or "unknown",
        ),
    ]


def _audience_inputs(values: Mapping[str, str]) -> list[FormInput]:
    """Who needs access: the kind of group, then which one."""
    return [
        required_choice(
            values,
            "audience",
            "Who needs access?",
            [Choice(title=t, value=v) for v, t in AUDIENCES.items()],
            error="Say who needs access.",
            style="compact",
        ),
        entered_box(
            values,
            "audience_detail",
            "Which class, year group or pupils?",
            limit=LIMITS["audience_detail"],
            placeholder="e.g. 10B, Year 9, or the pupils' names",
        ),
    ]


def _purpose_inputs(values: Mapping[str, str]) -> list[FormInput]:
    """Why it is needed: the educational reason and the lesson."""
    return [
        entered_box(
            values,
            "reason",
            "Educational reason",
            limit=LIMITS["reason"],
            error="Give the educational reason.",
            placeholder="What pupils will do with the site, and why it is needed.",
            multiline=True,
        ),
        entered_box(
            values,
            "topic",
            "Lesson or topic",
            limit=LIMITS["topic"],
            error="Give the lesson or topic.",
        ),
    ]


def _form_actions(form_id: str, for_report: tuple[str, str, int] | None) -> list[ExecuteAction]:
    """Send to IT (with Cancel), or, made from a report, send it on the teacher's behalf."""
    if for_report is not None:
        report_ref, _, version = for_report
        submit = execute(
            "Send the request",
            Verb.OVERBLOCKED_EXCEPTION_SUBMIT,
            style="positive",
            form=form_id,
            ref=report_ref,
            ver=version,
        )
        return [submit]
    submit = execute("Send to IT", Verb.FILTER_SUBMIT, style="positive", form=form_id)
    return [submit, menu_button("Cancel")]


def _summary(request: FilterRequest, zone: ZoneInfo) -> list[tuple[str, str]]:
    return [
        ("Site", safe_text(request.site, limit=300)),
        ("Allow", safe_text(request.rule, limit=500)),
        ("Filter category", BLOCKED_CATEGORIES.get(request.blocked_category, "Not sure")),
        ("Who", safe_text(_capital(audience_words(request)), limit=200)),
        ("Period", f"{_day(request.start)} to {_day(request.end)}"),
        ("Status", STATUS_WORDS[request.status]),
        (
            "Requested",
            _who_when(request.requester_name, request.created_at, zone),
        ),
    ]


def request_received(request: FilterRequest, school: SchoolPolicy) -> dict[str, Any]:
    """The requester's confirmation, with the reference."""
    needs = " and ".join(a.in_sentence for a in approvers(request))
    if request.sensitive:
        needs += " (this topic needs both)"
    return card(
        [
            heading(f"Sent: {request.ref}"),
            para(f"Your request is with {needs}. You'll get a message when it is decided."),
            facts(_summary(request, school.zone)),
            para("Don't use the site with pupils until you are told it is allowed.", subtle=True),
        ],
        [menu_button()],
    )


def request_refused(request: FilterRequest, why: str) -> dict[str, Any]:
    """Said at once for a site that can never be unblocked."""
    return card(
        [
            heading(f"Refused: {request.ref}"),
            para(why),
            para(
                "This kind of content is never unblocked in school, whatever the reason. "
                "The request has been logged and the DSL has been told.",
            ),
        ],
        [menu_button()],
    )


def _approval(request: FilterRequest, given: Approval | None, approver: Approver) -> str:
    """Who gave an approval; while the request is open, who it waits for; once it was decided
    without it (rejected, refused, lapsed), that nobody gave it: nobody is waiting any more."""
    if given:
        return safe_text(given.by_name, limit=80)
    return f"Waiting: {approver.name}" if request.is_open else "Not given"


def _approvals(request: FilterRequest, zone: ZoneInfo) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if request.sensitive:
        rows.append(
            (
                "Reason approved by",
                _approval(request, request.reason_approval, reason_approver()),
            )
        )
    rows.append(
        ("Change approved by", _approval(request, request.change_approval, CHANGE_APPROVER))
    )
    if request.status is FilterStatus.REJECTED:
        rejected = next((s for s in reversed(request.history) if s.action == "rejected"), None)
        if rejected is not None:
            rows.append(("Rejected by", _who_when(rejected.actor_name, rejected.at, zone)))
    if request.applied:
        rows.append(
            (
                "Applied by",
                _who_when(request.applied.by_name, request.applied.at, zone),
            )
        )
    if request.reblocked:
        rows.append(
            (
                "Re-blocked by",
                _who_when(request.reblocked.by_name, request.reblocked.at, zone),
            )
        )
    if request.decision_note:
        rows.append(("Decision note", safe_text(request.decision_note, limit=LIMITS["note"])))
    if request.question:
        rows.append(("Question asked", safe_text(request.question, limit=LIMITS["note"])))
    return rows


def request_card(
    request: FilterRequest, school: SchoolPolicy, *, version: int, note: str | None = None
) -> dict[str, Any]:
    """The request in the IT channel (and the DSL channel for sensitive topics)."""
    ids: dict[str, str | int] = {"ref": request.ref, "ver": version}
    title = f"{'Sensitive topic: ' if request.sensitive else ''}Filter request {request.ref}"
    body = [
        *item_head(title, _summary(request, school.zone), note=note),
        *labelled_text("Educational reason", request.reason, limit=LIMITS["reason"]),
        facts(
            [
                ("Lesson or topic", safe_text(request.topic, limit=LIMITS["topic"])),
                ("Supervised", "Yes" if request.supervised else "No"),
                ("Age-appropriate", "Yes" if request.age_appropriate else "No"),
                *_approvals(request, school.zone),
            ]
        ),
    ]
    if request.sensitive:
        body.append(
            para(
                f"Sensitive topic: {reason_approver().in_sentence} approves the reason and "
                f"{CHANGE_APPROVER.in_sentence} approves the change: two different people.",
                subtle=True,
            )
        )
    actions: list[Any] = []
    if request.is_open:
        if request.status is FilterStatus.PENDING:
            actions.append(execute("Approve", Verb.FILTER_APPROVE, style="positive", ids=ids))
        actions.append(
            show_card(
                "Reject",
                [note_box("Reason for rejecting", LIMITS["note"])],
                execute("Reject", Verb.FILTER_REJECT, style="destructive", ids=ids),
            )
        )
        if request.status is FilterStatus.PENDING:
            actions.append(
                show_card(
                    "Ask for more information",
                    [note_box("Your question for the requester", LIMITS["note"])],
                    execute("Ask", Verb.FILTER_ASK, ids=ids),
                )
            )
    return card(body, actions)


_SCOPE_WARNING: dict[ExceptionScope, str] = {
    ExceptionScope.PAGE: "Only this page was asked for: don't allow the rest of the site.",
    ExceptionScope.PATH: "Only this part of the site was asked for: don't allow the rest.",
    ExceptionScope.SITE: "The whole site was asked for, with the reason above.",
}


def apply_task(request: FilterRequest, *, version: int) -> dict[str, Any]:
    """IT's task after approval: the exact rule to apply (what was asked: a page, a path or,
    with its reason, the whole site), with a Done button that records who applied it."""
    body: list[CardElement] = [
        heading(
            f"Apply: allow {'all of ' if request.scope is ExceptionScope.SITE else ''}"
            f"{safe_text(request.target, limit=300)} for "
            f"{safe_text(audience_words(request), limit=200)} until {_day(request.end)}"
        ),
        para(safe_text(request.rule, limit=500), emphasis=True),
        para(_SCOPE_WARNING[request.scope], subtle=True),
        para(
            f"Request {request.ref} is approved for {_day(request.start)} to {_day(request.end)}. "
            "Add the exception in the filter, then press Done. The requester is told it is "
            "allowed when the period starts."
        ),
    ]
    actions: list[Any] = []
    if request.status is FilterStatus.APPROVED:
        actions.append(
            execute(
                "Done: applied", Verb.FILTER_APPLIED, style="positive", ref=request.ref, ver=version
            )
        )
    elif request.applied:
        body.append(
            para(f"Applied by {safe_text(request.applied.by_name, limit=80)}.", subtle=True)
        )
    elif request.status is FilterStatus.LAPSED:
        body.append(para("The period ended before it was applied: nothing to do.", subtle=True))
    return card(body, actions)


def reblock_task(request: FilterRequest, *, version: int, overdue_days: int = 0) -> dict[str, Any]:
    """IT's task when the period ends."""
    body: list[CardElement] = [
        heading(f"Re-block {safe_text(request.target, limit=300)} now"),
        para(
            f"The period for {request.ref} ended on {_day(request.end)}. "
            f"Remove the exception ({safe_text(request.rule, limit=500)}), then press Done."
        ),
    ]
    if overdue_days:
        body.append(attention(f"Overdue by {overdue_days} day{'s' if overdue_days != 1 else ''}."))
    actions: list[Any] = []
    if request.status in {FilterStatus.REBLOCK_DUE, FilterStatus.APPLIED}:
        actions.append(
            execute(
                "Done: re-blocked",
                Verb.FILTER_REBLOCKED,
                style="positive",
                ref=request.ref,
                ver=version,
            )
        )
    elif request.reblocked:
        body.append(
            para(f"Re-blocked by {safe_text(request.reblocked.by_name, limit=80)}.", subtle=True)
        )
    return card(body, actions)


def question_card(request: FilterRequest, *, version: int) -> dict[str, Any]:
    """1:1 to the requester: the deciders' question, with a box to answer it."""
    return card(
        [
            heading(f"A question about your request {request.ref}"),
            para(safe_text(request.question, limit=LIMITS["note"])),
            note_box("Your answer", LIMITS["note"]),
        ],
        [
            execute(
                "Send answer", Verb.FILTER_ANSWER, style="positive", ref=request.ref, ver=version
            )
        ],
    )


def decision_card(request: FilterRequest) -> dict[str, Any]:
    """1:1 to the requester: what was decided (and exactly what was approved)."""
    audience = safe_text(audience_words(request), limit=200)
    if request.status is FilterStatus.REJECTED:
        body = [
            heading(f"Not approved: {request.ref}"),
            para(f"Reason: {safe_text(request.decision_note, limit=LIMITS['note'])}"),
        ]
    elif request.status is FilterStatus.REBLOCKED:
        body = [
            heading(f"Access ended: {request.ref}"),
            para(f"{safe_text(request.target, limit=300)} is blocked again."),
        ]
    elif request.status is FilterStatus.APPLIED:
        body = [
            heading(f"Now allowed: {request.ref}"),
            para(
                f"IT has allowed {safe_text(request.target, limit=300)} for {audience} "
                f"until {_day(request.end)}."
            ),
            para("Supervise pupils while they use it.", subtle=True),
        ]
    else:
        body = [
            heading(f"Approved: {request.ref}"),
            para(
                f"Approved: {safe_text(request.site, limit=300)} for {audience}, "
                f"from {_day(request.start)} until {_day(request.end)}."
            ),
            para("IT will apply it; you'll get a message when it is live."),
        ]
    return card(body)


def never_unblockable_note(request: FilterRequest, why: str) -> dict[str, Any]:
    """1:1 to the DSL: someone asked to unblock something that can never be unblocked."""
    return card(
        [
            heading(f"Refused filter request {request.ref}"),
            para(
                f"{safe_text(request.requester_name, limit=80)} asked to unblock "
                f"{safe_text(request.site, limit=300)}. It was refused at once: {why}"
            ),
            para("You may want to follow this up.", subtle=True),
        ]
    )


def filter_log_card(
    counts: Sequence[tuple[str, int]],
    recent: Sequence[tuple[str, str, str, str]],
    *,
    download_url: str | None,
) -> dict[str, Any]:
    """The filtering change log summary: counts and the latest changes, and the CSV link."""
    body: list[CardElement] = [
        heading("Filtering change log"),
        facts([(label, str(n)) for label, n in counts] or [("Requests", "0")]),
    ]
    if recent:
        body.append(para("Latest changes", emphasis=True))
        body.append(
            facts(
                [
                    (when, safe_text(f"{ref}: {what} ({who})", limit=300))
                    for when, ref, what, who in recent
                ]
            )
        )
    actions: list[Any] = []
    if download_url:
        actions.append(OpenUrlAction(title="Download the full log (CSV)", url=download_url))
        body.append(para("The download link works for 10 minutes.", subtle=True))
    else:
        body.append(para("For the full log, run script/filter-log on the server.", subtle=True))
    return card(body, actions)
