"""The filtering change log (001 §7.3, 002 §2.1): the summary card and the CSV download."""

from __future__ import annotations

from cards.common import school_time
from cards.filter import filter_log_card, request_cells
from dialogs.feature import Deps
from dialogs.filter_request.base import FilterBase
from dialogs.filter_request.kinds import KIND, decode
from dialogs.ports import Change
from dialogs.router import ActionContext, Reply
from policy.audit import AuditEvent
from policy.filtering import STATUS_WORDS, FilterRequest
from policy.text import csv_text

#: Columns of the filtering change log's CSV: one row per event of a request.
FILTER_LOG_COLUMNS = (
    "reference",
    "site",
    "filter_category",
    "who_needs_access",
    "requested_by",
    "period_start",
    "period_end",
    "sensitive",
    "status",
    "event_time",
    "actor",
    "event",
    "detail",
    "exception_scope",
    "exception_rule",
)


def filter_log_csv(requests: list[FilterRequest], deps: Deps) -> str:
    """The filtering change log as CSV: one row per event, with who, what, why and when."""
    zone = deps.school.zone
    return csv_text(
        FILTER_LOG_COLUMNS,
        (
            (
                *request_cells(request),
                request.requester_name,
                request.start.isoformat(),
                request.end.isoformat(),
                "yes" if request.sensitive else "no",
                request.status.value,
                step.at.astimezone(zone).isoformat(timespec="minutes"),
                step.actor_name,
                step.action,
                step.detail,
                request.scope.value,
                request.rule,
            )
            for request in sorted(requests, key=lambda r: r.created_at)
            for step in request.history
        ),
    )


class ChangeLogHandlers(FilterBase):
    """The change log, for the DSL, IT and the online safety lead."""

    async def log(self, ctx: ActionContext) -> Reply:
        """The filtering change log: a summary card and a CSV download (role-checked)."""
        requests = [decode(r) for r in await self._store.find(KIND)]
        counts: dict[str, int] = {}
        for request in requests:
            label = STATUS_WORDS[request.status]
            counts[label] = counts.get(label, 0) + 1
        steps = sorted(
            ((step, request) for request in requests for step in request.history),
            key=lambda pair: pair[0].at,
            reverse=True,
        )
        zone = self._school.zone
        recent = [
            (
                school_time(step.at, zone),
                request.ref,
                step.action,
                step.actor_name,
            )
            for step, request in steps[:10]
        ]
        url = None
        if self._deps.exports is not None:
            content = filter_log_csv(requests, self._deps).encode("utf-8")
            url = await self._deps.exports.publish(
                "filter-change-log.csv", content, media_type="text/csv"
            )
        await self._store.commit(
            Change(audit=[AuditEvent(ctx.person.id, "filter.log", "", "viewed", self._clock.now())])
        )
        return Reply(card=filter_log_card(sorted(counts.items()), recent, download_url=url))
