"""The PostgreSQL store's schema: the migrations, applying them, and checking a database's
version before the store serves it (split out of ``store.postgres_store``, which re-exports
every public name here)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection

from dialogs.ports import StoreCorrupted, StoreUnavailable

log = logging.getLogger("store.postgres_store")

#: Where the schema migrations live: ``NNNN_name.sql``, applied in order.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: How long opening a connection may take.
CONNECT_TIMEOUT_SECONDS = 5
#: Advisory-lock key that serialises migrations.
_MIGRATE_LOCK = 0x05B0_0001
_MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


class SchemaMismatch(StoreCorrupted):
    """The database has not been migrated to this code's schema, or has a newer one."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``store/migrations/NNNN_name.sql``."""

    version: int
    name: str
    path: Path


def migrations() -> list[Migration]:
    """Every migration this code knows, oldest first."""
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        match = _MIGRATION_NAME.fullmatch(path.name)
        if match is None:
            raise ValueError(f"{path.name}: migrations are named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3... without gaps, not {versions}")
    return found


def latest_schema() -> int:
    """The newest schema version this code knows."""
    return len(migrations())


def unavailable(exc: BaseException) -> StoreUnavailable:
    # Class and SQLSTATE only: driver messages can quote the connection string or the data.
    state = getattr(exc, "sqlstate", None)
    detail = exc.__class__.__name__ + (f", SQLSTATE {state}" if state else "")
    return StoreUnavailable(f"the database cannot be used just now ({detail})")


async def _schema_version(conn: AsyncConnection[Any]) -> int | None:
    """The applied schema version, or None when the database has never been migrated."""
    row = await (await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")).fetchone()
    if row is None or not row[0]:
        return None
    row = await (await conn.execute("SELECT max(version) FROM schema_version")).fetchone()
    return None if row is None or row[0] is None else int(row[0])


async def migrate(url: str) -> list[int]:
    """Apply every migration the database does not have yet; returns the versions applied.

    Safe to run again, and from several processes at once (an advisory lock serialises them).

    Raises:
        SchemaMismatch: the database has a newer schema than this code knows.
        StoreUnavailable: the database cannot be reached.
    """
    try:
        conn = await AsyncConnection.connect(
            url,
            application_name="online-safety-bot migrate",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
    except psycopg.Error as exc:
        raise unavailable(exc) from None
    applied: list[int] = []
    try:
        async with conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY,"
                " name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            current = await _schema_version(conn) or 0
            known = migrations()
            if current > len(known):
                raise SchemaMismatch(
                    f"the database has schema {current}, newer than this code knows "
                    f"({len(known)}): run the newer version of the bot"
                )
            for step in known[current:]:
                log.info("applying migration %04d %s", step.version, step.name)
                await conn.execute(step.path.read_text(encoding="utf-8").encode("utf-8"))
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                    (step.version, step.name),
                )
                applied.append(step.version)
    except psycopg.OperationalError as exc:
        raise unavailable(exc) from None
    return applied


async def schema_status(url: str) -> tuple[int | None, int]:
    """``(applied, known)``: the database's schema version (None if never migrated) and ours.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    try:
        async with await AsyncConnection.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as conn:
            return await _schema_version(conn), latest_schema()
    except psycopg.Error as exc:
        raise unavailable(exc) from None


def check_schema(applied: int | None, known: int) -> None:
    if applied is None:
        raise SchemaMismatch(
            "the database has no bot schema yet: run script/migrate (python -m ops migrate) "
            "with the same DATABASE_URL, then start the bot"
        )
    if applied > known:
        raise SchemaMismatch(
            f"the database has schema {applied}, newer than this code knows ({known}): "
            "it was migrated by a newer version of the bot; run that version"
        )
    if applied < known:
        raise SchemaMismatch(
            f"the database has schema {applied} and this code needs {known}: run "
            "script/migrate (python -m ops migrate), then start the bot"
        )
