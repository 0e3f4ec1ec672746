"""The outbox's typed message (issue 23): a stored record is read once, into
``OutboxMessage``; records written before the layout had a version still read and deliver, the
stored shape is what it always was, and a record of a later layout (or a damaged one) is left
queued, never deleted and never delivered, and logged without its data."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from dialogs.outbox import (
    OUTBOX,
    Delivery,
    OutboxMessage,
    OutboxWorker,
    UnreadableMessage,
    message,
)
from dialogs.ports import Change, FixedClock, Outgoing, Record
from store.memory import InMemoryStore
from tests.dialogs.conftest import RecordingMessenger
from tests.support import dm

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

#: A record exactly as the code before issue 23 wrote it (no version key), retried once.
OLD_RECORD = {
    "delivery": "direct",
    "target": "person-1",
    "subject": "concern:OSC-2026-0001",
    "render": "test.note",
    "attempts": 1,
    "next_at": AT.isoformat(),
    "created_at": AT.isoformat(),
    "last_error": "timed out",
    "x_title": "A title",
    "sending_at": AT.isoformat(),
    "read_failures": 2,
}


async def _note(_subject: Record | None, data: Mapping[str, Any]) -> Outgoing:
    return Outgoing(text=f"note {data['x_title']}")


def _worker(store: InMemoryStore, messenger: RecordingMessenger) -> OutboxWorker:
    return OutboxWorker(
        store=store,
        messenger=messenger,
        directory=None,  # type: ignore[arg-type]  # no role messages here
        notifier=None,
        clock=FixedClock(AT),
        renderers={"test.note": _note},
        timers={},
    )


def test_a_record_without_a_version_is_layout_1_and_round_trips_unchanged() -> None:
    record = Record(OUTBOX, "m-1", 3, dict(OLD_RECORD))
    read = OutboxMessage.from_record(record)
    assert (read.version, read.revision, read.delivery) == (1, 3, Delivery.DIRECT)
    assert (read.target, read.subject, read.render) == (
        "person-1",
        "concern:OSC-2026-0001",
        "test.note",
    )
    assert (read.attempts, read.sending_at, read.read_failures) == (1, AT.isoformat(), 2)
    assert read.extras == {"x_title": "A title"}
    assert read.to_data() == OLD_RECORD  # the same keys and values: no version key added
    assert read.to_record() == record


def test_a_new_message_is_stored_in_the_shape_it_always_had() -> None:
    record = message(Delivery.FEED, "person-1", "concern:X", "r", AT, x_title="T")
    assert list(record.data) == [
        "delivery",
        "target",
        "subject",
        "render",
        "attempts",
        "next_at",
        "created_at",
        "last_error",
        "x_title",
    ]
    assert OutboxMessage.from_record(record).to_data() == record.data


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"v": 2}, "layout 2"),
        ({"v": "two"}, "not a number"),
        ({"v": True}, "not a number"),
        ({"delivery": "pigeon"}, "no known delivery"),
        ({"target": None}, "no target"),
        ({"attempts": "many"}, "not numbers"),
    ],
)
def test_a_record_this_code_cannot_read_is_refused_clearly(
    change: dict[str, Any], why: str
) -> None:
    with pytest.raises(UnreadableMessage) as refused:
        OutboxMessage.from_record(Record(OUTBOX, "m-1", 1, {**OLD_RECORD, **change}))
    assert why in str(refused.value)
    assert "m-1" in str(refused.value)


async def test_an_old_record_is_delivered_and_its_renderer_sees_the_same_data() -> None:
    store, messenger = InMemoryStore(), RecordingMessenger()
    old = {k: v for k, v in OLD_RECORD.items() if k not in {"sending_at", "read_failures"}}
    await store.commit(Change(records=[Record(OUTBOX, "m-old", 1, old)]))
    assert await _worker(store, messenger).tick() == 1
    assert [(c, m.text) for c, m in messenger.posted] == [(dm("person-1"), "note A title")]
    assert await store.find(OUTBOX) == []


async def test_a_later_layout_is_left_queued_untouched_and_logged_without_its_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, messenger = InMemoryStore(), RecordingMessenger()
    later = Record(OUTBOX, "m-later", 1, {**OLD_RECORD, "v": 2, "x_title": "Pupil name"})
    damaged = Record(OUTBOX, "m-damaged", 1, {"next_at": "Pupil name"})
    fresh = message(Delivery.DIRECT, "person-2", "concern:Y", "test.note", AT, x_title="B")
    await store.commit(Change(records=[later, damaged, fresh]))
    worker = _worker(store, messenger)
    with caplog.at_level(logging.ERROR, logger="dialogs.outbox"):
        assert await worker.tick() == 1  # the readable message is not held up by the others
        assert await worker.tick() == 0
    assert [c for c, _ in messenger.posted] == [dm("person-2")]
    assert sorted(await store.find(OUTBOX), key=lambda r: r.id) == [damaged, later]
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 2  # once per message, not on every tick
    assert any("m-later" in line and "layout 2" in line for line in logged)
    assert not any("Pupil name" in line for line in logged)
    assert worker.status.pending == 2
