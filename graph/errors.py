"""What went wrong when Microsoft Graph was asked, in terms the adapters translate to port errors.

msgraph-sdk raises ``ODataError`` (a kiota ``APIError``) for HTTP errors, httpx errors for
network failures and timeouts, azure-identity errors when no token can be had, and our own
``asyncio.timeout`` raises ``TimeoutError``. ``classify`` turns any of them into one
``GraphProblem`` (kind, status, Graph error code, ``Retry-After``) so that each adapter can
raise its port's own error (``DirectoryUnavailable``, ``DeliveryFailed``) without matching on
message text. Nothing here keeps a response body: Graph error messages can quote what was sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, TypeVar

import httpx
from azure.core.exceptions import AzureError, ClientAuthenticationError
from kiota_abstractions.api_error import APIError
from kiota_authentication_azure._exceptions import KiotaAuthenticationError
from kiota_http._exceptions import KiotaHTTPXError
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

T = TypeVar("T")

#: Every exception a Graph call through msgraph-sdk can raise for an outside reason.
GRAPH_ERRORS: tuple[type[BaseException], ...] = (
    APIError,
    httpx.HTTPError,
    AzureError,
    KiotaAuthenticationError,
    KiotaHTTPXError,
    TimeoutError,
)


class ProblemKind(StrEnum):
    """The kinds of failure the adapters tell apart."""

    NOT_FOUND = "not_found"  # 404: the thing asked about does not exist
    DENIED = "denied"  # 403: a permission (or the meetings access policy) is missing
    UNAUTHENTICATED = "unauthenticated"  # 401 or no token: credentials are wrong or expired
    THROTTLED = "throttled"  # 429: Graph asked us to wait (Retry-After)
    UNAVAILABLE = "unavailable"  # 5xx or the network failed
    TIMEOUT = "timeout"  # Graph did not answer in time
    REJECTED = "rejected"  # another 4xx: the request itself was wrong (a bug or bad config)


@dataclass(frozen=True, slots=True)
class GraphProblem:
    """One failed Graph call, safe to log (status and Graph error code only)."""

    kind: ProblemKind
    status: int | None = None
    code: str | None = None
    retry_after: float | None = None
    #: The Graph application permission the failed call needs (named when access is denied).
    permission: str | None = None

    @property
    def transient(self) -> bool:
        """Worth trying again later (throttling, outages, timeouts)."""
        return self.kind in {ProblemKind.THROTTLED, ProblemKind.UNAVAILABLE, ProblemKind.TIMEOUT}

    def explain(self, action: str, permission: str | None = None) -> str:
        """A one-line, log-safe explanation, naming the permission to grant when access is denied.

        Args:
            action: What was being done, such as ``"read education role"``.
            permission: The Graph application permission this call needs (default: the one
                recorded on the problem).
        """
        permission = permission or self.permission
        where = f" (HTTP {self.status}{', ' + self.code if self.code else ''})"
        if self.status is None:
            where = f" ({self.code})" if self.code else ""
        if self.kind is ProblemKind.DENIED:
            need = (
                f": grant the application permission {permission} and admin consent"
                if (permission)
                else ""
            )
            return f"Graph refused to {action}{where}{need}"
        if self.kind is ProblemKind.UNAUTHENTICATED:
            return (
                f"could not authenticate to Graph to {action}{where}: check MicrosoftAppId, "
                "MicrosoftAppTenantId and the secret, certificate or managed identity"
            )
        if self.kind is ProblemKind.THROTTLED:
            wait = f"; retry after {self.retry_after:g}s" if self.retry_after is not None else ""
            return f"Graph throttled the request to {action}{where}{wait}"
        if self.kind is ProblemKind.TIMEOUT:
            return f"Graph did not answer in time to {action}"
        if self.kind is ProblemKind.UNAVAILABLE:
            return f"Graph is unavailable to {action}{where}"
        if self.kind is ProblemKind.NOT_FOUND:
            return f"Graph found nothing to {action}{where}"
        return f"Graph rejected the request to {action}{where}"


class GraphCallFailed(Exception):
    """Raised inside the adapters for one failed Graph call; never leaves ``graph/``."""

    def __init__(self, problem: GraphProblem) -> None:
        super().__init__(problem.kind.value)
        self.problem = problem


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not headers:
        return None
    try:
        raw = headers.get("retry-after") or headers.get("Retry-After")
    except AttributeError:
        return None
    if raw is None:
        return None
    raw = str(raw).strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _from_status(status: int, code: str | None, retry_after: float | None) -> GraphProblem:
    if status == 404:
        kind = ProblemKind.NOT_FOUND
    elif status == 403:
        kind = ProblemKind.DENIED
    elif status == 401:
        kind = ProblemKind.UNAUTHENTICATED
    elif status == 429:
        kind = ProblemKind.THROTTLED
    elif status == 408:
        kind = ProblemKind.TIMEOUT
    elif status >= 500:
        kind = ProblemKind.UNAVAILABLE
    else:
        kind = ProblemKind.REJECTED
    return GraphProblem(kind, status, code, retry_after)


def classify(exc: BaseException) -> GraphProblem:
    """The ``GraphProblem`` for an exception from a Graph call (see ``GRAPH_ERRORS``)."""
    if isinstance(exc, GraphCallFailed):
        return exc.problem
    if isinstance(exc, APIError):
        code = None
        if isinstance(exc, ODataError) and exc.error is not None:
            code = exc.error.code
        status = exc.response_status_code
        retry_after = retry_after_seconds(exc.response_headers)
        if status is None:
            return GraphProblem(ProblemKind.UNAVAILABLE, None, code, retry_after)
        return _from_status(status, code, retry_after)
    if isinstance(exc, (TimeoutError, httpx.TimeoutException)):
        return GraphProblem(ProblemKind.TIMEOUT, code=type(exc).__name__)
    if isinstance(exc, httpx.HTTPError):
        return GraphProblem(ProblemKind.UNAVAILABLE, code=type(exc).__name__)
    if isinstance(exc, (ClientAuthenticationError, KiotaAuthenticationError)):
        # azure-identity could not get a token: wrong secret, expired certificate, no identity.
        return GraphProblem(ProblemKind.UNAUTHENTICATED, code=type(exc).__name__)
    if isinstance(exc, AzureError):
        # The token endpoint could not be reached (a network failure, not wrong credentials).
        return GraphProblem(ProblemKind.UNAVAILABLE, code=type(exc).__name__)
    return GraphProblem(ProblemKind.UNAVAILABLE, code=type(exc).__name__)


async def graph_call(permission: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run one SDK call; translate any Graph failure to ``GraphCallFailed``.

    Args:
        permission: The application permission the call needs, named if access is denied.
        call: Makes the SDK request (called once).

    Raises:
        GraphCallFailed: the call failed for an outside reason (see ``GRAPH_ERRORS``).
    """
    try:
        return await call()
    except GRAPH_ERRORS as exc:
        problem = classify(exc)
        raise GraphCallFailed(replace(problem, permission=permission)) from None
