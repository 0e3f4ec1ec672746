"""Issue 21 over real HTTP (the aiohttp app and the botbuilder adapter): a path exception stays
a path on IT's task and in the change log; "now allowed" waits for the period to start (the
clock moved); an over-blocking report becomes an exception request in two clicks by IT."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from tests.conftest import Harness
from tests.e2e.test_filter_over_http import (
    GAME_REASON,
    _download,
    card_in,
    latest_view,
    records,
    request_change,
)
from tests.support import (
    IT,
    IT_CHANNEL,
    TEACHER,
    assert_valid_card,
    button,
    card_texts,
    click_button,
    dm,
    visible_text,
)

FRANK = "https://www.talktofrank.com/drugs-a-z"
PATH_RULE = "Allow path: www.talktofrank.com/drugs-a-z/*"


def teacher_news(h: Harness) -> list[str]:
    return [
        visible_text(a["attachments"][0]["content"])
        for a in h.connector.to(dm(TEACHER))
        if a.get("attachments")
    ]


async def approve_and_apply(h: Harness, **changes: str) -> dict[str, Any]:
    await request_change(h, blocked_category="games", reason=GAME_REASON, **changes)
    await h.settle()
    await click_button(h, IT, card_in(h, IT_CHANNEL), "filter.approve", channel=IT_CHANNEL)
    await h.settle()
    task = latest_view(h, IT_CHANNEL, "Apply: allow")
    await click_button(h, IT, task, "filter.applied", channel=IT_CHANNEL)
    await h.settle()
    return task


async def test_a_path_exception_stays_a_path_on_its_task_and_in_the_change_log(
    harness: Harness,
) -> None:
    task = await approve_and_apply(harness, site=FRANK, scope="path")

    assert_valid_card(task)
    assert PATH_RULE in visible_text(task)
    assert "Allow whole site" not in visible_text(task)
    assert "Apply: allow www.talktofrank.com/drugs-a-z/* for class 10B" in visible_text(task)

    log_card = await harness.click(IT, "filter.log")
    [link] = [a["url"] for a in log_card["actions"] if a.get("type") == "Action.OpenUrl"]
    status, text = await _download(harness, link)
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    [applied] = [r for r in rows if r["event"] == "applied"]
    assert (applied["detail"], applied["exception_scope"], applied["exception_rule"]) == (
        PATH_RULE,
        "path",
        PATH_RULE,
    )


async def test_now_allowed_waits_for_the_period_to_start(harness: Harness) -> None:
    # Sunday 6 December, IT applies it for a period starting Monday 7 December.
    harness.clock.at = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    await approve_and_apply(harness, site=FRANK, start="2026-12-07", end="2026-12-11")

    assert not any("Now allowed" in n for n in teacher_news(harness))
    harness.clock.at = datetime(2026, 12, 7, 7, 29, tzinfo=UTC)
    await harness.settle()
    assert not any("Now allowed" in n for n in teacher_news(harness))

    harness.clock.at = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)
    await harness.settle()

    now_allowed = [n for n in teacher_news(harness) if "Now allowed" in n]
    assert len(now_allowed) == 1
    assert "www.talktofrank.com/drugs-a-z for class 10B until Fri 11 Dec 2026" in now_allowed[0]


async def test_an_over_blocking_report_becomes_an_exception_request_in_two_clicks(
    harness: Harness,
) -> None:
    form = await harness.click(TEACHER, "overblock.start")
    sent = await harness.click(
        TEACHER,
        "overblock.submit",
        {
            **button(form, "overblock.submit"),
            "site": FRANK,
            "lesson": "PSHE: drugs and risk",
            "impact": "The drugs A to Z page was blocked halfway through the lesson.",
        },
    )
    assert card_texts(sent)[0] == "Sent to IT: OBR-2026-0001"
    await harness.settle()
    it_card = latest_view(harness, IT_CHANNEL, "Blocked but needed for teaching")
    assert_valid_card(it_card)

    # Click 1: "Request an exception from this" gives IT the request form, prefilled.
    prefilled_form = await click_button(
        harness, IT, it_card, "overblock.exception", channel=IT_CHANNEL
    )
    assert_valid_card(prefilled_form)
    values = {e["id"]: e.get("value") or "" for e in prefilled_form["body"] if "id" in e}
    assert values["site"] == FRANK and values["scope"] == "page"
    # IT fills in what the report could not know, then click 2: send it.
    values.update(
        blocked_category="drugs",
        audience="class",
        audience_detail="10B",
        supervised="yes",
        age_appropriate="yes",
    )
    answered = await click_button(
        harness, IT, prefilled_form, "overblock.exception_submit", channel=IT_CHANNEL, **values
    )
    await harness.settle()

    assert "Exception requested: FLT-2026-0001" in visible_text(answered)
    [request] = await records(harness)
    assert request.data["requester_id"] == TEACHER
    assert request.data["scope"] == "page" and request.data["status"] == "pending"
    request_card = latest_view(harness, IT_CHANNEL, "Filter request FLT-2026-0001")
    assert "Allow exactly: www.talktofrank.com/drugs-a-z" in visible_text(request_card)
    assert any("FLT-2026-0001" in n for n in teacher_news(harness))
