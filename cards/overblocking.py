"""Cards for over-blocking reports ("blocked but I need it for teaching") and IT's open items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import CardElement, Container, TextBlock

from cards.common import (
    FormInput,
    card,
    check_fields,
    entered_box,
    execute,
    facts,
    heading,
    item_head,
    labelled_text,
    menu_button,
    note_box,
    para,
    safe_text,
    school_time,
    show_card,
    with_problems,
)
from policy.actions import Verb
from policy.overblocking import LIMITS, OverblockReport, OverblockStatus

MAX_OPEN_ITEMS = 20


def overblock_form(
    *,
    form_id: str,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report form: the site, the lesson and how the block got in the way."""
    values = values or {}
    problems = problems or {}
    body: list[CardElement] = [
        heading("Blocked but I need it for teaching"),
        para(
            "Tell IT about a blocked site you need for a lesson. IT will either ask for an "
            "exception for you or explain why it stays blocked.",
        ),
    ]
    boxes = (
        ("site", "The blocked site (web address)", "Give the web address.", False),
        ("lesson", "The lesson or topic", "Give the lesson.", False),
        ("impact", "How did the block get in the way?", "Say how it got in the way.", True),
    )
    inputs: list[FormInput] = [
        entered_box(
            values, field_id, label, limit=LIMITS[field_id], error=error, multiline=multiline
        )
        for field_id, label, error, multiline in boxes
    ]
    body += [*check_fields(problems), *with_problems(inputs, problems)]
    submit = execute("Send to IT", Verb.OVERBLOCKED_SUBMIT, style="positive", form=form_id)
    return card(body, [submit, menu_button("Cancel")])


def _summary(report: OverblockReport, zone: ZoneInfo) -> list[tuple[str, str]]:
    return [
        ("Site", safe_text(report.site, limit=300)),
        ("Lesson", safe_text(report.lesson, limit=LIMITS["lesson"])),
        (
            "Reported",
            f"{safe_text(report.reporter_name, limit=80)}, {school_time(report.created_at, zone)}",
        ),
    ]


def overblock_received(report: OverblockReport, zone: ZoneInfo) -> dict[str, Any]:
    """The teacher's confirmation."""
    return card(
        [
            heading(f"Sent to IT: {report.ref}"),
            para("IT will ask for an exception for you, or tell you why it stays blocked."),
            facts(_summary(report, zone)),
        ],
        [menu_button()],
    )


def _outcome(report: OverblockReport, zone: ZoneInfo) -> list[CardElement]:
    if report.status is OverblockStatus.EXCEPTION_REQUESTED:
        return [
            para(
                f"Exception requested: {report.exception_ref}, by "
                f"{safe_text(report.resolved_by_name, limit=80)}"
                + (f", {school_time(report.resolved_at, zone)}" if report.resolved_at else "")
                + ".",
                emphasis=True,
            )
        ]
    if report.status is OverblockStatus.EXPLAINED:
        return [
            para(
                f"No change: explained by {safe_text(report.resolved_by_name, limit=80)}"
                + (f", {school_time(report.resolved_at, zone)}" if report.resolved_at else "")
                + ".",
                emphasis=True,
            ),
            para(f"Reason: {safe_text(report.explanation, limit=LIMITS['note'])}"),
        ]
    return []


def overblock_it_card(
    report: OverblockReport, zone: ZoneInfo, *, version: int, note: str | None = None
) -> dict[str, Any]:
    """The report in the IT channel, with its two outcomes while it is open."""
    ids: dict[str, str | int] = {"ref": report.ref, "ver": version}
    title = f"Blocked but needed for teaching: {report.ref}"
    body = [
        *item_head(title, _summary(report, zone), note=note),
        *labelled_text("How it got in the way", report.impact, limit=LIMITS["impact"]),
        *_outcome(report, zone),
    ]
    actions: list[Any] = []
    if report.status is OverblockStatus.OPEN:
        actions.append(
            execute(
                "Request an exception from this",
                Verb.OVERBLOCKED_EXCEPTION,
                style="positive",
                ids=ids,
            )
        )
        actions.append(
            show_card(
                "Not needed / explained",
                [note_box("Why (the teacher is told)", LIMITS["note"])],
                execute("Send the explanation", Verb.OVERBLOCKED_EXPLAIN, ids=ids),
            )
        )
    return card(body, actions)


def overblock_outcome_card(report: OverblockReport, zone: ZoneInfo) -> dict[str, Any]:
    """1:1 to the teacher: what IT did about their report."""
    site = safe_text(report.site, limit=300)
    if report.status is OverblockStatus.EXCEPTION_REQUESTED:
        body: list[CardElement] = [
            heading(f"IT asked for an exception: {report.ref}"),
            para(
                f"IT made a filter request for {site} from your report: {report.exception_ref}. "
                "You'll get a message when it is decided, and it is in My reports."
            ),
        ]
    else:
        body = [
            heading(f"IT answered your report: {report.ref}"),
            para(f"IT looked at {site} and made no filter change."),
            para(f"Reason: {safe_text(report.explanation, limit=LIMITS['note'])}"),
            para("If this still gets in the way of teaching, you can request a filter change."),
        ]
    return card(body, [execute("Request a filter change", Verb.REQUEST_FILTER_CHANGE)])


@dataclass(frozen=True, slots=True)
class ItOpenItem:
    """One line of IT's open items: a filter request or an over-blocking report."""

    ref: str
    what: str
    status: str
    since: datetime
    age: timedelta


def _age_words(age: timedelta) -> str:
    days = age.days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''} old"
    hours = int(age.total_seconds() // 3600)
    return f"{hours} h old" if hours else "under an hour old"


def it_open_items_card(items: Sequence[ItOpenItem], zone: ZoneInfo) -> dict[str, Any]:
    """Every filter request and over-blocking report in the school still waiting for someone,
    oldest first (no detail: each card in the IT channel has it)."""
    body: list[CardElement] = [heading(f"Filter requests and reports still open ({len(items)})")]
    if not items:
        body.append(para("Nothing is waiting: every request and report has been dealt with."))
    else:
        body.append(para("Oldest first, from the whole school.", subtle=True))
    for item in items[:MAX_OPEN_ITEMS]:
        body.append(
            Container(
                separator=True,
                items=[
                    TextBlock(
                        text=f"{item.ref}, {_age_words(item.age)}", weight="Bolder", wrap=True
                    ),
                    facts(
                        [
                            ("What", safe_text(item.what, limit=300)),
                            ("Status", item.status),
                            ("Since", school_time(item.since, zone)),
                        ]
                    ),
                ],
            )
        )
    if len(items) > MAX_OPEN_ITEMS:
        body.append(
            para(f"And {len(items) - MAX_OPEN_ITEMS} more: see the filter log.", subtle=True)
        )
    return card(body, [execute("Filter log", Verb.FILTER_LOG), execute("Menu", Verb.MENU)])
