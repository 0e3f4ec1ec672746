"""The single-process outbox tick fires only due timers (read through ``Store.due``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialogs.outbox.records import TIMER, TimerResult
from dialogs.outbox.worker import OutboxWorker
from dialogs.ports import Change, FixedClock, Record, Store
from store.memory import InMemoryStore
from store.tinydb_store import TinyDbStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "tinydb"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend: Store = (
        InMemoryStore() if request.param == "memory" else await TinyDbStore.open(tmp_path / "d")
    )
    yield backend
    await backend.close()


def timer(item_id: str, due: datetime) -> Record:
    return Record(TIMER, item_id, 1, {"name": "ping", "subject": "x:1", "due_at": due.isoformat()})


# 0 or 1 000 pending timers besides: TinyDB picks through its index past a small kind.
@pytest.mark.parametrize("pending", [0, 1000])
async def test_a_due_timer_fires_and_one_not_yet_due_does_not(store: Store, pending: int) -> None:
    fired: list[str] = []

    async def ping(subject: Record | None, item: Record, now: datetime) -> TimerResult:
        fired.append(item.id)
        return TimerResult()

    later = [timer(f"later-{i}", NOW + timedelta(days=1, minutes=i)) for i in range(pending)]
    await store.commit(
        Change(
            records=[
                *later,
                timer("due-b", NOW - timedelta(minutes=1)),
                timer("due-a", NOW - timedelta(hours=1)),
                timer("not-yet", NOW + timedelta(seconds=1)),
            ]
        )
    )
    clock = FixedClock(NOW)
    none: Any = None
    worker = OutboxWorker(
        store=store,
        messenger=none,
        directory=none,
        notifier=None,
        clock=clock,
        renderers={},
        timers={"ping": ping},
    )

    await worker.tick()

    assert fired == ["due-a", "due-b"]  # in order of due_at
    assert await store.get(TIMER, "due-a") is None
    assert await store.get(TIMER, "not-yet") is not None
    await worker.tick()
    assert fired == ["due-a", "due-b"]
    clock.at = NOW + timedelta(seconds=1)
    await worker.tick()
    assert fired == ["due-a", "due-b", "not-yet"]
