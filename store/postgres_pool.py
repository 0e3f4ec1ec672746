"""Connections for the PostgreSQL store: the pool's check before it lends a connection (no round
trip), one pipelined transaction, and what a lost connection means for retrying."""

from __future__ import annotations

import contextlib
import select
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncPipeline
from psycopg.pq import TransactionStatus


class Lost(Exception):
    """The connection turned out closed by the server before anything could have been
    committed on it (a read, or a transaction whose COMMIT was not sent): safe to run again
    on another connection."""


@dataclass
class Progress:
    """How far an operation got: ``committing`` once its COMMIT has been queued."""

    committing: bool = False


async def not_closed(conn: AsyncConnection[Any]) -> None:
    """The pool's check before it lends a connection, without a round trip (the default
    check sends an empty statement, one more round trip per operation). An idle connection
    has nothing to read: anything readable is the server saying goodbye (a restart, an
    administrator's termination) or the end of the stream, so the pool replaces it. A close
    still on its way is seen on use: reads and uncommitted transactions then run once more
    (``Lost``)."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        await conn.close()  # so that the pool drops it (it keeps a connection not closed)
        raise psycopg.OperationalError("the server has closed the connection")


@asynccontextmanager
async def pipelined_transaction(
    conn: AsyncConnection[Any], progress: Progress | None = None
) -> AsyncIterator[AsyncPipeline]:
    """One transaction in pipeline mode, on an autocommit connection: BEGIN is queued on entry
    and COMMIT on leaving, sent with whatever the block queued last; leaving returns only once
    the server has answered, and raises if any statement or the COMMIT failed. The block may
    ``sync()`` the pipeline to read results midway (one round trip each). On an error the
    transaction is rolled back. (``conn.transaction()`` inside a pipeline would sync on BEGIN
    and twice more on leaving.)"""
    try:
        async with conn.pipeline() as pipeline:
            await conn.execute("BEGIN")
            yield pipeline
            if progress is not None:
                progress.committing = True
            await conn.execute("COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            with contextlib.suppress(psycopg.Error):
                await conn.rollback()
        raise
