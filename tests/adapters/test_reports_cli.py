"""``python -m ops reports`` as a scheduled job would run it: a real process reading the real
TinyDB store read-only while the bot runs, real matplotlib PNGs checked with Pillow.

The governors' folder is searched, file by file (HTML, JSON, the PNGs' bytes and metadata),
for every name and piece of free text in the records.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ops.demo_data import DEMO_CHILDREN
from ops.reports import CHARTS
from store.crypto import new_key
from tests.conftest import Harness
from tests.e2e.test_reports_over_http import SECRETS, seed
from tests.support import ROOT

PNG_SIZE = (800, 400)
DEMO_STAFF = ("Daniel", "Okafor", "Priya", "Shah", "Fiona", "Blake", "Tom Hughes", "Nadia")
SAMPLE = ROOT / "docs" / "sample-report"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", "reports", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ),
    )


def png_chunks(path: Path) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk of a PNG file."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(raw):
        length = int.from_bytes(raw[at : at + 4], "big")
        chunks.append((raw[at + 4 : at + 8], raw[at + 8 : at + 8 + length]))
        at += 12 + length
    return chunks


def everything_in(folder: Path) -> str:
    """Every generated file's text; for a PNG every chunk but the compressed pixels."""
    parts: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name == "README.md":
            continue  # the sample's own note, written by hand
        if path.suffix == ".png":
            parts += [
                f"{kind!r}={data.decode('latin-1')}"
                for kind, data in png_chunks(path)
                if kind != b"IDAT"
            ]
        else:
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def rows_of(summary: dict[str, Any], key: str) -> dict[str, str]:
    for section in summary["sections"]:
        for table in section["tables"]:
            if table["key"] == key:
                return {r["label"]: r["shown"] for r in table["rows"]} | {
                    "Total": table["total"]["shown"]
                }
    raise AssertionError(key)


def assert_pngs(folder: Path) -> None:
    for filename, _, _ in CHARTS.values():
        with Image.open(folder / filename) as image:
            image.verify()
        with Image.open(folder / filename) as image:
            assert (image.format, image.size) == ("PNG", PNG_SIZE), filename
        # Nothing but the image itself: no text, software or other metadata chunks.
        kinds = {kind for kind, _ in png_chunks(folder / filename)}
        assert kinds <= {b"IHDR", b"pHYs", b"IDAT", b"IEND"}, (filename, kinds)


@pytest.fixture
async def running(harness: Harness) -> Harness:
    """The bot running (holding its store) with the seeded records and six plain concerns."""
    await seed(harness.parts.store, extra=6)
    return harness


async def test_the_governors_report_is_written_while_the_bot_runs(
    running: Harness, tmp_path: Path
) -> None:
    out = tmp_path / "autumn"

    result = run(
        "governors",
        "--term",
        "Autumn 2026",
        "--data-dir",
        str(running.settings.data_dir),
        "--out",
        str(out),
    )

    assert result.returncode == 0, result.stderr
    assert "wrote 7 files" in result.stderr
    expected = {"report.html", "summary.json", *(f for f, _, _ in CHARTS.values())}
    assert {p.name for p in out.iterdir()} == expected
    assert_pngs(out)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["period"] == {"label": "Autumn 2026", "start": "2026-09-02", "end": "2026-12-18"}
    assert summary["small_count_threshold"] == 3
    # 12 concerns: 5 cyberbullying, 4 online hate, and one each of grooming, filtering breach
    # and a concern about staff. The three ones add up to 3, so one would be pinned to 1 by the
    # total: online hate (the smallest other count) is hidden as well.
    categories = rows_of(summary, "concerns_by_category")
    assert categories["Cyberbullying"] == "5"
    assert categories["Online hate"] == "not shown"
    for label in (
        "Online sexual abuse, exploitation or grooming",
        "Filtering breach: an unsuitable site was reached",
        "Concern about a member of staff",
    ):
        assert categories[label] == "fewer than 3"
    assert categories["Indecent images of children (IIOC / CSAM)"] == "0"
    assert categories["Total"] == "12"
    # October's one concern would be 12 minus November's 11: November is hidden as well.
    assert rows_of(summary, "concerns_by_month") == {
        "Sep 2026": "0",
        "Oct 2026": "fewer than 3",
        "Nov 2026": "not shown",
        "Dec 2026": "0",
        "Total": "12",
    }
    assert rows_of(summary, "concerns_by_urgency") == {
        "Urgent": "fewer than 3",
        "Routine": "not shown",
        "Total": "12",
    }
    assert rows_of(summary, "concerns_by_status") == {
        "Closed": "fewer than 3",
        "Still open": "not shown",
        "Total": "12",
    }
    assert set(rows_of(summary, "closed_by_outcome").values()) == {"withheld"}
    figures = {f["label"]: f["shown"] for f in summary["sections"][0]["figures"]}
    # Acknowledged after 30, 5, 20 and 7 to 12 minutes; the urgent group's size is hidden.
    assert figures == {
        "Median time to acknowledge": "10 min",
        "Median time to acknowledge, urgent concerns": "not shown",
        "Median time to acknowledge, routine concerns": "not shown",
        "Median time to close": "not shown",
        # Issue 20: closures a second senior person sent back (none in the demo data).
        "Proposed closures sent back": "0",
    }
    assert rows_of(summary, "filter_requests_by_outcome") == {
        "Allowed for a period of study": "fewer than 3",
        "Approved, not yet applied": "0",
        "Approved but never applied": "0",
        "Rejected": "0",
        "Refused: never unblockable": "fewer than 3",
        "Waiting for a decision": "0",
        "Total": "3",
    }
    assert set(rows_of(summary, "filter_reblock_timeliness").values()) == {"withheld"}
    assert rows_of(summary, "call_checks_by_verdict") == {
        "Allowed": "fewer than 3",
        "Allowed once the listed steps were done": "fewer than 3",
        "Not allowed": "fewer than 3",
        "Total": "4",
    }
    assert rows_of(summary, "recording_requests_by_outcome")["Total"] == "fewer than 3"
    # Hidden counts have no number anywhere in the JSON.
    hidden = [
        r
        for s in summary["sections"]
        for t in s["tables"]
        for r in [*t["rows"], t["total"]]
        if r["hidden"] != "shown"
    ]
    assert hidden and all(r["count"] is None for r in hidden)
    page = (out / "report.html").read_text()
    assert '<img src="concerns-by-month.png"' in page and "fewer than 3" in page
    assert [s for s in SECRETS if s in everything_in(out)] == []


async def test_the_review_pack_is_one_folder_of_evidence(running: Harness, tmp_path: Path) -> None:
    out = tmp_path / "review"

    result = run("review-pack", "--data-dir", str(running.settings.data_dir), "--out", str(out))

    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {
        "filter-change-log.csv",
        "currently-allowed.csv",
        "never-unblockable.txt",
        "overblocking-reports.csv",  # issue 21
        "filtering-checks.csv",
        "README.txt",
        # Monitoring alerts and their outcomes, and sensitive-lesson notices (issue 21).
        "monitoring-summary.txt",
        "monitoring-alerts.csv",
        "lesson-notices.csv",
    }
    log_rows = list(csv.DictReader(io.StringIO((out / "filter-change-log.csv").read_text())))
    assert [(r["reference"], r["event"], r["actor"]) for r in log_rows] == [
        ("FLT-2026-0002", "requested", "Daniel Okafor"),
        ("FLT-2026-0002", "reason approved", "Tom Hughes"),
        ("FLT-2026-0002", "change approved", "Nadia Khan"),
        ("FLT-2026-0002", "applied", "Nadia Khan"),
        ("FLT-2026-0002", "period ended", "The bot"),
        ("FLT-2026-0002", "re-blocked", "Nadia Khan"),
        ("FLT-2026-0003", "requested", "Daniel Okafor"),
        ("FLT-2026-0003", "refused", "The bot"),
        ("FLT-2026-0001", "requested", "Daniel Okafor"),
        ("FLT-2026-0001", "change approved", "Nadia Khan"),
        ("FLT-2026-0001", "applied", "Nadia Khan"),
    ]
    allowed = list(csv.DictReader(io.StringIO((out / "currently-allowed.csv").read_text())))
    assert [(r["reference"], r["site"], r["status"]) for r in allowed] == [
        ("FLT-2026-0001", "https://canary-site-1.example/topic", "applied")
    ]
    assert allowed[0]["educational_reason"].startswith("CANARY-REASON 1")
    assert (allowed[0]["change_approved_by"], allowed[0]["applied_by"]) == ("Nadia Khan",) * 2
    assert allowed[0]["period_end"] == "2026-11-27"
    never = (out / "never-unblockable.txt").read_text()
    assert "Child sexual abuse content (IWF list) [iwf_child_abuse]" in never
    assert "Unlawful terrorist content (police list) [police_terrorism]" in never
    assert "(none listed)" in never
    readme = (out / "README.txt").read_text()
    assert (
        "3 requests in all" in readme and "1 now" in readme and "1 requests were refused" in readme
    )


def test_a_wrong_period_or_a_used_folder_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "something").write_text("x")

    unknown = run("governors", "--term", "Winter", "--data-dir", str(data), "--out", str(tmp_path))
    half = run("governors", "--from", "2026-09-01", "--data-dir", str(data), "--out", str(tmp_path))
    demo = run("demo-data", "--data-dir", str(data))

    assert unknown.returncode == 2 and "no term called 'Winter'" in unknown.stderr
    assert half.returncode == 2 and "--from and --to go together" in half.stderr
    assert demo.returncode == 2 and "is not empty" in demo.stderr
    assert (data / "something").read_text() == "x"


def test_the_demo_school_report_names_nobody(tmp_path: Path) -> None:
    data, out = tmp_path / "demo-data", tmp_path / "report"

    seeded = run("demo-data", "--data-dir", str(data))
    made = run("governors", "--year", "2026-27", "--data-dir", str(data), "--out", str(out))

    assert seeded.returncode == 0, seeded.stderr
    assert made.returncode == 0, made.stderr
    assert_pngs(out)
    text = everything_in(out)
    assert [n for n in (*DEMO_CHILDREN, *DEMO_STAFF, "OSC-2026", "Demo") if n in text] == []
    summary = json.loads((out / "summary.json").read_text())
    assert rows_of(summary, "concerns_by_category")["Total"] == "29"


def test_an_encrypted_store_is_read_with_the_bot_s_key(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "report"
    keyed = dict(os.environ, BOT_ENCRYPTION_KEY=new_key())

    seeded = run("demo-data", "--data-dir", str(data), env=keyed)
    made = run(
        "governors", "--term", "Autumn 2026", "--data-dir", str(data), "--out", str(out), env=keyed
    )
    keyless = run("review-pack", "--data-dir", str(data), "--out", str(tmp_path / "pack"))

    assert seeded.returncode == 0 and made.returncode == 0, seeded.stderr + made.stderr
    stored = "".join(p.read_text() for p in data.rglob("*.json"))
    assert DEMO_CHILDREN[0] not in stored  # sealed at rest
    assert (
        rows_of(json.loads((out / "summary.json").read_text()), "concerns_by_category")["Total"]
        == "29"
    )
    assert keyless.returncode == 2 and "no key is configured" in keyless.stderr


def test_the_committed_sample_report_is_complete_and_names_nobody() -> None:
    files = {p.name for p in SAMPLE.iterdir()}

    assert {"report.html", "summary.json", *(f for f, _, _ in CHARTS.values())} <= files
    assert_pngs(SAMPLE)
    text = everything_in(SAMPLE)
    assert [n for n in (*DEMO_CHILDREN, *DEMO_STAFF, "OSC-2026", "Demo") if n in text] == []
    assert json.loads((SAMPLE / "summary.json").read_text())["school"] == "Oakfield Academy (demo)"
