"""The botbuilder ``CloudAdapter``, built once, with the credential and client caching it lacks.

botbuilder 4.17.1 builds new ``MicrosoftAppCredentials`` (a new MSAL app and token request) and
a new msrest ``ConnectorClient`` for every turn and reply, and never closes the clients (quality
note, item 5). Here credentials are cached per (app id, scope, login endpoint, authority), and
connector clients per (service URL, audience), for the life of the process, then closed.
In local mode, outbound requests may go to loopback service URLs only.

Isolation (issue 22, item 4): msrest sends every request with blocking ``requests`` in the
event loop's *default* thread pool, which the embedded store also uses. Eight replies to a
service URL that accepts and never answers held every thread for 100 s each, so every other
conversation (and the store) waited. Here each service URL has its own small thread pool
(``LANE_THREADS``), and every call is bounded (``CALL_TIMEOUT``): a hung or slow endpoint
can only ever hold its own lane.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
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
from msrest import Deserializer, Serializer
from msrest.exceptions import ClientRequestError
from msrest.serialization import Model, full_restapi_key_transformer
from msrest.universal_http import ClientRequest
from msrest.universal_http.async_requests import (
    AsyncRequestsClientResponse,
    AsyncRequestsHTTPSender,
)
from requests import RequestException

from bot.config import Settings

log = logging.getLogger(__name__)

#: Seconds a proactive call (channel post, update, 1:1 message) may take before it is abandoned.
PROACTIVE_TIMEOUT = 10
#: Seconds any one HTTP request to the Bot Connector may wait to connect, and then for each
#: read (msrest's default is 100 s).
CALL_TIMEOUT = 10
#: Threads per service URL: the most requests to one endpoint in flight at once. More wait in
#: that lane's queue (and are dropped from it when their caller gives up).
LANE_THREADS = 4
#: Service URLs whose answer ``ServiceUrls`` remembers (Teams uses a handful per region).
KNOWN_URLS = 256


class LaneSender(AsyncRequestsHTTPSender):
    """msrest's requests sender, run in its service URL's own thread pool."""

    def __init__(self, config: Any, lane: ThreadPoolExecutor) -> None:
        super().__init__(config)
        self._lane = lane

    async def send(  # type: ignore[override]
        self, request: ClientRequest, **kwargs: Any
    ) -> AsyncRequestsClientResponse:
        options = self._configure_send(request, **kwargs)
        session = options.pop("session", self.session)
        options.pop("loop", None)
        call = functools.partial(session.request, request.method, request.url, **options)
        future = asyncio.get_running_loop().run_in_executor(self._lane, call)
        try:
            return AsyncRequestsClientResponse(request, await future)  # type: ignore[no-untyped-call]
        except RequestException as err:
            raise ClientRequestError("Error occurred in request.", err) from err


_NOT_PLAIN = object()
_PLAIN_LEAVES = frozenset({str, int, float, bool, type(None)})


def _plain_copy(value: Any) -> Any:
    """A copy of ``value`` if it is plain JSON (dicts with str keys, lists, str, int, float,
    bool, None: exactly those types), else ``_NOT_PLAIN``."""
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                return _NOT_PLAIN
            copied = _plain_copy(item)
            if copied is _NOT_PLAIN:
                return _NOT_PLAIN
            out[key] = copied
        return out
    if kind is list:
        items = []
        for item in value:
            copied = _plain_copy(item)
            if copied is _NOT_PLAIN:
                return _NOT_PLAIN
            items.append(copied)
        return items
    return _NOT_PLAIN


#: Per model class, what msrest's ``_serialize`` works out again for every object: each
#: attribute's REST key path and description (``None`` keys: the additional properties).
_PLANS: dict[type, list[tuple[str, list[str] | None, dict[str, Any]]]] = {}


def _plan(cls: type) -> list[tuple[str, list[str] | None, dict[str, Any]]]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = []
        validation: dict[str, Any] = getattr(cls, "_validation", {}) or {}
        for attr, desc in cls._attribute_map.items():  # type: ignore[attr-defined]
            if validation.get(attr, {}).get("readonly", False):
                continue  # (msrest leaves read-only attributes out of a request)
            if attr == "additional_properties" and desc["key"] == "":
                plan.append((attr, None, desc))
                continue
            keys, _value = full_restapi_key_transformer(attr, dict(desc), None)  # type: ignore[no-untyped-call]
            plan.append((attr, keys, desc))
        _PLANS[cls] = plan
    return plan


def _model_attrs(cls: type, dependencies: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The attributes of a model class that msrest's deserializing pass looks into (a model
    type, not a constant) with their types; None if the class is not one msrest's walk reads
    plainly (no attribute map)."""
    attribute_map = getattr(cls, "_attribute_map", None)
    if not isinstance(attribute_map, dict):
        return None
    validation = getattr(cls, "_validation", {}) or {}
    attrs = []
    for attr, desc in attribute_map.items():
        if validation.get(attr, {}).get("constant"):
            continue
        local_type = desc.get("type")
        if not isinstance(local_type, str):
            return None
        if local_type.strip("[]{}") in dependencies:
            attrs.append((attr, local_type))
    return attrs


_NO_ATTR = object()


def _models_only(
    value: Any, data_type: str, dependencies: dict[str, Any], known: dict[type, Any]
) -> bool:
    """Whether msrest's deserializing pass in ``Serializer.body`` would give ``value`` (of
    ``data_type``) back as it is: None, or a model whose every attribute of a model type
    holds a model (or lists and dicts of them, or None), all the way down. A plain dict, an
    enum, a tuple or anything else where a model type is expected: False (msrest decides).
    ``known``: each class's ``_model_attrs``, worked out once."""
    if value is None:
        return True
    if len(data_type) > 1 and data_type[0] + data_type[-1] in ("[]", "{}"):
        inner = data_type[1:-1]
        if data_type[0] == "[":
            items = value if type(value) is list else None
        else:
            items = list(value.values()) if type(value) is dict else None
        if items is None:
            return False
        return all(_models_only(item, inner, dependencies, known) for item in items)
    model = dependencies.get(data_type)
    if not (isinstance(model, type) and issubclass(model, Model)) or not isinstance(value, Model):
        return False
    cls = type(value)
    if cls not in known:
        known[cls] = _model_attrs(cls, dependencies)
    attrs = known[cls]
    if attrs is None:
        return False
    for attr, local_type in attrs:
        item = getattr(value, attr, _NO_ATTR)
        if item is None:
            continue
        if item is _NO_ATTR or not _models_only(item, local_type, dependencies, known):
            return False
    return True


class BodySerializer(Serializer):
    """msrest's serializer, less what it does for every reply that cannot change the body
    (about 2 ms a reply between them):

    * the client-side validation of request bodies: no model in botbuilder's schema declares a
      constraint (``_validation`` is empty on every one; ``tests/adapters/test_messenger.py``
      checks), so it can never find a fault. URL parts are still validated;
    * ``serialize_object`` value by value over plain JSON (a card): msrest gives back an equal
      copy of it, so the copy is made directly; anything else goes through msrest;
    * for each model object, each attribute's key path worked out again (a regex split and a
      copy of its description), even for the forty-odd an ``Activity`` leaves empty: here the
      paths are worked out once per class (``_plan``) and empty attributes skipped before
      anything is done for them (msrest skips them after). Each value is still serialised by
      msrest's ``serialize_data``; XML models, read-only or other key transformers, and an
      object with a value msrest skips or refuses, go through msrest's own ``_serialize``.
    """

    _known: dict[type, Any]  # per model class: its ``_model_attrs``

    def _serialize(self, target_obj: Any, data_type: Any = None, **kwargs: Any) -> Any:
        if (
            data_type
            or not isinstance(target_obj, Model)
            or kwargs.get("keep_readonly", False)
            or kwargs.get("key_transformer", self.key_transformer)
            is not full_restapi_key_transformer
            or kwargs.setdefault("is_xml", target_obj.is_xml_model())  # type: ignore[no-untyped-call]
        ):
            return super()._serialize(target_obj, data_type, **kwargs)  # type: ignore[no-untyped-call]
        serialized: dict[str, Any] = {}
        try:
            for attr, keys, desc in _plan(type(target_obj)):
                if keys is None:
                    if target_obj.additional_properties is not None:
                        serialized.update(target_obj.additional_properties)
                    continue
                value = getattr(target_obj, attr)
                if value is None:
                    continue  # (msrest: serialize_data raises ValueError, and it is skipped)
                kwargs["serialization_ctxt"] = desc
                new_attr = self.serialize_data(value, desc["type"], **kwargs)  # type: ignore[no-untyped-call]
                for key in reversed(keys):  # msrest's placement of a (flattened) key path
                    new_attr = {key: new_attr}
                place = serialized
                for key in keys:
                    if key not in place:
                        place.update(new_attr)
                    new_attr = new_attr[key]
                    place = place[key]
        except (ValueError, AttributeError, KeyError, TypeError):
            # A value msrest skips or refuses: msrest does the whole object again, its way.
            return super()._serialize(target_obj, **kwargs)  # type: ignore[no-untyped-call]
        return serialized

    def _known_models(self) -> dict[type, Any]:
        known: dict[type, Any] | None = getattr(self, "_known", None)
        if known is None:
            known = {}
            self._known = known  # (set here: botbuilder's serializer only has its class swapped)
        return known

    def body(self, data: Any, data_type: str, **kwargs: Any) -> Any:
        model = self.dependencies.get(data_type.strip("[]{}"))
        if (
            data is not None
            and isinstance(model, type)
            and issubclass(model, Model)
            and not kwargs.setdefault("is_xml", model.is_xml_model())  # type: ignore[no-untyped-call]
            and _models_only(data, data_type, self.dependencies, self._known_models())
        ):
            # msrest's body() would first run a Deserializer over ``data`` to turn plain dicts
            # into models; over models alone it gives them back unchanged (~50 µs a reply).
            return self._serialize(data, data_type, **kwargs)
        self.client_side_validation = False
        try:
            return super().body(data, data_type, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            self.client_side_validation = True

    def serialize_object(self, attr: Any, **kwargs: Any) -> Any:
        copied = _plain_copy(attr)
        if copied is _NOT_PLAIN:
            return super().serialize_object(attr, **kwargs)  # type: ignore[no-untyped-call]
        return copied


#: Per model class, for reading: each attribute's name, REST key and type (None: a key path
#: with dots, or an "additionalProperties" attribute: msrest reads such a class itself), and
#: the top-level keys the class knows (the rest are its additional properties).
_READS: dict[type, tuple[list[tuple[str, str, str]], frozenset[str]] | None] = {}


def _reads(cls: type) -> tuple[list[tuple[str, str, str]], frozenset[str]] | None:
    if cls in _READS:
        return _READS[cls]
    attributes: dict[str, dict[str, Any]] = cls._attribute_map  # type: ignore[attr-defined]
    plan: tuple[list[tuple[str, str, str]], frozenset[str]] | None = None
    if "additional_properties" not in attributes and not any(
        "." in desc["key"] for desc in attributes.values()
    ):
        plan = (
            [(attr, desc["key"], desc["type"]) for attr, desc in attributes.items()],
            frozenset(desc["key"] for desc in attributes.values() if desc["key"] != ""),
        )
    _READS[cls] = plan
    return plan


class ActivityDeserializer(Deserializer):
    """msrest's deserialiser, less what it works out again for every object it reads: for each
    of a model's attributes (sixty-odd on an ``Activity``, most of them absent), a copy of its
    description, its type's dependencies and two key extractors (the XML one, for JSON, finds
    nothing). Here a model read from a JSON object takes each attribute's value by its key
    (``rest_key_extractor``'s answer for a key without dots), skips the absent ones
    (``deserialize_data`` gives None for them) and reads each value with msrest's own
    ``deserialize_data``; the additional properties and the object are msrest's. Anything else
    (XML, key paths with dots, a model with an "additionalProperties" attribute, a value msrest
    refuses) goes through msrest's own ``_deserialize``, which raises what it raises.
    """

    def _deserialize(self, target_obj: Any, data: Any) -> Any:
        if type(data) is not dict:
            return super()._deserialize(target_obj, data)  # type: ignore[no-untyped-call]
        response, _name = self._classify_target(target_obj, data)  # type: ignore[no-untyped-call]
        plan = (
            _reads(response) if isinstance(response, type) and issubclass(response, Model) else None
        )
        if plan is None:
            return super()._deserialize(target_obj, data)  # type: ignore[no-untyped-call]
        attributes, known = plan
        values: dict[str, Any] = {}
        try:
            for attr, key, kind in attributes:
                raw = data.get(key)
                values[attr] = None if raw is None else self.deserialize_data(raw, kind)  # type: ignore[no-untyped-call]
        except (AttributeError, TypeError, KeyError, ValueError):
            return super()._deserialize(target_obj, data)  # type: ignore[no-untyped-call]
        extra = (
            {key: data[key] for key in data.keys() - known}
            if self.additional_properties_detection
            else None
        )
        return self._instantiate_model(response, values, extra)  # type: ignore[no-untyped-call]


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
        #: Answers already worked out (every turn asks about its service URL twice or more).
        self._known: dict[str, bool] = {}

    def allowed(self, url: str | None) -> bool:
        """Whether the bot may talk to ``url``."""
        if not url:
            return False
        known = self._known.get(url)
        if known is None:
            known = self._decide(url)
            if len(self._known) >= KNOWN_URLS:  # forged activities may name any URL
                self._known.clear()
            self._known[url] = known
        return known

    def _decide(self, url: str) -> bool:
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
        #: One thread pool per service URL (see the module docstring).
        self._lanes: dict[str, ThreadPoolExecutor] = {}

    def _lane(self, service_url: str) -> ThreadPoolExecutor:
        lane = self._lanes.get(service_url)
        if lane is None:
            lane = ThreadPoolExecutor(LANE_THREADS, thread_name_prefix="connector")
            self._lanes[service_url] = lane
        return lane

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
            client.config.connection.timeout = CALL_TIMEOUT
            client._serialize.__class__ = BodySerializer  # shared by its operations
            sender = client.config.pipeline._sender
            sender.driver = LaneSender(client.config, self._lane(key[0]))
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
        for lane in self._lanes.values():
            lane.shutdown(wait=False, cancel_futures=True)  # a hung call ends at its time-out
        self._lanes.clear()


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
