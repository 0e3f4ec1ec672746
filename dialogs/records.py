"""Records the school must show: open items, the incident log, a concern's chronology and the
governors' report (issue 13), in Teams; the same builders serve ``python -m ops reports``.

Who sees what (brief, "Data": "exportable for the DSL, anonymised for governors"):
- Open items and the incident log are for the DSL and deputies only (role-checked in
  ``Dialogs`` through ``policy.actions``). Their cards carry no names and nothing anyone wrote,
  so they may be shown in the DSL channel.
- Named data (the incident-log CSV, a chronology) is offered only in a 1:1 chat with the person
  who asked, as a short-lived download link (``Exports``): a link in a channel reply could be
  opened by anyone in the channel. Every export is audited.
- Concerns about staff (category routed to the headteacher) are never in the DSL's lists or
  log: they belong to the headteacher, or the chair of governors when about the headteacher
  (003, 004 §2). Their handler may export their chronology; the governors' report counts them.
- The governors' report is anonymised (``policy.reporting``): DSL, deputies, the headteacher
  and the chair of governors may make it, anywhere.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cards.concern import GROUP_NAMES
from cards.filter import audience_words
from cards.records import (
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
from dialogs.codec import text_field
from dialogs.handling import FeatureHandlers
from dialogs.kinds import concern as concern_kind
from dialogs.kinds import filter_request as filter_kind
from dialogs.kinds import monitoring, overblocking
from dialogs.kinds.fm_checks import decode as fm_check_of
from dialogs.kinds.video_call import CALL_CHECK_KIND, RECORDING_KIND
from dialogs.ports import Change, Record, Store
from dialogs.registry import Deps, Feature
from dialogs.service import ActionContext, Reply, Scope
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.categories import Category, Route
from policy.clauses import cite
from policy.closure import is_proposed, sends_back
from policy.concerns import ACTIONS, OUTCOMES, Concern, ConcernStatus, may_handle
from policy.filtering import (
    BLOCKED_CATEGORIES,
    CHANGE_APPROVER,
    FilterRequest,
    FilterStatus,
    reason_approver,
)
from policy.fm_checks import KIND as FM_CHECK_KIND
from policy.handoff import count_by_system, handoffs_of
from policy.on_call import in_contact_hours, steps_taken, tried
from policy.overblocking import OverblockReport
from policy.reporting import (
    CallCheckFact,
    GovernorsReport,
    Period,
    RecordingFact,
    ReportError,
    academic_year_of,
    age,
    current_term,
    duration_words,
    governors_report,
    hours_text,
    median_duration,
    monitoring_section,
    open_items,
    range_period,
    term_period,
    time_to_acknowledge,
    time_to_close,
    with_section,
    year_period,
)
from policy.school import SchoolPolicy

log = logging.getLogger(__name__)

_REF = re.compile(r"^[A-Z]{3}-\d{4}-\d{4,}$")

#: Columns of the incident-log CSV (the named ones last).
INCIDENT_COLUMNS = (
    "reference",
    "source",
    "reported_at",
    "happened_on",
    "category",
    "kcsie_group",
    "urgency",
    "year_group",
    "status",
    "acknowledged_at",
    "closed_at",
    "actions_taken",
    "outcome",
    "hours_to_acknowledge",
    "hours_to_close",
    "reported_out_of_hours",
    "escalation_steps",
    "handed_off_to",
    "reported_by",
    "handled_by",
    "involved",
    "tried",
    # ----- Closing safely (issue 20) -----
    "closure_reason",
    "closure_proposed_by",
    "closure_confirmed_by",
    "closures_sent_back",
)

#: Filter-request statuses in which the site is allowed right now.
ALLOWED_NOW = frozenset({FilterStatus.APPLIED, FilterStatus.REBLOCK_DUE})


# ---------------------------------------------------------------------------------------------
# Reading the records
# ---------------------------------------------------------------------------------------------


def category_of(school: SchoolPolicy, concern: Concern) -> Category:
    """The concern's category (a category the school no longer has counts as "other")."""
    found = school.category(concern.category) or school.category("other")
    assert found is not None  # the school policy always has "other"
    return found


def for_the_dsl(concern: Concern, school: SchoolPolicy) -> bool:
    """Whether the concern belongs in the DSL's lists (not a concern about staff)."""
    return category_of(school, concern).route is not Route.HEADTEACHER


async def load_concerns(store: Store) -> list[tuple[Record, Concern]]:
    """Every concern with its record."""
    return [(r, concern_kind.decode(r)) for r in await store.find(concern_kind.KIND)]


async def load_filter_requests(store: Store) -> list[FilterRequest]:
    """Every filter-exception request."""
    return [filter_kind.decode(r) for r in await store.find(filter_kind.KIND)]


async def load_overblocking_reports(store: Store) -> list[OverblockReport]:
    """Every over-blocking report (issue 21)."""
    return [overblocking.decode(r) for r in await store.find(overblocking.KIND)]


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _time_and_word(
    record: Record, what: str, time_key: str, word_key: str
) -> tuple[datetime, str] | None:
    """A stored record's time and one word of it (a verdict, a status), or None (logged: it is
    left out) when either cannot be read."""
    at = _when(record.data.get(time_key))
    word = record.data.get(word_key)
    if at is None or not isinstance(word, str):
        log.warning(f"{what} %s has no readable time or {word_key}; left out", record.id)
        return None
    return at, word


def call_check_fact(record: Record) -> CallCheckFact | None:
    """The counts-only facts of a stored video-call check, or None if it cannot be read."""
    found = _time_and_word(record, "call check", "checked_at", "verdict")
    return None if found is None else CallCheckFact(checked_at=found[0], verdict=found[1])


def recording_fact(record: Record) -> RecordingFact | None:
    """The counts-only facts of a stored request for permission to record, or None."""
    found = _time_and_word(record, "recording request", "created_at", "status")
    return None if found is None else RecordingFact(created_at=found[0], status=found[1])


async def build_governors_report(
    store: Store, school: SchoolPolicy, period: Period, now: datetime
) -> GovernorsReport:
    """Read every record the governors' report counts and build it (anonymised)."""
    checks = [call_check_fact(r) for r in await store.find(CALL_CHECK_KIND)]
    recordings = [recording_fact(r) for r in await store.find(RECORDING_KIND)]
    report = governors_report(
        school=school,
        period=period,
        generated_at=now,
        concerns=[c for _, c in await load_concerns(store)],
        filter_requests=await load_filter_requests(store),
        call_checks=[c for c in checks if c is not None],
        recordings=[r for r in recordings if r is not None],
        overblocking_reports=await load_overblocking_reports(store),
        fm_checks=[fm_check_of(r) for r in await store.find(FM_CHECK_KIND)],
    )
    # Monitoring alerts and sensitive-lesson notices (issue 21), where the school has them.
    alerts = await monitoring.load_alerts(store)
    notices = await monitoring.load_notices(store)
    if school.monitoring.providers or alerts or notices:
        section = monitoring_section(
            monitoring.alert_facts(alerts),
            monitoring.notice_facts(notices),
            school=school,
            period=period,
        )
        report = with_section(report, section)
    return report


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------


def _cell(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheet programs.
    return "'" + value if value[:1] in {"=", "+", "-", "@"} else value


def _iso(at: datetime | None, school: SchoolPolicy) -> str:
    return "" if at is None else at.astimezone(school.zone).isoformat(timespec="minutes")


def incident_log_csv(concerns: Sequence[Concern], school: SchoolPolicy) -> str:
    """The incident log as CSV, one row per concern, oldest first (named data: DSL only).

    Columns: see ``INCIDENT_COLUMNS``. Times are school time; hours to acknowledge and to
    close have two decimals and are empty while that has not happened.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(INCIDENT_COLUMNS)
    for concern in sorted(concerns, key=lambda c: (c.created_at, c.ref)):
        category = category_of(school, concern)
        writer.writerow(
            [
                _cell(value)
                for value in (
                    concern.ref,
                    concern.source.value,
                    _iso(concern.created_at, school),
                    concern.happened_on,
                    category.label,
                    GROUP_NAMES[category.group],
                    "urgent" if concern.urgent else "routine",
                    concern.year_group,
                    concern.status.value,
                    _iso(concern.acknowledged_at, school),
                    _iso(concern.closed_at, school),
                    "; ".join(ACTIONS.get(a, a) for a in concern.actions_done),
                    OUTCOMES.get(concern.outcome or "", ""),
                    hours_text(time_to_acknowledge(concern)),
                    hours_text(time_to_close(concern)),
                    "no" if in_contact_hours(concern.created_at, school) else "yes",
                    str(steps_taken(concern)),
                    "; ".join(
                        f"{system} ({_iso(at, school)})" for at, system in handoffs_of(concern)
                    ),
                    concern.reporter_name,
                    concern.handler_name or "",
                    " ".join(concern.involved.split()),
                    "; ".join(f"{names} {_iso(at, school)}" for at, names in tried(concern)),
                    *closure_cells(concern),
                )
            ]
        )
    return out.getvalue()


#: An open item whose closing waits for a second senior person (issue 20).
PROPOSED_WORDS = "Closure proposed: waiting for a second senior person"


def closure_cells(concern: Concern) -> tuple[str, str, str, str]:
    """The incident log's closing columns (issue 20): the reason, who proposed the closure (a
    serious concern) and who confirmed it as the second senior person, and how many times a
    proposed closure was sent back."""
    closure = concern.closure
    if closure is None:
        return ("", "", "", str(sends_back(concern)))
    second = closure.confirmed_by_id is not None
    return (
        " ".join(closure.reason.split()),
        closure.proposed_by_name if second or concern.status is not ConcernStatus.CLOSED else "",
        closure.confirmed_by_name or "",
        str(sends_back(concern)),
    )


def currently_allowed_csv(requests: Sequence[FilterRequest], school: SchoolPolicy) -> str:
    """Sites allowed right now through an exception, and why (the review's "what is allowed").

    A site whose period has ended but which IT has not yet re-blocked is still allowed, and is
    listed with status ``reblock_due``.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "reference",
            "site",
            "filter_category",
            "who_needs_access",
            "lesson_or_topic",
            "educational_reason",
            "period_start",
            "period_end",
            "status",
            "requested_by",
            "reason_approved_by",
            "change_approved_by",
            "applied_by",
            "applied_at",
            "exception_rule",
        ]
    )
    for request in sorted(
        (r for r in requests if r.status in ALLOWED_NOW), key=lambda r: (r.end, r.ref)
    ):
        writer.writerow(
            [
                _cell(value)
                for value in (
                    request.ref,
                    request.site,
                    BLOCKED_CATEGORIES.get(request.blocked_category, request.blocked_category),
                    audience_words(request),
                    request.topic,
                    request.reason,
                    request.start.isoformat(),
                    request.end.isoformat(),
                    request.status.value,
                    request.requester_name,
                    request.reason_approval.by_name if request.reason_approval else "",
                    request.change_approval.by_name if request.change_approval else "",
                    request.applied.by_name if request.applied else "",
                    _iso(request.applied.at if request.applied else None, school),
                    request.rule,  # what exactly is allowed (issue 21)
                )
            ]
        )
    return out.getvalue()


def never_unblockable_text(school: SchoolPolicy) -> str:
    """The never-unblockable list: the categories from the school's policy file and its own
    deny-list of domains (001 §7.3, 004 "Filtering")."""
    rules = school.filtering
    lines = [
        f"Never unblockable at {school.name}",
        "",
        "These are never lifted, whoever asks and whatever the reason (001 §7.3, 004 "
        '"Filtering"). The bot refuses such a request at once, logs it and tells the DSL.',
        "",
        "Filter categories:",
        *(f"- {BLOCKED_CATEGORIES.get(c, c)} [{c}]" for c in sorted(rules.never_unblockable)),
        "",
        "The school's own never-unblock list (these domains and every subdomain):",
        *([f"- {d}" for d in rules.deny_domains] or ["- (none listed)"]),
        "",
        f"Topics that need {reason_approver().in_sentence} as well as "
        f"{CHANGE_APPROVER.in_sentence} to agree an exception:",
        *(f"- {BLOCKED_CATEGORIES.get(c, c)} [{c}]" for c in rules.sensitive_categories),
        "",
        f"The longest exception: {rules.max_exception_days} days.",
    ]
    return cite("\n".join(lines) + "\n", school.clauses)


# ---------------------------------------------------------------------------------------------
# Periods offered in Teams
# ---------------------------------------------------------------------------------------------


def period_choices(school: SchoolPolicy, today: date) -> tuple[list[tuple[str, str]], str]:
    """The periods a governors' report can cover, as (value, title), and the one to suggest:
    every term in the policy file, and each academic year they fall in."""
    choices: list[tuple[str, str]] = [
        (f"term:{t.name}", f"Term: {t.name}") for t in sorted(school.terms, key=lambda t: t.start)
    ]
    years = sorted({academic_year_of(t.start) for t in school.terms} | {academic_year_of(today)})
    choices += [(f"year:{y}", f"Academic year {y}") for y in years]
    term = current_term(school, today)
    suggested = f"term:{term.label}" if term else f"year:{academic_year_of(today)}"
    return choices, suggested


def period_from_choice(value: str, school: SchoolPolicy) -> Period:
    """The period a ``period_choices`` value names.

    Raises:
        ReportError: the value names no period.
    """
    kind, _, name = value.partition(":")
    if kind == "term":
        return term_period(school, name)
    if kind == "year":
        return year_period(name)
    raise ReportError("choose a term or a year")


_text = text_field


@dataclass(frozen=True, slots=True)
class _Range:
    period: Period | None
    problems: dict[str, str]


def _parse_range(data: Mapping[str, Any]) -> _Range:
    problems: dict[str, str] = {}
    days: dict[str, date] = {}
    for key in ("from", "to"):
        try:
            days[key] = date.fromisoformat(_text(data, key))
        except ValueError:
            problems[key] = "Give a date."
    if problems:
        return _Range(None, problems)
    try:
        return _Range(range_period(days["from"], days["to"]), {})
    except ReportError as exc:
        return _Range(None, {"to": f"{str(exc)[:1].upper()}{str(exc)[1:]}."})


# ---------------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------------


class RecordsHandlers(FeatureHandlers):
    """The records feature's verb handlers."""

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
        if ctx.data.get("step") != "show":
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
        if ctx.data.get("step") != "make":
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


def feature(deps: Deps) -> Feature:
    """The records feature: open items, incident log, chronology export, governors' report."""
    h = RecordsHandlers(deps)
    return Feature(
        routes={
            Verb.OPEN_ITEMS: h.open_items,
            Verb.INCIDENT_LOG: h.incident_log,
            Verb.CONCERN_CHRONOLOGY: h.chronology,
            Verb.GOVERNORS_REPORT: h.governors,
        },
        phrases=[
            (r"\bgovernors?'?s?'? report\b", Verb.GOVERNORS_REPORT),
            (r"\bchronolog(y|ies)\b", Verb.CONCERN_CHRONOLOGY),
        ],
    )
