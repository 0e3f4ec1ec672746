"""Any Unicode in any text field is saved and acknowledged, never a 5xx (issue 22, item 2).

JSON can carry lone surrogates (``"\\ud800"``) and NUL: UTF-8 cannot hold the first and
PostgreSQL refuses the second, so a report told "received" was lost (HTTP 501, empty body).
Every submit of every flow, on both stores: the item is saved with those characters replaced
by U+FFFD, and the person is told it was received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import load_settings
from dialogs.ports import FixedClock
from tests.conftest import Harness, local_env
from tests.e2e.test_concern_over_http import report
from tests.e2e.test_filter_over_http import request_change
from tests.e2e.test_pupil_report_over_http import worry
from tests.scale.postgres import fresh_database
from tests.support import CALL_FORM, TEACHER, FakeConnector, card_texts, everything

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
EXAMPLES = 15

#: Any code point at all: lone surrogates and NUL included (hypothesis leaves them out of
#: ``characters()`` unless asked).
any_character = st.one_of(
    st.characters(blacklist_categories=()),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, blacklist_categories=()),
    st.just("\x00"),
)
#: Starts and ends with a letter, so no flow refuses it as empty (trimmed) or as too short.
any_text = st.text(any_character, max_size=30).map(lambda t: f"a{t}z")


def storable(value: Any) -> bool:
    """Whether every string in ``value`` can be written as UTF-8 and holds no NUL."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\\u0000" not in json.dumps(value)


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["tinydb", "postgres"])
async def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, connector: FakeConnector
) -> AsyncIterator[Harness]:
    """The real bot on either store (PostgreSQL without a key: its JSON column is the strict
    one; TinyDB without a key: its files are plain UTF-8)."""
    extra = {}
    if request.param == "postgres":
        extra["DATABASE_URL"] = request.getfixturevalue("database")
    running = Harness(
        load_settings(local_env(tmp_path / "data", **extra)), connector, FixedClock(MONDAY)
    )
    await running.start()
    yield running
    await running.stop()


async def concern(h: Harness, text: str) -> tuple[dict[str, Any], str]:
    card = await report(
        h, "cyberbullying", involved=text, what_happened=text, where=text, actions_taken=text
    )
    return card, "concern"


async def pupil_worry(h: Harness, text: str) -> tuple[dict[str, Any], str]:
    return await worry(h, words=text, adult=text), "concern"


async def filter_request(h: Harness, text: str) -> tuple[dict[str, Any], str]:
    reason = f"Pupils study how propaganda works in this unit {text}"
    card = await request_change(h, reason=reason, topic=text, audience_detail=text)
    return card, "filter_request"


async def video_call(h: Harness, text: str) -> tuple[dict[str, Any], str]:
    form = await h.click(TEACHER, "call.start")
    assert form["type"] == "AdaptiveCard"
    data = {
        **CALL_FORM,
        "platform": text,
        "who": "named",
        "pupils": text,
        "recorded": "true",
        "recording_reason": text,
    }
    return await h.click(TEACHER, "call.submit", data), "call_check"


Submit = Callable[[Harness, str], Awaitable[tuple[dict[str, Any], str]]]
FLOWS: dict[str, Submit] = {
    "concern.submit": concern,
    "worry.submit": pupil_worry,
    "filter.submit": filter_request,
    "call.submit": video_call,
}
#: What each flow's answer says once the item is saved.
ACKNOWLEDGED = {
    "concern.submit": "Received: OSC-2026-",
    "worry.submit": "Your worry has been sent.",
    "filter.submit": "Sent: FLT-2026-",
    # The check is recorded with its verdict (an unknown platform is not approved).
    "call.submit": "Not allowed",
}


async def submit_and_check(h: Harness, flow: str, text: str) -> None:
    before = len(await h.parts.store.find(_kind(flow)))
    card, kind = await FLOWS[flow](h, text)  # Harness.click asserts HTTP 200 and a card
    saved = await h.parts.store.find(kind)
    assert len(saved) == before + 1, card_texts(card)
    assert all(storable(r.data) for r in saved)
    assert any(ACKNOWLEDGED[flow] in t for t in card_texts(card)[:2]), card_texts(card)


def _kind(flow: str) -> str:
    return {"filter.submit": "filter_request", "call.submit": "call_check"}.get(flow, "concern")


@pytest.mark.parametrize("flow", FLOWS)
async def test_a_lone_surrogate_and_nul_are_saved_replaced_and_acknowledged(
    any_store: Harness, flow: str
) -> None:
    await submit_and_check(any_store, flow, "x\ud800y\x00z\udfff")

    [record] = [
        r
        for r in await any_store.parts.store.find(_kind(flow))
        if "x\ufffdy\ufffdz\ufffd" in everything(r.data)
    ]
    assert "\ud800" not in everything(record.data)


@pytest.mark.parametrize("flow", FLOWS)
async def test_any_unicode_in_every_text_field_is_saved_and_acknowledged(
    any_store: Harness, flow: str
) -> None:
    # Hypothesis draws the texts; they are then sent one by one on the running bot's loop
    # (hypothesis cannot drive an async test by itself).
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(text=any_text)
    def draw(text: str) -> None:
        texts.append(text)

    texts: list[str] = []
    draw()
    assert len(texts) >= EXAMPLES * 0.8
    for text in texts:
        await submit_and_check(any_store, flow, text)
