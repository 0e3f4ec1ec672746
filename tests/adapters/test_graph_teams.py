"""The safeguarding team: app installation (proactive install) and channel checks via Graph.

If the bot cannot post in the team, it must say so clearly in the logs and in ``/healthz``;
channel cards then wait in the outbox (the messenger fails, the outbox retries).

The package asks for a resource-specific (RSC) permission, so the bot installs itself with
``TeamsAppInstallation.ReadWriteAndConsentSelfForTeam.All`` and consents to exactly the
package's RSC permissions in the install; the double, like Graph, refuses an install without.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.teams_app_installation import TeamsAppInstallation

from graph import teams as graph_teams
from graph.teams import (
    PERMISSION_INSTALL,
    ChannelState,
    InstallState,
    TeamWatch,
    check_channels,
    ensure_installed,
)
from tests.graphdouble.harness import GraphHarness, graph_harness
from tests.graphdouble.server import RSC_CONSENT_REQUIRED
from tests.graphdouble.tenant import CATALOG_APP_ID, TEAMS_APP_ID, Installation

TEAM = "5c400000-0000-4000-8000-000000000200"
APPS = rf"/teams/{TEAM}/installedApps"
CHANNELS = {"dsl": "19:dsl@thread.tacv2", "it": "19:it@thread.tacv2"}
BIND = f"https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{CATALOG_APP_ID}"
CONSENT = {
    "resourceSpecificPermissions": [
        {"permissionValue": "ChannelMessage.Read.Group", "permissionType": "application"}
    ]
}


@pytest.fixture
async def graph() -> AsyncIterator[GraphHarness]:
    async with graph_harness() as harness:
        yield harness


def installed_already(graph: GraphHarness) -> None:
    graph.tenant.teams[TEAM].installed.append(
        Installation("inst-1", CATALOG_APP_ID, TEAMS_APP_ID, "Online Safety")
    )


def watch(graph: GraphHarness, catalog: str | None = CATALOG_APP_ID) -> TeamWatch:
    return TeamWatch(
        client=graph.client,
        clock=graph.clock,
        team_group_id=TEAM,
        teams_app_id=TEAMS_APP_ID,
        channels=CHANNELS,
        catalog_app_id=catalog,
    )


async def test_an_installed_app_is_found_and_nothing_is_changed(graph: GraphHarness) -> None:
    installed_already(graph)

    status = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID, catalog_app_id=CATALOG_APP_ID)

    assert status.state is InstallState.INSTALLED
    assert status.ok
    [asked] = graph.double.seen(APPS, "GET")
    assert asked.query["$expand"] == "teamsApp"
    assert asked.query["$filter"] == f"teamsApp/externalId eq '{TEAMS_APP_ID}'"
    assert graph.double.count(APPS, "POST") == 0


async def test_a_missing_app_installs_itself_consenting_to_the_rsc_permission(
    graph: GraphHarness,
) -> None:
    status = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID, catalog_app_id=CATALOG_APP_ID)

    assert status.state is InstallState.INSTALLED_NOW
    [install] = graph.double.seen(APPS, "POST")
    assert install.body == {"teamsApp@odata.bind": BIND, "consentedPermissionSet": CONSENT}
    [installed] = graph.tenant.teams[TEAM].installed
    assert installed.consented == (("ChannelMessage.Read.Group", "application"),)
    again = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID, catalog_app_id=CATALOG_APP_ID)
    assert again.state is InstallState.INSTALLED


async def test_graph_refuses_an_rsc_app_installed_without_consent(graph: GraphHarness) -> None:
    # What TeamsAppInstallation.ReadWriteSelfForTeam.All (no consent) would send.
    apps = graph.client.teams.by_team_id(TEAM).installed_apps
    bare = TeamsAppInstallation(additional_data={"teamsApp@odata.bind": BIND})

    with pytest.raises(ODataError) as refused:
        await apps.post(bare)

    assert refused.value.response_status_code == 403
    assert refused.value.error is not None
    assert refused.value.error.code == RSC_CONSENT_REQUIRED
    assert graph.tenant.teams[TEAM].installed == []


async def test_an_install_without_consent_is_reported_naming_the_install_permission(
    graph: GraphHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bot's list of RSC permissions out of step with the package: no consent is sent.
    monkeypatch.setattr(graph_teams, "RSC_PERMISSIONS", ())

    status = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID, catalog_app_id=CATALOG_APP_ID)

    assert status.state is InstallState.FAILED
    assert PERMISSION_INSTALL in status.reason
    [install] = graph.double.seen(APPS, "POST")
    assert "consentedPermissionSet" not in install.body


async def test_consent_to_other_permissions_than_the_package_asks_for_is_rejected(
    graph: GraphHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_teams, "RSC_PERMISSIONS", (("TeamMember.Read.Group", "Application"),))

    status = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID, catalog_app_id=CATALOG_APP_ID)

    assert status.state is InstallState.FAILED
    assert "HTTP 400" in status.reason
    assert graph.tenant.teams[TEAM].installed == []


async def test_without_the_catalog_id_a_missing_app_is_reported_not_guessed(
    graph: GraphHarness,
) -> None:
    status = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID)

    assert status.state is InstallState.FAILED
    assert "TEAMS_APP_CATALOG_ID" in status.reason
    assert "step 8" in status.reason
    assert graph.double.count(APPS, "POST") == 0


async def test_a_missing_permission_is_named(graph: GraphHarness) -> None:
    graph.double.fail(APPS, 403)

    status = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID, catalog_app_id=CATALOG_APP_ID)

    assert status.state is InstallState.FAILED
    assert "TeamsAppInstallation.ReadWriteAndConsentSelfForTeam.All" in status.reason


async def test_a_wrong_team_id_is_reported(graph: GraphHarness) -> None:
    status = await ensure_installed(
        graph.client, "5c400000-0000-4000-8000-000000000999", TEAMS_APP_ID
    )

    assert status.state is InstallState.FAILED
    assert "team_group_id" in status.reason


async def test_graph_throttling_is_a_failed_check_not_an_exception(graph: GraphHarness) -> None:
    graph.double.fail(APPS, 429, retry_after=90)

    status = await ensure_installed(graph.client, TEAM, TEAMS_APP_ID, catalog_app_id=CATALOG_APP_ID)

    assert status.state is InstallState.FAILED
    assert "throttled" in status.reason


async def test_configured_channels_are_found(graph: GraphHarness) -> None:
    found = await check_channels(graph.client, TEAM, CHANNELS)

    assert [(c.purpose, c.state) for c in found] == [
        ("dsl", ChannelState.FOUND),
        ("it", ChannelState.FOUND),
    ]


async def test_a_channel_id_not_in_the_team_is_reported(graph: GraphHarness) -> None:
    del graph.tenant.teams[TEAM].channels["19:it@thread.tacv2"]

    found = {c.purpose: c for c in await check_channels(graph.client, TEAM, CHANNELS)}

    assert found["dsl"].state is ChannelState.FOUND
    assert found["it"].state is ChannelState.MISSING
    assert "it channel id in school.toml" in found["it"].reason


async def test_channels_without_permission_are_not_checked_rather_than_failed(
    graph: GraphHarness,
) -> None:
    graph.double.fail(rf"/teams/{TEAM}/channels", 403)

    found = await check_channels(graph.client, TEAM, CHANNELS)

    assert {c.state for c in found} == {ChannelState.NOT_CHECKED}
    assert "Channel.ReadBasic.All" in found[0].reason


async def test_the_watch_reports_a_problem_clearly_for_healthz_and_the_logs(
    graph: GraphHarness, caplog: pytest.LogCaptureFixture
) -> None:
    team = watch(graph, catalog=None)

    with caplog.at_level(logging.ERROR, logger="graph.teams"):
        await team.check()

    assert not team.ok
    assert "cannot post channel cards" in caplog.text
    assert "outbox" in caplog.text
    health = team.as_dict()
    assert health["ok"] is False
    assert health["app_installation"]["state"] == "failed"
    assert "TEAMS_APP_CATALOG_ID" in health["app_installation"]["reason"]
    assert health["channels"]["dsl"] == {"state": "found", "reason": None}
    assert health["checked_at"] == "2026-11-23T10:00:00+00:00"


async def test_the_watch_installs_the_app_and_reports_all_well(graph: GraphHarness) -> None:
    team = watch(graph)

    await team.check()

    assert team.ok
    assert team.as_dict()["app_installation"] == {"state": "installed_now", "reason": None}


async def test_the_watch_runs_in_the_background_and_stops(graph: GraphHarness) -> None:
    installed_already(graph)
    team = watch(graph)

    team.start()
    for _ in range(100):
        if team.checked_at is not None:
            break
        await asyncio.sleep(0.02)
    await team.stop()

    assert team.ok
    assert team.install is not None
    assert team.install.state is InstallState.INSTALLED


async def test_without_a_team_group_id_nothing_is_asked(graph: GraphHarness) -> None:
    team = TeamWatch(graph.client, graph.clock, None, TEAMS_APP_ID, CHANNELS)

    await team.check()

    assert team.ok
    assert team.as_dict()["app_installation"]["state"] == "not_configured"
    assert graph.double.count() == 0
