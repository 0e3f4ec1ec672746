"""Who-is-who services for the mode the bot runs in: directory, calendar, notifications.

Local mode (``DIRECTORY=file``, its default) reads the demo school from the local directory
file and sends no alerts. Production (``DIRECTORY=graph``, its default) uses Microsoft Graph
through ``graph/``: one azure-identity credential and one Graph client for the process, shared
by the directory, the calendar, the activity-feed notifier and the safeguarding-team check.
Nothing here makes a network call; the team check starts in the background (``start``), and
``health`` reports it for ``/healthz``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import AppType, DirectorySource, Settings
from bot.messenger import MARKER_PREFIX
from dialogs.ports import Calendar, Clock, Directory, Notifier, PostFinder
from graph.local_directory import LocalCalendar, LocalDirectory, LocalNotifier

if TYPE_CHECKING:
    # The Graph adapters (msgraph-sdk, azure-identity, kiota, httpx) are imported where they
    # are first used: a school on the local directory file never loads them (issue 25).
    from graph.channel_history import GraphPostFinder
    from graph.client import CredentialConfig, GraphConnection
    from graph.teams import TeamWatch

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PeopleServices:
    """The directory, calendar and notifier for this process, and the tenant they serve."""

    directory: Directory
    calendar: Calendar
    notifier: Notifier
    tenant_id: str
    #: Reads channels back, so a post cut off by a crash is not made twice (None: cannot).
    finder: PostFinder | None = None
    #: "file" or "graph": where people and roles come from.
    source: str = DirectorySource.FILE.value
    #: The safeguarding-team check (Graph only).
    team: TeamWatch | None = None
    #: Called, in order, by ``close``.
    closers: tuple[Callable[[], Awaitable[None]], ...] = ()
    _starting: asyncio.Task[None] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start the background work (call from a running event loop; never waits on Graph):
        build the Graph SDK's models in a worker thread, then check the safeguarding team.
        """
        graph = self.source == DirectorySource.GRAPH.value or self.finder is not None
        if graph and self._starting is None:
            self._starting = asyncio.create_task(self._start(), name="graph-start")

    async def _start(self) -> None:
        from graph.channel_history import GraphPostFinder
        from graph.client import warm_up

        try:
            await asyncio.to_thread(warm_up)
        except Exception:  # a failed warm-up only makes the first Graph call slower
            log.exception("could not prepare the Graph SDK's models in advance")
        if isinstance(self.finder, GraphPostFinder):
            await self.finder.prepare()  # the channel read-back waits for this
        if self.team is not None:
            self.team.start()

    async def close(self) -> None:
        """Stop the checks and close the Graph client and credential."""
        if self._starting is not None:
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
        if self.team is not None:
            await self.team.stop()
        for closer in self.closers:
            await closer()

    def health(self) -> dict[str, Any]:
        """For ``/healthz``: where people come from and the safeguarding team's state."""
        details: dict[str, Any] = {"source": self.source}
        if self.team is not None:
            details["safeguarding_team"] = self.team.as_dict()
        return details


def graph_credential_config(settings: Settings) -> CredentialConfig:
    """The Graph credential the settings call for: the bot's managed identity, its
    certificate, or its client secret (the same app registration as the Azure Bot).
    """
    from graph.client import CredentialConfig, CredentialKind

    if settings.app_type is AppType.USER_ASSIGNED_MSI:
        return CredentialConfig(
            CredentialKind.MANAGED_IDENTITY, settings.tenant_id, settings.app_id
        )
    if settings.graph_certificate_path is not None:
        return CredentialConfig(
            CredentialKind.CERTIFICATE,
            settings.tenant_id,
            settings.app_id,
            certificate_path=settings.graph_certificate_path,
        )
    return CredentialConfig(
        CredentialKind.CLIENT_SECRET,
        settings.tenant_id,
        settings.app_id,
        secret=settings.app_password.get_secret_value(),
    )


def build_people_services(
    settings: Settings, clock: Clock, *, graph: GraphConnection | None = None
) -> PeopleServices:
    """The services for ``settings`` (no network calls are made here).

    Args:
        settings: The process's settings.
        clock: The process's clock.
        graph: A Graph connection to use instead of building one from the settings (tests
            point it at the local Graph double).

    Raises:
        DirectoryFileError: the local directory file is missing or wrong (file source).
        ValueError, OSError: the Graph certificate cannot be read (graph source).
    """
    if settings.directory_source is DirectorySource.FILE:
        local = LocalDirectory.load(settings.local_directory_path, settings.school.role_groups())
        finder: PostFinder | None = None
        closers: tuple[Callable[[], Awaitable[None]], ...] = ()
        if settings.local_graph_url:
            from graph.client import connect_local

            stand_in = connect_local(settings.local_graph_url)
            # The stand-in stamps posts with this machine's clock: no skew to allow for, so
            # the listing is read back 5 s before an attempt, not Graph's 5 minutes (after a
            # restart with many marked posts, reading 5 minutes of a busy channel for each
            # one kept the event loop busy parsing).
            finder = post_finder(stand_in, settings, settle_seconds=0.0, margin_seconds=5.0)
            closers = (stand_in.close,)
        return PeopleServices(
            directory=local,
            calendar=LocalCalendar(local, clock),
            notifier=LocalNotifier(),
            tenant_id=settings.tenant_id or local.tenant_id,
            finder=finder,
            closers=closers,
        )
    from graph.calendar import GraphCalendar
    from graph.client import build_credential, connect
    from graph.directory import GraphDirectory
    from graph.notifier import GraphNotifier
    from graph.teams import TeamWatch

    connection = graph or connect(build_credential(graph_credential_config(settings)))
    client = connection.client
    directory = GraphDirectory(
        client, settings.school.role_groups(), clock, ttl=settings.directory_cache_seconds
    )
    channels = settings.school.channels
    team = TeamWatch(
        client=client,
        clock=clock,
        team_group_id=channels.team_group_id,
        teams_app_id=settings.teams_app_id or settings.app_id,
        channels={"dsl": channels.dsl_channel_id, "it": channels.it_channel_id},
        catalog_app_id=settings.teams_app_catalog_id or None,
    )
    return PeopleServices(
        directory=directory,
        calendar=GraphCalendar(client, clock, tenant_domains=settings.school_mail_domains),
        notifier=GraphNotifier(
            client,
            bot_app_id=settings.app_id,
            teams_app_id=settings.teams_app_catalog_id or None,
        ),
        tenant_id=settings.tenant_id,
        finder=post_finder(connection, settings),
        source=DirectorySource.GRAPH.value,
        team=team,
        closers=(directory.close, connection.close),
    )


def post_finder(
    connection: GraphConnection,
    settings: Settings,
    *,
    settle_seconds: float | None = None,
    margin_seconds: float | None = None,
) -> GraphPostFinder | None:
    """Reads the safeguarding team's channels back through ``connection`` (None when the
    school's configuration does not name the team's group). ``settle_seconds`` and
    ``margin_seconds`` default to Graph's (``graph.channel_history``)."""
    from graph.channel_history import MARGIN_SECONDS, SETTLE_SECONDS, GraphPostFinder

    team = settings.school.channels.team_group_id
    if not team:
        return None
    return GraphPostFinder(
        connection.client,
        team,
        mark_prefix=MARKER_PREFIX,
        settle_seconds=SETTLE_SECONDS if settle_seconds is None else settle_seconds,
        margin_seconds=MARGIN_SECONDS if margin_seconds is None else margin_seconds,
    )
