"""Tenancy for a trust: two schools share one PostgreSQL database, and neither can read, list or
act on the other's items, through the store or through the bot.

School B here is the demo school's directory under another tenant id: even a DSL whose object
id is the same as school A's DSL sees nothing of school A.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import DEFAULT_LOCAL_DIRECTORY, load_settings
from dialogs.ports import Change, FixedClock, Record, VersionConflict
from policy.audit import AuditEvent
from store.postgres_store import PostgresStore
from tests.conftest import Harness, local_env
from tests.e2e.test_concern_over_http import CHILD, STORY, button, report
from tests.scale.postgres import fresh_database
from tests.support import (
    DSL,
    DSL_CHANNEL,
    TEACHER,
    TENANT,
    FakeConnector,
    card_action,
    card_texts,
)

SCHOOL_B = "5c400000-0000-4000-8000-0000000000bb"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


# ----- the store -------------------------------------------------------------------------------


async def test_a_schools_store_never_reads_lists_or_changes_another_schools_rows(
    postgres_url: str,
) -> None:
    a = await PostgresStore.open(postgres_url, tenant=f"a-{uuid.uuid4()}")
    b = await PostgresStore.open(postgres_url, tenant=f"b-{uuid.uuid4()}")
    try:
        secret = Record("concern", "OSC-2026-0001", 1, {"status": "new", "what": STORY})
        await a.commit(
            Change(
                records=[secret],
                audit=[AuditEvent("t", "concern.report", "concern:OSC-2026-0001", "ok", AT)],
                dedupe_key="form-1",
            )
        )
        assert await a.next_sequence("OSC-2026") == 1

        # Read, list, find, dedupe, audit: nothing of A's is visible to B.
        assert await b.get("concern", "OSC-2026-0001") is None
        assert await b.find("concern") == []
        assert await b.find("concern", status="new") == []
        assert await b.deduped("form-1") is None
        assert await b.audit_log() == []
        # Act: B can neither change nor delete A's record; a version-1 write makes B's own.
        with pytest.raises(VersionConflict):
            await b.commit(Change(records=[Record("concern", "OSC-2026-0001", 2, {"x": 1})]))
        with pytest.raises(VersionConflict):
            await b.commit(Change(deletes=[("concern", "OSC-2026-0001", 1)]))
        await b.commit(
            Change(
                records=[Record("concern", "OSC-2026-0001", 1, {"status": "b's own"})],
                audit=[AuditEvent("t", "concern.report", "concern:OSC-2026-0001", "ok", AT)],
                dedupe_key="form-1",
            )
        )
        # Sequences and audit chains are per school too.
        assert await b.next_sequence("OSC-2026") == 1
        assert await a.get("concern", "OSC-2026-0001") == secret
        assert [e.seq for e in await a.audit_log()] == [1]
        assert [e.seq for e in await b.audit_log()] == [1]
        assert (await a.verify_audit()).ok and (await b.verify_audit()).ok
    finally:
        await a.close()
        await b.close()


# ----- the bot ---------------------------------------------------------------------------------


def in_school_b(activity: dict[str, Any]) -> dict[str, Any]:
    activity["channelData"]["tenant"]["id"] = SCHOOL_B
    activity["conversation"]["tenantId"] = SCHOOL_B
    return activity


async def click_in_b(
    h: Harness, who: str, verb: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    payload = {"verb": verb, "v": 1, **(data or {})}
    status, body = await h.post(
        in_school_b(card_action(who, verb, h.connector.url, data=payload, **kwargs))
    )
    assert status == 200, body
    return dict(body["value"])


@pytest.fixture
def school_database() -> Iterator[str]:
    """A database of its own per test: school A is always the demo tenant."""
    with fresh_database() as url:
        yield url


@pytest.fixture
async def schools(
    school_database: str, tmp_path: Path, connector: FakeConnector
) -> AsyncIterator[tuple[Harness, Harness]]:
    postgres_url = school_database
    directory = json.loads(DEFAULT_LOCAL_DIRECTORY.read_text(encoding="utf-8"))
    assert directory["tenantId"] == TENANT
    directory["tenantId"] = SCHOOL_B
    (tmp_path / "school-b.json").write_text(json.dumps(directory), encoding="utf-8")
    a = Harness(
        load_settings(local_env(tmp_path / "a", DATABASE_URL=postgres_url)),
        connector,
        FixedClock(AT),
    )
    b = Harness(
        load_settings(
            local_env(
                tmp_path / "b",
                DATABASE_URL=postgres_url,
                LOCAL_DIRECTORY=str(tmp_path / "school-b.json"),
            )
        ),
        connector,
        FixedClock(AT),
    )
    await a.start()
    await b.start()
    yield a, b
    await a.stop()
    await b.stop()


async def test_one_schools_dsl_can_never_read_list_or_act_on_another_schools_items(
    schools: tuple[Harness, Harness],
) -> None:
    a, b = schools
    assert card_texts(await report(a, "grooming"))[0] == "Received: OSC-2026-0001"
    await a.settle()
    [card] = a.connector.cards(DSL_CHANNEL)
    in_channel = {"scope": "channel", "conversation_id": DSL_CHANNEL}

    # Read: school B's DSL opens school A's concern by its reference.
    opened = await click_in_b(b, DSL, "concern.open", button(card, "concern.open"), **in_channel)
    # Act: and tries to acknowledge it.
    acked = await click_in_b(b, DSL, "concern.ack", button(card, "concern.ack"), **in_channel)
    # List: open items, and a teacher's own reports.
    listed = await click_in_b(b, DSL, "dsl.open_items")
    mine = await click_in_b(b, TEACHER, "reports.mine")

    for seen in (opened, acked):
        assert "That isn't available to you" in card_texts(seen)
    for seen in (opened, acked, listed, mine):
        shown = json.dumps(seen)
        assert "OSC-2026-0001" not in shown and CHILD not in shown and "grooming" not in shown
    [concern] = await a.parts.store.find("concern")
    assert (concern.version, concern.data["status"]) == (1, "new")
    assert await b.parts.store.find("concern") == []
    refusals = [(e.action, e.outcome) for e in await b.parts.store.audit_log()]
    assert ("concern.open", "refused: not found") in refusals
    assert ("concern.ack", "refused: not found") in refusals
    assert all(e.actor != DSL or e.outcome == "ok" for e in await a.parts.store.audit_log())

    # School B's own first concern is its own OSC-2026-0001, which school A cannot touch.
    form = await click_in_b(b, TEACHER, "concern.start", {"step": "details", "category": "fraud"})
    [submit] = [x for x in form["actions"] if x.get("verb") == "concern.submit"]
    from tests.e2e.test_concern_over_http import report_fields

    received = await click_in_b(b, TEACHER, "concern.submit", {**submit["data"], **report_fields()})
    assert card_texts(received)[0] == "Received: OSC-2026-0001"
    [ours] = await a.parts.store.find("concern")
    assert ours.data["category"] == "grooming"
    [theirs] = await b.parts.store.find("concern")
    assert theirs.data["category"] == "fraud"
    assert (await a.parts.store.verify_audit()).ok and (await b.parts.store.verify_audit()).ok


async def test_an_activity_from_one_school_is_refused_by_another_schools_bot(
    schools: tuple[Harness, Harness],
) -> None:
    _, b = schools
    status, _ = await b.post(card_action(DSL, "dsl.open_items", b.connector.url))  # tenant A
    assert status == 403
    assert await b.parts.store.audit_log() == []
