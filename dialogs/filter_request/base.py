"""What every part of the filter feature shares: where a request's cards go, a new request's
records, and the dates of its period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dialogs.filter_request.kinds import KIND, encode, subject_of
from dialogs.handling import FeatureHandlers
from dialogs.outbox import Delivery, message
from dialogs.ports import Record
from dialogs.registry import Deps
from policy.filter_scope import is_new_technology
from policy.filtering import FilterRequest, approver_channels
from policy.school_calendar import is_school_day


def request_channels(request: FilterRequest, deps: Deps) -> list[str]:
    """Where a request's card goes: the channel of each approval it needs (IT, and for a
    sensitive topic the reason approver's, ``policy.filtering.approvers``)."""
    return approver_channels(request, deps.school.channels)


def new_request_records(request: FilterRequest, deps: Deps, now: datetime) -> list[Record]:
    """A new (pending) request's record and what it owes: its cards for the deciders and, for
    an AI tool or chatbot, the DSL channel's note about the review (issue 21)."""
    subject = subject_of(request.ref)
    out = [Record(KIND, request.ref, 1, encode(request))]
    out += [
        message(Delivery.CHANNEL_POST, channel, subject, "filter.request", now)
        for channel in request_channels(request, deps)
    ]
    if is_new_technology(request.blocked_category):
        dsl_channel = deps.school.channels.dsl_channel_id
        out.append(
            message(Delivery.CHANNEL_NOTE, dsl_channel, subject, "filter.new_technology", now)
        )
    return out


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
