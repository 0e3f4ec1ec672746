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
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from bot.config import ConfigError, Settings, load_settings
from bot.storage import open_store, with_data_dir
from cards.reports import governors_html
from dialogs import filter_request as filter_feature
from dialogs import monitoring
from dialogs.feature import Deps
from dialogs.fm_checks import checks_csv, checks_readme
from dialogs.kinds import monitoring as monitoring_kind
from dialogs.kinds.fm_checks import decode as fm_check_of
from dialogs.ports import Store, StoreError, SystemClock
from dialogs.reports import (
    ALLOWED_NOW,
    build_governors_report,
    currently_allowed_csv,
    load_filter_requests,
    load_overblocking_reports,
    never_unblockable_text,
)
from graph.local_directory import DirectoryFileError, LocalDirectory
from ops.charts import bar_chart
from ops.demo_data import NotANewFolder, check_new_folder, seed_demo_data
from policy.filter_scope import NEW_TECHNOLOGY_NOTE, is_new_technology
from policy.filtering import CHANGE_APPROVER, FilterRequest, FilterStatus, reason_approver
from policy.fm_checks import KIND as FM_CHECK_KIND
from policy.fm_checks import FmCheck
from policy.monitoring import LessonNotice, MonitoringAlert
from policy.overblocking import OUTCOME_WORDS, OverblockReport
from policy.reporting import (
    GovernorsReport,
    Period,
    ReportError,
    academic_year_of,
    hours_text,
    monitoring_section,
    overblocking_section,
    range_period,
    report_as_dict,
    suppression_words,
    term_period,
    year_period,
)
from policy.school import SchoolPolicy
from policy.text import csv_text

log = logging.getLogger("ops.reports")
T = TypeVar("T")

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


# ---------------------------------------------------------------------------------------------
# The governors' report
# ---------------------------------------------------------------------------------------------


async def _reading(settings: Settings, read: Callable[[Store], Awaitable[T]]) -> T:
    """What ``read`` finds in the store, opened read-only (the embedded store in
    ``settings.data_dir``, or PostgreSQL when ``DATABASE_URL`` is set) and closed after.

    Raises:
        StoreError: the store cannot be read.
    """
    store = await open_store(settings, read_only=True)
    try:
        return await read(store)
    finally:
        await store.close()


async def read_governors_report(
    settings: Settings, period: Period, now: datetime
) -> GovernorsReport:
    """Build the anonymised governors' report for ``period`` from the store (read-only, as
    ``_reading``).

    Raises:
        StoreError: the store cannot be read.
    """
    return await _reading(
        settings, lambda store: build_governors_report(store, settings.school, period, now)
    )


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
    reason_by, change_by = reason_approver().in_sentence, CHANGE_APPROVER.in_sentence
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
- overblocking-reports.csv: every report from staff that a blocked site got in the way of
  teaching, with how IT answered (an exception request, or an explanation) and how fast.
- never-unblockable.txt: what is never unblocked whoever asks (the IWF list, the police list
  of unlawful terrorist content, and the school's own never-unblock list), and which topics
  need {reason_by} as well as {change_by}. {refused} requests were refused for this.
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

    async def read(store: Store) -> tuple[list[FilterRequest], str]:
        requests = await load_filter_requests(store)
        deps = Deps(
            school=settings.school,
            store=store,
            directory=LocalDirectory({}, ""),
            clock=SystemClock(),
        )
        return requests, filter_feature.filter_log_csv(requests, deps)

    return await _reading(settings, read)


async def read_checks(settings: Settings) -> list[FmCheck]:
    """Every recorded filtering and monitoring check (read-only, as ``read_filter_log``).

    Raises:
        StoreError: the store cannot be read.
    """

    async def read(store: Store) -> list[FmCheck]:
        return [fm_check_of(r) for r in await store.find(FM_CHECK_KIND)]

    return await _reading(settings, read)


async def read_overblocking(settings: Settings) -> list[OverblockReport]:
    """Every over-blocking report, from the store (read-only, as ``read_filter_log``).

    Raises:
        StoreError: the store cannot be read.
    """
    return await _reading(settings, load_overblocking_reports)


async def read_monitoring(settings: Settings) -> tuple[list[MonitoringAlert], list[LessonNotice]]:
    """Every monitoring alert and sensitive-lesson notice, from the store (read-only).

    Raises:
        StoreError: the store cannot be read.
    """

    async def read(store: Store) -> tuple[list[MonitoringAlert], list[LessonNotice]]:
        return await monitoring_kind.load_alerts(store), await monitoring_kind.load_notices(store)

    return await _reading(settings, read)


#: Columns of the over-blocking reports' CSV (the review pack).
OVERBLOCKING_COLUMNS = (
    "reference",
    "site",
    "lesson",
    "how_it_got_in_the_way",
    "reported_by",
    "reported_at",
    "outcome",
    "answered_by",
    "answered_at",
    "hours_to_answer",
    "exception_request",
    "explanation",
)


def overblocking_csv(reports: Sequence[OverblockReport], school: SchoolPolicy) -> str:
    """Every over-blocking report, oldest first: what was blocked, for which lesson, and how
    IT answered and how fast (named data: for the review, like the change log)."""
    zone = school.zone

    def row(report: OverblockReport) -> tuple[str, ...]:
        answered = report.resolved_at
        return (
            report.ref,
            report.site,
            report.lesson,
            " ".join(report.impact.split()),
            report.reporter_name,
            report.created_at.astimezone(zone).isoformat(timespec="minutes"),
            OUTCOME_WORDS[report.status],
            report.resolved_by_name,
            "" if answered is None else answered.astimezone(zone).isoformat(timespec="minutes"),
            hours_text(report.time_to_resolve),
            report.exception_ref,
            " ".join(report.explanation.split()),
        )

    return csv_text(
        OVERBLOCKING_COLUMNS, (row(r) for r in sorted(reports, key=lambda r: (r.created_at, r.ref)))
    )


def _overblocking_and_new_technology(
    requests: Sequence[FilterRequest], reports: Sequence[OverblockReport], school: SchoolPolicy
) -> str:
    """The README's part on over-blocking (counts suppressed as the governors' report) and on
    requests to allow new technology (AI tools and chatbots), issue 21."""
    section = overblocking_section(reports, school.governors_report_min_count)
    [table] = section.tables
    lines = ["Over-blocking (blocked sites staff needed for teaching)"]
    lines += [f"- {c.label}: {c.text}" for c in table.cells]
    lines += [f"- {f.label}: {f.text}" for f in section.figures]
    lines.append("  Each report is in overblocking-reports.csv.")
    new_tech = sorted(r.ref for r in requests if is_new_technology(r.blocked_category))
    lines.append("")
    lines.append("New technology (requests to allow an AI tool or chatbot)")
    if new_tech:
        lines.append(f"- {len(new_tech)} requests: {', '.join(new_tech)}.")
        lines.append("  " + NEW_TECHNOLOGY_NOTE)
    else:
        lines.append("- None.")
    return "\n".join(lines) + "\n"


def monitoring_summary_text(
    alerts: Sequence[MonitoringAlert],
    notices: Sequence[LessonNotice],
    school: SchoolPolicy,
    now: datetime,
) -> str:
    """The monitoring part of the review, in counts (each suppressed as in the governors'
    report) over the current academic year."""
    today = now.astimezone(school.zone).date()
    period = year_period(academic_year_of(today))
    section = monitoring_section(
        monitoring_kind.alert_facts(alerts),
        monitoring_kind.notice_facts(notices),
        school=school,
        period=period,
    )
    lines = [
        "Monitoring alerts and sensitive-lesson notices",
        f"{school.name}, {period.label}",
        "",
        section.intro,
        "",
    ]
    for table in section.tables:
        lines.append(table.title)
        lines += [f"  {cell.label}: {cell.text}" for cell in table.cells]
        lines.append(f"  Total: {table.total.text}")
        if table.note:
            lines.append(f"  ({table.note})")
        lines.append("")
    lines += [
        suppression_words(school.governors_report_min_count),
        "",
        "monitoring-alerts.csv lists each alert card (identical alerts close together are one "
        "card) with its outcome, and lesson-notices.csv each notice. Neither names a pupil, "
        "their device or what they typed or viewed: the DSL has those in the bot.",
        "",
    ]
    return "\n".join(lines)


def write_monitoring_evidence(
    alerts: Sequence[MonitoringAlert],
    notices: Sequence[LessonNotice],
    school: SchoolPolicy,
    out: Path,
    now: datetime,
) -> list[Path]:
    """Add the monitoring alerts, their outcomes and the lesson notices to the review folder."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "monitoring-summary.txt": monitoring_summary_text(alerts, notices, school, now),
        "monitoring-alerts.csv": monitoring.alerts_csv(alerts, school),
        "lesson-notices.csv": monitoring.notices_csv(notices),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]


def write_review_pack(
    requests: Sequence[FilterRequest],
    change_log: str,
    school: SchoolPolicy,
    out: Path,
    now: datetime,
    checks: Sequence[FmCheck] = (),
    overblocking: Sequence[OverblockReport] = (),
) -> list[Path]:
    """Write the DfE filtering-and-monitoring review folder into ``out``; return the files."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "filter-change-log.csv": change_log,
        "currently-allowed.csv": currently_allowed_csv(requests, school),
        "never-unblockable.txt": never_unblockable_text(school),
        "filtering-checks.csv": checks_csv(checks, school),
        "overblocking-reports.csv": overblocking_csv(overblocking, school),
        "README.txt": _readme(school, now, requests)
        + checks_readme(checks, school, now)
        + "\n"
        + _overblocking_and_new_technology(requests, overblocking, school),
    }
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / name for name in files]


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
            checks = asyncio.run(read_checks(reading))
            overblocking = asyncio.run(read_overblocking(reading))
            files = write_review_pack(
                requests, change_log, school, args.out, now, checks, overblocking=overblocking
            )
            alerts, notices = asyncio.run(read_monitoring(reading))
            files += write_monitoring_evidence(alerts, notices, school, args.out, now)
        else:
            data_dir = args.data_dir
            check_new_folder(data_dir)
            count = asyncio.run(seed_demo_data(data_dir, settings))
            log.info("wrote %d demo records to %s", count, data_dir)
            return 0
    except (ConfigError, StoreError, ReportError, NotANewFolder, DirectoryFileError) as exc:
        log.error("cannot make the report: %s", exc)
        return 2
    log.info("wrote %d files to %s", len(files), args.out)
    return 0
