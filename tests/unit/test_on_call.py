"""Out-of-hours cover (000 §12.2; 004 flowchart "DO NOT DELAY"), rule by rule: who is on call
at a moment (school hours, rota entries, holidays, named date ranges, the clocks changing),
the escalation chain that ends at a person, routine reminders in school hours, the LADO clock,
and the start-up checks that refuse a rota leaving a time with nobody."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, ConfigError, load_school_policy
from policy.concerns import Concern, Event, Source
from policy.on_call import (
    ESCALATED,
    chain,
    gaps,
    lado_due,
    next_step,
    on_call_at,
    routine_reminder_at,
    sent_to,
    steps_taken,
    tried,
)
from policy.preview import preview
from policy.school import EscalationStep, Hours, OnCall, RotaEntry, SchoolPolicy
from policy.school_checks import school_problems
from tests.support import DEPUTY_DSL, DSL, ROOT

DEMO = load_school_policy(DEFAULT_SCHOOL_CONFIG)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def with_cover(**changes: object) -> SchoolPolicy:
    return replace(DEMO, on_call=replace(DEMO.on_call, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("at", "who", "why"),
    [
        (utc(2026, 11, 23, 10, 0), ("dsl", "deputy_dsl"), "school hours"),  # Monday in term
        (utc(2026, 11, 23, 18, 0), (DSL,), "weekday evenings"),  # Monday evening (GMT)
        (utc(2026, 11, 23, 23, 0), ("headteacher",), "out of hours"),  # Monday night
        (utc(2026, 11, 28, 19, 0), (DEPUTY_DSL,), "weekends"),  # Saturday 19:00
        (utc(2026, 11, 28, 7, 0), ("headteacher",), "out of hours"),  # Saturday 07:00
    ],
)
def test_who_is_on_call_in_the_demo_school(at: datetime, who: tuple[str, ...], why: str) -> None:
    cover = on_call_at(at, DEMO)

    assert (cover.who, cover.why) == (who, why)


def test_the_rota_follows_school_time_across_the_autumn_clocks_change() -> None:
    # British Summer Time ends at 02:00 on Sunday 25 October 2026: 07:30 UTC is 08:30 on the
    # Saturday (weekend cover has started) but 07:30 on the Sunday (not yet).
    assert on_call_at(utc(2026, 10, 24, 7, 30), DEMO).who == (DEPUTY_DSL,)
    assert on_call_at(utc(2026, 10, 25, 7, 30), DEMO).who == ("headteacher",)
    # And 21:30 UTC on Saturday is 22:30 BST (cover over); on Sunday 21:30 GMT (still on).
    assert on_call_at(utc(2026, 10, 24, 21, 30), DEMO).who == ("headteacher",)
    assert on_call_at(utc(2026, 10, 25, 21, 30), DEMO).who == (DEPUTY_DSL,)


def test_the_rota_follows_school_time_across_the_spring_clocks_change() -> None:
    # BST starts at 01:00 UTC on Sunday 28 March 2027: 07:30 UTC is 08:30 BST that day.
    assert on_call_at(utc(2027, 3, 27, 7, 30), DEMO).who == ("headteacher",)
    assert on_call_at(utc(2027, 3, 28, 7, 30), DEMO).who == (DEPUTY_DSL,)


def test_a_holiday_is_not_school_hours_and_a_holidays_entry_covers_it() -> None:
    school = with_cover(
        rota=(
            RotaEntry(("dsl",), name="holiday days", on="holidays", start=time(9), end=time(17)),
            *DEMO.on_call.rota,
        )
    )
    half_term_wednesday = utc(2026, 10, 28, 10, 0)  # 10:00 GMT, a school holiday
    bank_holiday_monday = utc(2026, 8, 31, 10, 0)  # 11:00 BST, a bank holiday

    assert on_call_at(half_term_wednesday, school).why == "holiday days"
    assert on_call_at(bank_holiday_monday, school).who == ("dsl",)
    assert on_call_at(utc(2026, 11, 23, 10, 0), school).why == "school hours"
    assert on_call_at(utc(2026, 11, 28, 10, 0), school).why == "weekends"  # not a holiday
    assert on_call_at(half_term_wednesday, DEMO).why == "out of hours"  # without that entry


def test_a_named_date_range_comes_first_and_only_inside_its_dates_and_hours() -> None:
    christmas_eve = utc(2026, 12, 24, 10, 0)
    boxing_day = utc(2026, 12, 26, 10, 0)  # a Saturday: the range wins over weekends

    assert on_call_at(christmas_eve, DEMO).who == ("deputy_dsl",)
    assert on_call_at(boxing_day, DEMO).why == "Christmas holiday"
    assert on_call_at(utc(2026, 12, 24, 21, 0), DEMO).who == ("headteacher",)
    assert on_call_at(utc(2027, 1, 5, 18, 0), DEMO).why == "weekday evenings"  # term again


def test_end_of_midnight_covers_to_the_end_of_the_day() -> None:
    school = with_cover(
        out_of_hours=(), rota=(RotaEntry(("dsl",), name="all evening", start=time(17)),)
    )

    assert on_call_at(utc(2026, 11, 28, 23, 59), school).who == ("dsl",)
    assert on_call_at(utc(2026, 11, 28, 16, 59), school).who == ()


def test_gaps_name_every_stretch_with_nobody_on_call() -> None:
    school = with_cover(out_of_hours=(), rota=(RotaEntry(("dsl",), on="weekends"),))

    found = gaps(school, date(2026, 11, 23), date(2026, 11, 29))

    assert (date(2026, 11, 23), time(0), time(8)) in found
    assert (date(2026, 11, 23), time(17), None) in found
    assert not [g for g in found if g[0] >= date(2026, 11, 28)]  # the weekend is covered
    assert gaps(DEMO, date(2026, 9, 1), date(2027, 7, 31)) == []


def test_the_chain_waits_each_step_and_repeats_its_last_person() -> None:
    school = with_cover(
        chain=(EscalationStep(("on_call",), after_minutes=10), EscalationStep(("headteacher",)))
    )
    steps = chain(school)

    assert [s.after.total_seconds() // 60 for s in steps] == [10, 15]  # 15: escalation default
    assert next_step(school, 0).who == ("on_call",)
    assert next_step(school, 1).who == next_step(school, 7).who == ("headteacher",)
    assert next_step(school, 7).last


def test_the_chronology_counts_steps_and_gives_the_card_its_tried_line() -> None:
    at = utc(2026, 11, 28, 19, 0)
    concern = Concern(
        ref="OSC-2026-0001",
        source=Source.STAFF,
        category="grooming",
        urgent=True,
        reporter_id="x",
        reporter_name="A teacher",
        created_at=at,
        year_group="Year 8",
        involved="",
        what_happened="",
        chronology=(
            Event(at, "system", "Online Safety bot", "alerted", sent_to(["Tom Hughes"], "on call")),
            Event(
                at.replace(minute=15),
                "system",
                "Online Safety bot",
                ESCALATED,
                sent_to(["Fiona Blake", "Tom Hughes"], "not acknowledged, step 1 of 4"),
            ),
        ),
    )

    assert steps_taken(concern) == 1
    assert tried(concern) == [
        (at, "Tom Hughes"),
        (at.replace(minute=15), "Fiona Blake, Tom Hughes"),
    ]


def test_routine_reminders_fall_on_school_days_in_contact_hours() -> None:
    friday_three = utc(2026, 11, 27, 15, 0)
    saturday_evening = utc(2026, 11, 28, 19, 0)
    before_half_term = utc(2026, 10, 23, 16, 30)  # Friday 17:30 BST, half term next week

    assert routine_reminder_at(friday_three, DEMO) == utc(2026, 11, 30, 15, 0)  # Monday
    assert routine_reminder_at(saturday_evening, DEMO) == utc(2026, 12, 1, 8, 0)  # Tue 08:00
    assert routine_reminder_at(before_half_term, DEMO) == utc(2026, 11, 3, 8, 0)


def test_the_lado_clock_runs_in_working_days() -> None:
    assert lado_due(utc(2026, 11, 27, 15, 0), DEMO) == utc(2026, 11, 30, 15, 0)  # Fri -> Mon
    two = replace(DEMO, lado=replace(DEMO.lado, working_days=2))
    assert lado_due(utc(2026, 11, 27, 15, 0), two) == utc(2026, 12, 1, 15, 0)


def test_the_shipped_default_is_the_dsl_and_deputies_in_hours_the_headteacher_after() -> None:
    default = OnCall()

    assert default.contact_hours == Hours(time(8), time(17))
    assert default.in_hours == ("dsl", "deputy_dsl")
    assert default.out_of_hours == ("headteacher",)
    assert default.chain[-1].who == ("headteacher",)


DEMO_TEXT = (ROOT / "config" / "school.toml").read_text(encoding="utf-8")


def problems_in(tmp_path: Path, text: str) -> str:
    path = tmp_path / "school.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_school_policy(path)
    return "\n".join(raised.value.problems)


def test_a_rota_that_leaves_a_time_with_nobody_is_refused(tmp_path: Path) -> None:
    text = problems_in(
        tmp_path, DEMO_TEXT.replace('out_of_hours = ["headteacher"]', "out_of_hours = []")
    )

    assert "on_call: nobody is on call on Wednesday 2 September 2026 from 00:00 to 08:00" in text
    assert "add a rota entry that covers it, or name someone in on_call.out_of_hours" in text


def test_a_chain_that_does_not_end_at_a_person_is_refused(tmp_path: Path) -> None:
    school = with_cover(chain=())
    assert any("the chain must end at a person" in p for p in school_problems(school))
    school = with_cover(chain=(EscalationStep(("on_call",)), EscalationStep(())))
    assert any(
        "on_call.chain step 2: name at least one person" in p for p in school_problems(school)
    )


def test_unknown_names_and_roles_without_a_group_are_refused(tmp_path: Path) -> None:
    text = problems_in(tmp_path, DEMO_TEXT.replace('who = ["dsl"]\n', 'who = ["dls"]\n', 1))
    assert "on_call.chain step 3: 'dls' is neither a role nor a person's Entra object id" in text
    assert "did you mean 'dsl'?" in text

    no_head = replace(DEMO, roles={r: g for r, g in DEMO.roles.items() if r.value != "it"})
    no_it = with_cover(out_of_hours=("it",))
    assert not [p for p in school_problems(no_head) if p.startswith("on_call")]
    assert any(
        "nobody can be reached as 'it'" in p
        for p in school_problems(replace(no_it, roles=no_head.roles))
    )


def test_a_rota_entry_must_name_someone_and_make_sense() -> None:
    with pytest.raises(ValueError, match="who must name at least one person or role"):
        RotaEntry(())
    with pytest.raises(ValueError, match="end 08:00 must be after start 17:00"):
        RotaEntry(("dsl",), start=time(17), end=time(8))
    with pytest.raises(ValueError, match="on must be one of"):
        RotaEntry(("dsl",), on="weekend")


def test_check_config_shows_the_cover_the_chain_and_the_lado_clock() -> None:
    shown = preview(DEMO)

    assert "  - School days, 08:00–17:00: Designated Safeguarding Lead (DSL), deputy DSL" in shown
    assert "  - Christmas holiday: 19 Dec 2026 to 04 Jan 2027, 08:00–20:00: deputy DSL" in shown
    assert "  - Any other time: headteacher" in shown
    assert "step 4, 15 minutes later: headteacher (repeats until someone acknowledges)" in shown
    assert "LADO contact due within 1 working day(s)" in shown


def test_with_nobody_named_for_school_hours_the_rota_covers_them() -> None:
    school = with_cover(in_hours=())

    assert on_call_at(utc(2026, 11, 23, 10, 0), school).who == ("headteacher",)
