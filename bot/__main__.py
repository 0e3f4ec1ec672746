"""``python -m bot``: load settings, build the app, serve until stopped.

Exits with status 2 and a clear message when configuration or the store is unusable.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from aiohttp import web

from bot import local_key
from bot.app import create_app
from bot.config import ConfigError, load_settings
from bot.logs import configure
from dialogs.ports import StoreError
from graph.local_directory import DirectoryFileError

log = logging.getLogger("bot")


def main() -> int:
    """Run the bot; return the process exit status."""
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    configure(
        level if level in {"DEBUG", "INFO", "WARNING", "ERROR"} else "INFO",
        fmt="text" if os.environ.get("LOG_FORMAT", "json").lower() == "text" else "json",
        file=os.environ.get("LOG_FILE") or None,
    )
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        log.error("cannot start: %s", exc)
        return 2
    loop = asyncio.new_event_loop()
    try:
        settings = loop.run_until_complete(local_key.prepare(settings))
        app = loop.run_until_complete(create_app(settings))
    except (StoreError, DirectoryFileError, OSError) as exc:
        log.error("cannot start: %s", exc)
        loop.close()
        return 2
    web.run_app(app, host=settings.host, port=settings.port, loop=loop, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
