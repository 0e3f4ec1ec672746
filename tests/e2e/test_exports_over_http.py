"""Download links for exports (``/exports/{token}``), on one instance and on several.

- The embedded store (one process): exports stay in memory, nothing reaches the data folder.
- PostgreSQL, two app instances on one database (as behind a load balancer): a link made on
  one downloads from the other until it expires, and from neither after; the export is kept
  in the shared store sealed with the records' key, under the hash of its token, and is
  removed once expired (when met, and by the sweep).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from aiohttp.test_utils import make_mocked_request

from bot.config import load_settings
from bot.exports import EXPORT_KIND, TTL_SECONDS, ExportShelf, StoredExports, record_id
from dialogs.ports import FixedClock
from store.crypto import new_key
from store.memory import InMemoryStore
from tests.conftest import Harness, local_env
from tests.e2e.test_reports_over_http import CHILD, download, links, seed
from tests.scale.postgres import fresh_database
from tests.support import DSL, FakeConnector

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SHOW_NOVEMBER = {"step": "show", "from": "2026-11-01", "to": "2026-11-30"}


async def incident_log_link(h: Harness) -> str:
    """The DSL asks for November's incident log in a private chat; the card's download link."""
    card = await h.click(DSL, "dsl.incident_log", SHOW_NOVEMBER)
    [link] = links(card)
    return link


def token_of(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[1]


# ----- one instance, the embedded store ------------------------------------------------------


async def test_on_the_embedded_store_exports_stay_in_memory(harness: Harness) -> None:
    await seed(harness.parts.store)

    link = await incident_log_link(harness)
    status, media_type, content = await download(harness, link)

    assert isinstance(harness.parts.exports, ExportShelf)
    assert (status, media_type) == (200, "text/csv") and CHILD in content
    stored = "".join(p.name for p in harness.settings.data_dir.rglob("*"))
    assert "export" not in stored  # no record kind, no file: nothing written to disk
    assert (await download(harness, link.replace(token_of(link), "x" * 22)))[0] == 404


# ----- two instances, one PostgreSQL database --------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database for this test (dropped after it)."""
    with fresh_database() as url:
        yield url


@pytest.fixture
async def pair(
    postgres_url: str, tmp_path: Path, connector: FakeConnector
) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two instances of the bot on one database with one key, sharing a clock the test moves."""
    key = new_key()
    clock = FixedClock(MONDAY)
    instances = []
    for name in ("a", "b"):
        env = local_env(tmp_path / name, DATABASE_URL=postgres_url, BOT_ENCRYPTION_KEY=key)
        instances.append(Harness(load_settings(env), connector, clock))
    for instance in instances:
        await instance.start()
    try:
        yield instances[0], instances[1]
    finally:
        for instance in instances:
            await instance.stop()


def stored_exports(url: str) -> list[tuple[str, str]]:
    """(id, data as JSON text) of every export row in the database."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, data::text FROM records WHERE kind = %s", (EXPORT_KIND,)
        ).fetchall()
    return [(str(i), str(d)) for i, d in rows]


async def test_a_link_made_on_one_instance_downloads_on_the_other_until_it_expires(
    pair: tuple[Harness, Harness], postgres_url: str
) -> None:
    a, b = pair
    await seed(a.parts.store)

    link = await incident_log_link(a)
    on_b = await download(b, link)
    on_a = await download(a, link)

    assert isinstance(a.parts.exports, StoredExports) and isinstance(b.parts.exports, StoredExports)
    status, media_type, content = on_b
    assert (status, media_type) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert [r["reference"] for r in rows] == [
        "OSC-2026-0001",
        "OSC-2026-0002",
        "OSC-2026-0006",
        "OSC-2026-0003",
    ]
    assert on_a == on_b
    # Kept under the token's hash (the database holds no usable link), sealed with the key.
    [(item_id, data)] = stored_exports(postgres_url)
    assert item_id == record_id(token_of(link)) and token_of(link) not in item_id
    assert CHILD not in data and "OSC-2026-0001" not in data and "reference" not in data

    a.advance(seconds=TTL_SECONDS - 1)
    assert (await download(b, link))[0] == 200  # still within its ten minutes

    a.advance(seconds=1)
    refused = await download(b, link)

    assert refused[0] == 404 and "expired" in refused[2]
    assert (await download(a, link))[0] == 404
    assert stored_exports(postgres_url) == []  # removed when met after its time


async def test_expired_exports_are_swept_from_the_store_and_unknown_links_refused(
    pair: tuple[Harness, Harness], postgres_url: str
) -> None:
    a, b = pair
    await seed(a.parts.store)
    first = await incident_log_link(a)
    second = await incident_log_link(b)
    assert len(stored_exports(postgres_url)) == 2

    a.advance(minutes=11)
    fresh = await incident_log_link(b)  # publishing sweeps what has expired

    assert [i for i, _ in stored_exports(postgres_url)] == [record_id(token_of(fresh))]
    assert (await download(a, first))[0] == 404 and (await download(b, second))[0] == 404
    assert (await download(a, fresh))[0] == 200
    a.advance(minutes=11)
    assert await b.parts.exports.sweep() == 1  # what the background sweep runs every minute
    assert stored_exports(postgres_url) == []
    for bad in ("x" * 22, "not-a-token", "%00" * 8):
        assert (await download(b, fresh.replace(token_of(fresh), bad)))[0] == 404


async def test_a_stored_export_is_served_byte_for_byte_with_its_headers() -> None:
    store = InMemoryStore()
    clock = FixedClock(MONDAY)
    shelf = StoredExports(store, "https://bot.example/", clock=clock)
    content = 'reference,involved\r\nOSC-1,Zoë "Q" Ünal\r\n'.encode() + bytes(range(256))

    link = await shelf.publish("log.csv", content, media_type="text/csv")
    token = token_of(link)
    served = await shelf.handle(
        make_mocked_request("GET", f"/exports/{token}", match_info={"token": token})
    )

    assert link == f"https://bot.example/exports/{token}"
    assert served.status == 200 and served.body == content
    assert served.content_type == "text/csv"
    assert served.headers["Content-Disposition"] == 'attachment; filename="log.csv"'
    assert served.headers["Cache-Control"] == "no-store"
    assert await store.audit_log() == []  # an export is not an audited change of its own


async def test_the_background_sweep_removes_expired_exports_until_stopped() -> None:
    store = InMemoryStore()
    clock = FixedClock(MONDAY)
    shelf = StoredExports(store, "https://bot.example", clock=clock, sweep_every=0.01)
    await shelf.publish("a.csv", b"a", media_type="text/csv")
    await shelf.start()
    try:
        await asyncio.sleep(0.05)
        assert len(await store.find(EXPORT_KIND)) == 1  # not expired yet: kept
        clock.at += timedelta(seconds=TTL_SECONDS)
        for _ in range(100):
            if not await store.find(EXPORT_KIND):
                break
            await asyncio.sleep(0.01)
    finally:
        await shelf.stop()

    assert await store.find(EXPORT_KIND) == []
