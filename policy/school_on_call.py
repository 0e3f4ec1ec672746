"""A school's escalation and out-of-hours settings: reminders, the DSL rota and the escalation
chain (000 §12.2, 004 "DO NOT DELAY"), the LADO clock (001 §8, 003). Assembled in
``policy.school``; the rules that use them are in ``policy.on_call``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import ClassVar

from policy.school_common import (
    _FORBID_EXTRA,
    Hours,
    Weekday,
)


@dataclass(frozen=True, slots=True)
class Escalation:
    """When an unacknowledged concern is chased (004 flowchart: "DO NOT DELAY")."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    urgent_unacknowledged_minutes: int = 15
    routine_unacknowledged_school_days: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.urgent_unacknowledged_minutes <= 240:
            raise ValueError("urgent_unacknowledged_minutes must be between 1 and 240")
        if not 1 <= self.routine_unacknowledged_school_days <= 10:
            raise ValueError("routine_unacknowledged_school_days must be between 1 and 10")


#: A rota or chain entry that means "whoever the rota says is on call at that moment".
ON_CALL = "on_call"

#: When a rota entry applies: every day, school days only, weekends, or weekdays the school is
#: closed (bank holidays, school holidays, days outside the terms).
ROTA_DAYS: tuple[str, ...] = ("any", "school_days", "weekends", "holidays")


@dataclass(frozen=True, slots=True)
class RotaEntry:
    """One row of the DSL rota: who is on call at one kind of time (000 §12.2).

    ``who`` names people as the directory knows them (their Entra object id) or roles
    ("deputy_dsl" means every deputy). ``end`` 00:00 means midnight, the end of the day.
    """

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    who: tuple[str, ...]
    #: What staff see ("Weekend cover", "Christmas holiday").
    name: str = ""
    #: "any", "school_days", "weekends" or "holidays" (``ROTA_DAYS``).
    on: str = "any"
    #: Only these days of the week (none listed: every day ``on`` allows).
    days: tuple[Weekday, ...] = ()
    start: time = time(0, 0)
    end: time = time(0, 0)
    #: A named date range (both dates included), for holidays and one-off cover.
    from_date: date | None = None
    to_date: date | None = None

    def __post_init__(self) -> None:
        label = self.name or ", ".join(self.who)
        if not self.who:
            raise ValueError(f"on_call.rota {label!r}: who must name at least one person or role")
        if self.on not in ROTA_DAYS:
            raise ValueError(f"on_call.rota {label!r}: on must be one of {', '.join(ROTA_DAYS)}")
        if self.end != time(0, 0) and self.end <= self.start:
            raise ValueError(
                f"on_call.rota {label!r}: end {self.end:%H:%M} must be after start "
                f"{self.start:%H:%M} (00:00 means midnight)"
            )
        if (self.from_date is None) != (self.to_date is None):
            raise ValueError(f"on_call.rota {label!r}: give both from_date and to_date, or neither")
        if self.from_date and self.to_date and self.to_date < self.from_date:
            raise ValueError(f"on_call.rota {label!r}: to_date is before from_date")


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One step up the chain for an urgent concern nobody has acknowledged (004 flowchart
    "DO NOT DELAY"): who is told, and how long after the step before."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    who: tuple[str, ...]
    #: Minutes after the previous step; none: ``escalation.urgent_unacknowledged_minutes``.
    after_minutes: int | None = None

    def __post_init__(self) -> None:
        if self.after_minutes is not None and not 1 <= self.after_minutes <= 240:
            raise ValueError("on_call.chain: after_minutes must be between 1 and 240")


@dataclass(frozen=True, slots=True)
class OnCall:
    """Out-of-hours cover: the school's contact hours, the DSL rota and the escalation chain.

    Default: the DSL and deputies in school hours, the headteacher out of hours; an urgent
    concern nobody acknowledges is sent again to whoever is on call, then to the DSL and every
    deputy, then to the headteacher (again and again until someone acknowledges it).
    """

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    #: The school's contact hours on a school day.
    contact_hours: Hours = field(default_factory=lambda: Hours(time(8, 0), time(17, 0)))
    #: Who is on call in contact hours on a school day.
    in_hours: tuple[str, ...] = ("dsl", "deputy_dsl")
    #: Who is on call at any other time no rota entry covers (empty: the rota must cover it).
    out_of_hours: tuple[str, ...] = ("headteacher",)
    #: The rota, first matching entry wins (outside contact hours on school days).
    rota: tuple[RotaEntry, ...] = ()
    #: After the first alert (to whoever is on call), the steps up; the last step repeats.
    chain: tuple[EscalationStep, ...] = (
        EscalationStep((ON_CALL,)),
        EscalationStep(("dsl", "deputy_dsl")),
        EscalationStep(("headteacher",)),
    )


@dataclass(frozen=True, slots=True)
class Lado:
    """The LADO clock for a concern about a member of staff (001 §8, 003): the LADO must be
    contacted within this many working days, then the reminders do not stop until it is
    recorded."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    working_days: int = 1
    #: Once overdue, reminded again this often until "LADO informed" is recorded.
    repeat_minutes: int = 60

    def __post_init__(self) -> None:
        if not 1 <= self.working_days <= 5:
            raise ValueError("lado.working_days must be between 1 and 5")
        if not 5 <= self.repeat_minutes <= 1440:
            raise ValueError("lado.repeat_minutes must be between 5 and 1440")
