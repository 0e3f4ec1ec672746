"""Demo records for the sample report: ``script/report demo-data --data-dir NEW_DIR``
(``python -m ops reports demo-data``) fills a new, empty embedded-store folder with a term of the
demo school's concerns, web-filter requests, video-call checks and recording requests, so a
governors' report can be shown without a school's real records. A folder that already holds
anything is refused: a real store is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.config import Settings
from bot.storage import cipher_for
from dialogs.kinds import concern as concern_kind
from dialogs.kinds import filter_request as filter_kind
from dialogs.kinds import fm_checks as fm_checks_kind
from dialogs.kinds import monitoring as monitoring_kind
from dialogs.kinds import overblocking, reference
from dialogs.kinds.video_call import CALL_CHECK_KIND, RECORDING_KIND, RECORDING_PREFIX, REQUESTS
from dialogs.ports import Change, Record
from policy.closure import DONE, is_serious, open_items, propose
from policy.closure import confirm as confirm_closure
from policy.concerns import (
    Concern,
    RiskAnswer,
    Source,
    acknowledge,
    add_note,
    assess,
    close,
    is_urgent,
    record_action,
)
from policy.filtering import (
    FilterRequest,
    FilterStatus,
    approve,
    is_sensitive,
    mark_applied,
    mark_reblocked,
    reblock_due,
    reject,
)
from policy.fm_checks import KIND as FM_CHECK_KIND
from policy.fm_checks import FmCheck, Result, check_items
from policy.handoff import HANDOFF_EVENT, handoff_event_text
from policy.monitoring import (
    AlertStatus,
    ContentKind,
    LessonNotice,
    MonitoringAlert,
    Severity,
    decide_alert,
)
from policy.on_call import ESCALATED, sent_to
from policy.overblocking import OverblockReport, exception_requested, explained
from policy.roles import Person, Role
from policy.school import SchoolPolicy
from policy.video_calls import Audience, CallPlan, RecordingRequest, RequestStatus, check_call
from store.tinydb_store import TinyDbStore


class NotANewFolder(Exception):
    """The folder for the demo records already holds something (the message says which)."""


#: The demo directory's people (config/demo-directory.json).
_DSL = Person("5c400000-0000-4000-8000-000000000006", "Fiona Blake", frozenset({Role.DSL}))
_DEPUTY = Person("5c400000-0000-4000-8000-000000000007", "Tom Hughes", frozenset({Role.DEPUTY_DSL}))
_TEACHER = Person("5c400000-0000-4000-8000-000000000002", "Daniel Okafor", frozenset())
_HOD = Person("5c400000-0000-4000-8000-000000000003", "Priya Shah", frozenset())
_HEAD = Person(
    "5c400000-0000-4000-8000-000000000004", "Helen Carter", frozenset({Role.HEADTEACHER})
)
_DEPUTY_HEAD = Person(
    "5c400000-0000-4000-8000-000000000005",
    "James Wright",
    frozenset({Role.DEPUTY_HEAD_ACADEMIC}),
)
_IT = Person("5c400000-0000-4000-8000-000000000008", "Nadia Khan", frozenset({Role.IT}))
_PUPIL = Person("5c400000-0000-4000-8000-000000000001", "Ava Thompson", frozenset({Role.PUPIL}))
#: The bot, as the author of the escalation lines it writes itself (dialogs/concern.py).
_BOT = Person("system", "Online Safety bot", frozenset())

#: Fictional children named in the demo concerns (they must never reach a governors' report).
DEMO_CHILDREN = ("Jordan Reeves", "Maisie Okoro", "Callum Price", "Zara Lindqvist", "Oliver Haines")


@dataclass(frozen=True, slots=True)
class _DemoConcern:
    day: date
    category: str
    year_group: str
    ack_minutes: int | None
    close_days: int | None
    outcome: str = "resolved_in_school"
    actions: tuple[str, ...] = ()
    pupil: bool = False
    at_risk: bool = False
    #: Escalation steps taken before someone acknowledged it (issue 20: out-of-hours cover).
    escalated: int = 0
    #: Handed off to the school's safeguarding record system once closed (issue 20).
    handed_off: bool = False


_DEMO_CONCERNS: tuple[_DemoConcern, ...] = (
    _DemoConcern(date(2026, 9, 8), "cyberbullying", "Year 8", 40, 6, actions=("parents_informed",)),
    _DemoConcern(date(2026, 9, 10), "filtering_breach", "Year 7", 25, 1, actions=("site_blocked",)),
    _DemoConcern(date(2026, 9, 14), "cyberbullying", "Year 9", 90, 9, pupil=True),
    _DemoConcern(
        date(2026, 9, 17),
        "grooming",
        "Year 10",
        6,
        14,
        "police",
        ("police_informed", "ceop_report"),
        handed_off=True,
    ),
    _DemoConcern(date(2026, 9, 22), "online_hate", "Year 11", 55, 5, actions=("platform_report",)),
    _DemoConcern(date(2026, 9, 24), "other", "Year 6", 120, 3, "no_further_action"),
    _DemoConcern(date(2026, 9, 29), "cyberbullying", "Year 8", 35, 8, actions=("sanctions",)),
    _DemoConcern(
        date(2026, 10, 1),
        "nude_imagery",
        "Year 9",
        9,
        10,
        "social_care",
        ("device_secured", "social_care_referral"),
        handed_off=True,
    ),
    _DemoConcern(date(2026, 10, 5), "filtering_breach", "Year 5", 30, 2, actions=("site_blocked",)),
    _DemoConcern(date(2026, 10, 7), "cyberbullying", "Year 7", 75, 7, pupil=True),
    _DemoConcern(date(2026, 10, 9), "fraud", "Year 12", 160, 4, actions=("parents_informed",)),
    _DemoConcern(date(2026, 10, 13), "harassment", "Year 10", 45, 12, "police", handed_off=True),
    _DemoConcern(date(2026, 10, 15), "cyberbullying", "Year 9", 50, 5),
    _DemoConcern(date(2026, 10, 20), "online_hate", "Year 10", 65, 6, actions=("sanctions",)),
    _DemoConcern(date(2026, 10, 22), "staff_conduct", "Not known", 240, 15, "lado"),
    _DemoConcern(date(2026, 11, 3), "cyberbullying", "Year 8", 20, 6, pupil=True),
    _DemoConcern(date(2026, 11, 4), "hacking", "Year 11", 180, 5, actions=("device_secured",)),
    _DemoConcern(date(2026, 11, 5), "filtering_breach", "Year 4", 15, 1, actions=("site_blocked",)),
    _DemoConcern(date(2026, 11, 9), "online_hate", "Year 9", 70, None),
    _DemoConcern(date(2026, 11, 10), "cyberbullying", "Year 7", 60, None),
    _DemoConcern(date(2026, 11, 12), "radicalisation", "Year 11", 8, None, at_risk=True),
    _DemoConcern(date(2026, 11, 16), "cyberbullying", "Year 10", 45, 3),
    _DemoConcern(date(2026, 11, 17), "filtering_breach", "Year 6", None, None),
    _DemoConcern(date(2026, 11, 19), "cyberbullying", "Year 8", None, None, pupil=True),
    _DemoConcern(date(2026, 9, 16), "harassment", "Year 11", 7, 9, "police", at_risk=True),
    _DemoConcern(date(2026, 10, 14), "cyberbullying", "Year 9", 22, 4, at_risk=True, escalated=1),
    _DemoConcern(date(2026, 11, 11), "online_hate", "Year 10", 5, None, at_risk=True),
    _DemoConcern(date(2026, 10, 2), "filtering_breach", "Year 3", 35, 1, actions=("site_blocked",)),
    _DemoConcern(date(2026, 9, 30), "cyberbullying", "Year 7", 80, 6, pupil=True),
)


def _demo_concern(n: int, spec: _DemoConcern, school: SchoolPolicy) -> Concern:
    category = school.category(spec.category) or school.category("other")
    assert category is not None
    at = datetime.combine(spec.day, time(9 + n % 6, 10 + n % 40), tzinfo=school.zone)
    child = DEMO_CHILDREN[n % len(DEMO_CHILDREN)]
    reporter = _PUPIL if spec.pupil else (_TEACHER if n % 2 else _HOD)
    risk = RiskAnswer.YES if spec.at_risk else RiskAnswer.NO
    concern = Concern(
        ref=reference(concern_kind.PREFIX, 2026, n),
        source=Source.PUPIL if spec.pupil else Source.STAFF,
        category=category.id,
        urgent=is_urgent(category, risk),
        reporter_id=reporter.id,
        reporter_name=reporter.name,
        created_at=at.astimezone(UTC),
        year_group=spec.year_group,
        involved=f"{child} ({spec.year_group})",
        what_happened=f"Demo record {n}: {child} told a member of staff what happened online.",
        where="A messaging app",
        happened_on=spec.day.isoformat(),
        immediate_risk=risk,
    ).with_event(reporter, at, "reported", "Reported")
    handler = _HEAD if category.id == "staff_conduct" else (_DSL if n % 3 else _DEPUTY)
    if spec.ack_minutes is None:
        return concern
    for step in range(1, spec.escalated + 1):
        why = f"not acknowledged, step {step} of {len(school.on_call.chain)}"
        concern = concern.with_event(
            _BOT, at + timedelta(minutes=15 * step), ESCALATED, sent_to([_DEPUTY.name], why)
        )
    acked = at + timedelta(minutes=spec.ack_minutes)
    concern = acknowledge(concern, handler, acked)
    for i, action in enumerate(spec.actions):
        concern = record_action(concern, handler, action, "", acked + timedelta(hours=i + 1))
    concern = add_note(
        concern, handler, f"Spoke with {child}; plan agreed.", acked + timedelta(hours=3)
    )
    if spec.close_days is None:
        return concern
    closed_at = at + timedelta(days=spec.close_days)
    if spec.category == "nude_imagery":
        concern = assess(
            concern, handler, ("coercion",), ("social_care",), "Demo reason", closed_at
        )
    if is_serious(category):
        # Closing safely (issue 20): proposed by the handler, confirmed by a second senior person.
        concern = propose(
            concern,
            category,
            handler,
            outcome=spec.outcome,
            reason="Demo reason",
            message="Thank you: this has been dealt with.",
            answers={a: (DONE, "") for a in open_items(concern, category)},
            outcomes=(*school.outcomes, spec.outcome),
            at=closed_at - timedelta(hours=2),
        )
        second = _DEPUTY if handler.id != _DEPUTY.id else _DSL
        concern = confirm_closure(concern, category, second, closed_at)
    else:
        concern = close(
            concern, handler, spec.outcome, "Thank you: this has been dealt with.", closed_at
        )
    if spec.handed_off:
        system = school.handoff.system_name
        concern = concern.with_event(
            _DSL, closed_at + timedelta(hours=1), HANDOFF_EVENT, handoff_event_text(system)
        )
    return concern


def _demo_filter_requests(school: SchoolPolicy) -> list[FilterRequest]:
    zone = school.zone
    specs = (
        ("games", date(2026, 9, 7), 4, "reblocked_on_time"),
        ("drugs", date(2026, 9, 15), 10, "reblocked_late"),
        ("social_media", date(2026, 9, 21), 5, "rejected"),
        ("violence", date(2026, 10, 5), 3, "reblocked_on_time"),
        ("police_terrorism", date(2026, 10, 12), 1, "refused"),
        ("streaming", date(2026, 11, 2), 4, "reblocked_on_time"),
        ("hate", date(2026, 11, 16), 9, "applied"),
        ("games", date(2026, 11, 18), 5, "pending"),
        ("streaming", date(2026, 9, 28), 2, "reblocked_on_time"),
        ("weapons", date(2026, 10, 19), 4, "reblocked_one_day"),
        ("games", date(2026, 11, 9), 3, "reblocked_on_time"),
        ("social_media", date(2026, 11, 11), 2, "rejected"),
        ("self_harm", date(2026, 11, 12), 3, "reblock_due"),
        ("violence", date(2026, 11, 17), 7, "applied"),
    )
    requests: list[FilterRequest] = []
    for n, (category, start, days, fate) in enumerate(sorted(specs, key=lambda s: s[1]), 1):
        asked = datetime.combine(start - timedelta(days=2), time(8, 30), tzinfo=zone)
        request = FilterRequest(
            ref=reference(filter_kind.PREFIX, 2026, n),
            requester_id=_TEACHER.id,
            requester_name=_TEACHER.name,
            created_at=asked.astimezone(UTC),
            site=f"https://resource-{n}.example.org/topic",
            blocked_category=category,
            audience="class",
            audience_detail=f"{9 + n % 3}B",
            reason=f"Demo request {n}: pupils will analyse this source in a planned lesson.",
            topic="Demo topic",
            start=start,
            end=start + timedelta(days=days),
            supervised=True,
            age_appropriate=True,
            sensitive=is_sensitive(category, school.filtering),
        ).step(_TEACHER, asked, "requested", "Demo request reason")
        if fate == "refused":
            request = replace(request, status=FilterStatus.REFUSED).step(
                None, asked, "refused", "Unlawful terrorist content is never unblocked."
            )
        elif fate == "rejected":
            request = reject(request, _IT, "Demo: a school resource covers this.", asked)
        elif fate != "pending":
            if request.sensitive:
                request = approve(request, _DEPUTY, asked + timedelta(hours=1))
            request = approve(request, _IT, asked + timedelta(hours=2))
            request = mark_applied(request, _IT, asked + timedelta(hours=3))
            due = datetime.combine(request.end, time(17, 0), tzinfo=zone)
            if fate != "applied":
                request = reblock_due(request, due)
            if fate.startswith("reblocked"):
                late = {"reblocked_late": timedelta(days=4), "reblocked_one_day": timedelta(days=1)}
                request = mark_reblocked(request, _IT, due + late.get(fate, timedelta(minutes=20)))
        requests.append(request)
    return requests


def _demo_overblocking(school: SchoolPolicy) -> list[OverblockReport]:
    """Over-blocking reports (issue 21): (day, hours until IT answered or None, outcome)."""
    zone = school.zone
    specs: tuple[tuple[date, int | None, str], ...] = (
        (date(2026, 9, 9), 3, "exception"),
        (date(2026, 9, 23), 20, "explained"),
        (date(2026, 10, 7), 2, "exception"),
        (date(2026, 10, 14), 5, "explained"),
        (date(2026, 11, 4), 1, "exception"),
        (date(2026, 11, 10), 26, "exception"),
        (date(2026, 11, 12), 4, "explained"),
        (date(2026, 11, 19), 6, "exception"),
    )
    reports: list[OverblockReport] = []
    for n, (day, hours, fate) in enumerate(specs, 1):
        at = datetime.combine(day, time(10, 15), tzinfo=zone).astimezone(UTC)
        report = OverblockReport(
            ref=reference(overblocking.PREFIX, 2026, n),
            reporter_id=_TEACHER.id,
            reporter_name=_TEACHER.name,
            created_at=at,
            site=f"https://blocked-{n}.example.org/lesson-page",
            lesson="Demo lesson",
            impact=f"Demo report {n}: the page was blocked in the middle of the lesson.",
        )
        if hours is not None:
            answered = at + timedelta(hours=hours)
            if fate == "exception":
                report = exception_requested(
                    report, _IT, reference(filter_kind.PREFIX, 2026, n + 1), answered
                )
            else:
                report = explained(report, _IT, "Demo: a school resource covers this.", answered)
        reports.append(report)
    return reports


def _demo_call_checks(school: SchoolPolicy) -> list[Record]:
    records: list[Record] = []
    for n in range(1, 21):
        day = date(2026, 9, 7) + timedelta(days=3 * n + n % 2)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        start = datetime.combine(day, time(8 + n % 10, 0), tzinfo=school.zone)
        named = n % 4 == 0
        plan = CallPlan(
            start=start,
            duration=timedelta(minutes=45),
            platform="Microsoft Teams",
            audience=Audience.NAMED_PUPILS if named else Audience.CLASS,
            pupils=(DEMO_CHILDREN[n % len(DEMO_CHILDREN)],) if named else (),
            one_to_one_with_pupil=named,
            recording=n % 5 == 0,
            parental_consent=n % 7 != 0,
        )
        verdict = check_call(plan, school)
        records.append(
            Record(
                CALL_CHECK_KIND,
                f"demo-check-{n:02d}",
                1,
                {
                    "actor": _TEACHER.id,
                    "checked_at": (start - timedelta(days=1)).astimezone(UTC).isoformat(),
                    "date": day.isoformat(),
                    "start": f"{start:%H:%M}",
                    "duration_minutes": 45,
                    "platform": plan.platform,
                    "audience": plan.audience.value,
                    "pupils": list(plan.pupils),
                    "one_to_one": plan.one_to_one_with_pupil,
                    "contact_at_home": False,
                    "recording": plan.recording,
                    "meeting_id": "",
                    "call_log": "",
                    "verdict": verdict.verdict.value,
                    "rules": verdict.summary(),
                },
            )
        )
    return records


def _demo_recordings(school: SchoolPolicy) -> list[Record]:
    records: list[Record] = []
    decisions = (
        RequestStatus.APPROVED,
        RequestStatus.APPROVED,
        RequestStatus.DECLINED,
        RequestStatus.APPROVED,
        RequestStatus.APPROVED,
        RequestStatus.DECLINED,
        RequestStatus.APPROVED,
        RequestStatus.PENDING,
    )
    for n, status in enumerate(decisions, start=1):
        asked = datetime.combine(date(2026, 9, 1) + timedelta(days=9 * n), time(12), school.zone)
        request = RecordingRequest(
            ref=reference(RECORDING_PREFIX, 2026, n),
            requester_id=_HOD.id,
            requester_name=_HOD.name,
            start=(asked + timedelta(days=2)).astimezone(UTC),
            end=(asked + timedelta(days=2, hours=1)).astimezone(UTC),
            audience=Audience.CLASS,
            pupil_count=24,
            platform="Microsoft Teams",
            reason="Demo: a revision lesson for pupils who are off sick.",
            created_at=asked.astimezone(UTC),
            status=status,
            decided_by_id="" if status is RequestStatus.PENDING else _DEPUTY_HEAD.id,
            decided_by_name="" if status is RequestStatus.PENDING else _DEPUTY_HEAD.name,
            decided_at=None if status is RequestStatus.PENDING else asked.astimezone(UTC),
        )
        records.append(Record(RECORDING_KIND, request.ref, 1, REQUESTS.encode(request)))
    return records


def _demo_fm_checks(school: SchoolPolicy) -> list[Record]:
    """Two checks of the filtering and monitoring systems: one in September that found a
    problem (and what was done), one in November that found everything working."""
    items = check_items(school.filtering_checks.extra_items)
    september = {item: Result.WORKING for item in items}
    september["apps_covered"] = Result.PROBLEM
    checks = [
        FmCheck(
            ref="FMC-2026-0001",
            by_id=_IT.id,
            by_name=_IT.name,
            recorded_at=datetime.combine(date(2026, 9, 14), time(16), school.zone),
            checked_on=date(2026, 9, 14),
            results=september,
            labels=items,
            found="Demo: a video app on the Year 7 tablets was not filtered.",
            actions="Demo: IT added the app to the filtering policy and re-tested the next day.",
            next_due=date(2026, 12, 14),
        ),
        FmCheck(
            ref="FMC-2026-0002",
            by_id=_IT.id,
            by_name=_IT.name,
            recorded_at=datetime.combine(date(2026, 11, 30), time(16), school.zone),
            checked_on=date(2026, 11, 30),
            results={item: Result.WORKING for item in items},
            labels=items,
            next_due=date(2027, 2, 26),
        ),
    ]
    return [Record(FM_CHECK_KIND, c.ref, 1, fm_checks_kind.CODEC.encode(c)) for c in checks]


def check_new_folder(data_dir: Path) -> None:
    """Demo records go only into a new or empty folder: a real store is never touched.

    Raises:
        NotANewFolder: the folder already holds something.
    """
    if data_dir.exists() and any(data_dir.iterdir()):
        raise NotANewFolder(f"{data_dir} is not empty: demo records go only into a new folder")


def _demo_monitoring(school: SchoolPolicy) -> list[Record]:
    """Monitoring alerts through the autumn term with the DSL's outcomes, and two lesson
    notices (issue 21). The pupil ids are the demo directory's; no real words are stored."""
    outcomes = (
        AlertStatus.FALSE_POSITIVE,
        AlertStatus.MONITORING,
        AlertStatus.FALSE_POSITIVE,
        AlertStatus.CONTACTED,
        AlertStatus.FALSE_POSITIVE,
        AlertStatus.ESCALATED,
        AlertStatus.FALSE_POSITIVE,
        AlertStatus.MONITORING,
    )
    severities = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.MEDIUM)
    categories = ("Extremism", "Bullying", "Self-harm", "Adult content")
    records: list[Record] = []
    notices = (
        (1, "Year 10", "extremism", "Prevent: how extremists recruit online", date(2026, 10, 6)),
        (2, "9A", "drugs", "PSHE: drugs and the law", date(2026, 11, 10)),
    )
    for n, class_name, topic_id, reason, day in notices:
        topic = school.monitoring.topic(topic_id)
        label = topic.label if topic else topic_id
        notice = LessonNotice(
            ref=reference(monitoring_kind.NOTICE_PREFIX, 2026, n),
            teacher_id=_TEACHER.id,
            teacher_name=_TEACHER.name,
            class_name=class_name,
            topic=topic_id,
            topic_label=label,
            day=day,
            start=time(10, 0),
            end=time(11, 0),
            reason=reason,
            created_at=datetime.combine(day - timedelta(days=2), time(16, 0), tzinfo=school.zone),
        )
        data = {**monitoring_kind.NOTICE_CODEC.encode(notice), "day": day.isoformat()}
        records.append(Record(monitoring_kind.NOTICE_KIND, notice.ref, 1, data))
    for n in range(1, 25):
        at = datetime.combine(
            date(2026, 9, 8) + timedelta(days=4 * n), time(9 + n % 6, 4), tzinfo=school.zone
        )
        alert = MonitoringAlert(
            ref=reference(monitoring_kind.PREFIX, 2026, n),
            provider="demo",
            provider_alert_id=f"demo-{n}",
            pupil_id=f"5c400000-0000-4000-8000-{n % 10 + 1:012d}",
            pupil_upn="",
            device=f"DEMO-LAPTOP-{n:02d}",
            category=categories[n % len(categories)],
            severity=severities[n % len(severities)],
            kind=ContentKind.TYPED if n % 2 else ContentKind.VIEWED,
            text="(demo alert)",
            console_url=None,
            occurred_at=at,
            received_at=at,
            urgent=severities[n % len(severities)] is Severity.HIGH,
            group_key=f"demo-{n}",
            count=1 + n % 3,
            expected="Expected: Year 10 lesson on extremism" if n == 7 else "",
            notice_ref="MLN-2026-0001" if n == 7 else "",
        )
        status = outcomes[n % len(outcomes)]
        if n < 23:  # the last two are still waiting for the DSL
            alert = decide_alert(
                alert,
                status,
                by_id=_DSL.id,
                by_name=_DSL.name,
                at=at + timedelta(minutes=20),
                reason="Demo outcome",
            )
        records.append(Record(monitoring_kind.KIND, alert.ref, 1, monitoring_kind.encode(alert)))
    return records


async def seed_demo_data(data_dir: Path, settings: Settings) -> int:
    """Fill a NEW data folder with the demo school's records (for the sample report).

    Always the embedded store, whatever ``DATABASE_URL`` says: the demo records go only into a
    new folder, never into a school's database. The caller checks first that the folder is new
    or empty (``check_new_folder``).
    """
    school = settings.school
    store = await TinyDbStore.open(data_dir, cipher=cipher_for(settings))
    try:
        records: list[Record] = []
        for n, spec in enumerate(sorted(_DEMO_CONCERNS, key=lambda s: s.day), start=1):
            await store.next_sequence("OSC-2026")
            concern = _demo_concern(n, spec, school)
            records.append(Record(concern_kind.KIND, concern.ref, 1, concern_kind.encode(concern)))
        for request in _demo_filter_requests(school):
            await store.next_sequence("FLT-2026")
            records.append(Record(filter_kind.KIND, request.ref, 1, filter_kind.encode(request)))
        for report in _demo_overblocking(school):
            await store.next_sequence("OBR-2026")
            records.append(Record(overblocking.KIND, report.ref, 1, overblocking.encode(report)))
        records += _demo_call_checks(school)
        records += _demo_recordings(school)
        for record in _demo_monitoring(school):
            # The references the bot goes on from (MON-2026-0025 next, as with concerns).
            await store.next_sequence(record.id.rsplit("-", 1)[0])
            records.append(record)
        for check in _demo_fm_checks(school):
            await store.next_sequence("FMC-2026")
            records.append(check)
        await store.commit(Change(records=records))
    finally:
        await store.close()
    return len(records)
