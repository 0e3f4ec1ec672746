"""What several of a school's settings share: strict fields, days of the week, hours, terms,
the Teams channels, the shipped bank holidays, the group-id check. Assembled in
``policy.school``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum
from typing import ClassVar

_FORBID_EXTRA: dict[str, str] = {"extra": "forbid"}


class Weekday(StrEnum):
    """Days of the week as written in the configuration file."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


def _check_window(start: time, end: time, what: str) -> None:
    if end <= start:
        raise ValueError(f"{what}: end {end:%H:%M} must be after start {start:%H:%M}")


@dataclass(frozen=True, slots=True)
class Hours:
    """A daily window, start inclusive, end exclusive, in school time."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    start: time
    end: time

    def __post_init__(self) -> None:
        _check_window(self.start, self.end, "hours")


@dataclass(frozen=True, slots=True)
class Term:
    """A term: school days fall inside terms (and outside holidays)."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    name: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"term {self.name!r}: end {self.end} is before start {self.start}")


@dataclass(frozen=True, slots=True)
class Channels:
    """Where the bot posts: Bot Framework ids of the safeguarding team and its channels."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    team_id: str
    dsl_channel_id: str
    it_channel_id: str
    #: The team's Microsoft 365 group id (a GUID), used with Graph to install the app.
    team_group_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("team_id", "dsl_channel_id", "it_channel_id"):
            value = getattr(self, name)
            if not (value.startswith("19:") and "@thread." in value):
                raise ValueError(
                    f"{name} {value!r} is not a Teams conversation id (like 19:…@thread.tacv2)"
                )
        if self.dsl_channel_id == self.it_channel_id:
            raise ValueError("the DSL and IT channels must be different channels")
        if self.team_group_id is not None:
            _check_guid(self.team_group_id, "team_group_id")


#: England and Wales bank holidays (gov.uk), the shipped default for the years the config covers.
ENGLAND_AND_WALES_BANK_HOLIDAYS: tuple[date, ...] = (
    date(2025, 1, 1),
    date(2025, 4, 18),
    date(2025, 4, 21),
    date(2025, 5, 5),
    date(2025, 5, 26),
    date(2025, 8, 25),
    date(2025, 12, 25),
    date(2025, 12, 26),
    date(2026, 1, 1),
    date(2026, 4, 3),
    date(2026, 4, 6),
    date(2026, 5, 4),
    date(2026, 5, 25),
    date(2026, 8, 31),
    date(2026, 12, 25),
    date(2026, 12, 28),
    date(2027, 1, 1),
    date(2027, 3, 26),
    date(2027, 3, 29),
    date(2027, 5, 3),
    date(2027, 5, 31),
    date(2027, 8, 30),
    date(2027, 12, 27),
    date(2027, 12, 28),
)


def _check_guid(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a GUID (an Entra object id)") from None
