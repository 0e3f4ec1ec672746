"""What every part of the filter feature shares: where a request's cards go, a new request's
records, and the dates of its period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogs.filter_making import new_request_records as new_request_records
from dialogs.filter_making import request_channels as request_channels
from dialogs.handling import FeatureHandlers
from dialogs.ports import Record
from policy.filtering import FilterRequest
from policy.school_calendar import is_school_day


@dataclass(frozen=True, slots=True)
class Loaded:
    """A request reloaded for a click, with its record (and version)."""

    record: Record
    request: FilterRequest


class FilterBase(FeatureHandlers):
    """The filter feature's ports and shared steps."""

    def _channels(self, request: FilterRequest) -> list[str]:
        return request_channels(request, self._deps)

    def _reblock_due_at(self, request: FilterRequest) -> datetime:
        return datetime.combine(request.end, self._school.filtering.reblock_at, self._school.zone)

    def period_starts_at(self, request: FilterRequest) -> datetime:
        """When the requester is told "now allowed" for an exception IT applied early: the
        school's ``now_allowed_at`` (school time) on the period's first day."""
        rules = self._school.filtering
        return datetime.combine(request.start, rules.now_allowed_at, self._school.zone)

    def school_days_overdue(self, request: FilterRequest, now: datetime) -> int:
        """School days since the re-block fell due (the end date itself not counted)."""
        today = now.astimezone(self._school.zone).date()
        day, count = request.end, 0
        while day < today:
            day += timedelta(days=1)
            if is_school_day(day, self._school):
                count += 1
        return count
