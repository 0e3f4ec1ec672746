"""The safeguarding team: is the app installed there, and do the DSL and IT channels exist?

The bot posts cards in the DSL and IT channels through the Bot Connector, which works only when
the app is installed in that team. ``ensure_installed`` looks for the app among the team's
installed apps (``GET /teams/{id}/installedApps?$expand=teamsApp&$filter=teamsApp/externalId
eq '<manifest id>'``) and, when it is missing and the app's catalog id is configured, installs
it (``POST /teams/{id}/installedApps`` with ``teamsApp@odata.bind``; the
``TeamsAppInstallation.ReadWriteAndConsentSelfForTeam.All`` permission lets the app add only
itself). The app package asks for a resource-specific (RSC) permission
(``RSC_PERMISSIONS``: reading the team's channels back, see ``graph.channel_history``), so the
install carries ``consentedPermissionSet`` with exactly those permissions: Graph refuses an
install that leaves it out, and ``TeamsAppInstallation.ReadWriteSelfForTeam.All`` cannot install
an app that asks for RSC at all.
``check_channels`` compares the configured channel ids with the team's channels
(``GET /teams/{id}/channels``, which needs ``Channel.ReadBasic.All``; without it the check says
"not checked" rather than failing).

Nothing here stops the bot: problems are logged clearly and shown in ``/healthz``
(``TeamWatch.as_dict``), and channel cards wait in the outbox until posting works.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.teams_app_installation import TeamsAppInstallation
from msgraph.generated.models.teams_app_permission_set import TeamsAppPermissionSet
from msgraph.generated.models.teams_app_resource_specific_permission import (
    TeamsAppResourceSpecificPermission,
)
from msgraph.generated.models.teams_app_resource_specific_permission_type import (
    TeamsAppResourceSpecificPermissionType,
)
from msgraph.graph_service_client import GraphServiceClient

from dialogs.ports import Clock
from graph.channel_history import PERMISSION_READ_CHANNEL
from graph.directory import normalise_object_id
from graph.errors import GraphCallFailed, ProblemKind, graph_call

log = logging.getLogger(__name__)

PERMISSION_INSTALL = "TeamsAppInstallation.ReadWriteAndConsentSelfForTeam.All"
#: The resource-specific consent (RSC) permissions the app package asks for, as (name, type)
#: exactly as manifest/template.json lists them in ``authorization.permissions.resourceSpecific``
#: (tests/manifest checks that the two agree). A self-install consents to exactly these.
RSC_PERMISSIONS: tuple[tuple[str, str], ...] = ((PERMISSION_READ_CHANNEL, "Application"),)
PERMISSION_CHANNELS = "Channel.ReadBasic.All"
CATALOG_BIND = "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{}"


class InstallState(StrEnum):
    """Where the app stands in the safeguarding team."""

    INSTALLED = "installed"  # it was already there
    INSTALLED_NOW = "installed_now"  # the bot added itself just now
    FAILED = "failed"  # not installed, and it could not be (see the reason)
    NOT_CONFIGURED = "not_configured"  # no team group id in school.toml: nothing to check


@dataclass(frozen=True, slots=True)
class InstallStatus:
    """The result of ``ensure_installed``; ``reason`` says what to do when it failed."""

    state: InstallState
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when the bot can post in the team."""
        return self.state in {InstallState.INSTALLED, InstallState.INSTALLED_NOW}


class ChannelState(StrEnum):
    """Whether a configured channel id is one of the team's channels."""

    FOUND = "found"
    MISSING = "missing"
    NOT_CHECKED = "not_checked"


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """One configured channel (``purpose``: "dsl" or "it") and what Graph says about it."""

    purpose: str
    channel_id: str
    state: ChannelState
    reason: str = ""


async def ensure_installed(
    client: GraphServiceClient,
    team_group_id: str,
    teams_app_id: str,
    *,
    catalog_app_id: str | None = None,
    timeout: float = 20.0,  # noqa: ASYNC109 (a budget for several calls, applied inside)
) -> InstallStatus:
    """Make sure the app (manifest id ``teams_app_id``) is installed in the team.

    Args:
        client: The process's Graph client.
        team_group_id: The team's Microsoft 365 group id.
        teams_app_id: The app's manifest id (``externalId`` in the catalog).
        catalog_app_id: The app's id in the tenant's app catalog (generated on upload), needed
            to install it; without it a missing app is reported, not installed.
        timeout: The longest the whole check may take.

    Never raises for Graph failures: they come back as ``InstallState.FAILED`` with a reason.
    """
    team = normalise_object_id(team_group_id)
    if team is None:
        return InstallStatus(InstallState.FAILED, f"team_group_id {team_group_id!r} is not a GUID")
    apps = client.teams.by_team_id(team).installed_apps
    config = RequestConfiguration(
        query_parameters=apps.InstalledAppsRequestBuilderGetQueryParameters(
            expand=["teamsApp"], filter=f"teamsApp/externalId eq '{teams_app_id}'"
        )
    )
    try:
        async with asyncio.timeout(timeout):
            found = await graph_call(PERMISSION_INSTALL, lambda: apps.get(config))
            installed = [
                a
                for a in (found.value or [] if found is not None else [])
                if a.teams_app is not None
                and (a.teams_app.external_id or "").lower() == teams_app_id.lower()
            ]
            if installed:
                return InstallStatus(InstallState.INSTALLED)
            if not catalog_app_id:
                return InstallStatus(
                    InstallState.FAILED,
                    "the app is not installed in the safeguarding team and TEAMS_APP_CATALOG_ID "
                    "is not set, so the bot cannot add itself: add the app to the team in Teams "
                    "(deployment guide step 8) or set TEAMS_APP_CATALOG_ID",
                )
            body = installation_body(catalog_app_id)
            await graph_call(PERMISSION_INSTALL, lambda: apps.post(body))
    except TimeoutError:
        return InstallStatus(InstallState.FAILED, "Graph did not answer in time")
    except GraphCallFailed as failed:
        problem = failed.problem
        if problem.kind is ProblemKind.NOT_FOUND:
            why = (
                f"Graph found no team with group id {team} (check team_group_id in "
                "school.toml) or no app with catalog id TEAMS_APP_CATALOG_ID"
            )
        else:
            why = problem.explain("check or install the app in the safeguarding team")
        return InstallStatus(InstallState.FAILED, why)
    return InstallStatus(InstallState.INSTALLED_NOW)


def installation_body(catalog_app_id: str) -> TeamsAppInstallation:
    """The body of ``POST /teams/{id}/installedApps``: the catalog app, and consent to the
    package's RSC permissions for this team (Graph wants them to match the app definition;
    an app without RSC permissions is installed without ``consentedPermissionSet``)."""
    consent = TeamsAppPermissionSet(
        resource_specific_permissions=[
            TeamsAppResourceSpecificPermission(
                permission_value=name,
                permission_type=TeamsAppResourceSpecificPermissionType(kind.lower()),
            )
            for name, kind in RSC_PERMISSIONS
        ]
    )
    return TeamsAppInstallation(
        consented_permission_set=consent if RSC_PERMISSIONS else None,
        additional_data={"teamsApp@odata.bind": CATALOG_BIND.format(catalog_app_id)},
    )


async def check_channels(
    client: GraphServiceClient,
    team_group_id: str,
    channels: Mapping[str, str],
    *,
    timeout: float = 20.0,  # noqa: ASYNC109 (a budget for several calls, applied inside)
) -> tuple[ChannelStatus, ...]:
    """Check that each configured channel id (purpose -> id) is one of the team's channels.

    Never raises for Graph failures: every channel is then ``NOT_CHECKED`` with the reason.
    """
    team = normalise_object_id(team_group_id)
    if team is None:
        reason = f"team_group_id {team_group_id!r} is not a GUID"
        return tuple(
            ChannelStatus(p, c, ChannelState.NOT_CHECKED, reason) for p, c in channels.items()
        )
    builder = client.teams.by_team_id(team).channels
    config = RequestConfiguration(
        query_parameters=builder.ChannelsRequestBuilderGetQueryParameters(
            select=["id", "displayName", "membershipType"]
        )
    )
    known: set[str] = set()
    try:
        async with asyncio.timeout(timeout):
            page = await graph_call(PERMISSION_CHANNELS, lambda: builder.get(config))
            while page is not None:
                known.update((c.id or "").lower() for c in page.value or [])
                if not page.odata_next_link:
                    break
                page = await graph_call(
                    PERMISSION_CHANNELS, builder.with_url(page.odata_next_link).get
                )
    except TimeoutError:
        reason = "Graph did not answer in time"
        return tuple(
            ChannelStatus(p, c, ChannelState.NOT_CHECKED, reason) for p, c in channels.items()
        )
    except GraphCallFailed as failed:
        reason = failed.problem.explain("list the safeguarding team's channels")
        return tuple(
            ChannelStatus(p, c, ChannelState.NOT_CHECKED, reason) for p, c in channels.items()
        )
    return tuple(
        ChannelStatus(p, c, ChannelState.FOUND)
        if c.lower() in known
        else ChannelStatus(
            p,
            c,
            ChannelState.MISSING,
            f"the {p} channel id in school.toml is not a channel of the safeguarding team",
        )
        for p, c in channels.items()
    )


@dataclass(slots=True)
class TeamWatch:
    """Checks the safeguarding team now and then; the last result is shown in ``/healthz``.

    Attributes:
        client: The process's Graph client.
        clock: For the time of the last check.
        team_group_id: The team's group id (None: not configured).
        teams_app_id: The app's manifest id.
        channels: Purpose ("dsl", "it") -> configured channel id.
        catalog_app_id: The app's catalog id, so that the bot can install itself.
        interval: Seconds between checks while all is well.
        retry_interval: Seconds between checks while something is wrong.
    """

    client: GraphServiceClient
    clock: Clock
    team_group_id: str | None
    teams_app_id: str
    channels: Mapping[str, str]
    catalog_app_id: str | None = None
    interval: float = 3600.0
    retry_interval: float = 300.0
    install: InstallStatus | None = None
    channel_status: tuple[ChannelStatus, ...] = ()
    checked_at: datetime | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when the app is installed and no configured channel is missing."""
        if self.install is None:
            return False
        return (self.install.ok or self.install.state is InstallState.NOT_CONFIGURED) and all(
            c.state is not ChannelState.MISSING for c in self.channel_status
        )

    async def check(self) -> None:
        """Check once (install the app if it can), log the outcome, and keep it for /healthz."""
        if not self.team_group_id:
            self.install = InstallStatus(
                InstallState.NOT_CONFIGURED,
                "channels.team_group_id is not set in school.toml: the app's installation in "
                "the safeguarding team is not checked",
            )
            self.channel_status = ()
        else:
            self.install = await ensure_installed(
                self.client,
                self.team_group_id,
                self.teams_app_id,
                catalog_app_id=self.catalog_app_id,
            )
            self.channel_status = await check_channels(
                self.client, self.team_group_id, self.channels
            )
        self.checked_at = self.clock.now()
        if self.install.state is InstallState.INSTALLED_NOW:
            log.info("safeguarding team: the app installed itself in team %s", self.team_group_id)
        elif self.install.state is InstallState.FAILED:
            log.error(
                "safeguarding team: the bot cannot post channel cards: %s. Cards wait in the "
                "outbox until this is fixed.",
                self.install.reason,
            )
        elif self.install.state is InstallState.NOT_CONFIGURED:
            log.warning("safeguarding team: %s", self.install.reason)
        for channel in self.channel_status:
            if channel.state is ChannelState.MISSING:
                log.error("safeguarding team: %s (%s)", channel.reason, channel.channel_id)
            elif channel.state is ChannelState.NOT_CHECKED:
                log.warning(
                    "safeguarding team: %s channel not checked: %s", channel.purpose, channel.reason
                )

    async def run(self) -> None:
        """Check now, then again every ``interval`` (``retry_interval`` while not ok)."""
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("safeguarding team check failed unexpectedly")
            await asyncio.sleep(self.interval if self.ok else self.retry_interval)

    def start(self) -> None:
        """Run the checks in the background (the bot starts without waiting for Graph)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="graph-team-watch")

    async def stop(self) -> None:
        """Stop the background checks."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def as_dict(self) -> dict[str, Any]:
        """The last result, for ``/healthz`` (ids and reasons only)."""
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "app_installation": None
            if self.install is None
            else {"state": self.install.state.value, "reason": self.install.reason or None},
            "channels": {
                c.purpose: {"state": c.state.value, "reason": c.reason or None}
                for c in self.channel_status
            },
        }
