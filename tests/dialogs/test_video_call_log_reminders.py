"""A 1:1 call log left unsent through the use-case layer (000 §6): the "Log this call" card at
the planned end, then a reminder at the start of each school day (never a weekend, never before
teaching hours) until it is sent, and none after (the fast twin of the reminder test in
tests/e2e/test_video_call_followups_over_http.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.kinds.video_call import RENDER_LOG_REMINDER
from dialogs.outbox import OUTBOX
from dialogs.ports import DeliveryFailed
from tests.dialogs.conftest import School
from tests.dialogs.test_video_call import ONE_TO_ONE, audit, check, log_fields
from tests.support import TEACHER, card_texts, dm


def to_teacher(s: School) -> list[str]:
    """The heading of each card the teacher was sent, in order."""
    return [card_texts(c)[0] for c in s.messenger.cards(dm(TEACHER))]


async def at(s: School, when: datetime) -> None:
    s.clock.at = when
    await s.settle()


async def test_an_unsent_log_is_reminded_each_school_day_until_it_is_sent(school: School) -> None:
    school.clock.at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # Friday
    await check(school, **{**ONE_TO_ONE, "date": "2026-11-27", "start": "15:00"})
    await at(school, datetime(2026, 11, 27, 15, 30, tzinfo=UTC))
    assert len(to_teacher(school)) == 1

    await at(school, datetime(2026, 11, 28, 9, 0, tzinfo=UTC))  # Saturday
    await at(school, datetime(2026, 11, 30, 8, 59, 59, tzinfo=UTC))  # Monday, before school
    assert len(to_teacher(school)) == 1
    await at(school, datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert to_teacher(school)[1:] == ["Reminder: log your 1:1 call (LOG-2026-0001)"]

    await at(school, datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # Tuesday: again
    assert len(to_teacher(school)) == 3
    latest = school.messenger.cards(dm(TEACHER))[-1]
    sent = await school.click(TEACHER, "call.log.submit", log_fields(latest))
    assert card_texts(sent)[0] == "Sent: your 1:1 call log LOG-2026-0001"
    await at(school, datetime(2026, 12, 2, 9, 0, tzinfo=UTC))

    assert len(to_teacher(school)) == 3
    assert await school.find("timer") == []
    asked = [(a, o) for a, action, _, o in await audit(school) if action == "call.log.ask"]
    reminded = [(a, o) for a, action, _, o in await audit(school) if action == "call.log.reminder"]
    assert asked == [("system", "sent")]
    assert reminded == [("system", "sent"), ("system", "sent")]


async def test_a_reminder_owed_for_a_log_sent_meanwhile_shows_nothing(school: School) -> None:
    school.clock.at = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # Friday
    await check(school, **{**ONE_TO_ONE, "date": "2026-11-27", "start": "15:00"})
    await at(school, datetime(2026, 11, 27, 15, 30, tzinfo=UTC))
    [form] = school.messenger.cards(dm(TEACHER))
    # Monday's reminder is owed, but Teams is down; the teacher sends the log meanwhile.
    school.messenger.failing = DeliveryFailed("Teams is down")
    await at(school, datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert school.messenger.failures >= 1
    await school.click(TEACHER, "call.log.submit", log_fields(form))
    school.messenger.failing = None
    await at(school, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))

    assert to_teacher(school) == ["Log your 1:1 call (LOG-2026-0001)"]
    assert [m for m in await school.find(OUTBOX) if m.data["render"] == RENDER_LOG_REMINDER] == []
