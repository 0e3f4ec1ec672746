"""The botbuilder ``CloudAdapter``, built once, with the credential and client caching it lacks.

botbuilder 4.17.1 builds new ``MicrosoftAppCredentials`` (a new MSAL app and token request) and
a new msrest ``ConnectorClient`` for every turn and reply, and never closes the clients (quality
note, item 5). Here credentials are cached per (app id, scope, login endpoint, authority), and
connector clients per (service URL, audience), for the life of the process, then closed.
In local mode, outbound requests may go to loopback service URLs only.
"""

from __future__ import annotations

import logging
from ipaddress import ip_address
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    ServiceClientCredentialsFactory,
    UserTokenClient,
)
from botframework.connector.auth.authentication_constants import AuthenticationConstants

from bot.config import Settings

log = logging.getLogger(__name__)

#: Seconds a proactive call (channel post, update, 1:1 message) may take before it is abandoned.
PROACTIVE_TIMEOUT = 10


class ServiceUrlNotAllowed(PermissionError):
    """A reply would go to a service URL this deployment does not allow."""


class ServiceUrls:
    """Which Bot Connector service URLs this deployment talks to (both ways).

    Local mode: loopback only. Production: the configured prefixes (Teams' own service URL by
    default), so a forged activity cannot make the bot send a reply, with its credentials,
    anywhere else.
    """

    def __init__(self, *, loopback_only: bool, prefixes: tuple[str, ...] = ()) -> None:
        self._loopback_only = loopback_only
        self._prefixes = tuple(p.lower() for p in prefixes)

    def allowed(self, url: str | None) -> bool:
        """Whether the bot may talk to ``url``."""
        if not url:
            return False
        if self._loopback_only:
            return is_loopback_url(url)
        lowered = url.lower()
        return any(lowered.startswith(prefix) for prefix in self._prefixes)


def is_loopback_url(url: str | None) -> bool:
    """True for http(s) URLs whose host is localhost or a loopback address."""
    if not url:
        return False
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


class CachingCredentialFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """Wraps a credentials factory so each distinct credential is built once per process."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self._inner = inner
        self._cache: dict[tuple[str, str, str, bool], Any] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(await self._inner.is_valid_app_id(app_id))

    async def is_authentication_disabled(self) -> bool:
        return bool(await self._inner.is_authentication_disabled())

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        key = (app_id or "", oauth_scope or "", login_endpoint or "", bool(validate_authority))
        if key not in self._cache:
            self._cache[key] = await self._inner.create_credentials(
                app_id, oauth_scope, login_endpoint, validate_authority
            )
        return self._cache[key]


class CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    """One ``ConnectorClient`` per (service URL, audience), reused across turns."""

    def __init__(self, inner: ConnectorFactory, owner: CachingAuthentication) -> None:
        self._inner = inner
        self._owner = owner

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        return await self._owner.connector_client(self._inner, service_url, audience)


class CachingAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """Delegates authentication to botbuilder, caching what it builds per turn."""

    def __init__(self, inner: BotFrameworkAuthentication, *, service_urls: ServiceUrls) -> None:
        self._inner = inner
        self.service_urls = service_urls
        self._clients: dict[tuple[str, str, bool], ConnectorClient] = {}
        self._token_clients: dict[str, UserTokenClient] = {}

    async def connector_client(
        self,
        factory: ConnectorFactory,
        service_url: str,
        audience: str | None,
        *,
        proactive: bool = False,
    ) -> ConnectorClient:
        """The cached client for ``service_url``; refuses URLs this deployment does not allow
        (loopback only in local mode; the configured Teams service URLs in production).

        ``proactive`` clients make no HTTP retries of their own (msrest retries POSTs, which
        could post a card twice); the outbox retries them instead.
        """
        if not self.service_urls.allowed(service_url):
            raise ServiceUrlNotAllowed("that service URL is not allowed for this deployment")
        key = (service_url.rstrip("/").lower(), audience or "", proactive)
        client = self._clients.get(key)
        if client is None:
            client = await factory.create(service_url, audience)
            if proactive:
                client.config.retry_policy.retries = 0
                # msrest's default is 100 s; a hung connection must not hold the outbox (which
                # also bounds each call) nor leave a request open long after it gave up.
                client.config.connection.timeout = PROACTIVE_TIMEOUT
            self._clients[key] = client
        return client

    async def authenticate_request(
        self, activity: Any, auth_header: str
    ) -> AuthenticateRequestResult:
        result = await self._inner.authenticate_request(activity, auth_header)
        if result.connector_factory is not None:
            result.connector_factory = CachingConnectorFactory(result.connector_factory, self)
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return CachingConnectorFactory(self._inner.create_connector_factory(claims_identity), self)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM) or ""
        if app_id not in self._token_clients:
            self._token_clients[app_id] = await self._inner.create_user_token_client(
                claims_identity
            )
        return self._token_clients[app_id]

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)

    async def close(self) -> None:
        """Close every cached connector client."""
        for client in self._clients.values():
            await client.__aexit__(None, None, None)  # msrest's async clients close this way
        self._clients.clear()


def build_adapter(settings: Settings) -> tuple[CloudAdapter, CachingAuthentication]:
    """The adapter for these settings (auth off only in local mode)."""
    config = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password.get_secret_value(),
        APP_TYPE=settings.app_type.value if settings.app_type else "MultiTenant",
        APP_TENANTID=settings.tenant_id,
    )
    credentials = CachingCredentialFactory(ConfigurationServiceClientCredentialFactory(config))
    auth = CachingAuthentication(
        ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials),
        service_urls=ServiceUrls(
            loopback_only=settings.is_local, prefixes=settings.allowed_service_urls
        ),
    )
    return CloudAdapter(auth), auth
