"""Recording checks of the filtering and monitoring systems (DfE standards; 000 §3.5; 004):
the form, who may record, the channel notes, reminders when the next is due, and the record in
the review pack and the governors' report."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from cards.fm_checks import check_form
from dialogs.fm_checks import checks_csv
from dialogs.reports import build_governors_report
from graph.local_directory import LocalDirectory
from ops.reports import write_review_pack
from policy.fm_checks import STANDARD_ITEMS, add_months, check_items
from policy.reporting import range_period
from policy.roles import Role
from policy.school import FilteringChecks, SchoolPolicy
from tests.dialogs.conftest import School
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT,
    IT_CHANNEL,
    PUPIL,
    TEACHER,
    assert_valid_card,
    button,
    dm,
    visible_text,
)

FOUND = "The self-harm test site loaded on the library laptops."
ACTIONS = "IT re-applied the filtering policy to the library group; Sam retests on Friday."


def answers(**changes: str) -> dict[str, str]:
    values = {item: "working" for item in STANDARD_ITEMS}
    values.update(checked_on="2026-11-23", next_due="2027-02-23")
    values.update(changes)
    return values


async def record(s: School, who: str = IT, **changes: str) -> dict[str, Any]:
    replies = await s.say(who, "filtering check")
    form = replies[0].card
    assert form is not None and "Record a filtering and monitoring check" in visible_text(form)
    return await s.click(
        who, "fmcheck.submit", {**button(form, "fmcheck.submit"), **answers(**changes)}
    )


async def test_it_records_a_check_and_both_channels_hear_of_the_problem(school: School) -> None:
    shown = await record(
        school, test_sites="problem", apps_covered="not_checked", found=FOUND, actions=ACTIONS
    )
    assert_valid_card(shown)
    text = visible_text(shown)
    assert "Check recorded (FMC-2026-0001)" in text
    assert "Working 6 of 8" in text and "Next check due Tue 23 Feb 2027" in text
    await school.settle()
    for channel in (DSL_CHANNEL, IT_CHANNEL):
        note = school.messenger.latest(channel, "FMC-2026-0001")
        assert_valid_card(note)
        assert "problems found" in visible_text(note)
        assert "Problem found with Test sites are blocked" in visible_text(note)
        assert "Not checked Apps and other non-browser services" in visible_text(note)
        assert FOUND in visible_text(note).replace("\\", "")
    entries = [e for e in await school.audit() if e.action == "fm_check.record"]
    assert [(e.actor, e.outcome) for e in entries] == [(IT, "ok: problems found")]


async def test_a_problem_needs_what_was_wrong_and_the_actions_and_nothing_is_saved_before(
    school: School,
) -> None:
    shown = await record(school, test_sites="problem")
    text = visible_text(shown)
    assert "Nothing has been saved yet" in text
    assert "Say what was wrong." in text and "Say what is being done about it" in text
    assert await school.find("fm_check") == []
    await school.settle()
    assert school.messenger.cards(DSL_CHANNEL) == []


async def test_the_next_check_must_be_within_a_year_and_the_check_not_in_the_future(
    school: School,
) -> None:
    shown = await record(school, next_due="2028-01-05")
    assert "within 12 months" in visible_text(shown)
    shown = await record(school, checked_on="2026-11-24")
    assert "cannot be in the future" in visible_text(shown)
    shown = await record(school, **{item: "not_checked" for item in STANDARD_ITEMS})
    assert "Check at least one thing" in visible_text(shown)
    assert await school.find("fm_check") == []


async def test_only_it_the_dsl_and_online_safety_staff_may_record(school: School) -> None:
    for who in (TEACHER, PUPIL):
        reply = await school.act(who, "fmcheck.submit", {"form": "f1", **answers()})
        assert "Check recorded" not in visible_text(dict(reply.card or {}))
    assert await school.find("fm_check") == []
    refusals = [e for e in await school.audit() if e.outcome.startswith("refused")]
    assert {e.actor for e in refusals} >= {TEACHER, PUPIL}
    shown = await record(school, who=DSL)
    assert "Check recorded" in visible_text(shown)


async def test_the_same_form_sent_twice_is_one_check(school: School) -> None:
    replies = await school.say(IT, "filtering check")
    form = replies[0].card
    assert form is not None
    data = {**button(form, "fmcheck.submit"), **answers()}
    first = await school.click(IT, "fmcheck.submit", data)
    second = await school.click(IT, "fmcheck.submit", data)
    assert "FMC-2026-0001" in visible_text(first) and "FMC-2026-0001" in visible_text(second)
    assert len(await school.find("fm_check")) == 1


async def test_a_due_check_is_reminded_weekly_until_a_newer_one_is_recorded(school: School) -> None:
    await record(school, next_due="2026-12-07")
    await school.settle()
    before = len(school.messenger.cards(IT_CHANNEL))
    school.clock.at = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # the Sunday before: not yet
    await school.settle()
    assert len(school.messenger.cards(IT_CHANNEL)) == before
    school.clock.at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday, teaching hours
    await school.settle()
    reminder = school.messenger.cards(IT_CHANNEL)[-1]
    assert_valid_card(reminder)
    assert "A filtering and monitoring check is due" in visible_text(reminder)
    assert "FMC-2026-0001" in visible_text(reminder)
    assert "The next is due today, Mon 7 Dec 2026." in visible_text(reminder)
    assert button(reminder, "fmcheck.start")
    # The online safety lead (the demo school's deputy DSL) is reminded in their own chat.
    assert any("check is due" in visible_text(c) for c in school.messenger.cards(dm(DEPUTY_DSL)))
    assert not any("check is due" in visible_text(c) for c in school.messenger.cards(dm(DSL)))
    reminders = len(school.messenger.cards(IT_CHANNEL))
    school.clock.at = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # the next day: no nagging
    await school.settle()
    assert len(school.messenger.cards(IT_CHANNEL)) == reminders
    school.clock.at = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)  # a week on: again, overdue
    await school.settle()
    assert len(school.messenger.cards(IT_CHANNEL)) == reminders + 1
    assert "7 days ago" in visible_text(school.messenger.cards(IT_CHANNEL)[-1])
    await record(school, checked_on="2026-12-14", next_due="2027-03-15")
    await school.settle()
    after = len(school.messenger.cards(IT_CHANNEL))  # the new check's own note
    school.clock.at = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
    await school.settle()
    assert len(school.messenger.cards(IT_CHANNEL)) == after
    sent = [e for e in await school.audit() if e.action == "fm_check.reminder"]
    assert len(sent) == 2


async def test_checks_are_in_the_review_pack_and_the_governors_report(
    school: School, tmp_path: Path
) -> None:
    await record(school, test_sites="problem", found="=HYPERLINK(1)", actions=ACTIONS)
    records = await school.find("fm_check")
    from dialogs.fm_checks import decode

    checks = [decode(r) for r in records]
    rows = list(csv.DictReader(io.StringIO(checks_csv(checks, school.deps.school))))
    assert len(rows) == len(STANDARD_ITEMS)
    first = rows[0]
    assert first["reference"] == "FMC-2026-0001" and first["checked_by"] == "Nadia Khan"
    assert first["result"] == "Problem found" and first["what_was_wrong"] == "'=HYPERLINK(1)"
    files = write_review_pack([], "", school.deps.school, tmp_path, school.clock.now(), checks)
    assert tmp_path / "filtering-checks.csv" in files
    readme = (tmp_path / "README.txt").read_text()
    assert "1 checks recorded, 1 of them found a problem" in readme
    assert "The next is due on 23 Feb 2027." in readme

    period = range_period(datetime(2026, 9, 1).date(), datetime(2026, 12, 18).date())
    report = await build_governors_report(
        school.store, school.deps.school, period, school.clock.now()
    )
    section = next(s for s in report.sections if s.title == "Filtering and monitoring checks")
    figures = {f.label: f.text for f in section.figures}
    assert figures["Checks recorded in this period"] == "1"
    assert figures["Checks that found a problem"] == "1"
    assert figures["Latest check"] == "Mon 23 Nov 2026"
    assert figures["Next check due"] == "Tue 23 Feb 2027"
    assert "Nadia" not in str(report)


async def test_without_an_online_safety_lead_the_dsl_is_reminded(
    demo_school: SchoolPolicy, demo_directory: LocalDirectory
) -> None:
    roles = {r: ids for r, ids in demo_school.roles.items() if r is not Role.ONLINE_SAFETY_LEAD}
    s = School(replace(demo_school, roles=roles), demo_directory)
    await record(s, next_due="2026-12-07")
    s.clock.at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    await s.settle()
    assert any("check is due" in visible_text(c) for c in s.messenger.cards(dm(DSL)))
    assert not any("check is due" in visible_text(c) for c in s.messenger.cards(dm(DEPUTY_DSL)))


def test_the_form_is_a_valid_card_and_the_interval_is_at_most_a_year(
    demo_school: SchoolPolicy,
) -> None:
    items = check_items(("Sixth-form BYOD network",))
    form = check_form(demo_school, items, form_id="f", values={})
    assert_valid_card(form)
    assert "Sixth-form BYOD network" in str(form)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2026, 11, 23), 3) == date(2027, 2, 23)
    with pytest.raises(ValueError, match="at least once a year"):
        FilteringChecks(interval_months=13)
    with pytest.raises(ValueError, match="1-120"):
        FilteringChecks(extra_items=("  ",))


async def test_the_suggested_next_check_falls_on_a_school_day(school: School) -> None:
    # The form suggests the next check 3 months on, moved to a school day when that is not one.
    school.clock.at = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # Fri: 3 months on is Thu 4 Mar
    form = (await school.say(IT, "filtering check"))[0].card
    assert form is not None
    assert '"value": "2027-03-04"' in json.dumps(form)
    school.clock.at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # Mon: 3 months on is Sun 7 Mar
    form = (await school.say(IT, "filtering check"))[0].card
    assert form is not None
    assert '"value": "2027-03-08"' in json.dumps(form)  # Mon 8 Mar
