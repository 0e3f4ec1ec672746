"""Floors no school file can remove, over real HTTP (issue 19): the IWF and police lists are
never unblockable whatever the file says; a typo in a safeguarding list stops the start with a
message that says what to fix; a category's safeguards follow its properties, not its id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_settings
from dialogs.ports import FixedClock
from policy.categories import DEFAULT_CATEGORIES
from tests.conftest import Harness, local_env
from tests.e2e.test_concern_over_http import report
from tests.e2e.test_filter_over_http import request_change
from tests.support import (
    DSL,
    DSL_CHANNEL,
    IT_CHANNEL,
    ROOT,
    FakeConnector,
    card_texts,
    click_button,
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
    blocked = await click_button(
        h, DSL, detail, "concern.close", outcome="resolved_in_school", message="ok"
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
