"""``GET /healthz`` tells the truth about the backlog (issue 22, item 9).

Before, the outbox figures were what the worker's last finished round saw: after a restart,
with 6 000 messages queued, it said ``"pending": 0`` for the 40 s of the first round. Now they
are counted from the store when asked, and ``status`` turns "degraded" once the oldest message
has waited longer than ``OUTBOX_DEGRADED_AFTER_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import WORKER_TASK
from bot.config import ConfigError, load_settings
from dialogs.ports import FixedClock
from tests.conftest import Harness, local_env
from tests.e2e.test_concern_over_http import report
from tests.support import FakeConnector

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def health(h: Harness) -> dict[str, Any]:
    assert h._session is not None and h._server is not None
    async with h._session.get(str(h._server.make_url("/healthz"))) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def stop_worker(h: Harness) -> None:
    """Stand-in for a worker busy in a long delivery round: it finishes no round at all."""
    task = h.app[WORKER_TASK]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def strict(tmp_path: Path, connector: FakeConnector) -> AsyncIterator[Harness]:
    """The bot with ``OUTBOX_DEGRADED_AFTER_SECONDS=60``."""
    settings = load_settings(local_env(tmp_path / "data", OUTBOX_DEGRADED_AFTER_SECONDS="60"))
    running = Harness(settings, connector, FixedClock(MONDAY))
    await running.start()
    yield running
    await running.stop()


def fresh(h: Harness) -> None:
    h.parts.backlog.MAX_STALENESS = 0.0  # read the store on every call (it caches for 1 s)


async def test_after_a_restart_the_backlog_is_counted_from_the_store_not_the_last_round(
    harness: Harness, connector: FakeConnector
) -> None:
    connector.fail_status = 503  # Teams is down: the messages wait in the outbox
    for _ in range(3):
        await report(harness, "cyberbullying")
    await harness.restart()
    await stop_worker(harness)
    fresh(harness)
    queued = len(await harness.parts.store.find("outbox"))
    assert queued >= 3

    body = await health(harness)

    assert body["outbox"]["pending"] == queued
    assert body["status"] == "ok"  # nothing has waited long yet

    harness.advance(seconds=901)  # past the default 15 minutes
    body = await health(harness)

    assert body["outbox"]["pending"] == queued
    assert body["outbox"]["oldest_pending_seconds"] == 901
    assert body["status"] == "degraded"

    connector.fail_status = None  # Teams is back: delivered, and healthy again
    await harness.settle()
    body = await health(harness)

    assert (body["outbox"]["pending"], body["outbox"]["oldest_pending_seconds"]) == (0, 0)
    assert body["status"] == "ok"


async def test_the_degraded_age_is_configured(strict: Harness, connector: FakeConnector) -> None:
    connector.fail_status = 503
    await report(strict, "cyberbullying")
    await stop_worker(strict)
    fresh(strict)

    strict.advance(seconds=59)
    assert (await health(strict))["status"] == "ok"
    strict.advance(seconds=2)
    body = await health(strict)

    assert body["status"] == "degraded"
    assert body["outbox"]["oldest_pending_seconds"] == 61


@pytest.mark.parametrize("value", ["0", "soon", "-5", "9999999"])
def test_a_degraded_age_that_is_not_a_number_of_seconds_is_refused(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError, match="OUTBOX_DEGRADED_AFTER_SECONDS"):
        load_settings(local_env(tmp_path, OUTBOX_DEGRADED_AFTER_SECONDS=value))
