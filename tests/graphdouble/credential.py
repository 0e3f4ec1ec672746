"""A static-token credential for the Graph double (the azure-identity async protocol)."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken

from tests.graphdouble.server import TOKEN


class StaticTokenCredential:
    """Gives the double's token for any scope; counts requests and records scopes and closes."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests = 0
        self.scopes: list[tuple[str, ...]] = []
        self.closed = False

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.requests += 1
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()
