"""Over-blocking: staff say a blocked site got in the way of teaching; IT answers every report.

Rules: the DfE filtering and monitoring standards ask that filtering blocks harmful and
inappropriate content "without unreasonably impacting teaching and learning", and that the
school knows when it does (the annual review looks at it); requests for filtering changes go to
IT and are risk assessed and logged (001 §7.3, 004 "Filtering"). So any member of staff may
report over-blocking (the site, the lesson and how it got in the way); IT answers each report
in one of two ways: it makes an exception request from it (decided as any other request: the
report is not an approval), or it explains why no change is needed (a reason is required, and
the teacher is told). The counts, outcomes and time to answer go to the review and the
governors.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from policy.errors import PolicyError
from policy.roles import Person, Role

LIMITS = {"site": 2000, "lesson": 200, "impact": 1000, "note": 500}


class OverblockStatus(StrEnum):
    """Where a report is."""

    OPEN = "open"
    EXCEPTION_REQUESTED = "exception_requested"
    EXPLAINED = "explained"


#: The outcomes, as the review pack and the governors' report name them.
OUTCOME_WORDS: dict[OverblockStatus, str] = {
    OverblockStatus.EXCEPTION_REQUESTED: "An exception was requested",
    OverblockStatus.EXPLAINED: "Not needed, or explained to the teacher",
    OverblockStatus.OPEN: "Still waiting for IT",
}


class OverblockRuleBroken(PolicyError):
    """A click the rules do not allow on an over-blocking report."""


@dataclass(frozen=True, slots=True)
class OverblockReport:
    """A member of staff's report that a blocked site got in the way of teaching."""

    ref: str
    reporter_id: str
    reporter_name: str
    created_at: datetime
    site: str
    lesson: str
    impact: str
    status: OverblockStatus = OverblockStatus.OPEN
    resolved_at: datetime | None = None
    resolved_by_id: str = ""
    resolved_by_name: str = ""
    #: Why no change is needed (``EXPLAINED``).
    explanation: str = ""
    #: The filter request IT made from it (``EXCEPTION_REQUESTED``).
    exception_ref: str = ""

    @property
    def time_to_resolve(self) -> timedelta | None:
        """From the report to IT's answer (None while it is open)."""
        return None if self.resolved_at is None else self.resolved_at - self.created_at


def _check_it(report: OverblockReport, by: Person) -> None:
    if Role.IT not in by.roles:
        raise OverblockRuleBroken("only IT answers an over-blocking report", code="not IT")
    if report.status is not OverblockStatus.OPEN:
        raise OverblockRuleBroken("this report has already been answered", code="already answered")


def exception_requested(
    report: OverblockReport, by: Person, exception_ref: str, at: datetime
) -> OverblockReport:
    """IT made an exception request from the report (it is then decided as any request)."""
    _check_it(report, by)
    return replace(
        report,
        status=OverblockStatus.EXCEPTION_REQUESTED,
        resolved_at=at,
        resolved_by_id=by.id,
        resolved_by_name=by.name,
        exception_ref=exception_ref,
    )


def explained(report: OverblockReport, by: Person, reason: str, at: datetime) -> OverblockReport:
    """IT says no change is needed, and why (the teacher is told the reason)."""
    _check_it(report, by)
    if len(reason.strip()) < 5:
        raise OverblockRuleBroken(
            "give the reason, so the teacher knows why", code="reason missing"
        )
    return replace(
        report,
        status=OverblockStatus.EXPLAINED,
        resolved_at=at,
        resolved_by_id=by.id,
        resolved_by_name=by.name,
        explanation=reason.strip()[: LIMITS["note"]],
    )
