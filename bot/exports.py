"""``ExportShelf``: short-lived, unguessable download links for CSV exports.

Teams cards cannot carry files, so an export is kept in memory for ten minutes behind a random
128-bit token and offered as a link on the card of the (role-checked) person who asked. Nothing
is written to disk; a restart forgets every link.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from aiohttp import web

TTL_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class _Shelved:
    filename: str
    content: bytes
    media_type: str
    expires: float


class ExportShelf:
    """The Exports port: ``publish`` returns ``<base_url>/exports/<token>``."""

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
            return web.Response(
                status=404, text="This download link has expired. Ask the bot again."
            )
        return web.Response(
            body=item.content,
            content_type=item.media_type,
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{item.filename}"',
                "Cache-Control": "no-store",
            },
        )
