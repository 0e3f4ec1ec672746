"""Short-lived, unguessable download links for CSV (and HTML) exports.

Teams cards cannot carry files, so an export is kept for ten minutes behind a random 128-bit
token and offered as a link on the card of the (role-checked) person who asked. Two shelves:

``ExportShelf`` (the embedded store: one process)
    Exports are kept in memory. Nothing is written to disk (so nothing reaches the data folder
    or its backups); a restart forgets every link.

``StoredExports`` (PostgreSQL: several instances behind a load balancer)
    A link made by one instance must download from whichever instance the browser reaches, so
    each export is a record in the shared store: kind ``export``, id the SHA-256 of the token
    (the database never holds a usable link), data the file with its absolute expiry time. It
    is sealed at rest like every other record when a key is configured (``BOT_ENCRYPTION_KEY``).
    Serving checks the expiry (an expired export is never served, and is removed on the spot);
    a sweep on every publish, and every minute in the background, removes the other expired
    ones. Expiry is wall-clock time from the app's clock, so instances agree on it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import re
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from dialogs.ports import Change, Clock, Record, Store, StoreError, SystemClock

log = logging.getLogger(__name__)

TTL_SECONDS = 600.0
#: The record kind of an export kept in the shared store.
EXPORT_KIND = "export"
#: How often each instance removes expired exports from the shared store.
SWEEP_SECONDS = 60.0
#: What ``secrets.token_urlsafe(16)`` makes: anything else is not a link of ours.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
_EXPIRED = "This download link has expired. Ask the bot again."


def _file(filename: str, content: bytes, media_type: str) -> web.Response:
    return web.Response(
        body=content,
        content_type=media_type,
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _gone() -> web.Response:
    return web.Response(status=404, text=_EXPIRED)


@dataclass(frozen=True, slots=True)
class _Shelved:
    filename: str
    content: bytes
    media_type: str
    expires: float


class ExportShelf:
    """The Exports port in memory: ``publish`` returns ``<base_url>/exports/<token>``."""

    def __init__(self, base_url: str, ttl: float = TTL_SECONDS) -> None:
        self._base = base_url.rstrip("/")
        self._ttl = ttl
        self._items: dict[str, _Shelved] = {}

    async def publish(self, filename: str, content: bytes, *, media_type: str) -> str:
        """Shelve ``content``; return its link (valid for ``ttl`` seconds)."""
        self._forget_expired()
        token = secrets.token_urlsafe(16)
        self._items[token] = _Shelved(filename, content, media_type, time.monotonic() + self._ttl)
        return f"{self._base}/exports/{token}"

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for token in [t for t, item in self._items.items() if item.expires < now]:
            del self._items[token]

    async def handle(self, request: web.Request) -> web.Response:
        """``GET /exports/{token}``: the file, or 404 once expired."""
        self._forget_expired()
        item = self._items.get(request.match_info["token"])
        if item is None:
            return _gone()
        return _file(item.filename, item.content, item.media_type)

    async def start(self, _app: web.Application | None = None) -> None:
        """Nothing runs in the background: expired links are forgotten as they are met."""

    async def stop(self, _app: web.Application | None = None) -> None:
        """Nothing to stop."""


def record_id(token: str) -> str:
    """The store id of the export behind ``token`` (its SHA-256: the token itself is not kept)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class StoredExports:
    """The Exports port in the shared store, served by every instance (see the module)."""

    def __init__(
        self,
        store: Store,
        base_url: str,
        *,
        clock: Clock | None = None,
        ttl: float = TTL_SECONDS,
        sweep_every: float = SWEEP_SECONDS,
    ) -> None:
        self._store = store
        self._base = base_url.rstrip("/")
        self._clock = clock or SystemClock()
        self._ttl = timedelta(seconds=ttl)
        self._sweep_every = sweep_every
        self._task: asyncio.Task[None] | None = None

    async def publish(self, filename: str, content: bytes, *, media_type: str) -> str:
        """Keep ``content`` in the store (committed before the link is given); return the link.

        Raises:
            StoreError: the store could not keep it (no link is given).
        """
        await self.sweep()
        token = secrets.token_urlsafe(16)
        expires = self._clock.now() + self._ttl
        data = {
            "filename": filename,
            "media_type": media_type,
            "content": base64.b64encode(content).decode("ascii"),
            "expires_at": expires.isoformat(),
        }
        await self._store.commit(Change(records=[Record(EXPORT_KIND, record_id(token), 1, data)]))
        return f"{self._base}/exports/{token}"

    def _expired(self, data: Any) -> bool:
        try:
            expires = datetime.fromisoformat(str(data["expires_at"]))
        except (KeyError, TypeError, ValueError):
            return True  # not an export this code wrote: never served
        return self._clock.now() >= expires

    async def _remove(self, item_id: str, version: int) -> None:
        # Another instance may be removing it at the same moment: either way it is gone.
        with contextlib.suppress(StoreError):
            await self._store.commit(Change(deletes=[(EXPORT_KIND, item_id, version)]))

    async def handle(self, request: web.Request) -> web.Response:
        """``GET /exports/{token}``: the file until it expires, then 404 (whichever instance
        made it); 503 when the store cannot be read just now."""
        token = request.match_info["token"]
        if _TOKEN.fullmatch(token) is None:
            return _gone()
        try:
            record = await self._store.get(EXPORT_KIND, record_id(token))
        except StoreError as exc:
            log.warning("export not served: the store is unavailable (%s)", type(exc).__name__)
            return web.Response(status=503, text="The download is unavailable; try again soon.")
        if record is None:
            return _gone()
        if self._expired(record.data):
            await self._remove(record.id, record.version)
            return _gone()
        data = record.data
        content = base64.b64decode(str(data["content"]))
        return _file(str(data["filename"]), content, str(data["media_type"]))

    async def sweep(self) -> int:
        """Remove every expired export from the store; returns how many this call removed."""
        removed = 0
        for record in await self._store.find(EXPORT_KIND):
            if self._expired(record.data):
                await self._remove(record.id, record.version)
                removed += 1
        return removed

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_every)
            try:
                await self.sweep()
            except Exception as exc:  # noqa: BLE001 (the database is away: try again next time)
                log.warning("expired exports not swept: %s", type(exc).__name__)

    async def start(self, _app: web.Application | None = None) -> None:
        """Start the background sweep."""
        if self._task is None:
            self._task = asyncio.create_task(self._sweep_forever(), name="export-sweep")

    async def stop(self, _app: web.Application | None = None) -> None:
        """Stop the background sweep (before the store closes)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


#: The exports the web app serves (``GET /exports/{token}``).
WebExports = ExportShelf | StoredExports


def _is_postgres(store: Store) -> bool:
    """Whether ``store`` is a ``PostgresStore``, without importing psycopg for a school on the
    embedded store (issue 25, cold start): if its module was never loaded, it is not one."""
    module = sys.modules.get("store.postgres_store")
    return module is not None and isinstance(store, module.PostgresStore)


def exports_for(store: Store, base_url: str, clock: Clock | None = None) -> WebExports:
    """The shelf for ``store``: shared through the store when the store is shared (PostgreSQL:
    several instances), in memory otherwise (the embedded store: one process)."""
    if _is_postgres(store):
        return StoredExports(store, base_url, clock=clock)
    return ExportShelf(base_url)
