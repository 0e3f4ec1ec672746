"""Who-is-who services for the mode the bot runs in: directory, calendar, notifications.

Local mode reads the demo school from the local directory file. Production uses Microsoft Graph
(``graph/``) once configured; until the Graph adapter is wired here, the directory file is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from dialogs.ports import Calendar, Clock, Directory, Notifier
from graph.local_directory import LocalCalendar, LocalDirectory, LocalNotifier


@dataclass(frozen=True, slots=True)
class PeopleServices:
    """The directory, calendar and notifier for this process, and the tenant they serve."""

    directory: Directory
    calendar: Calendar
    notifier: Notifier
    tenant_id: str


def build_people_services(settings: Settings, clock: Clock) -> PeopleServices:
    """The services for ``settings`` (no network calls are made here).

    Raises:
        DirectoryFileError: the local directory file is missing or wrong.
    """
    local = LocalDirectory.load(settings.local_directory_path, settings.school.role_groups())
    return PeopleServices(
        directory=local,
        calendar=LocalCalendar(local, clock),
        notifier=LocalNotifier(),
        tenant_id=settings.tenant_id or local.tenant_id,
    )
