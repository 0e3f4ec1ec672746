"""References stay gap-free per year when the same form arrives several times at once.

A double click, or Teams re-sending a submit it got no answer to, sends the same form again
while the first copy is still being saved. Every copy may get as far as drawing a reference
before one of them wins; the losers must not use up numbers (issue 22, item 5). The store's
keyed draw (``Store.next_sequence(name, key=...)``) gives every copy of one form the same
number. Real HTTP into the real app, on the embedded store and on PostgreSQL.

``nice .venv/bin/python -m pytest tests/reliability/test_reference_gaps.py -q -s`` prints the
figure quoted in the README's security section.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.config import load_settings
from dialogs.ports import FixedClock
from tests.conftest import Harness, local_env
from tests.reliability.common import concern_submit, received_ref
from tests.scale.postgres import fresh_database
from tests.support import FakeConnector

FORMS = 32
COPIES = 3
ON = date(2026, 11, 22)  # the day before the harness's clock


@pytest.fixture(params=["tinydb", "postgres"])
async def running(
    request: pytest.FixtureRequest, tmp_path: Path, connector: FakeConnector
) -> AsyncIterator[Harness]:
    extra = {}
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        extra["DATABASE_URL"] = url
    settings = load_settings(local_env(tmp_path / "data", **extra))
    h = Harness(settings, connector, FixedClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
    await h.start()
    yield h
    await h.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


async def test_concurrent_copies_of_the_same_forms_use_one_reference_each(
    running: Harness, request: pytest.FixtureRequest
) -> None:
    h = running
    forms = [
        concern_submit(h.connector.url, f"G{n}", "cyberbullying", urgent=False, on=ON)
        for n in range(FORMS)
    ]
    copies = []
    for form in forms:
        for _ in range(COPIES):  # the same form, each copy its own click (activity id)
            copies.append(form | {"id": f"activity-{uuid.uuid4().hex}"})

    answers = await asyncio.gather(*(h.post(activity) for activity in copies))

    refs = [received_ref(status, body) for status, body in answers]
    numbers = sorted(int(r.id.rsplit("-", 1)[1]) for r in await h.parts.store.find("concern"))
    backend = request.node.callspec.params["running"]
    print(
        f"\n{backend}: {len(copies)} concurrent submits of {FORMS} forms ({COPIES} copies each): "
        f"{len(numbers)} concerns saved, references {numbers[0]:04d}..{numbers[-1]:04d}"
    )
    assert numbers == list(range(1, FORMS + 1))
    for n in range(FORMS):  # every copy of a form was told the same reference
        told = set(refs[n * COPIES : (n + 1) * COPIES])
        assert len(told) == 1 and None not in told, told
    assert len(set(refs)) == FORMS
