"""Inbound authentication, hardened: every rejection is a 401, keys rotate, fetches are bounded.

botbuilder 4.17.1 defects fixed here (quality note, items 2–4):
- ``_OpenIdMetadata._find`` indexes ``[0]`` on the key list, so a token signed with a key id the
  cache does not hold raises ``IndexError`` before the refresh can run: after Microsoft rotates
  its keys the bot fails for up to a day. The replacement looks the key up, and on a miss
  refreshes at once (at most once a minute, so random key ids cannot hammer the endpoint).
- The OpenID metadata and key fetch use blocking ``requests.get`` with no timeout inside async
  code: an unreachable endpoint freezes the whole server. The replacement fetches in a worker
  thread with connect/read timeouts and an overall deadline, one fetch at a time.
- Most token rejections surface as HTTP 500. ``authenticate`` runs botbuilder's own validation
  before any handler and turns every failure into ``Rejected`` (401) or ``AuthUnavailable``
  (503), logging one ``auth_rejected`` event without token contents.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import requests
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ChannelValidation,
    JwtTokenExtractor,
)
from botframework.connector.auth import jwt_token_extractor as extractor_module
from botframework.connector.auth.authentication_constants import AuthenticationConstants
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

ANONYMOUS = AuthenticationConstants.ANONYMOUS_AUTH_TYPE

FETCH_TIMEOUT = 4.0
CONNECT_TIMEOUT = 3.0
REFRESH_AFTER = timedelta(hours=24)
#: An unknown key id triggers at most one refresh per minute for that id, and all unknown ids
#: together at most ``MISSING_KEY_FETCHES_PER_MINUTE`` refreshes: a rotation is picked up on
#: the first request, but random key ids cannot make the bot hammer Microsoft's endpoint.
MISSING_KEY_RETRY = timedelta(seconds=60)
MISSING_KEY_FETCHES_PER_MINUTE = 10


class Rejected(Exception):
    """The request is not from Teams for this bot (401)."""


class AuthUnavailable(Exception):
    """The signing keys could not be fetched in time (503; Teams will retry)."""


class _Key:
    def __init__(self, public_key: Any, endorsements: list[str]) -> None:
        self.public_key = public_key
        self.endorsements = endorsements


class BoundedOpenIdMetadata(extractor_module._OpenIdMetadata):  # type: ignore[misc]
    """OpenID metadata and signing keys, fetched off the event loop with timeouts."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.keys: list[dict[str, Any]] = []
        self.last_updated: datetime = datetime.min
        self._lock = asyncio.Lock()
        self._missed: dict[str, datetime] = {}

    async def get(self, key_id: str) -> _Key:
        """The key for ``key_id``, refreshing the set when it is old or the key is new.

        Raises:
            Rejected: no such key, even after a refresh.
            AuthUnavailable: the keys could not be fetched in time.
        """
        if self.last_updated < datetime.now() - REFRESH_AFTER:
            await self._refresh()
        key = self._find(key_id)
        if key is None and self._may_refresh_for(key_id):
            await self._refresh()  # keys rotated: fetch the new set now, not in a day
            key = self._find(key_id)
        if key is None:
            raise Rejected("token signed with an unknown key")
        return key

    def _may_refresh_for(self, key_id: str) -> bool:
        now = datetime.now()
        self._missed = {k: t for k, t in self._missed.items() if now - t < MISSING_KEY_RETRY}
        if key_id in self._missed or len(self._missed) >= MISSING_KEY_FETCHES_PER_MINUTE:
            return False
        self._missed[key_id] = now
        return True

    async def _refresh(self) -> None:
        async with self._lock:
            try:
                async with asyncio.timeout(FETCH_TIMEOUT * 2):
                    keys = await asyncio.to_thread(self._fetch)
            except (TimeoutError, requests.RequestException, ValueError, KeyError) as exc:
                if self.keys and self.last_updated > datetime.now() - timedelta(days=5):
                    log.warning(
                        "signing keys could not be refreshed (%s): using the cached set",
                        exc.__class__.__name__,
                    )
                    return
                raise AuthUnavailable(
                    f"signing keys unavailable ({exc.__class__.__name__})"
                ) from None
            self.keys = keys
            self.last_updated = datetime.now()

    def _fetch(self) -> list[dict[str, Any]]:
        timeout = (CONNECT_TIMEOUT, FETCH_TIMEOUT)
        metadata = requests.get(self.url, timeout=timeout)
        metadata.raise_for_status()
        jwks = requests.get(metadata.json()["jwks_uri"], timeout=timeout)
        jwks.raise_for_status()
        keys = jwks.json()["keys"]
        if not isinstance(keys, list):
            raise ValueError("jwks keys is not a list")
        return keys

    def _find(self, key_id: str) -> _Key | None:
        for key in self.keys or []:
            if isinstance(key, dict) and key.get("kid") == key_id:
                return _Key(
                    RSAAlgorithm.from_jwk(json.dumps(key)), list(key.get("endorsements", []))
                )
        return None


def install(metadata_url: str | None) -> None:
    """Use the bounded key fetcher everywhere in botbuilder, and (optionally) another
    metadata endpoint (a sovereign cloud, or the offline test suite's local server)."""
    extractor_module._OpenIdMetadata = BoundedOpenIdMetadata
    JwtTokenExtractor.metadataCache.clear()
    ChannelValidation.open_id_metadata_endpoint = metadata_url


async def warm_keys() -> None:
    """Fetch the channel's signing keys at start-up, so the first message does not wait."""
    url = (
        ChannelValidation.open_id_metadata_endpoint
        or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    )
    metadata = JwtTokenExtractor.get_open_id_metadata(url)
    try:
        await metadata._refresh()
        log.info("signing keys loaded (%d)", len(metadata.keys))
    except AuthUnavailable as exc:
        log.error("signing keys could not be loaded at start: %s; will retry on first use", exc)


async def authenticate(
    auth: BotFrameworkAuthentication, activity: Any, auth_header: str
) -> AuthenticateRequestResult:
    """botbuilder's own validation of the request, with every failure classified.

    Raises:
        Rejected: anything wrong with the token (missing, garbage, expired, wrong audience,
            issuer, algorithm or key, service URL mismatch, channel not endorsed…).
        AuthUnavailable: the signing keys could not be fetched in time.
    """
    try:
        result = await auth.authenticate_request(activity, auth_header)
    except (AuthUnavailable, Rejected):
        raise
    except Exception as exc:  # noqa: BLE001 (botbuilder and PyJWT raise many kinds)
        raise Rejected(exc.__class__.__name__) from None
    _require_expiry(result)
    return result


def _require_expiry(result: AuthenticateRequestResult) -> None:
    """PyJWT checks ``exp`` only when the token has one: a signed token without it would be
    good for ever (issue 22, item 8). Local mode's anonymous identity has no claims at all."""
    identity = result.claims_identity
    claims = getattr(identity, "claims", None) or {}
    if getattr(identity, "authentication_type", None) == ANONYMOUS or not claims:
        return
    if not isinstance(claims.get("exp"), int | float):
        raise Rejected("token has no expiry")
