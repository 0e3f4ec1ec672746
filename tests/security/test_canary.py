"""Canary (quality note P1, P2): one unique string goes through every flow, then every log line
(at DEBUG, SDKs included) and every store file is searched for it. With an encryption key set,
it must appear in none of them."""

from __future__ import annotations

import io
import logging
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_settings
from bot.logs import JsonFormatter, ScrubTokens, configure
from dialogs.ports import FixedClock
from store.crypto import new_key
from tests.conftest import Harness, local_env
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT,
    IT_CHANNEL,
    TEACHER,
    FakeConnector,
    card_action,
    close_form,
)

CANARY = "ZEBRA-CANARY-90125"


@pytest.fixture
async def sealed(tmp_path: Path, connector: FakeConnector) -> AsyncIterator[Harness]:
    settings = load_settings(local_env(tmp_path / "data", BOT_ENCRYPTION_KEY=new_key()))
    harness = Harness(settings, connector, FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
def every_log_line() -> Any:
    """Capture every log record, formatted as the service writes them (JSON lines)."""
    configure("DEBUG", fmt="json")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ScrubTokens())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)
    configure("WARNING", fmt="json")


def first(card: dict[str, Any], verb: str) -> dict[str, Any]:
    for action in card.get("actions", []):
        if action.get("verb") == verb:
            return dict(action["data"])
        for nested in action.get("card", {}).get("actions", []):
            if nested.get("verb") == verb:
                return dict(nested["data"])
    raise AssertionError(verb)


async def run_every_flow(h: Harness) -> None:
    # A staff concern, every free-text field carrying the canary.
    form = await h.click(TEACHER, "concern.start", {"step": "details", "category": "grooming"})
    await h.click(
        TEACHER,
        "concern.submit",
        {
            **first(form, "concern.submit"),
            "immediate_risk": "yes",
            "involved": f"{CANARY} (8B)",
            "year_group": "Year 8",
            "what_happened": f"Messages from {CANARY}",
            "where": f"App {CANARY}",
            "url": f"https://{CANARY.lower()}.example/{CANARY}",
            "happened_on": "2026-11-22",
            "actions_taken": f"Phone kept, {CANARY}",
        },
    )
    await h.settle()
    card = h.connector.cards(DSL_CHANNEL)[-1]
    detail = await h.click(DSL, "concern.open", first(card, "concern.open"))
    detail = await h.click(DSL, "concern.note", {**first(detail, "concern.note"), "note": CANARY})
    detail = await h.click(
        DSL,
        "concern.action",
        {**first(detail, "concern.action"), "action": "police_informed", "note": CANARY},
    )
    # Issue 20: grooming is serious: the DSL proposes closing it (every field carrying the
    # canary) and a deputy DSL confirms.
    await h.click(
        DSL,
        "concern.close.propose",
        {
            **first(detail, "concern.close.propose"),
            **close_form("grooming", outcome="police", message=f"Thanks {CANARY}"),
            "reason": f"Police have it {CANARY}",
            "item_ceop_report": "not_needed",
            "item_ceop_report_reason": f"Police made it {CANARY}",
        },
    )
    deputy = await h.click(DEPUTY_DSL, "concern.open", first(card, "concern.open"))
    await h.click(DEPUTY_DSL, "concern.close.confirm", first(deputy, "concern.close.confirm"))
    # A filter request, asked about, answered and rejected.
    form = await h.click(TEACHER, "filter.start")
    await h.click(
        TEACHER,
        "filter.submit",
        {
            **first(form, "filter.submit"),
            "site": f"https://news.example/{CANARY}",
            "blocked_category": "hate",
            "audience": "named_pupils",
            "audience_detail": CANARY,
            "reason": f"Pupils compare how two papers covered {CANARY} in the media unit",
            "topic": CANARY,
            "start": "2026-11-23",
            "end": "2026-11-25",
            "supervised": "yes",
            "age_appropriate": "yes",
        },
    )
    await h.settle()
    request = h.connector.cards(IT_CHANNEL)[-1]
    asked = await h.click(
        IT, "filter.ask", {**first(request, "filter.ask"), "note": f"Why {CANARY}?"}
    )
    await h.settle()
    question = h.connector.to(f"a:dm-{TEACHER}")[-1]["attachments"][0]["content"]
    answer = {**first(question, "filter.answer"), "note": CANARY}
    status, _ = await h.post(card_action(TEACHER, "filter.answer", h.connector.url, data=answer))
    assert status == 200
    current = await h.parts.store.get("filter_request", "FLT-2026-0001")
    assert current is not None
    reject = {**first(asked, "filter.reject"), "ver": current.version, "note": CANARY}
    await h.click(IT, "filter.reject", reject)
    # A video-call check naming pupils, with a recording reason.
    await h.click(
        TEACHER,
        "call.submit",
        {
            "date": "2026-11-23",
            "start": "10:00",
            "duration": "60",
            "platform": "Microsoft Teams",
            "purpose": "lesson",
            "who": "named",
            "pupils": f"{CANARY} Smith",
            "one_to_one": "false",
            "parental_consent": "true",
            "recorded": "true",
            "recording_reason": f"For {CANARY}",
            "permission": "false",
            "consent": "true",
            "announce": "true",
            "where": "school",
            "nothing_identifying": "false",
            "well_lit": "true",
            "others_in_room": "false",
        },
    )
    await h.settle()


async def test_the_canary_is_in_no_log_line_and_no_store_file(
    sealed: Harness, every_log_line: Any
) -> None:
    await run_every_flow(sealed)

    logs = every_log_line.getvalue()
    assert logs.count("\n") > 20  # the flows did log (ids and references)
    assert "OSC-2026-0001" in logs
    assert CANARY not in logs
    assert CANARY.lower() not in logs
    data_dir = sealed.settings.data_dir
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        assert CANARY.encode() not in content, path
        assert CANARY.lower().encode() not in content, path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    # The flows really did carry the canary: the records hold it, sealed.
    concerns = await sealed.parts.store.find("concern")
    assert CANARY in concerns[0].data["what_happened"]


def test_the_log_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "bot.log"
    configure("INFO", fmt="json", file=str(path))
    logging.getLogger("bot.test").info("hello")
    configure("WARNING", fmt="json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert '"msg": "hello"' in path.read_text()


def test_bearer_tokens_are_blanked_whoever_logs_them() -> None:
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "Authorization: Bearer %s",
        ("eyJhbGciOiJSUzI1NiJ9.abc.def",),
        None,
    )
    ScrubTokens().filter(record)
    assert record.getMessage() == "Authorization: Bearer [redacted]"
