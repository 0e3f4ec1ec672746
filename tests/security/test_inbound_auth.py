"""Offline end-to-end auth on the production code path (quality note checks A1–A4, A6, A7).

The bot runs in production mode with a local OpenID metadata + JWKS server in another thread
(botbuilder's fetch is blocking: a server on the same event loop would deadlock) and tokens
minted here with local RSA keys, exactly as the Bot Connector would sign them.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.app import COMPONENTS, create_app
from bot.config import load_settings
from tests.support import PUPIL, TEACHER, FakeConnector, card_action, card_texts

APP_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
TENANT = "5c400000-0000-4000-8000-000000000000"
ISSUER = "https://api.botframework.com"
OTHER_APP = "11111111-2222-4333-8444-555555555555"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str]) -> dict[str, Any]:
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "endorsements": endorsements}


class KeyServer:
    """OpenID metadata and a JWKS on 127.0.0.1, in its own thread; keys can rotate."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if self.path.startswith("/metadata"):
                    body = {"issuer": ISSUER, "jwks_uri": f"{server.base}/keys"}
                else:
                    body = {"keys": server.keys}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    @property
    def metadata_url(self) -> str:
        return f"{self.base}/metadata"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def keys(signing_key: rsa.RSAPrivateKey) -> Iterator[KeyServer]:
    server = KeyServer()
    server.keys = [jwk(signing_key, "key-1", ["msteams"])]
    yield server
    server.close()


class SecureBot:
    def __init__(
        self, base: str, session: aiohttp.ClientSession, app: Any, connector: FakeConnector
    ) -> None:
        self.base, self.session, self.app, self.connector = base, session, app, connector

    async def post(self, activity: dict[str, Any], authorization: str | None) -> tuple[int, Any]:
        headers = {} if authorization is None else {"Authorization": authorization}
        async with self.session.post(
            f"{self.base}/api/messages", json=activity, headers=headers
        ) as response:
            text = await response.text()
            return response.status, (json.loads(text) if text else None)

    async def audit(self) -> list[Any]:
        return await self.app[COMPONENTS].store.audit_log()


def production_env(tmp_path: Path, metadata_url: str, connector: FakeConnector) -> dict[str, str]:
    return {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppTenantId": TENANT,
        "MicrosoftAppPassword": "not-used-offline",
        "PUBLIC_BASE_URL": "https://safety.oakfield.example",
        "ALLOWED_SERVICE_URLS": connector.url,
        "BOT_OPENID_METADATA_URL": metadata_url,
        "BOT_DATA_DIR": str(tmp_path / "data"),
        "BOT_ENCRYPTION_KEY": "x" * 43 + "=",
        "DIRECTORY": "file",  # people from the demo directory file: no Graph offline
    }


@pytest.fixture
async def secure_bot(
    tmp_path: Path, keys: KeyServer, connector: FakeConnector
) -> AsyncIterator[SecureBot]:
    app = await create_app(load_settings(production_env(tmp_path, keys.metadata_url, connector)))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield SecureBot(str(server.make_url("")).rstrip("/"), session, app, connector)
    await server.close()


def token(
    key: Any,
    service_url: str,
    *,
    kid: str = "key-1",
    algorithm: str = "RS256",
    **changes: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": APP_ID,
        "serviceurl": service_url,
        "nbf": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def probe(bot: SecureBot) -> dict[str, Any]:
    """An invoke that, if a handler runs at all, writes an audit entry (a pupil's refused
    click) and answers with a card."""
    return card_action(PUPIL, "filter.start", bot.connector.url)


async def test_a1_a_valid_teams_token_is_accepted_and_the_handler_runs(
    secure_bot: SecureBot, signing_key: Any
) -> None:
    bearer = f"Bearer {token(signing_key, secure_bot.connector.url)}"

    status, body = await secure_bot.post(probe(secure_bot), bearer)

    assert status == 200
    assert "Sorry, you can't do that here" in card_texts(body["value"])
    assert len(await secure_bot.audit()) == 1


async def test_a1_clock_skew_of_two_minutes_is_tolerated(
    secure_bot: SecureBot, signing_key: Any
) -> None:
    now = int(time.time())
    expired_recently = token(signing_key, secure_bot.connector.url, exp=now - 120)

    status, _ = await secure_bot.post(probe(secure_bot), f"Bearer {expired_recently}")

    assert status == 200


def hs256_confusion(signing_key: Any, service_url: str) -> str:
    # The classic attack: sign with HMAC, using the public key as the shared secret.
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "kid": "key-1", "typ": "JWT"}).encode()
    ).rstrip(b"=")
    now = int(time.time())
    payload = base64.urlsafe_b64encode(
        json.dumps(
            {"iss": ISSUER, "aud": APP_ID, "serviceurl": service_url, "exp": now + 600}
        ).encode()
    ).rstrip(b"=")
    import hashlib
    import hmac

    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest()
    ).rstrip(b"=")
    return (header + b"." + payload + b"." + signature).decode()


def alg_none(service_url: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "key-1"}).encode()).rstrip(
        b"="
    )
    now = int(time.time())
    payload = base64.urlsafe_b64encode(
        json.dumps(
            {"iss": ISSUER, "aud": APP_ID, "serviceurl": service_url, "exp": now + 600}
        ).encode()
    ).rstrip(b"=")
    return (header + b"." + payload + b".").decode()


REJECTIONS = [
    "no header",
    "empty bearer",
    "garbage",
    "basic",
    "expired more than 300 s ago",
    "no expiry",
    "not valid yet",
    "wrong audience",
    "missing audience",
    "wrong issuer",
    "missing issuer",
    "alg none",
    "HS256 confusion",
    "wrong key",
    "unknown key id",
    "serviceUrl mismatch",
    "channel not endorsed",
]


@pytest.mark.parametrize("case", REJECTIONS)
async def test_a2_every_bad_token_is_a_401_and_no_handler_runs(
    secure_bot: SecureBot,
    keys: KeyServer,
    signing_key: Any,
    case: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = secure_bot.connector.url
    now = int(time.time())
    if case == "channel not endorsed":
        keys.keys = [jwk(signing_key, "key-1", ["skype"])]
    header: str | None = {
        "no header": None,
        "empty bearer": "Bearer ",
        "garbage": "Bearer not.a.token",
        "basic": "Basic dXNlcjpwYXNz",
        "expired more than 300 s ago": f"Bearer {token(signing_key, url, exp=now - 301)}",
        "no expiry": f"Bearer {token(signing_key, url, exp=None)}",
        "not valid yet": f"Bearer {token(signing_key, url, nbf=now + 600)}",
        "wrong audience": f"Bearer {token(signing_key, url, aud=OTHER_APP)}",
        "missing audience": f"Bearer {token(signing_key, url, aud=None)}",
        "wrong issuer": f"Bearer {token(signing_key, url, iss='https://evil.example')}",
        "missing issuer": f"Bearer {token(signing_key, url, iss=None)}",
        "alg none": f"Bearer {alg_none(url)}",
        "HS256 confusion": f"Bearer {hs256_confusion(signing_key, url)}",
        "wrong key": f"Bearer {token(new_key(), url)}",
        "unknown key id": f"Bearer {token(new_key(), url, kid='nobody-knows')}",
        "serviceUrl mismatch": f"Bearer {token(signing_key, 'https://smba.trafficmanager.net/uk/')}",
        "channel not endorsed": f"Bearer {token(signing_key, url)}",
    }[case]
    caplog.set_level(logging.WARNING)

    status, _ = await secure_bot.post(probe(secure_bot), header)

    assert status == 401
    assert await secure_bot.audit() == []  # the handler never ran
    assert secure_bot.connector.posted == []
    events = [r.getMessage() for r in caplog.records if r.getMessage().startswith("auth_rejected")]
    assert len(events) == 1
    assert "eyJ" not in events[0]  # no token contents in the log


async def test_a3_a_rotated_key_is_accepted_on_the_first_request(
    secure_bot: SecureBot, keys: KeyServer, signing_key: Any
) -> None:
    warm = f"Bearer {token(signing_key, secure_bot.connector.url)}"
    assert (await secure_bot.post(probe(secure_bot), warm))[0] == 200  # keys now cached
    rotated = new_key()
    keys.keys = [jwk(rotated, "key-2", ["msteams"])]  # Microsoft publishes a new key

    status, _ = await secure_bot.post(
        probe(secure_bot), f"Bearer {token(rotated, secure_bot.connector.url, kid='key-2')}"
    )

    assert status == 200


async def test_unknown_key_ids_cannot_make_the_bot_hammer_the_key_endpoint(
    secure_bot: SecureBot, keys: KeyServer
) -> None:
    before = keys.requests
    for n in range(30):
        forged = token(new_key(), secure_bot.connector.url, kid=f"random-{n}")
        assert (await secure_bot.post(probe(secure_bot), f"Bearer {forged}"))[0] == 401
    fetches = (keys.requests - before) // 2  # metadata + keys per refresh
    print(f"\n30 unknown key ids caused {fetches} key refreshes")
    assert fetches <= 11


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A port that accepts connections and never answers (an unreachable key endpoint)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/metadata"
    listener.close()


async def test_a4_an_unreachable_key_endpoint_never_freezes_the_server(
    tmp_path: Path, silent_port: str, connector: FakeConnector, signing_key: Any
) -> None:
    app = await create_app(load_settings(production_env(tmp_path, silent_port, connector)))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            bot = SecureBot(str(server.make_url("")).rstrip("/"), session, app, connector)
            started = time.monotonic()
            request = bot.post(probe(bot), f"Bearer {token(signing_key, connector.url)}")
            import asyncio

            pending = asyncio.ensure_future(request)
            await asyncio.sleep(0.2)
            health_started = time.monotonic()
            async with session.get(f"{bot.base}/healthz") as health:
                assert health.status == 200
            health_seconds = time.monotonic() - health_started
            # The health check was answered while the stuck request was still waiting: the
            # server was not frozen by it (no wall-clock deadline: a busy machine is slow).
            answered_while_stuck = not pending.done()
            status, _ = await pending
            request_seconds = time.monotonic() - started
    finally:
        await server.close()
    print(
        f"\nhealth answered in {health_seconds:.3f}s; "
        f"the request failed after {request_seconds:.1f}s"
    )
    assert answered_while_stuck
    assert status == 503
    assert request_seconds < 60.0  # bounded (it used to hang), with room for a busy machine


async def test_a6_replies_never_go_to_a_service_url_that_is_not_allowed(
    secure_bot: SecureBot, signing_key: Any
) -> None:
    elsewhere = FakeConnector()
    await elsewhere.start()
    try:
        activity = card_action(TEACHER, "help", elsewhere.url)
        status, _ = await secure_bot.post(activity, f"Bearer {token(signing_key, elsewhere.url)}")
    finally:
        await elsewhere.stop()

    assert status == 403
    assert elsewhere.posted == [] and elsewhere.created == []


async def test_a7_another_tenant_gets_no_reply_no_side_effect_and_one_log_line(
    secure_bot: SecureBot, signing_key: Any, caplog: pytest.LogCaptureFixture
) -> None:
    activity = probe(secure_bot)
    activity["channelData"]["tenant"]["id"] = "99999999-0000-4000-8000-000000000000"
    activity["conversation"]["tenantId"] = "99999999-0000-4000-8000-000000000000"
    caplog.set_level(logging.WARNING)

    status, _ = await secure_bot.post(
        activity, f"Bearer {token(signing_key, secure_bot.connector.url)}"
    )

    assert status == 403
    assert await secure_bot.audit() == []
    assert secure_bot.connector.posted == []
    assert len([r for r in caplog.records if r.getMessage().startswith("tenant_rejected")]) == 1
