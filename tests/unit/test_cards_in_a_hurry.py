"""Cards read in a hurry (issue 24): one date style, and cards that stay valid Adaptive Cards
1.5 (the official schema, tests/schemas) with the per-user refresh that keeps a DSL's detail
open."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from cards.common import card, day_given, heading, school_day, school_time
from cards.concern import MAX_DETAIL_VIEWERS, keep_detail_open
from policy.video_calls import day_text
from tests.support import assert_valid_card

LONDON = ZoneInfo("Europe/London")


def test_one_date_style_for_every_card() -> None:
    assert school_day(date(2026, 12, 6)) == "Sun 6 Dec 2026"
    assert school_time(datetime(2026, 11, 23, 10, 5, tzinfo=UTC), LONDON) == (
        "Mon 23 Nov 2026, 10:05"
    )
    # Summer time: school time, not UTC.
    assert school_time(datetime(2026, 6, 1, 23, 30, tzinfo=UTC), LONDON) == (
        "Tue 2 Jun 2026, 00:30"
    )
    # The video-call rules (pure policy) write days the same way.
    start = date(2026, 1, 1)
    for n in range(400):
        day = start + timedelta(days=n)
        assert day_text(day) == school_day(day)


def test_an_entered_date_reads_like_every_other_date() -> None:
    assert day_given("2026-12-04") == "Fri 4 Dec 2026"
    assert day_given("") == "Not given"
    assert day_given(None, missing="-") == "-"
    assert day_given("last *Tuesday*") == r"last \*Tuesday\*"


def test_the_refresh_that_keeps_a_detail_open_is_valid_and_names_handlers_only() -> None:
    shown = card([heading("Concern OSC-2026-0001")])
    assert keep_detail_open(shown, "OSC-2026-0001", 3, ()) == shown

    kept = keep_detail_open(shown, "OSC-2026-0001", 3, ["a", "b"])

    assert_valid_card(kept)
    assert kept["refresh"]["userIds"] == ["8:orgid:a", "8:orgid:b"]
    action = kept["refresh"]["action"]
    assert action["type"] == "Action.Execute" and action["verb"] == "concern.open"
    assert action["data"] == {
        "verb": "concern.open",
        "v": 1,
        "ref": "OSC-2026-0001",
        "ver": 3,
        "view": "detail",
    }


def test_teams_limit_of_refreshed_people_is_kept() -> None:
    many = [f"id-{n}" for n in range(100)]
    kept = keep_detail_open(card([heading("x")]), "OSC-2026-0001", 1, many)
    assert len(kept["refresh"]["userIds"]) == MAX_DETAIL_VIEWERS


def test_the_channel_greeting_is_valid_brief_and_names_nobody() -> None:
    from cards.welcome import channel_greeting_card

    greeting = channel_greeting_card("Oakfield")

    assert_valid_card(greeting)
    assert "Hello" not in str(greeting)
    assert [a["title"] for a in greeting["actions"]] == [
        "Open items",
        "Incident log",
        "Filter log",
        "Open filter items",  # issue 21: IT's open items, from the whole school
        "Help",
    ]


def test_my_reports_stacks_each_item_for_a_narrow_screen() -> None:
    from cards.concern import my_reports_card

    shown = my_reports_card(
        [("FLT-2026-0001", "Filter change for example.org", "Mon 23 Nov 2026", "allowed now")]
    )

    assert_valid_card(shown)
    assert not [e for e in shown["body"] if e["type"] == "FactSet"]  # no squeezed columns
    texts = [b["text"] for c in shown["body"][1:] for b in c["items"]]
    assert texts == [
        "Filter change for example.org: allowed now",
        "FLT-2026-0001, sent Mon 23 Nov 2026",
    ]
