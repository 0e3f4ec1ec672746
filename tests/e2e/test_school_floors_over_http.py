"""Floors no school file can remove, over real HTTP (issue 19): the IWF and police lists are
never unblockable whatever the file says; a typo in a safeguarding list stops the start with a
message that says what to fix; a category's safeguards follow its properties, not its id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import ConfigError, load_settings
from dialogs.ports import FixedClock
from policy.categories import DEFAULT_CATEGORIES
from tests.conftest import Harness, local_env
from tests.e2e.test_concern_over_http import STORY, report
from tests.e2e.test_filter_over_http import request_change
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    IT_CHANNEL,
    ROOT,
    FakeConnector,
    card_texts,
    click_button,
    close_form,
    dm,
    everything,
    visible_text,
)

DEMO = (ROOT / "config" / "school.toml").read_text(encoding="utf-8")


def school_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "school.toml"
    path.write_text(text, encoding="utf-8")
    return path


def categories_toml(rename: dict[str, tuple[str, str]], drop_images: frozenset[str]) -> str:
    """The built-in categories as [[categories]] tables, with some renamed (id, label) and some
    without the images rule."""
    out = []
    for c in DEFAULT_CATEGORIES:
        cid, label = rename.get(c.id, (c.id, c.label))
        images = c.images_rule and c.id not in drop_images
        out.append(
            "[[categories]]\n"
            f'id = "{cid}"\nlabel = "{label}"\ngroup = "{c.group.value}"\n'
            f'route = "{c.route.value}"\nurgent = {str(c.urgent).lower()}\n'
            f"images_rule = {str(images).lower()}\nukcis_gate = {str(c.ukcis_gate).lower()}\n"
            # Issue 20: serious categories must say so (a second senior person closes them).
            f"serious = {str(c.serious).lower()}\n"
        )
    return "\n".join(out)


async def started(tmp_path: Path, connector: FakeConnector, text: str) -> Harness:
    settings = load_settings(
        local_env(tmp_path / "data", SCHOOL_CONFIG=str(school_file(tmp_path, text)))
    )
    running = Harness(settings, connector, FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
    await running.start()
    return running


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(local_env(tmp_path / "data", SCHOOL_CONFIG=str(school_file(tmp_path, text))))
    return "\n".join(raised.value.problems)


# ----- the IWF and police lists -----------------------------------------------------------------


def test_a_typo_in_the_never_unblockable_list_stops_the_start_and_says_what_to_fix(
    tmp_path: Path,
) -> None:
    text = DEMO.replace(
        'never_unblockable_categories = ["iwf_child_abuse", "police_terrorism"]',
        'never_unblockable_categories = ["iwf"]',
    )

    problems = refused(tmp_path, text)

    assert "filtering.never_unblockable_categories: 'iwf' is not a known name" in problems
    assert "did you mean 'iwf_child_abuse'?" in problems


@pytest.fixture
async def without_the_floors(tmp_path: Path, connector: FakeConnector) -> AsyncIterator[Harness]:
    """A school whose file lists nothing as never unblockable (it cannot take the floors away)."""
    text = DEMO.replace(
        'never_unblockable_categories = ["iwf_child_abuse", "police_terrorism"]',
        "never_unblockable_categories = []",
    )
    running = await started(tmp_path, connector, text)
    yield running
    await running.stop()


@pytest.mark.parametrize("category", ["iwf_child_abuse", "police_terrorism"])
async def test_the_iwf_and_police_lists_stay_never_unblockable_whatever_the_file_says(
    without_the_floors: Harness, category: str
) -> None:
    h = without_the_floors

    card = await request_change(h, blocked_category=category)
    await h.settle()

    assert card_texts(card)[0] == "Refused: FLT-2026-0001"
    assert "never unblocked" in visible_text(card)
    assert h.connector.cards(IT_CHANNEL) == []  # IT alone can never approve it


def test_a_school_can_add_to_the_never_unblockable_list(tmp_path: Path) -> None:
    text = DEMO.replace(
        'never_unblockable_categories = ["iwf_child_abuse", "police_terrorism"]',
        'never_unblockable_categories = ["gambling"]',
    )
    settings = load_settings(
        local_env(tmp_path / "data", SCHOOL_CONFIG=str(school_file(tmp_path, text)))
    )
    assert settings.school.filtering.never_unblockable == {
        "gambling",
        "iwf_child_abuse",
        "police_terrorism",
    }


# ----- safeguards follow a category's properties ---------------------------------------------


@pytest.fixture
async def sexting_school(tmp_path: Path, connector: FakeConnector) -> AsyncIterator[Harness]:
    """The nude-imagery category renamed to the school's own words ("sexting")."""
    text = (
        DEMO
        + "\n"
        + categories_toml(
            {"nude_imagery": ("sexting", "Sexting (nudes shared by pupils)")}, frozenset()
        )
    )
    running = await started(tmp_path, connector, text)
    yield running
    await running.stop()


async def test_a_renamed_imagery_category_keeps_the_images_rule_ukcis_gate_and_checklist(
    sexting_school: Harness,
) -> None:
    h = sexting_school
    form = await h.click(DSL, "concern.start", {"step": "details", "category": "sexting"})
    assert "Do not view, copy, screenshot, forward or save the images" in everything(form)

    await report(h, "sexting")
    await h.settle()
    card: dict[str, Any] = h.connector.cards(DSL_CHANNEL)[-1]
    detail = await click_button(h, DSL, card, "concern.open")

    assert "An adult is involved" in everything(detail)  # the UKCIS criteria
    assert "Device secured" in everything(detail)  # the imagery checklist, not the general one
    assert "Referral to children's social care" in everything(detail)
    # Issue 20: a category with the images rule is serious, so its closing is proposed.
    blocked = await click_button(
        h, DSL, detail, "concern.close.propose", **close_form("nude_imagery")
    )
    assert "record the UKCIS immediate-referral assessment before closing" in everything(blocked)


def test_an_imagery_category_without_the_images_rule_is_refused(tmp_path: Path) -> None:
    text = (
        DEMO
        + "\n"
        + categories_toml(
            {"nude_imagery": ("sexting", "Sexting (nudes shared by pupils)")},
            frozenset({"nude_imagery"}),
        )
    )
    problems = refused(tmp_path, text)

    assert "categories.sexting: 'Sexting (nudes shared by pupils)' is about sexual images" in (
        problems
    )
    assert "needs images_rule = true" in problems


# ----- nobody is told "sent" when nobody will receive it --------------------------------------


def directory_without(tmp_path: Path, *groups: str) -> Path:
    """The demo directory with nobody left in ``groups`` (a post vacant, a group emptied)."""
    data = json.loads((ROOT / "config" / "demo-directory.json").read_text(encoding="utf-8"))
    for person in data["people"]:
        person["groups"] = [g for g in person["groups"] if g not in groups]
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


#: The concern's words as a card shows them (cards escape Markdown, so not the whole story).
GIST = STORY.split("CANARY")[0]
CHAIR_GROUP = "5c400000-0000-4000-8000-000000000110"
DEPUTY_HEAD_GROUP = "5c400000-0000-4000-8000-000000000108"


@pytest.fixture
async def vacancies(tmp_path: Path, connector: FakeConnector) -> AsyncIterator[Harness]:
    """The demo school with no chair of governors and no Deputy Head (Academic) in post."""
    settings = load_settings(
        local_env(
            tmp_path / "data",
            LOCAL_DIRECTORY=str(directory_without(tmp_path, CHAIR_GROUP, DEPUTY_HEAD_GROUP)),
        )
    )
    running = Harness(settings, connector, FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
    await running.start()
    yield running
    await running.stop()


async def healthz(h: Harness) -> dict[str, Any]:
    assert h._server is not None
    url = str(h._server.make_url("/healthz"))
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return dict(await response.json())


async def test_a_concern_about_the_head_with_no_chair_reaches_the_dsl_team_who_are_told(
    vacancies: Harness,
) -> None:
    h = vacancies
    received = await report(h, "staff_conduct", about_headteacher="true")
    await h.settle()
    await h.settle()

    said = everything(received)
    assert "the chair of governors, privately" not in said
    assert "nobody holds the role of chair of governors at the moment" in said
    for lead in (DSL, DEPUTY_DSL):
        texts = [everything(a) for a in h.connector.to(dm(lead))]
        assert any(GIST in t for t in texts), f"{lead} did not get the concern"
        assert any("Nobody holds the role chair of governors" in t for t in texts)
    assert h.connector.to(dm(HEADTEACHER)) == []  # never the subject of the concern
    assert not h.connector.cards(DSL_CHANNEL)  # and never a channel
    assert (await healthz(h))["outbox"]["unheld_roles"] == {"chair_of_governors": 1}

    # The DSL, who now holds it, can open and act on it.
    [private] = [
        a["attachments"][0]["content"]
        for a in h.connector.to(dm(DSL))
        if a.get("attachments") and GIST in everything(a)
    ]
    acknowledged = await click_button(h, DSL, private, "concern.ack")
    assert "Sorry, you can't do that here" not in everything(acknowledged)
    [concern] = await h.parts.store.find("concern")
    assert concern.data["status"] == "acknowledged"


async def test_a_recording_request_with_no_deputy_head_is_never_said_to_be_sent(
    vacancies: Harness,
) -> None:
    from tests.e2e.test_video_call_followups_over_http import RECORDED, check

    verdict = await check(vacancies, **RECORDED)

    text = visible_text(verdict)
    assert "I've asked the Deputy Head (Academic)" not in text
    assert "Nobody holds the Deputy Head (Academic) role at the moment" in text
    assert "Don't record until permission is given" in text


# ----- permission to record is given by the Deputy Head, not self-declared --------------------


async def test_already_agreed_ticked_by_the_teacher_still_asks_the_deputy_head(
    harness: Harness,
) -> None:
    from tests.e2e.test_video_call_followups_over_http import RECORDED, check, deliver
    from tests.support import DEPUTY_HEAD

    verdict = await check(harness, permission="true", **RECORDED)

    text = visible_text(verdict)
    assert card_texts(verdict)[0] == "⚠️ Allowed once permission to record is given"  # waiting
    assert "Their permission must come from them" in text
    assert "(REC-2026-0001)" in text
    [request] = await harness.parts.store.find("recording_request")
    assert request.data["status"] == "pending"
    await deliver(harness)
    assert harness.connector.cards(dm(DEPUTY_HEAD)), "the Deputy Head was not asked"
