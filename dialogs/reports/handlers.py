"""The reports feature's verb handlers: open items, the incident log, a concern's chronology,
the governors' report (who may see what: ``dialogs.reports``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import timedelta

from cards.reports import (
    IncidentSummary,
    OpenItem,
    chronology_html,
    chronology_ready_card,
    chronology_request_card,
    governors_html,
    governors_period_card,
    governors_report_card,
    incident_log_card,
    incident_range_card,
    open_items_card,
)
from dialogs.handling import FeatureHandlers
from dialogs.kinds import concern as concern_kind
from dialogs.ports import Change
from dialogs.reports.exports import (
    PROPOSED_WORDS,
    incident_log_csv,
)
from dialogs.reports.periods import _parse_range, _text, period_choices, period_from_choice
from dialogs.reports.reading import (
    build_governors_report,
    category_of,
    for_the_dsl,
    load_concerns,
)
from dialogs.router import ActionContext, Reply, Scope
from policy.audit import AuditEvent
from policy.closure import is_proposed
from policy.concerns import Concern, ConcernStatus, may_handle
from policy.handoff import count_by_system, handoffs_of
from policy.on_call import in_contact_hours, steps_taken
from policy.reporting import (
    Period,
    ReportError,
    age,
    current_term,
    duration_words,
    median_duration,
    open_items,
    time_to_acknowledge,
    time_to_close,
)

log = logging.getLogger(__name__)

_REF = re.compile(r"^[A-Z]{3}-\d{4}-\d{4,}$")


class ReportsHandlers(FeatureHandlers):
    """The reports feature's verb handlers."""

    async def _audit(self, ctx: ActionContext, action: str, item: str, outcome: str) -> None:
        event = AuditEvent(ctx.person.id, action, item, outcome, self._clock.now())
        await self._store.commit(Change(audit=[event]))

    async def open_items(self, ctx: ActionContext) -> Reply:
        """Unacknowledged and open concerns, oldest first, with their age (DSL and deputies)."""
        now = self._clock.now()
        versions: dict[str, int] = {}
        mine: list[Concern] = []
        for record, concern in await load_concerns(self._store):
            if for_the_dsl(concern, self._school):
                versions[concern.ref] = record.version
                mine.append(concern)
        items = [
            OpenItem(
                ref=c.ref,
                version=versions[c.ref],
                category=category_of(self._school, c).label,
                urgent=c.urgent,
                year_group=c.year_group,
                # Issue 20: a proposed closure is shown, so a second person can find it.
                status=PROPOSED_WORDS if is_proposed(c) else c.status.value,
                reported_at=c.created_at,
                age=age(c, now),
            )
            for c in open_items(mine)
        ]
        await self._audit(ctx, "records.open_items", "", f"viewed {len(items)}")
        return Reply(
            card=open_items_card(
                items, zone=self._school.zone, private=ctx.turn.scope is Scope.PERSONAL
            )
        )

    async def incident_log(self, ctx: ActionContext) -> Reply:
        """The incident log for a date range: a summary card and, in a 1:1 chat, the CSV."""
        today = self._clock.now().astimezone(self._school.zone).date()
        if ctx.ids.step != "show":
            term = current_term(self._school, today)
            start = term.start if term and term.start <= today else today.replace(day=1)
            return Reply(card=incident_range_card(start=start.isoformat(), end=today.isoformat()))
        parsed = _parse_range(ctx.data)
        if parsed.period is None:
            return Reply(
                card=incident_range_card(
                    start=_text(ctx.data, "from"),
                    end=_text(ctx.data, "to"),
                    problems=parsed.problems,
                )
            )
        period = parsed.period
        zone = self._school.zone
        concerns = [
            c
            for _, c in await load_concerns(self._store)
            if for_the_dsl(c, self._school) and period.contains(c.created_at, zone)
        ]
        private = ctx.turn.scope is Scope.PERSONAL
        url = None
        if private and self._deps.exports is not None:
            content = incident_log_csv(concerns, self._school).encode("utf-8")
            name = f"incident-log-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
            url = await self._deps.exports.publish(name, content, media_type="text/csv")
        outcome = f"exported {len(concerns)} rows" if url else f"viewed {len(concerns)}"
        await self._audit(
            ctx, "records.incident_log", f"{period.start.isoformat()}/{period.end}", outcome
        )
        return Reply(
            card=incident_log_card(
                self._summary(period, concerns), download_url=url, private=private
            )
        )

    def _summary(self, period: Period, concerns: Sequence[Concern]) -> IncidentSummary:
        closed = [c for c in concerns if c.status is ConcernStatus.CLOSED]
        by_category = {c.id: 0 for c in self._school.categories}
        for concern in concerns:
            by_category[category_of(self._school, concern).id] += 1

        def median(values: list[timedelta]) -> str:
            found = median_duration(values)
            return "-" if found is None else duration_words(found)

        out_of_hours = [
            t
            for c in concerns
            if c.urgent
            and not in_contact_hours(c.created_at, self._school)
            and (t := time_to_acknowledge(c)) is not None
        ]
        return IncidentSummary(
            period=period.label,
            reported=len(concerns),
            urgent=sum(1 for c in concerns if c.urgent),
            still_open=len(concerns) - len(closed),
            closed=len(closed),
            median_acknowledge=median(
                [t for c in concerns if (t := time_to_acknowledge(c)) is not None]
            ),
            median_close=median([t for c in closed if (t := time_to_close(c)) is not None]),
            by_category=[(c.label, by_category[c.id]) for c in self._school.categories],
            handed_off=sorted(
                count_by_system([h for c in concerns for h in handoffs_of(c)]).items()
            ),
            escalated=sum(1 for c in concerns if c.urgent and steps_taken(c)),
            median_acknowledge_out_of_hours=median(out_of_hours) if out_of_hours else "",
        )

    async def chronology(self, ctx: ActionContext) -> Reply:
        """A concern's chronology as a printable document, for its handler, in a 1:1 chat."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(
                card=chronology_request_card(
                    problem="A chronology holds names and details, so I offer it only in a "
                    "private chat with me. Open a chat with me and ask there."
                )
            )
        ref = _text(ctx.data, "ref").upper()
        if not ref:
            return Reply(card=chronology_request_card())
        unknown = "No concern that you handle has that reference."
        if not _REF.match(ref):
            return Reply(card=chronology_request_card(value=ref[:40], problem=unknown))
        record = await self._store.get(concern_kind.KIND, ref)
        if record is None:
            await self._audit(ctx, "concern.chronology", "", "refused: not found")
            return Reply(card=chronology_request_card(value=ref, problem=unknown))
        concern = concern_kind.decode(record)
        category = category_of(self._school, concern)
        subject = concern_kind.subject_of(ref)
        if not may_handle(ctx.person, concern, category):
            await self._audit(ctx, "concern.chronology", subject, "refused: not a handler")
            return Reply(card=chronology_request_card(value=ref, problem=unknown))
        if self._deps.exports is None:
            return Reply(text="Downloads are not available on this server.")
        now = self._clock.now()
        document = chronology_html(
            concern,
            category_label=category.label,
            school_name=self._school.name,
            zone=self._school.zone,
            prepared_by=ctx.person.name,
            prepared_at=now,
        )
        url = await self._deps.exports.publish(
            f"{ref}-chronology.html", document.encode("utf-8"), media_type="text/html"
        )
        await self._audit(ctx, "concern.chronology", subject, "exported")
        log.info("chronology of %s exported", ref)
        return Reply(card=chronology_ready_card(ref, download_url=url))

    async def governors(self, ctx: ActionContext) -> Reply:
        """The anonymised governors' report for a term or year: a card and an HTML download."""
        now = self._clock.now()
        choices, suggested = period_choices(self._school, now.astimezone(self._school.zone).date())
        if ctx.ids.step != "make":
            return Reply(card=governors_period_card(choices, selected=suggested))
        value = _text(ctx.data, "period")
        try:
            period = period_from_choice(value, self._school)
        except ReportError as exc:
            return Reply(card=governors_period_card(choices, selected=suggested, problem=f"{exc}."))
        report = await build_governors_report(self._store, self._school, period, now)
        url = None
        if self._deps.exports is not None:
            url = await self._deps.exports.publish(
                f"governors-report-{period.start.isoformat()}-to-{period.end.isoformat()}.html",
                governors_html(report).encode("utf-8"),
                media_type="text/html",
            )
        await self._audit(
            ctx, "records.governors_report", f"{period.start.isoformat()}/{period.end}", "made"
        )
        return Reply(card=governors_report_card(report, download_url=url))
