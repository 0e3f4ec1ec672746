"""Logging an additional 1:1 call with a pupil (000 §6)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from policy.errors import NotAllowed
from policy.roles import Person
from policy.school import SchoolPolicy
from policy.school_calendar import add_school_days
from policy.video_calls.plan import teaching_starts_at
from policy.video_calls.recording import AlreadyDone

# ---------------------------------------------------------------------------------------------
# Logging an additional 1:1 call with a pupil (000 §6)
# ---------------------------------------------------------------------------------------------


class LogStatus(StrEnum):
    """Where a 1:1 call log is."""

    PENDING = "pending"
    SUBMITTED = "submitted"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallLogEntry:
    """What the member of staff records about a 1:1 call (000 §6: "names, date,
    time/duration, purpose, outcome").

    Attributes:
        names: Who took part, as written.
        start: When the call started (aware).
        duration: How long it lasted.
        purpose: Why the call was made.
        outcome: What came of it.
        head_of_department_id: The head of department it goes to; "" for every one.
    """

    names: str
    start: datetime
    duration: timedelta
    purpose: str
    outcome: str
    head_of_department_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallLog:
    """The log owed after an additional 1:1 call with a pupil, submitted to the Deputy Head
    (Academic) and the head of department (000 §6)."""

    ref: str
    teacher_id: str
    teacher_name: str
    pupils: tuple[str, ...]
    planned_start: datetime
    planned_duration: timedelta
    created_at: datetime
    call_check_id: str = ""
    meeting_id: str = ""
    status: LogStatus = LogStatus.PENDING
    entry: CallLogEntry | None = None
    submitted_at: datetime | None = None

    @property
    def planned_end(self) -> datetime:
        """When the call was planned to end, in UTC."""
        return self.planned_start.astimezone(UTC) + self.planned_duration

    def covers(self, start: datetime, meeting_id: str = "") -> bool:
        """Whether this log is for the call starting at ``start`` (or that meeting)."""
        if meeting_id and self.meeting_id == meeting_id:
            return True
        return self.planned_start == start


def submit_call_log(log: CallLog, by: Person, entry: CallLogEntry, at: datetime) -> CallLog:
    """Record the submitted details of a 1:1 call (000 §6).

    Raises:
        NotAllowed: ``by`` is not the member of staff who made the call.
        AlreadyDone: the log was already submitted.
    """
    if by.id != log.teacher_id:
        raise NotAllowed("submit a call log", "not the member of staff who made the call")
    if log.status is not LogStatus.PENDING:
        raise AlreadyDone(f"{log.ref} was already submitted")
    return replace(log, status=LogStatus.SUBMITTED, entry=entry, submitted_at=at)


def next_log_reminder(after: datetime, school: SchoolPolicy) -> datetime:
    """When to remind about an unsubmitted log: the start of teaching hours on the next
    school day after ``after`` (school time), so a log is chased "the next school day"."""
    next_day = add_school_days(after, 1, school).astimezone(school.zone).date()
    return teaching_starts_at(next_day, school)
