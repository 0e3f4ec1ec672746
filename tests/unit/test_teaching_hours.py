"""The school's teaching hours are one rule (``policy.video_calls.teaching_hours``): the
call-plan check, the reminders timed to the start of the school day and every text that states
the hours ask it, so a school with other hours gets all of them moved together (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from policy.preview import preview
from policy.school import SchoolPolicy
from policy.video_calls import (
    Outcome,
    RuleId,
    check_call,
    next_log_reminder,
    pupil_contact_rule_text,
    recording_rule_text,
    teaching_hours,
    teaching_starts_at,
)
from tests.unit.test_video_call_rules import DEFAULT, EARLY_SCHOOL, MONDAY, plan


def teaching_outcome(at: str, school: SchoolPolicy) -> Outcome:
    verdict = check_call(plan(at=at, minutes=30, school=school), school)
    return next(r.outcome for r in verdict.results if r.rule_id is RuleId.TEACHING_HOURS)


def test_a_school_with_other_hours_moves_the_check_the_reminders_and_the_words_together() -> None:
    assert teaching_hours(DEFAULT).start == time(9, 0)
    assert teaching_hours(EARLY_SCHOOL).start == time(8, 30)

    # The check: 08:30 is a lesson at the early school, not at the default one; 16:15 the reverse.
    assert teaching_outcome("08:30", EARLY_SCHOOL) is Outcome.PASS
    assert teaching_outcome("08:30", DEFAULT) is Outcome.NOT_ALLOWED
    assert teaching_outcome("16:15", EARLY_SCHOOL) is Outcome.NOT_ALLOWED
    assert teaching_outcome("16:15", DEFAULT) is Outcome.PASS

    # The reminders: at the start of the next school day's teaching.
    sunday_evening = datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
    assert next_log_reminder(sunday_evening, EARLY_SCHOOL) == teaching_starts_at(
        MONDAY, EARLY_SCHOOL
    )
    assert teaching_starts_at(MONDAY, EARLY_SCHOOL).time() == time(8, 30)
    assert teaching_starts_at(MONDAY, DEFAULT).time() == time(9, 0)

    # The words: every text that states the hours.
    for text in (recording_rule_text(EARLY_SCHOOL), pupil_contact_rule_text(EARLY_SCHOOL)):
        assert "between 08:30 and 16:00" in text
        assert "09:00" not in text and "17:00" not in text
    lessons = next(line for line in preview(EARLY_SCHOOL).splitlines() if "Lessons:" in line)
    assert lessons.endswith("08:30–16:00")
