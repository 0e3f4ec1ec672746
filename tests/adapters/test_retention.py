"""Retention: records past the school's periods are listed and, once confirmed, removed with
everything that hangs off them, leaving one audit entry (and nothing else is touched)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dialogs.outbox import Delivery, message, timer
from dialogs.ports import Change, Record
from policy.retention import Retention, concern_keep_until, keep_until
from store.tinydb_store import TinyDbStore
from tests.support import ROOT


@pytest.mark.parametrize(
    ("reported", "year_group", "expected"),
    [
        (date(2026, 11, 23), "Year 8", date(2039, 8, 31)),  # youngest Year 8 born 31 Aug 2014
        (date(2027, 3, 1), "Year 8", date(2039, 8, 31)),  # same school year
        (date(2026, 11, 23), "Reception", date(2047, 8, 31)),
        (date(2026, 11, 23), "Nursery", date(2048, 8, 31)),
        (date(2026, 11, 23), "Year 13", date(2034, 8, 31)),
        (date(2026, 11, 23), "Not known", date(2051, 11, 23)),  # the configured 25 years
        (date(2026, 11, 23), "Several year groups", date(2051, 11, 23)),
    ],
)
def test_a_concern_is_kept_until_the_youngest_possible_childs_25th_birthday(
    reported: date, year_group: str, expected: date
) -> None:
    assert concern_keep_until(reported, year_group, Retention()) == expected


def test_other_periods_come_from_the_configuration() -> None:
    rules = Retention(filter_request_years=1, call_record_years=5, staff_concern_years=12)
    assert keep_until("filter_request", date(2024, 2, 29), rules) == date(2025, 2, 28)
    assert keep_until("call_check", date(2024, 1, 1), rules) == date(2029, 1, 1)
    assert concern_keep_until(date(2020, 1, 1), "Year 3", rules, about_staff=True) == date(
        2032, 1, 1
    )


def seed(folder: Path) -> None:
    asyncio.run(seed_async(folder))


async def seed_async(folder: Path) -> None:
    store = await TinyDbStore.open(folder)
    old = datetime(2005, 3, 1, 10, tzinfo=UTC)
    recent = datetime(2026, 11, 1, 10, tzinfo=UTC)
    await store.commit(
        Change(
            records=[
                Record(
                    "concern",
                    "OSC-2005-0001",
                    1,
                    {
                        "created_at": old.isoformat(),
                        "year_group": "Year 11",
                        "category": "cyberbullying",
                        "what_happened": "SECRET",
                    },
                ),
                Record(
                    "concern",
                    "OSC-2026-0001",
                    1,
                    {
                        "created_at": recent.isoformat(),
                        "year_group": "Year 11",
                        "category": "cyberbullying",
                    },
                ),
                Record(
                    "filter_request",
                    "FLT-2020-0001",
                    1,
                    {"created_at": datetime(2020, 1, 6, tzinfo=UTC).isoformat()},
                ),
                Record("filter_request", "FLT-2026-0001", 1, {"created_at": recent.isoformat()}),
                message(
                    Delivery.CHANNEL_POST,
                    "19:dsl@thread.tacv2",
                    "concern:OSC-2005-0001",
                    "concern.channel",
                    old,
                ),
                timer("concern.unacknowledged", "concern:OSC-2005-0001", old),
                timer("concern.unacknowledged", "concern:OSC-2026-0001", recent),
                # Who has each concern's detail open (issue 24): goes with its concern.
                Record("concern_view", "OSC-2005-0001", 1, {"viewers": ["dsl-id"]}),
                Record("concern_view", "OSC-2026-0001", 1, {"viewers": ["dsl-id"]}),
                # Messages to the pupil who reported, and a hand-off's copy of the concern
                # (issue 20): they go with their concern.
                Record("pupil_feedback", "OSC-2005-0001", 1, {"messages": []}),
                Record("pupil_feedback", "OSC-2026-0001", 1, {"messages": []}),
                Record("handoff", "h-old", 1, {"ref": "OSC-2005-0001", "record": "SECRET"}),
                Record("handoff", "h-new", 1, {"ref": "OSC-2026-0001"}),
            ]
        )
    )
    await store.close()


def retention(folder: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "BOT_"))}
    env["BOT_DATA_DIR"] = str(folder)
    return subprocess.run(
        [sys.executable, "-m", "ops", "retention", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_listing_shows_references_and_dates_only(tmp_path: Path) -> None:
    seed(tmp_path)

    result = retention(tmp_path)

    assert result.returncode == 0, result.stderr
    assert "OSC-2005-0001" in result.stdout and "FLT-2020-0001" in result.stdout
    assert "OSC-2026-0001" not in result.stdout and "FLT-2026-0001" not in result.stdout
    assert "SECRET" not in result.stdout
    assert "2 records are past their retention date" in result.stdout


def test_removal_needs_confirmation(tmp_path: Path) -> None:
    seed(tmp_path)

    result = retention(tmp_path, "--delete", stdin="no\n")

    assert result.returncode == 1
    assert "Nothing removed." in result.stdout


async def test_removal_takes_the_records_and_what_hangs_off_them_and_is_audited(
    tmp_path: Path,
) -> None:
    await seed_async(tmp_path)

    result = retention(tmp_path, "--delete", stdin="DELETE\n")

    assert result.returncode == 0, result.stderr
    store = await TinyDbStore.open(tmp_path)
    concerns = [r.id for r in await store.find("concern")]
    requests = [r.id for r in await store.find("filter_request")]
    timers = [r.id for r in await store.find("timer")]
    outbox = await store.find("outbox")
    views = [r.id for r in await store.find("concern_view")]
    feedback = [r.id for r in await store.find("pupil_feedback")]
    handoffs = [r.id for r in await store.find("handoff")]
    log = await store.audit_log()
    check = await store.verify_audit()
    await store.close()
    assert concerns == ["OSC-2026-0001"] and requests == ["FLT-2026-0001"]
    assert timers == ["concern:OSC-2026-0001|concern.unacknowledged"]
    assert outbox == []
    assert views == ["OSC-2026-0001"]
    assert feedback == ["OSC-2026-0001"] and handoffs == ["h-new"]
    assert log[-1].action == "retention.remove"
    assert log[-1].outcome == "removed 2: concern:OSC-2005-0001, filter_request:FLT-2020-0001"
    assert check.ok
    assert b"SECRET" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*.json"))
