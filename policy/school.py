"""The school's own settings: everything a school would change, with the brief's values as defaults.

Built once at start-up from the school's TOML file (see ``config/school.toml``) and passed down;
never read from anywhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from policy.categories import DEFAULT_CATEGORIES, Category
from policy.concerns import DEFAULT_OUTCOMES, YEAR_GROUPS
from policy.handoff import Handoff
from policy.pupil_feedback import PupilFeedback
from policy.retention import Retention
from policy.risk_phrases import RiskPhrases
from policy.roles import Role

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


@dataclass(frozen=True, slots=True)
class FilteringChecks:
    """How often the filtering and monitoring systems are checked (DfE filtering and
    monitoring standards; 000 §3.5 "tested at least termly", "reviewed at least annually")."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    #: The next check is suggested this many months after each one (3: termly).
    interval_months: int = 3
    #: The school's own things to check, after the standard list (which stays).
    extra_items: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.interval_months <= 12:
            raise ValueError(
                "filtering_checks.interval_months must be between 1 and 12 "
                "(the DfE standards ask for a review at least once a year)"
            )
        for item in self.extra_items:
            if not item.strip() or len(item) > 120:
                raise ValueError("filtering_checks.extra_items: each item 1-120 characters")


#: Floors no school file can remove (001 §7.3, 004 "Filtering"): the IWF list of child sexual
#: abuse content and the police (CTIRU) list of unlawful terrorist content are never lifted. A
#: school's ``never_unblockable_categories`` can add to these, never take them away.
ALWAYS_NEVER_UNBLOCKABLE: frozenset[str] = frozenset({"iwf_child_abuse", "police_terrorism"})


@dataclass(frozen=True, slots=True)
class Filtering:
    """Filter-exception rules (000 §4.1, 001 §7.3, 002 §3, 004 "Filtering")."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    #: Never lifted, whoever asks: the IWF list and the police list of unlawful terrorist content.
    never_unblockable_categories: tuple[str, ...] = ("iwf_child_abuse", "police_terrorism")
    #: Extra domains the school never unblocks.
    deny_domains: tuple[str, ...] = ()
    #: Topics that need the DSL or online safety lead as well as IT.
    sensitive_categories: tuple[str, ...] = (
        "extremism",
        "drugs",
        "self_harm",
        "weapons",
        "adult",
        "hate",
    )
    max_exception_days: int = 14
    #: When, in school time on an exception's last day, IT is asked to re-block the site.
    reblock_at: time = time(17, 0)
    #: When, in school time on an exception's first day, the requester is told "now allowed"
    #: if IT applied it before then (never before the period starts; issue 21).
    now_allowed_at: time = time(7, 30)

    def __post_init__(self) -> None:
        if not 1 <= self.max_exception_days <= 366:
            raise ValueError("max_exception_days must be between 1 and 366")

    @property
    def never_unblockable(self) -> frozenset[str]:
        """What is never lifted: the floors, whatever the file says, plus the school's own."""
        return ALWAYS_NEVER_UNBLOCKABLE | frozenset(self.never_unblockable_categories)


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
class MonitoringProvider:
    """A monitoring system allowed to send alerts (``POST /api/monitoring/alerts``).

    Its shared secret is never in this file: ``secret_env`` names the environment variable
    that holds it (read once at start-up by ``bot.config``).
    """

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    id: str
    name: str
    secret_env: str

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"monitoring provider id {self.id!r}: letters, digits, - and _ only")
        if not self.secret_env or not self.secret_env.replace("_", "").isalnum():
            raise ValueError(
                f"monitoring provider {self.id!r}: secret_env must name an environment variable"
            )
        if not self.name.strip():
            raise ValueError(f"monitoring provider {self.id!r}: give it a name")


@dataclass(frozen=True, slots=True)
class LessonTopic:
    """A sensitive topic staff can warn monitoring about, and the alert categories it explains."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    id: str
    label: str
    #: Words that, found in a provider's alert category, make the alert match this topic.
    categories: tuple[str, ...] = ()


DEFAULT_LESSON_TOPICS: tuple[LessonTopic, ...] = (
    LessonTopic("extremism", "extremism", ("extremism", "radicalisation", "terrorism")),
    LessonTopic("drugs", "drugs and alcohol", ("drugs", "alcohol", "substance")),
    LessonTopic("self_harm", "self-harm and suicide", ("self-harm", "self_harm", "suicide")),
    LessonTopic("sex_education", "relationships and sex education", ("sexual", "adult")),
    LessonTopic("weapons", "weapons and violence", ("weapons", "violence")),
    LessonTopic("hate", "hate and discrimination", ("hate", "racism", "discrimination")),
)

#: Severities a monitoring alert can carry (``docs/monitoring.md``), lowest first.
MONITORING_SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Monitoring:
    """Monitoring alerts and sensitive-lesson notices (DfE filtering and monitoring standards,
    followed by 004 and 000 §3.5): who may send alerts, which are urgent, how they group."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    providers: tuple[MonitoringProvider, ...] = ()
    #: Severities that go to the DSL and deputies at once (the urgent path). "critical" always
    #: does, whatever this list says.
    urgent_severities: tuple[str, ...] = ("high", "critical")
    #: Identical alerts (same pupil, category and provider) within this many minutes of the
    #: first are counted on one card.
    group_window_minutes: int = 30
    #: The topics staff can warn monitoring about before a lesson.
    lesson_topics: tuple[LessonTopic, ...] = DEFAULT_LESSON_TOPICS

    def __post_init__(self) -> None:
        if not 1 <= self.group_window_minutes <= 240:
            raise ValueError("monitoring.group_window_minutes must be between 1 and 240")
        for severity in self.urgent_severities:
            if severity not in MONITORING_SEVERITIES:
                raise ValueError(
                    f"monitoring.urgent_severities: {severity!r} is not one of "
                    f"{', '.join(MONITORING_SEVERITIES)}"
                )
        ids = [p.id for p in self.providers]
        if len(set(ids)) != len(ids):
            raise ValueError("monitoring.providers: each provider needs its own id")
        if not self.lesson_topics:
            raise ValueError("monitoring.lesson_topics must name at least one topic")

    @property
    def urgent(self) -> frozenset[str]:
        """The urgent severities: the school's, and "critical" always (a floor)."""
        return frozenset(self.urgent_severities) | {"critical"}

    def provider(self, provider_id: str) -> MonitoringProvider | None:
        """The configured provider with this id, if any."""
        return next((p for p in self.providers if p.id == provider_id), None)

    def topic(self, topic_id: str) -> LessonTopic | None:
        """The lesson topic with this id, if the school has it."""
        return next((t for t in self.lesson_topics if t.id == topic_id), None)


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


#: What staff see for each role when a school's file does not name it (000's names).
DEFAULT_ROLE_NAMES: dict[Role, str] = {
    Role.PUPIL: "pupil",
    Role.STAFF: "member of staff",
    Role.DSL: "Designated Safeguarding Lead (DSL)",
    Role.DEPUTY_DSL: "deputy DSL",
    Role.ONLINE_SAFETY_LEAD: "online safety lead",
    Role.IT: "IT",
    Role.HEADTEACHER: "headteacher",
    Role.DEPUTY_HEAD_ACADEMIC: "Deputy Head (Academic)",
    Role.HEAD_OF_DEPARTMENT: "head of department",
    Role.CHAIR_OF_GOVERNORS: "chair of governors",
}

#: What a pupil can pick ("What happened?") -> the category it files under (see
#: ``dialogs/pupil_report.py`` for why each maps where it does).
DEFAULT_PUPIL_WORRIES: dict[str, str] = {
    "unkind": "cyberbullying",
    "upset": "other",
    "stranger": "grooming",
    "asked": "grooming",
    "other": "other",
}


@dataclass(frozen=True, slots=True)
class Signpost:
    """Somewhere to turn: national (Childline, CEOP) or the school's own (LADO, MASH)."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    name: str
    contact: str
    #: Who sees it: "pupils" (the worry card) or "staff" (the concern cards and the DSL).
    audience: str = "staff"

    def __post_init__(self) -> None:
        if self.audience not in {"pupils", "staff"}:
            raise ValueError(f"signpost {self.name!r}: audience must be 'pupils' or 'staff'")
        if not self.name.strip() or not self.contact.strip():
            raise ValueError("a signpost needs a name and a contact")


DEFAULT_SIGNPOSTS: tuple[Signpost, ...] = (
    Signpost("Police (a child in immediate danger)", "999", "staff"),
    Signpost("NSPCC helpline for professionals", "0808 800 5000, help@nspcc.org.uk", "staff"),
    Signpost("CEOP (online sexual abuse or grooming)", "ceop.police.uk", "staff"),
    Signpost("Professionals Online Safety Helpline", "0344 381 4772", "staff"),
)

#: Roles a school must map to at least one directory group.
REQUIRED_ROLES: frozenset[Role] = frozenset({Role.DSL, Role.STAFF, Role.PUPIL, Role.HEADTEACHER})


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
