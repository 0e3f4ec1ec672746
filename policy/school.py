"""The school's own settings: everything a school would change, with the brief's values as defaults.

Built once at start-up from the school's TOML file (see ``config/school.toml``) and passed down;
never read from anywhere else.

The settings by subject live in modules of their own, assembled here (the old names stay
importable from here): ``school_common`` (days, hours, terms, channels), ``school_on_call``
(escalation, the rota, the chain, the LADO clock), ``school_filtering``, ``school_monitoring``,
``school_people`` (role names, pupils' worries, signposts); handoff and pupil feedback in
``policy.handoff`` and ``policy.pupil_feedback``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from policy.categories import DEFAULT_CATEGORIES, Category
from policy.concerns import DEFAULT_OUTCOMES, YEAR_GROUPS
from policy.handoff import Handoff
from policy.pupil_feedback import PupilFeedback
from policy.retention import Retention
from policy.risk_phrases import RiskPhrases
from policy.roles import Role
from policy.school_common import (
    _FORBID_EXTRA,
    ENGLAND_AND_WALES_BANK_HOLIDAYS,
    Channels,
    Hours,
    Term,
    Weekday,
    _check_guid,
)
from policy.school_filtering import (
    ALWAYS_NEVER_UNBLOCKABLE,
    Filtering,
    FilteringChecks,
)
from policy.school_monitoring import (
    DEFAULT_LESSON_TOPICS,
    MONITORING_SEVERITIES,
    LessonTopic,
    Monitoring,
    MonitoringProvider,
)
from policy.school_on_call import (
    ON_CALL,
    ROTA_DAYS,
    Escalation,
    EscalationStep,
    Lado,
    OnCall,
    RotaEntry,
)
from policy.school_people import (
    DEFAULT_PUPIL_WORRIES,
    DEFAULT_ROLE_NAMES,
    DEFAULT_SIGNPOSTS,
    REQUIRED_ROLES,
    Signpost,
)

__all__ = [
    "ALWAYS_NEVER_UNBLOCKABLE",
    "DEFAULT_LESSON_TOPICS",
    "DEFAULT_PUPIL_WORRIES",
    "DEFAULT_ROLE_NAMES",
    "DEFAULT_SIGNPOSTS",
    "ENGLAND_AND_WALES_BANK_HOLIDAYS",
    "MONITORING_SEVERITIES",
    "ON_CALL",
    "REQUIRED_ROLES",
    "ROTA_DAYS",
    "Channels",
    "Escalation",
    "EscalationStep",
    "Filtering",
    "FilteringChecks",
    "Hours",
    "Lado",
    "LessonTopic",
    "Monitoring",
    "MonitoringProvider",
    "OnCall",
    "RotaEntry",
    "SchoolPolicy",
    "Signpost",
    "Term",
    "VideoCalls",
    "Weekday",
]


@dataclass(frozen=True, slots=True)
class VideoCalls:
    """Video-conferencing rules (000 §6, §8, §10; 001 §2.4)."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    teaching_days: tuple[Weekday, ...] = (
        Weekday.MON,
        Weekday.TUE,
        Weekday.WED,
        Weekday.THU,
        Weekday.FRI,
    )
    teaching_hours: Hours = field(default_factory=lambda: Hours(time(9, 0), time(17, 0)))
    pupil_contact_hours: Hours = field(default_factory=lambda: Hours(time(7, 30), time(19, 30)))
    approved_platforms: tuple[str, ...] = ("Microsoft Teams",)

    def __post_init__(self) -> None:
        if not self.teaching_days:
            raise ValueError("teaching_days must name at least one day")
        if not self.approved_platforms:
            raise ValueError("approved_platforms must name at least one platform")


@dataclass(frozen=True, slots=True)
class SchoolPolicy:
    """Everything about one school that the bot's rules depend on."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    name: str
    #: Role -> Entra group ids whose (transitive) members hold the role.
    roles: dict[Role, tuple[str, ...]]
    channels: Channels
    timezone: str = "Europe/London"
    #: Who to contact when the bot does not know you (shown to people with no access).
    access_contact: str = "the school office"
    terms: tuple[Term, ...] = ()
    #: School closure days besides weekends and bank holidays (INSET days, holidays in term).
    holidays: tuple[date, ...] = ()
    bank_holidays: tuple[date, ...] = ENGLAND_AND_WALES_BANK_HOLIDAYS
    escalation: Escalation = field(default_factory=Escalation)
    filtering: Filtering = field(default_factory=Filtering)
    filtering_checks: FilteringChecks = field(default_factory=FilteringChecks)
    video_calls: VideoCalls = field(default_factory=VideoCalls)
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    retention: Retention = field(default_factory=Retention)
    #: Governors' reports show any count from 1 to this minus one as "fewer than N" (brief,
    #: "Data": anonymised for governors). Use 3 or more: 1 turns suppression off, and with 2
    #: "fewer than 2" can only mean 1.
    governors_report_min_count: int = 3
    #: Words and short phrases that show risk in what a person types, added to the shipped
    #: list (``policy.risk_phrases``), which a school cannot shorten.
    risk_phrases: RiskPhrases = field(default_factory=RiskPhrases)
    #: What staff see for each role (the school's own names); unnamed roles keep 000's names.
    role_names: dict[Role, str] = field(default_factory=dict)
    #: Who receives a message for a role that nobody holds (an Entra group emptied, a post
    #: vacant); unnamed roles fall back to the DSL and deputies. Never a channel, and never the
    #: headteacher for the chair of governors (concerns about the headteacher).
    role_fallbacks: dict[Role, tuple[Role, ...]] = field(default_factory=dict)
    #: What a pupil can pick -> the school's category it files under.
    pupil_worries: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PUPIL_WORRIES))
    #: The outcomes a concern can be closed with (ids from ``policy.concerns.OUTCOMES``).
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES
    #: Year groups offered on forms (primary, secondary, all-through, with sixth form).
    year_groups: tuple[str, ...] = YEAR_GROUPS
    #: Where people can turn (national and local: LADO, MASH, the school's own contacts).
    signposts: tuple[Signpost, ...] = DEFAULT_SIGNPOSTS
    #: The policy's own name for each clause the bot cites (``policy.clauses``), shown to staff.
    clauses: dict[str, str] = field(default_factory=dict)
    #: Monitoring alerts and sensitive-lesson notices (issue 21).
    monitoring: Monitoring = field(default_factory=Monitoring)
    #: Out-of-hours cover and the escalation chain (issue 20; 000 §12.2, 004 "DO NOT DELAY").
    on_call: OnCall = field(default_factory=lambda: OnCall())
    #: The LADO clock for a concern about a member of staff (001 §8, 003).
    lado: Lado = field(default_factory=lambda: Lado())
    #: What the DSL can send to a pupil who reported (issue 20): ready-made messages.
    pupil_feedback: PupilFeedback = field(default_factory=PupilFeedback)
    #: The school's safeguarding record system and its optional signed webhook (issue 20).
    handoff: Handoff = field(default_factory=Handoff)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.governors_report_min_count < 1:
            problems.append("governors_report_min_count must be at least 1")
        if not self.name.strip():
            problems.append("name must not be empty")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"timezone {self.timezone!r} is not a known IANA time zone")
        for role in sorted(REQUIRED_ROLES - {r for r, ids in self.roles.items() if ids}):
            problems.append(f"roles.{role} must list at least one group id")
        for role, ids in self.roles.items():
            for group_id in ids:
                try:
                    _check_guid(group_id, f"roles.{role}")
                except ValueError as exc:
                    problems.append(str(exc))
        category_ids = [c.id for c in self.categories]
        duplicates = sorted({i for i in category_ids if category_ids.count(i) > 1})
        if duplicates:
            problems.append(f"categories: duplicate id(s) {', '.join(duplicates)}")
        if "other" not in category_ids:
            problems.append("categories must include 'other' (something else)")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def zone(self) -> ZoneInfo:
        """The school's time zone (Europe/London by default; daylight saving handled)."""
        return ZoneInfo(self.timezone)

    def role_groups(self) -> dict[Role, frozenset[str]]:
        """Role -> the set of group ids, for role resolution."""
        return {role: frozenset(ids) for role, ids in self.roles.items()}

    def role_name(self, role: Role) -> str:
        """What staff at this school call ``role``."""
        return self.role_names.get(role) or DEFAULT_ROLE_NAMES[role]

    def own_words(self) -> dict[str, str]:
        """Built-in role titles the cards use -> this school's names for them (only those the
        school renamed), for ``policy.clauses.reword``. The titles with capitals are the ones
        written into sentences as names ("the Deputy Head (Academic)")."""
        return {
            DEFAULT_ROLE_NAMES[role]: name
            for role, name in self.role_names.items()
            if name
            and name != DEFAULT_ROLE_NAMES[role]
            and DEFAULT_ROLE_NAMES[role][0].isupper()
            and " " in DEFAULT_ROLE_NAMES[role]  # never a bare "IT" inside other words
        }

    def fallback_for(self, role: Role) -> tuple[Role, ...]:
        """Who receives a message for ``role`` when nobody holds it (never ``role`` itself)."""
        chosen = self.role_fallbacks.get(role)
        if not chosen:
            chosen = (
                (Role.DEPUTY_DSL, Role.HEADTEACHER)
                if role is Role.DSL
                else (
                    Role.DSL,
                    Role.DEPUTY_DSL,
                )
            )
        return tuple(r for r in chosen if r is not role)

    def signposts_for(self, audience: str) -> tuple[Signpost, ...]:
        """The signposts for pupils or for staff."""
        return tuple(s for s in self.signposts if s.audience == audience)

    def category(self, category_id: str) -> Category | None:
        """The category with this id, if the school has it."""
        return next((c for c in self.categories if c.id == category_id), None)

    def category_or_other(self, category_id: str) -> Category:
        """The category with this id, or "other" (something else) when the school does not
        have it (any more): every school has "other" (``__post_init__`` checks)."""
        found = self.category(category_id) or self.category("other")
        assert found is not None  # the school policy always has "other"
        return found
