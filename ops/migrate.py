"""``python -m ops migrate``: bring the PostgreSQL schema at ``DATABASE_URL`` up to date.

    script/migrate            apply every migration the database lacks (store/migrations/*.sql)
    script/migrate --check    only report: exit 0 when up to date, 1 when migrations are due

The pending migrations run in one transaction (all or none) and each is recorded in
``schema_version``; an advisory lock lets several instances run this at once safely, and
running it again changes nothing. The bot
checks the version when it starts: it refuses an un-migrated database (saying to run this) and
a database migrated by newer code.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from bot.config import ConfigError, load_settings
from dialogs.ports import StoreError
from store.postgres_store import migrate, schema_status

log = logging.getLogger("ops.migrate")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 done, 1 not up to date, 2 error)."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m ops migrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check", action="store_true", help="report whether migrations are due; change nothing"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        log.error("cannot migrate: %s", exc)
        return 2
    if settings.database_url is None:
        log.error("cannot migrate: DATABASE_URL is not set (the embedded store needs no migration)")
        return 2
    url = settings.database_url.get_secret_value()
    try:
        if args.check:
            applied, known = asyncio.run(schema_status(url))
            log.info("database schema %s; this code knows %d", applied or "none", known)
            return 0 if applied == known else 1
        done = asyncio.run(migrate(url))
        applied, known = asyncio.run(schema_status(url))
    except StoreError as exc:
        log.error("cannot migrate: %s", exc)
        return 2
    if done:
        log.info("applied migrations %s; schema is now %s", done, applied)
    else:
        log.info("schema %s is up to date; nothing to do", applied)
    return 0
