"""The governors' report shows escalations (issue 20): how far urgent concerns climbed the
chain, how many came in out of hours and the median time to acknowledge them, and LADO
contact for concerns about staff, with the report's small-number suppression."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from policy.concerns import Concern, ConcernStatus, Event, Source
from policy.on_call import ESCALATED, LADO_REMINDER
from policy.reporting import GovernorsReport, governors_report, range_period

SCHOOL = load_school_policy(DEFAULT_SCHOOL_CONFIG)
SATURDAY_EVENING = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def concern(
    n: int,
    *,
    at: datetime,
    steps: int = 0,
    acknowledged_after: timedelta | None = None,
    category: str = "cyberbullying",
    events: tuple[str, ...] = (),
    actions: tuple[str, ...] = (),
) -> Concern:
    bot = ("system", "Online Safety bot")
    chronology = tuple(
        Event(at + timedelta(minutes=15 * (i + 1)), *bot, ESCALATED, "Sent to X (step)")
        for i in range(steps)
    ) + tuple(Event(at, *bot, kind, "Sent to Y (reminder)") for kind in events)
    return Concern(
        ref=f"OSC-2026-{n:04d}",
        source=Source.STAFF,
        category=category,
        urgent=category != "staff_conduct",
        reporter_id="reporter",
        reporter_name="Reporter Name",
        created_at=at,
        year_group="Year 8",
        involved="A child",
        what_happened="Details",
        status=ConcernStatus.NEW if acknowledged_after is None else ConcernStatus.ACKNOWLEDGED,
        acknowledged_at=None if acknowledged_after is None else at + acknowledged_after,
        actions_done=actions,
        chronology=chronology,
    )


def report(concerns: list[Concern]) -> GovernorsReport:
    return governors_report(
        school=SCHOOL,
        period=range_period(date(2026, 11, 1), date(2026, 11, 30)),
        generated_at=MONDAY_MORNING,
        concerns=concerns,
        filter_requests=(),
        call_checks=(),
        recordings=(),
    )


def rows(r: GovernorsReport, key: str) -> dict[str, str]:
    table = r.table(key)
    return {c.label: c.text for c in table.cells} | {"Total": table.total.text}


def figure(r: GovernorsReport, label: str) -> str:
    [section] = [s for s in r.sections if s.title == "Out-of-hours cover and escalation"]
    return {f.label: f.text for f in section.figures}[label]


def test_escalations_out_of_hours_and_their_median_time_to_acknowledge() -> None:
    concerns = [
        *(
            concern(n, at=MONDAY_MORNING, acknowledged_after=timedelta(minutes=5))
            for n in (1, 2, 3)
        ),
        concern(4, at=SATURDAY_EVENING, steps=4, acknowledged_after=timedelta(minutes=62)),
        concern(5, at=SATURDAY_EVENING, steps=4, acknowledged_after=timedelta(minutes=70)),
        concern(6, at=SATURDAY_EVENING, steps=4, acknowledged_after=timedelta(minutes=65)),
    ]
    r = report(concerns)

    assert rows(r, "urgent_by_escalation") == {
        "Acknowledged before any escalation": "3",
        "Reached step 1: whoever was on call": "0",
        "Reached step 2: deputy DSL": "0",
        "Reached step 3: Designated Safeguarding Lead (DSL)": "0",
        "Reached step 4: headteacher": "3",
        "Total": "6",
    }
    assert rows(r, "urgent_by_hours") == {"In school hours": "3", "Out of hours": "3", "Total": "6"}
    label = "Median time to acknowledge, urgent concerns reported out of hours"
    assert figure(r, label) == "1 h 5 min"


def test_small_numbers_stay_suppressed() -> None:
    in_hours = [
        concern(n, at=MONDAY_MORNING, acknowledged_after=timedelta(minutes=5)) for n in (1, 2, 3)
    ]
    one_escalated = concern(
        4, at=SATURDAY_EVENING, steps=2, acknowledged_after=timedelta(minutes=35)
    )
    r = report([*in_hours, one_escalated])

    # 3 and 1 of 4: the 1 is small, and the 3 would give it away, so neither is shown.
    assert set(rows(r, "urgent_by_escalation").values()) == {"withheld", "4"}
    assert set(rows(r, "urgent_by_hours").values()) == {"withheld", "4"}
    label = "Median time to acknowledge, urgent concerns reported out of hours"
    assert figure(r, label) == "not shown"

    more = [
        concern(n, at=SATURDAY_EVENING, steps=4, acknowledged_after=timedelta(minutes=61))
        for n in (5, 6, 7, 8)
    ]
    r = report([*in_hours, one_escalated, *more])
    escalation = rows(r, "urgent_by_escalation")
    assert escalation["Reached step 2: deputy DSL"] == "fewer than 3"
    assert escalation["Acknowledged before any escalation"] == "not shown"  # or the 1 follows
    assert rows(r, "urgent_by_hours") == {"In school hours": "3", "Out of hours": "5", "Total": "8"}
    assert figure(r, label) == "1 h 1 min"


def test_lado_contact_for_concerns_about_staff() -> None:
    staff = [
        concern(n, at=MONDAY_MORNING, category="staff_conduct", actions=("lado_informed",))
        for n in (1, 2, 3)
    ] + [
        concern(4, at=MONDAY_MORNING, category="staff_conduct", events=(LADO_REMINDER,)),
        concern(5, at=MONDAY_MORNING, category="staff_conduct", events=(LADO_REMINDER,)),
        concern(
            6,
            at=MONDAY_MORNING,
            category="staff_conduct",
            events=(LADO_REMINDER,),
            actions=("lado_informed",),
        ),
    ]
    r = report(staff)

    assert rows(r, "lado_contact") == {
        "LADO informed within the time the school allows": "3",
        "LADO informed after a reminder": "fewer than 3",
        "LADO contact not recorded": "fewer than 3",
        "Total": "6",
    }
    few = report(staff[:2])  # the staff category itself is "fewer than 3": withheld
    assert rows(few, "lado_contact")["Total"] == "withheld"


def test_a_school_that_names_people_in_its_chain_never_names_them_to_governors() -> None:
    named = replace(
        SCHOOL,
        on_call=replace(
            SCHOOL.on_call,
            chain=(*SCHOOL.on_call.chain, replace(SCHOOL.on_call.chain[0], who=(SCHOOL_ID,))),
        ),
    )
    r = governors_report(
        school=named,
        period=range_period(date(2026, 11, 1), date(2026, 11, 30)),
        generated_at=MONDAY_MORNING,
        concerns=[],
        filter_requests=(),
        call_checks=(),
        recordings=(),
    )
    assert "Reached step 5: a named member of staff" in rows(r, "urgent_by_escalation")


SCHOOL_ID = "5c400000-0000-4000-8000-000000000007"
