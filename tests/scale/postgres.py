"""PostgreSQL for the tests: a fresh database per test run, dropped at the end.

The server is the one on 127.0.0.1:5432 (trust auth), or ``TEST_POSTGRES_URL`` (an admin
connection to any database on the server, e.g. ``postgresql://postgres@host:5432/postgres``).
If it cannot be reached the PostgreSQL tests FAIL, saying so, unless ``SKIP_POSTGRES=1`` is
set: then, and only then, they are skipped.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from store.postgres_store import migrate

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def require_postgres() -> None:
    """Fail (or, with ``SKIP_POSTGRES=1``, skip) unless the test server answers."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        message = (
            f"PostgreSQL is not reachable at {_safe(ADMIN_URL)} ({exc.__class__.__name__}). "
            "Start it (.ci/run does: pg_ctlcluster --skip-systemctl-redirect <version> main "
            "start), point TEST_POSTGRES_URL at one, or set SKIP_POSTGRES=1 to skip these tests."
        )
        if os.environ.get("SKIP_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)


def _safe(url: str) -> str:
    parts = conninfo_to_dict(url)
    parts.pop("password", None)
    return make_conninfo(**parts)


def url_for(database: str) -> str:
    """The admin URL pointed at ``database`` (still a ``postgresql://`` URL)."""
    return urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{database}"))


def run_async(coroutine: Any) -> Any:
    """Run a coroutine to completion from synchronous code (a thread of its own, so it also
    works while a test's event loop is running)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@contextmanager
def new_database(*, migrated: bool = True, prefix: str = "osb_test") -> Iterator[str]:
    """Create ``<prefix>_<random>`` (migrated unless told not to), yield its URL, drop it
    (closing whatever is still connected, e.g. a killed bot's sessions)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = url_for(name)
    try:
        if migrated:
            run_async(migrate(url))
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def fresh_database(*, migrated: bool = True) -> Iterator[str]:
    """For tests: a fresh database (see ``new_database``); fails loudly, or with
    ``SKIP_POSTGRES=1`` skips, when PostgreSQL cannot be reached."""
    require_postgres()
    with new_database(migrated=migrated) as url:
        yield url
