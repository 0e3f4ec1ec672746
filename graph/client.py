"""One Microsoft Graph client for the process: an azure-identity credential and msgraph-sdk.

The credential is chosen by configuration (client secret, certificate, or the user-assigned
managed identity the Azure Bot uses) and made once: azure-identity caches and refreshes its
tokens, so every Graph call shares them.

msgraph-sdk's retry handler retries 429/503/504 three times, from a 3 s base, and honours
``Retry-After`` with no upper bound. A Teams turn must not wait for that, so the pipeline here
keeps the SDK's own middleware (redirects, parameter decoding, user agent, telemetry) but
replaces the retry handler with one that retries once, and only when the wait is short
(``RetryPolicy.max_wait``). A longer ``Retry-After`` comes back to the adapter at once, which
serves the turn from its cache (or says it cannot check) and does not call Graph again before
the time Graph gave. Every call is also bounded by the adapter's own ``asyncio.timeout``.
"""

from __future__ import annotations

import importlib
import ipaddress
import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import (
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
)
from kiota_abstractions.authentication import (
    AnonymousAuthenticationProvider,
    AuthenticationProvider,
)
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import APIVersion, GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler
from msgraph_core.middleware.options import GraphTelemetryHandlerOption

#: The msgraph-sdk request builders the adapters use. Each generated builder module emits a
#: DeprecationWarning from its class body (its old per-request configuration classes) the first
#: time it is imported, which the SDK does lazily, mid-call. They are imported once here, quietly,
#: so that a Graph call never raises or logs that warning (tests run with warnings as errors).
SDK_BUILDERS: tuple[str, ...] = (
    "kiota_abstractions.default_query_parameters",
    "msgraph.generated.users.users_request_builder",
    "msgraph.generated.users.item.user_item_request_builder",
    "msgraph.generated.users.item.check_member_groups.check_member_groups_request_builder",
    "msgraph.generated.users.item.teamwork.teamwork_request_builder",
    "msgraph.generated.users.item.teamwork.send_activity_notification."
    "send_activity_notification_request_builder",
    "msgraph.generated.users.item.calendar_view.calendar_view_request_builder",
    "msgraph.generated.users.item.online_meetings.online_meetings_request_builder",
    "msgraph.generated.education.education_request_builder",
    "msgraph.generated.education.users.users_request_builder",
    "msgraph.generated.education.users.item.education_user_item_request_builder",
    "msgraph.generated.groups.groups_request_builder",
    "msgraph.generated.groups.item.group_item_request_builder",
    "msgraph.generated.groups.item.transitive_members.transitive_members_request_builder",
    "msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder",
    "msgraph.generated.teams.teams_request_builder",
    "msgraph.generated.teams.item.team_item_request_builder",
    "msgraph.generated.teams.item.installed_apps.installed_apps_request_builder",
    "msgraph.generated.teams.item.channels.channels_request_builder",
    "msgraph.generated.teams.item.channels.item.channel_item_request_builder",
    "msgraph.generated.teams.item.channels.item.messages.messages_request_builder",
)


def _import_builders_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in SDK_BUILDERS:
            importlib.import_module(name)


_import_builders_quietly()


def warm_up() -> None:
    """Build msgraph-sdk's model classes now rather than inside the first Graph answer.

    The first response the SDK parses imports every entity model (about 1,400 dataclasses,
    2-3 seconds of CPU on a small server). Done in the middle of a turn, that would stall the
    event loop and the turn would time out; the bot runs this in a worker thread at start-up.
    """
    from msgraph.generated.models.channel_collection_response import ChannelCollectionResponse
    from msgraph.generated.models.chat_message import ChatMessage
    from msgraph.generated.models.chat_message_collection_response import (
        ChatMessageCollectionResponse,
    )
    from msgraph.generated.models.education_user import EducationUser
    from msgraph.generated.models.event_collection_response import EventCollectionResponse
    from msgraph.generated.models.online_meeting_collection_response import (
        OnlineMeetingCollectionResponse,
    )
    from msgraph.generated.models.teams_app_installation_collection_response import (
        TeamsAppInstallationCollectionResponse,
    )
    from msgraph.generated.models.user_collection_response import UserCollectionResponse

    for model in (
        EducationUser,
        UserCollectionResponse,
        EventCollectionResponse,
        OnlineMeetingCollectionResponse,
        TeamsAppInstallationCollectionResponse,
        ChannelCollectionResponse,
        ChatMessageCollectionResponse,
        ChatMessage,  # its own fields' models (a channel read-back parses them)
    ):
        model().get_field_deserializers()


GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class CredentialKind(StrEnum):
    """How the bot proves who it is to Microsoft Entra ID when calling Graph."""

    CLIENT_SECRET = "client_secret"  # noqa: S105 (a kind of credential, not a secret)
    CERTIFICATE = "certificate"
    MANAGED_IDENTITY = "managed_identity"


@dataclass(frozen=True, slots=True)
class CredentialConfig:
    """The bot's own app registration, as configured. ``secret`` never appears in ``repr``."""

    kind: CredentialKind
    tenant_id: str
    client_id: str
    secret: str = field(default="", repr=False)
    certificate_path: Path | None = None

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("a Graph credential needs the app (client) id")
        if self.kind is not CredentialKind.MANAGED_IDENTITY and not self.tenant_id:
            raise ValueError(f"a {self.kind.value} credential needs the tenant id")
        if self.kind is CredentialKind.CLIENT_SECRET and not self.secret:
            raise ValueError("a client_secret credential needs the secret")
        if self.kind is CredentialKind.CERTIFICATE and self.certificate_path is None:
            raise ValueError("a certificate credential needs the certificate path")


def build_credential(config: CredentialConfig) -> AsyncTokenCredential:
    """The azure-identity async credential for ``config`` (no network call is made here).

    Raises:
        ValueError: the certificate file cannot be read as a certificate with a private key.
        OSError: the certificate file cannot be opened.
    """
    if config.kind is CredentialKind.MANAGED_IDENTITY:
        return ManagedIdentityCredential(client_id=config.client_id)
    if config.kind is CredentialKind.CERTIFICATE:
        assert config.certificate_path is not None  # checked in CredentialConfig
        return CertificateCredential(
            config.tenant_id, config.client_id, certificate_path=str(config.certificate_path)
        )
    return ClientSecretCredential(config.tenant_id, config.client_id, config.secret)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How much retrying happens inside one Graph call (the outbox retries the rest later).

    Attributes:
        max_retries: Retries after the first attempt, for 429, 503 and 504.
        max_wait: The longest wait (seconds) before a retry, whether from ``Retry-After`` or
            from the backoff. A longer wait is not waited for: the error goes to the adapter.
        base_delay: Seconds added to the SDK's exponential backoff when Graph gave no
            ``Retry-After``.
    """

    max_retries: int = 1
    max_wait: float = 2.0
    base_delay: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.max_retries <= RetryHandlerOption.MAX_MAX_RETRIES:
            raise ValueError("max_retries must be between 0 and 10")
        if not 0 <= self.max_wait < RetryHandlerOption.MAX_DELAY:
            raise ValueError("max_wait must be between 0 and 180 seconds")


class CappedRetryHandler(RetryHandler):
    """msgraph-sdk's retry handler, but it never sleeps longer than ``max_wait`` seconds.

    The SDK skips a retry when the delay it computes is ``RetryHandlerOption.MAX_DELAY`` or
    more (documented in ``RetryHandler``), so a delay above our cap is reported as that value:
    the response (a 429 with its ``Retry-After``) is returned to the caller instead.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__(
            RetryHandlerOption(delay=policy.base_delay, max_retries=policy.max_retries)
        )
        self.max_wait = policy.max_wait

    def get_delay_time(
        self,
        retry_count: int,
        response: httpx.Response | None = None,
        delay: float = RetryHandlerOption.DEFAULT_DELAY,
    ) -> float:
        """The SDK's delay, or "do not retry" when it is longer than ``max_wait``."""
        wait = float(super().get_delay_time(retry_count, response, delay))
        return wait if wait <= self.max_wait else RetryHandlerOption.MAX_DELAY


@dataclass(slots=True)
class GraphConnection:
    """The process's Graph client, with what must be closed at shutdown."""

    client: GraphServiceClient
    http: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport
    credential: AsyncTokenCredential | None = None

    async def close(self) -> None:
        """Close the HTTP connections and the credential's own session."""
        try:
            await self.http.aclose()
            # msgraph-core's transport wrapper does not pass aclose() on to the real transport
            # (its connection pool), so it is closed here too.
            await self.transport.aclose()
        finally:
            if self.credential is not None:
                await self.credential.close()


def connect(
    credential: AsyncTokenCredential,
    *,
    base_url: str = GRAPH_BASE_URL,
    scope: str = GRAPH_SCOPE,
    retry: RetryPolicy | None = None,
    request_timeout: float = 20.0,
    close_credential: bool = True,
) -> GraphConnection:
    """Build the Graph client on ``credential``. No network call is made here.

    Tokens are sent only to ``base_url``'s host (kiota's allowed-hosts check). Tests pass the
    local Graph double's address (``http://127.0.0.1:PORT/v1.0``) so that the real SDK, its
    middleware and its serialisation run over real HTTP.

    Args:
        credential: The one async credential of the process (see ``build_credential``).
        base_url: Graph's root, with the API version.
        scope: The token scope (Graph's ``.default``: the consented application permissions).
        retry: Retries inside one call (default: ``RetryPolicy()``).
        request_timeout: httpx's per-request limit; adapters bound whole calls more tightly.
        close_credential: Whether ``GraphConnection.close`` closes the credential too.
    """
    host = urlsplit(base_url).hostname or ""
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[scope], allowed_hosts=[host])
    connection = _connect(auth, base_url, retry, request_timeout)
    connection.credential = credential if close_credential else None
    return connection


def connect_local(base_url: str, *, request_timeout: float = 10.0) -> GraphConnection:
    """The Graph client, with no credential, on a loopback stand-in for Teams' Graph API
    (local mode: the test connectors list the channel posts they took, as Teams does).

    Raises:
        ValueError: ``base_url`` is not on a loopback address.
    """
    host = urlsplit(base_url).hostname or ""
    if host != "localhost" and not _loopback(host):
        raise ValueError("a Graph stand-in without credentials must be on loopback")
    return _connect(AnonymousAuthenticationProvider(), base_url, None, request_timeout)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _connect(
    auth: AuthenticationProvider,
    base_url: str,
    retry: RetryPolicy | None,
    request_timeout: float,
) -> GraphConnection:
    policy = retry or RetryPolicy()
    transport = httpx.AsyncHTTPTransport(http2=True)
    http = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(request_timeout, connect=min(request_timeout, 10.0)),
    )
    middleware: list[Any] = [
        CappedRetryHandler(policy) if isinstance(handler, RetryHandler) else handler
        for handler in KiotaClientFactory.get_default_middleware(None)
    ]
    middleware.append(
        GraphTelemetryHandler(options=GraphTelemetryHandlerOption(api_version=APIVersion.v1))
    )
    http = GraphClientFactory.create_with_custom_middleware(middleware, client=http)
    adapter = GraphRequestAdapter(auth, client=http)
    # Set on the adapter, not on httpx: httpx ends its base URL with "/" and the SDK's URL
    # templates add another ("/v1.0//users").
    adapter.base_url = base_url.rstrip("/")
    return GraphConnection(
        client=GraphServiceClient(request_adapter=adapter), http=http, transport=transport
    )
