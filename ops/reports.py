"""``python -m ops reports``: the governors' report and the DfE filtering review pack, from the
command line (for scheduling), reading the store read-only so the bot can keep running.

    script/report governors --term "Autumn 2026" --out reports/autumn-2026
    script/report governors --year 2026-27 --out reports/2026-27
    script/report governors --from 2026-09-01 --to 2026-12-18 --out reports/custom
    script/report review-pack --out reports/filtering-review-2026-27
    script/report demo-data --data-dir /tmp/demo-data    (a new throwaway store, demo records)

``governors`` writes ``report.html`` (anonymised, printable), one PNG chart per main table
(800 x 400 px) and ``summary.json`` (the same figures; hidden counts are null). ``review-pack``
writes the DfE filtering-and-monitoring review evidence as one folder: ``filter-change-log.csv``,
``currently-allowed.csv``, ``never-unblockable.txt`` and ``README.txt``. Options: ``--data-dir``
(default ``$BOT_DATA_DIR`` or ``data``); the school's policy file comes from ``SCHOOL_CONFIG``
as for the bot. With ``DATABASE_URL`` set, ``governors`` and ``review-pack`` read the school's
records from PostgreSQL instead (read-only connections; ``--data-dir`` is then refused, as it
would be ignored). ``demo-data`` always fills a new embedded-store folder. Exit status 0 on
success, 2 when the configuration, store or period is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.storage import cipher_for, open_store, with_data_dir
from cards.records import governors_html
from dialogs import concern as concern_feature
from dialogs import filter_request as filter_feature
from dialogs.ports import Change, Record, StoreError, SystemClock
from dialogs.records import (
    ALLOWED_NOW,
    build_governors_report,
    currently_allowed_csv,
    load_filter_requests,
    never_unblockable_text,
)
from dialogs.registry import Deps
from dialogs.video_call import CALL_CHECK_KIND, RECORDING_KIND, REQUEST_CODEC
from graph.local_directory import DirectoryFileError, LocalDirectory
from ops.charts import bar_chart
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
from policy.reporting import (
    GovernorsReport,
    Period,
    ReportError,
    range_period,
    report_as_dict,
    term_period,
    year_period,
)
from policy.roles import Person, Role
from policy.school import SchoolPolicy
from policy.video_calls import Audience, CallPlan, RecordingRequest, RequestStatus, check_call
from store.tinydb_store import TinyDbStore

log = logging.getLogger("ops.reports")

#: Table key -> (chart file, horizontal bars?, description for the HTML's alt text).
CHARTS: dict[str, tuple[str, bool, str]] = {
    "concerns_by_month": ("concerns-by-month.png", False, "Bar chart of concerns by month"),
    "concerns_by_category": (
        "concerns-by-category.png",
        True,
        "Bar chart of concerns by category",
    ),
    "filter_requests_by_outcome": (
        "filter-requests-by-outcome.png",
        True,
        "Bar chart of web-filter requests by outcome",
    ),
    "call_checks_by_verdict": (
        "video-call-checks.png",
        True,
        "Bar chart of video-call checks by answer",
    ),
    "recording_requests_by_outcome": (
        "recording-permissions.png",
        True,
        "Bar chart of requests for permission to record a lesson, by outcome",
    ),
}


class ReportsError(Exception):
    """The command cannot do what was asked (the message says why)."""


# ---------------------------------------------------------------------------------------------
# The governors' report
# ---------------------------------------------------------------------------------------------


async def read_governors_report(
    settings: Settings, period: Period, now: datetime
) -> GovernorsReport:
    """Build the anonymised governors' report for ``period`` from the store (read-only: the
    embedded store in ``settings.data_dir``, or PostgreSQL when ``DATABASE_URL`` is set).

    Raises:
        StoreError: the store cannot be read.
    """
    store = await open_store(settings, read_only=True)
    try:
        return await build_governors_report(store, settings.school, period, now)
    finally:
        await store.close()


def write_governors_report(report: GovernorsReport, out: Path) -> list[Path]:
    """Write ``report.html``, ``summary.json`` and the charts into ``out``; return the files."""
    out.mkdir(parents=True, exist_ok=True)
    charts: list[Path] = []
    for key, (filename, horizontal, _) in CHARTS.items():
        bar_chart(report.table(key), out / filename, horizontal=horizontal)
        charts.append(out / filename)
    described = {key: (filename, words) for key, (filename, _, words) in CHARTS.items()}
    (out / "report.html").write_text(governors_html(report, charts=described), encoding="utf-8")
    summary = json.dumps(report_as_dict(report), indent=2, ensure_ascii=False)
    (out / "summary.json").write_text(summary + "\n", encoding="utf-8")
    return [out / "report.html", out / "summary.json", *charts]


def period_from_args(args: argparse.Namespace, school: SchoolPolicy) -> Period:
    """The period named by ``--term``, ``--year`` or ``--from``/``--to``.

    Raises:
        ReportError: the period is not known or not valid.
    """
    if args.term:
        return term_period(school, args.term)
    if args.year:
        return year_period(args.year)
    if args.start and args.end:
        return range_period(args.start, args.end)
    raise ReportError("give --term NAME, --year 2026-27, or both --from and --to")


# ---------------------------------------------------------------------------------------------
# The DfE filtering and monitoring review pack
# ---------------------------------------------------------------------------------------------


def _readme(school: SchoolPolicy, now: datetime, requests: Sequence[FilterRequest]) -> str:
    made = now.astimezone(school.zone)
    allowed = sum(1 for r in requests if r.status in ALLOWED_NOW)
    refused = sum(1 for r in requests if r.status is FilterStatus.REFUSED)
    return f"""Filtering and monitoring review: evidence from the online-safety bot
{school.name}
Made {made:%d %b %Y at %H:%M} (school time) by `script/report review-pack`, reading the
bot's records without changing them.

Why this folder exists
The DfE filtering and monitoring standards (Meeting digital and technology standards in
schools and colleges) ask every school to review its filtering and monitoring provision at
least once a year, with the DSL, IT and the responsible governor. The school's own policies
say the same: every change to the filter is logged (001 §7.3), and the filtering change log
is reviewed by governors and the DSL (002 §2.1, §2.3; 004 "Filtering").

What is in it
- filter-change-log.csv: every request for an exception to the web filter and everything
  that happened to it, one row per event: who (actor), what (event), why (the reason given,
  or the decision note) and when (school time). {len(requests)} requests in all.
- currently-allowed.csv: the sites allowed right now through an exception, with who needs
  them, the educational reason, the period, and who approved and applied it. {allowed} now.
  Everything else on the filter's block lists stays blocked.
- never-unblockable.txt: what is never unblocked whoever asks (the IWF list, the police list
  of unlawful terrorist content, and the school's own never-unblock list), and which topics
  need the DSL or online safety lead as well as IT. {refused} requests were refused for this.
- README.txt: this note.

Not in it
The filtering provider's own settings and block lists, and the monitoring system's reports:
add the provider's exports to this folder for the review.

Handle with care
These files name staff and may name pupils (when an exception was for named pupils). Keep
them with the governors' confidential papers and delete copies after the review.
"""


async def read_filter_log(settings: Settings) -> tuple[list[FilterRequest], str]:
    """Every filter request, and the filtering change log as CSV, from the store (read-only,
    as ``read_governors_report``).

    Raises:
        StoreError: the store cannot be read.
    """
    store = await open_store(settings, read_only=True)
    try:
        requests = await load_filter_requests(store)
        deps = Deps(
            school=settings.school,
            store=store,
            directory=LocalDirectory({}, ""),
            clock=SystemClock(),
        )
        return requests, filter_feature.filter_log_csv(requests, deps)
    finally:
        await store.close()


def write_review_pack(
    requests: Sequence[FilterRequest],
    change_log: str,
    school: SchoolPolicy,
    out: Path,
    now: datetime,
) -> list[Path]:
    """Write the DfE filtering-and-monitoring review folder into ``out``; return the files."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "filter-change-log.csv": change_log,
        "currently-allowed.csv": currently_allowed_csv(requests, school),
        "never-unblockable.txt": never_unblockable_text(school),
        "README.txt": _readme(school, now, requests),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]


# ---------------------------------------------------------------------------------------------
# Demo records (for the sample report)
# ---------------------------------------------------------------------------------------------

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
    ),
    _DemoConcern(date(2026, 10, 5), "filtering_breach", "Year 5", 30, 2, actions=("site_blocked",)),
    _DemoConcern(date(2026, 10, 7), "cyberbullying", "Year 7", 75, 7, pupil=True),
    _DemoConcern(date(2026, 10, 9), "fraud", "Year 12", 160, 4, actions=("parents_informed",)),
    _DemoConcern(date(2026, 10, 13), "harassment", "Year 10", 45, 12, "police"),
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
    _DemoConcern(date(2026, 10, 14), "cyberbullying", "Year 9", 12, 4, at_risk=True),
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
        ref=f"OSC-2026-{n:04d}",
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
    return close(concern, handler, spec.outcome, "Thank you: this has been dealt with.", closed_at)


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
            ref=f"FLT-2026-{n:04d}",
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
            ref=f"REC-2026-{n:04d}",
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
        data = dict(REQUEST_CODEC.dump_python(request, mode="json"))
        data["requester"] = request.requester_id  # as dialogs.video_call stores it
        records.append(Record(RECORDING_KIND, request.ref, 1, data))
    return records


def check_new_folder(data_dir: Path) -> None:
    """Demo records go only into a new or empty folder: a real store is never touched.

    Raises:
        ReportsError: the folder already holds something.
    """
    if data_dir.exists() and any(data_dir.iterdir()):
        raise ReportsError(f"{data_dir} is not empty: demo records go only into a new folder")


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
            records.append(
                Record(concern_feature.KIND, concern.ref, 1, concern_feature.encode(concern))
            )
        for request in _demo_filter_requests(school):
            await store.next_sequence("FLT-2026")
            records.append(
                Record(filter_feature.KIND, request.ref, 1, filter_feature.encode(request))
            )
        records += _demo_call_checks(school)
        records += _demo_recordings(school)
        await store.commit(Change(records=records))
    finally:
        await store.close()
    return len(records)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops reports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    governors = commands.add_parser("governors", help="the anonymised governors' report")
    which = governors.add_mutually_exclusive_group(required=True)
    which.add_argument("--term", help='a term named in the policy file, e.g. "Autumn 2026"')
    which.add_argument("--year", help="an academic year, e.g. 2026-27")
    which.add_argument("--from", dest="start", type=date.fromisoformat, help="YYYY-MM-DD")
    governors.add_argument("--to", dest="end", type=date.fromisoformat, help="YYYY-MM-DD")
    pack = commands.add_parser("review-pack", help="the DfE filtering review evidence folder")
    for sub in (governors, pack):
        sub.add_argument("--out", type=Path, required=True, help="the folder to write")
        sub.add_argument("--data-dir", type=Path, default=None, help="the bot's data folder")
    demo = commands.add_parser("demo-data", help="fill a new data folder with demo records")
    demo.add_argument("--data-dir", type=Path, required=True, help="a new, empty folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    now = SystemClock().now()
    try:
        settings = load_settings(os.environ)
        school = settings.school
        if args.command == "governors":
            if (args.start is None) != (args.end is None):
                raise ReportError("--from and --to go together")
            period = period_from_args(args, school)
            reading = with_data_dir(settings, args.data_dir)
            report = asyncio.run(read_governors_report(reading, period, now))
            files = write_governors_report(report, args.out)
        elif args.command == "review-pack":
            reading = with_data_dir(settings, args.data_dir)
            requests, change_log = asyncio.run(read_filter_log(reading))
            files = write_review_pack(requests, change_log, school, args.out, now)
        else:
            data_dir = args.data_dir
            check_new_folder(data_dir)
            count = asyncio.run(seed_demo_data(data_dir, settings))
            log.info("wrote %d demo records to %s", count, data_dir)
            return 0
    except (ConfigError, StoreError, ReportError, ReportsError, DirectoryFileError) as exc:
        log.error("cannot make the report: %s", exc)
        return 2
    log.info("wrote %d files to %s", len(files), args.out)
    return 0
