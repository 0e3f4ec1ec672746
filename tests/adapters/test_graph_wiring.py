"""Production mode switches to Graph: one credential chosen by configuration, one Graph client,
the people services built on it, the safeguarding-team check in /healthz; local mode unchanged.

No test here touches the network: credentials are built but never asked for a token, and the
Graph services run against the local double.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.identity.aio import (
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from bot.config import (
    AppType,
    ConfigError,
    DirectorySource,
    Mode,
    Settings,
    _graph_settings,
    load_settings,
)
from bot.services import build_people_services, graph_credential_config
from dialogs.ports import FixedClock
from graph.calendar import GraphCalendar
from graph.client import CredentialKind, build_credential, connect
from graph.directory import GraphDirectory
from graph.errors import ProblemKind, classify, retry_after_seconds
from graph.local_directory import LocalDirectory
from graph.notifier import GraphNotifier
from policy.roles import Role
from tests.conftest import BotClient, local_env
from tests.graphdouble.harness import graph_harness
from tests.graphdouble.tenant import CATALOG_APP_ID, TEAMS_APP_ID

APP_ID = "5c400000-0000-4000-8000-00000000b07a"
TENANT = "5c400000-0000-4000-8000-000000000000"
DSL = "5c400000-0000-4000-8000-000000000006"


def production(settings: Settings, **changes: object) -> Settings:
    """The demo school's settings as production would have them (without loading secrets)."""
    values: dict[str, object] = {
        "mode": Mode.PRODUCTION,
        "app_id": APP_ID,
        "app_type": AppType.SINGLE_TENANT,
        "tenant_id": TENANT,
        "app_password": SecretStr("a-client-secret"),
        "directory_source": DirectorySource.GRAPH,
        "teams_app_id": TEAMS_APP_ID,
        "teams_app_catalog_id": CATALOG_APP_ID,
    }
    values.update(changes)
    return dataclasses.replace(settings, **values)  # type: ignore[arg-type]


def write_certificate(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "online-safety-bot")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    return path


# -- the credential, chosen by configuration ---------------------------------------------------


async def test_a_single_tenant_bot_uses_its_client_secret(settings: Settings) -> None:
    config = graph_credential_config(production(settings))

    assert config.kind is CredentialKind.CLIENT_SECRET
    assert "a-client-secret" not in repr(config)
    credential = build_credential(config)
    assert isinstance(credential, ClientSecretCredential)
    await credential.close()


async def test_a_certificate_is_used_when_configured(settings: Settings, tmp_path: Path) -> None:
    pem = write_certificate(tmp_path / "graph.pem")
    config = graph_credential_config(production(settings, graph_certificate_path=pem))

    assert config.kind is CredentialKind.CERTIFICATE
    credential = build_credential(config)
    assert isinstance(credential, CertificateCredential)
    await credential.close()


async def test_a_managed_identity_bot_uses_its_identity(settings: Settings) -> None:
    config = graph_credential_config(
        production(settings, app_type=AppType.USER_ASSIGNED_MSI, app_password=SecretStr(""))
    )

    assert config.kind is CredentialKind.MANAGED_IDENTITY
    assert config.client_id == APP_ID
    credential = build_credential(config)
    assert isinstance(credential, ManagedIdentityCredential)
    await credential.close()


# -- settings -----------------------------------------------------------------------------------


def test_local_mode_reads_people_from_the_file(tmp_path: Path) -> None:
    settings = load_settings(local_env(tmp_path))

    assert settings.directory_source is DirectorySource.FILE
    assert settings.directory_cache_seconds == 600


def test_production_defaults_to_graph() -> None:
    def unset(name: str, default: str = "") -> str:
        return default

    problems: list[str] = []
    graph = _graph_settings(unset, Mode.PRODUCTION, APP_ID, AppType.SINGLE_TENANT, problems)

    assert problems == []
    assert graph["directory_source"] is DirectorySource.GRAPH
    assert graph["teams_app_id"] == APP_ID  # the manifest id defaults to the bot's id


def test_graph_settings_problems_are_all_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            local_env(
                tmp_path,
                DIRECTORY="graph",
                TEAMS_APP_CATALOG_ID="not-a-guid",
                DIRECTORY_CACHE_SECONDS="forever",
                SCHOOL_MAIL_DOMAINS="oakfield.example, not a domain",
                GRAPH_CERTIFICATE_PATH=str(tmp_path / "missing.pem"),
            )
        )

    text = "\n".join(raised.value.problems)
    for key in (
        "DIRECTORY:",
        "TEAMS_APP_CATALOG_ID:",
        "DIRECTORY_CACHE_SECONDS:",
        "SCHOOL_MAIL_DOMAINS:",
        "GRAPH_CERTIFICATE_PATH:",
    ):
        assert key in text


# -- the people services -------------------------------------------------------------------------


async def test_production_builds_the_graph_services_without_any_network_call(
    settings: Settings,
) -> None:
    people = build_people_services(production(settings), settings_clock())

    assert isinstance(people.directory, GraphDirectory)
    assert isinstance(people.calendar, GraphCalendar)
    assert isinstance(people.notifier, GraphNotifier)
    assert people.tenant_id == TENANT
    assert people.health() == {
        "source": "graph",
        "safeguarding_team": {
            "ok": False,
            "checked_at": None,
            "app_installation": None,
            "channels": {},
        },
    }
    await people.close()


async def test_the_graph_services_work_end_to_end_and_report_the_team(settings: Settings) -> None:
    async with graph_harness() as graph:
        people = build_people_services(
            production(settings),
            graph.clock,
            graph=connect(graph.credential, base_url=graph.double.base_url, close_credential=False),
        )
        people.start()  # models warmed in a thread, then the team checked in the background
        team = people.team
        assert team is not None
        for _ in range(200):
            if team.checked_at is not None:
                break
            await asyncio.sleep(0.02)

        dsl = await people.directory.members(Role.DSL)
        health = people.health()
        await people.close()

    assert [p.id for p in dsl] == [DSL]
    assert health["source"] == "graph"
    assert health["safeguarding_team"]["ok"] is True
    assert health["safeguarding_team"]["app_installation"]["state"] == "installed_now"
    assert set(health["safeguarding_team"]["channels"]) == {"dsl", "it"}


async def test_local_mode_is_unchanged(settings: Settings) -> None:
    people = build_people_services(settings, settings_clock())

    assert isinstance(people.directory, LocalDirectory)
    assert people.health() == {"source": "file"}
    people.start()  # nothing to start: no task, no network
    await people.close()


async def test_healthz_shows_where_people_come_from(bot: BotClient) -> None:
    async with bot.session.get(f"{bot.base}/healthz") as response:
        body = await response.json()

    assert response.status == 200
    assert body["people"] == {"source": "file"}


# -- error translation, at the unit level ----------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    later = (datetime.now(UTC) + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")

    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    assert 100 < (retry_after_seconds({"retry-after": later}) or 0) <= 120
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Retry-After": "soon"}) is None


def test_credential_failures_are_told_apart_from_network_failures() -> None:
    assert classify(ClientAuthenticationError("bad secret")).kind is ProblemKind.UNAUTHENTICATED
    assert classify(ServiceRequestError("no route")).kind is ProblemKind.UNAVAILABLE
    assert classify(TimeoutError()).kind is ProblemKind.TIMEOUT


def settings_clock() -> FixedClock:
    return FixedClock()
