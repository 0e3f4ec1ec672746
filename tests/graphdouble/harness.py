"""The real Graph client (msgraph-sdk, kiota middleware, httpx) pointed at a running double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from msgraph.graph_service_client import GraphServiceClient

from dialogs.ports import FixedClock
from graph.client import GraphConnection, RetryPolicy, connect, warm_up
from tests.graphdouble.credential import StaticTokenCredential
from tests.graphdouble.server import TOKEN, GraphDouble
from tests.graphdouble.tenant import Tenant, demo_tenant


@dataclass(slots=True)
class GraphHarness:
    """A running double, the SDK client talking to it, its credential and a movable clock."""

    double: GraphDouble
    connection: GraphConnection
    credential: StaticTokenCredential
    clock: FixedClock

    @property
    def client(self) -> GraphServiceClient:
        return self.connection.client

    @property
    def tenant(self) -> Tenant:
        return self.double.tenant


_WARM: list[bool] = []


def _warm_once() -> None:
    if not _WARM:
        warm_up()
        _WARM.append(True)


@asynccontextmanager
async def graph_harness(
    tenant: Tenant | None = None,
    *,
    retry: RetryPolicy | None = None,
    page_size: int = 2,
    token: str = TOKEN,
    request_timeout: float = 20.0,
) -> AsyncIterator[GraphHarness]:
    """Start a double for ``tenant`` (the demo school by default) and connect the SDK to it.

    The SDK's models are built first (as the bot does at start-up), so that no test's first
    Graph answer pays for it inside a short turn timeout.
    """
    _warm_once()
    double = GraphDouble(tenant or demo_tenant(), page_size=page_size)
    await double.start()
    credential = StaticTokenCredential(token)
    connection = connect(
        credential, base_url=double.base_url, retry=retry, request_timeout=request_timeout
    )
    try:
        yield GraphHarness(double, connection, credential, FixedClock())
    finally:
        await connection.close()
        await double.stop()
