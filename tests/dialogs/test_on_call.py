"""Out-of-hours cover and escalation through the use-case layer (issue 20; 000 §12.2, 004
"DO NOT DELAY"): an urgent concern goes first to whoever is on call, climbs the chain while
nobody acknowledges it (every step in the chronology, the audit and on the channel card),
ends at a person; routine concerns wait for school hours; a concern about a member of staff
runs the LADO clock until "LADO informed" is recorded. The clock is moved, never waited on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from graph.local_directory import LocalDirectory
from policy.school import SchoolPolicy
from tests.dialogs.conftest import School
from tests.dialogs.test_concern import report
from tests.support import (
    CHAIR_OF_GOVERNORS,
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    STRANGER,
    button,
    card_texts,
    click_button,
    dm,
    visible_text,
)

SATURDAY_SEVEN_PM = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)  # GMT: school time is UTC


async def chronology(school: School, ref: str = "OSC-2026-0001") -> list[tuple[str, str]]:
    [record] = await school.find("concern")
    assert record.id == ref
    return [(e["kind"], e["text"]) for e in record.data["chronology"]]


def dms(school: School, person: str, since: int = 0) -> list[Any]:
    return [m for c, m in school.messenger.posted[since:] if c == dm(person)]


def channel_now(school: School) -> str:
    [shown] = school.messenger.shown(DSL_CHANNEL)
    return visible_text(shown)


async def test_an_urgent_concern_on_saturday_evening_reaches_the_person_on_call_first(
    school: School,
) -> None:
    school.clock.at = SATURDAY_SEVEN_PM
    received = await report(school, "grooming")
    await school.settle()

    assert (
        "Tom Hughes (on call now), alerted directly, and the safeguarding channel"
        in visible_text(received)
    )
    # The reporter is told who really has it, not "the DSL and deputies".
    assert "This is marked urgent: the person on call has been alerted." in visible_text(received)
    assert "deputies" not in visible_text(received)
    assert len(dms(school, DEPUTY_DSL)) == 1  # Tom Hughes is on call at weekends
    assert dms(school, DSL) == [] and dms(school, HEADTEACHER) == []
    assert (DEPUTY_DSL, "concern:OSC-2026-0001") in school.notifier.sent  # the activity feed
    assert len(school.messenger.cards(DSL_CHANNEL)) == 1  # and the channel, as always
    assert ("alerted", "Sent to Tom Hughes (on call: weekends)") in await chronology(school)
    assert "Alerted directly: Tom Hughes 19:00. Not acknowledged yet." in channel_now(school)


async def test_unacknowledged_it_climbs_the_chain_to_the_headteacher_and_repeats_there(
    school: School,
) -> None:
    school.clock.at = SATURDAY_SEVEN_PM
    await report(school, "grooming")
    await school.settle()
    start = len(school.messenger.posted)

    school.advance(minutes=14, seconds=59)
    await school.settle()
    assert len(school.messenger.posted) == start  # nothing before the step is due
    steps: list[set[str]] = []
    for _ in range(5):  # 19:15 on call, 19:30 deputies, 19:45 DSL, 20:00 head, 20:15 head
        school.advance(**({"minutes": 15} if steps else {"seconds": 1}))
        before = len(school.messenger.posted)
        await school.settle()
        steps.append({c for c, _ in school.messenger.posted[before:] if c != DSL_CHANNEL})

    assert steps == [
        {dm(DEPUTY_DSL)},
        {dm(DEPUTY_DSL)},
        {dm(DSL)},
        {dm(HEADTEACHER)},
        {dm(HEADTEACHER)},  # the last step repeats to a person, never only a channel note
    ]
    lines = [text for kind, text in await chronology(school) if kind == "escalated"]
    assert lines[0] == "Sent to Tom Hughes (not acknowledged, step 1 of 4)"
    assert lines[2] == "Sent to Fiona Blake (not acknowledged, step 3 of 4)"
    assert lines[3] == "Sent to Helen Carter (not acknowledged, step 4 of 4)"
    assert lines[4] == "Sent to Helen Carter (not acknowledged, step 4 of 4, repeated)"
    assert (
        "Alerted directly: Tom Hughes 19:00, Tom Hughes 19:15, Tom Hughes 19:30, "
        "Fiona Blake 19:45, "
        "Helen Carter 20:00, Helen Carter 20:15. Not acknowledged yet."
    ) in channel_now(school)
    escalations = [e for e in await school.audit() if e.action == "concern.escalate"]
    assert [e.outcome for e in escalations][:4] == [
        "step 1 of 4",
        "step 2 of 4",
        "step 3 of 4",
        "step 4 of 4",
    ]
    assert len(school.messenger.texts(DSL_CHANNEL)) == 5  # a nudge in the channel each step


async def test_the_headteacher_at_the_top_of_the_chain_can_acknowledge_and_it_stops(
    school: School,
) -> None:
    school.clock.at = SATURDAY_SEVEN_PM
    await report(school, "grooming")
    await school.settle()
    for _ in range(4):
        school.advance(minutes=15, seconds=1)
        await school.settle()
    reminder = dms(school, HEADTEACHER)[-1].card
    first_alert = dms(school, DEPUTY_DSL)[0].card

    seen = await click_button(school, HEADTEACHER, dict(reminder), "concern.ack")
    assert "Acknowledged" in visible_text(seen)
    late = await click_button(school, DEPUTY_DSL, dict(first_alert), "concern.ack")
    assert "Helen Carter: Acknowledged" in visible_text(late)  # one acknowledgement, shown
    after = len(school.messenger.posted)
    school.advance(hours=3)
    await school.settle()

    assert len(school.messenger.posted) == after  # acknowledged: the chain stops
    assert "Handled by" in channel_now(school) and "Helen Carter" in channel_now(school)
    assert "Not acknowledged yet" not in channel_now(school)
    log = await school.click(
        DSL, "dsl.incident_log", {"step": "show", "from": "2026-11-01", "to": "2026-11-30"}
    )
    assert "Urgent, escalated up the chain 1" in visible_text(log)
    assert "Median time to acknowledge, urgent out of hours 1 h" in visible_text(log)


async def test_an_alert_sent_before_a_step_still_acknowledges(school: School) -> None:
    school.clock.at = SATURDAY_SEVEN_PM
    await report(school, "grooming")
    await school.settle()
    first_alert = dms(school, DEPUTY_DSL)[0].card
    school.advance(minutes=31)
    await school.settle()  # two steps later: the concern's record has moved on

    seen = await click_button(school, DEPUTY_DSL, dict(first_alert), "concern.ack")

    assert "out of date" not in visible_text(seen)
    [record] = await school.find("concern")
    assert record.data["status"] == "acknowledged" and record.data["handler_name"] == "Tom Hughes"


async def test_in_school_hours_the_dsl_and_deputies_are_alerted_and_nothing_is_tried_on_the_card(
    school: School,
) -> None:
    received = await report(school, "grooming")  # Monday 10:00
    await school.settle()

    assert "This is marked urgent: the DSL and deputies have been alerted." in visible_text(
        received
    )
    assert len(dms(school, DSL)) == len(dms(school, DEPUTY_DSL)) == 1
    assert "Alerted directly" not in channel_now(school)
    assert [k for k, _ in await chronology(school)] == ["reported"]


async def test_a_routine_concern_on_saturday_evening_is_chased_in_school_hours(
    school: School,
) -> None:
    school.clock.at = SATURDAY_SEVEN_PM
    await report(school, "fraud")
    await school.settle()
    before = len(school.messenger.posted)

    school.clock.at = datetime(2026, 12, 1, 7, 59, tzinfo=UTC)  # Tuesday 07:59
    await school.settle()
    assert len(school.messenger.posted) == before  # not at night, not at the weekend
    school.clock.at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    await school.settle()

    assert {c for c, _ in school.messenger.posted[before:]} == {
        dm(DSL),
        dm(DEPUTY_DSL),
        DSL_CHANNEL,
    }
    assert dms(school, HEADTEACHER) == []  # routine concerns never climb the chain


async def test_a_concern_about_the_headteacher_never_goes_to_the_headteacher(
    school: School,
) -> None:
    school.clock.at = SATURDAY_SEVEN_PM
    await report(school, "staff_conduct", immediate_risk="yes", about_headteacher="true")
    for _ in range(14):  # past Monday 19:00, when the LADO clock fires too
        school.advance(hours=4)
        await school.settle()

    assert dms(school, HEADTEACHER) == []
    assert "lado_reminder" in [kind for kind, _ in await chronology(school)]
    assert dms(school, CHAIR_OF_GOVERNORS)  # its own route: the chair of governors
    assert school.messenger.cards(DSL_CHANNEL) == []


async def test_the_lado_clock_reminds_the_headteacher_until_lado_informed_is_recorded(
    school: School,
) -> None:
    school.clock.at = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # Friday 15:00
    await report(school, "staff_conduct")
    await school.settle()
    [private] = dms(school, HEADTEACHER)
    await click_button(school, HEADTEACHER, dict(private.card), "concern.ack")
    before = len(school.messenger.posted)

    school.clock.at = datetime(2026, 11, 30, 14, 59, tzinfo=UTC)  # Monday 14:59
    await school.settle()
    assert len(school.messenger.posted) == before  # one working day: not yet
    school.clock.at = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    await school.settle()

    [reminder] = dms(school, HEADTEACHER, before)
    words = visible_text(dict(reminder.card))
    assert "The LADO has not been recorded as informed." in words
    assert "It was due by Mon 30 Nov 2026, 15:00" in words
    assert (HEADTEACHER, "concern:OSC-2026-0001") in school.notifier.sent
    assert (
        "lado_reminder",
        "Sent to Helen Carter (the LADO has not been recorded as informed)",
    ) in await chronology(school)

    school.advance(minutes=60)
    await school.settle()
    assert len(dms(school, HEADTEACHER, before)) == 2  # again until it is recorded

    latest = dict(dms(school, HEADTEACHER, before)[-1].card)
    done = await school.click(
        HEADTEACHER,
        "concern.action",
        {**button(latest, "concern.action"), "action": "lado_informed"},
    )
    assert "LADO informed" in visible_text(done)
    after = len(school.messenger.posted)
    school.advance(days=3)
    await school.settle()
    assert len(dms(school, HEADTEACHER, after)) == 0  # recorded: the clock stops
    audit = [e.action for e in await school.audit()]
    assert audit.count("concern.lado_reminder") == 2


async def test_no_lado_clock_for_a_concern_about_a_child(school: School) -> None:
    await report(school, "cyberbullying")
    await school.settle()

    assert [t.data["name"] for t in await school.find("timer")] == ["concern.unacknowledged"]
    assert card_texts(school.messenger.cards(DSL_CHANNEL)[0])


async def test_a_rota_naming_someone_the_directory_does_not_know_still_reaches_a_person(
    demo_school: SchoolPolicy, demo_directory: LocalDirectory
) -> None:
    weekends = replace(demo_school.on_call.rota[2], who=(STRANGER,))
    cover = replace(demo_school.on_call, rota=(*demo_school.on_call.rota[:2], weekends))
    school = School(replace(demo_school, on_call=cover), demo_directory)
    school.clock.at = SATURDAY_SEVEN_PM
    await report(school, "grooming")
    await school.settle()
    assert ("alerted", "Sent to someone the directory does not know (on call: weekends)") in (
        await chronology(school)
    )

    school.advance(minutes=15)
    await school.settle()

    # Step 1 is "whoever is on call": nobody the directory knows, so the DSL and deputies.
    assert len(dms(school, DSL)) == 1 and len(dms(school, DEPUTY_DSL)) == 1
