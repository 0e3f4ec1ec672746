"""Online-safety concerns: the record, who it goes to, and what the DSL may do with it.

Rules (domain brief, "Rules for concern reports"): report to the DSL immediately (004 flowchart
"DO NOT DELAY"); a child at immediate risk means 999 and the DSL at once (000 §12.2, 001 §8);
a concern about staff goes to the headteacher, or the chair of governors when it is about the
headteacher, never to a channel (003, 004 §2); each incident type has its checklist
(001 §9.1–9.6, 003); a record of actions is kept (001 §1.3.2); reporters get feedback (004 §2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from policy.categories import DEFAULT_CATEGORIES, Category, Route
from policy.errors import PolicyError
from policy.roles import SAFEGUARDING_LEADS, Person, Role


class ConcernStatus(StrEnum):
    """Where a concern is in its life."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class Source(StrEnum):
    """Who made the report."""

    STAFF = "staff"
    PUPIL = "pupil"


class RiskAnswer(StrEnum):
    """Is a child at immediate risk? (pupils may answer "not sure")."""

    YES = "yes"
    NO = "no"
    NOT_SURE = "not_sure"


YEAR_GROUPS: tuple[str, ...] = (
    "Nursery",
    "Reception",
    *(f"Year {n}" for n in range(1, 14)),
    "Several year groups",
    "Not known",
)

#: Things a DSL records doing (001 §9.1–9.6, 003 "Procedures"): id -> words on the card.
ACTIONS: dict[str, str] = {
    "device_secured": "Device secured",
    "risk_assessment": "Risk assessment done",
    "parents_informed": "Parents or carers informed",
    "social_care_referral": "Referral to children's social care",
    "police_informed": "Police informed (101 or 999)",
    "lado_informed": "LADO informed",
    "iwf_report": "Report made to the IWF",
    "ceop_report": "CEOP report made",
    "prevent_referral": "Prevent referral considered",
    "platform_report": "Reported to the platform or app",
    "site_blocked": "Site blocked and filter checked",
    "support_offered": "Support offered to the child",
    "sanctions": "Sanctions applied",
    "review": "Review of how it was handled",
}

_CHECKLISTS: dict[str, tuple[str, ...]] = {
    "nude_imagery": (
        "device_secured",
        "risk_assessment",
        "parents_informed",
        "social_care_referral",
        "police_informed",
        "support_offered",
        "sanctions",
        "review",
    ),
    "indecent_images": (
        "iwf_report",
        "device_secured",
        "police_informed",
        "lado_informed",
        "social_care_referral",
        "support_offered",
        "review",
    ),
    "grooming": (
        "police_informed",
        "ceop_report",
        "device_secured",
        "social_care_referral",
        "parents_informed",
        "support_offered",
        "review",
    ),
    "radicalisation": (
        "prevent_referral",
        "police_informed",
        "parents_informed",
        "support_offered",
        "review",
    ),
    "cyberbullying": (
        "risk_assessment",
        "parents_informed",
        "platform_report",
        "support_offered",
        "sanctions",
        "review",
    ),
    "online_hate": (
        "platform_report",
        "parents_informed",
        "police_informed",
        "support_offered",
        "sanctions",
        "review",
    ),
    "filtering_breach": ("site_blocked", "parents_informed", "support_offered", "review"),
    "harassment": (
        "police_informed",
        "parents_informed",
        "platform_report",
        "support_offered",
        "review",
    ),
    "fraud": ("police_informed", "parents_informed", "support_offered", "review"),
    "hacking": ("device_secured", "police_informed", "parents_informed", "sanctions", "review"),
    "staff_conduct": ("lado_informed", "risk_assessment", "police_informed", "review"),
}
_DEFAULT_CHECKLIST = ("risk_assessment", "parents_informed", "support_offered", "review")


def _as_category(category: Category | str) -> Category | None:
    if isinstance(category, Category):
        return category
    return next((c for c in DEFAULT_CATEGORIES if c.id == category), None)


def checklist(category: Category | str) -> tuple[str, ...]:
    """The actions the DSL records for this category: the school's own list if it gives one;
    otherwise the policies' list for the built-in category, or for its kind (a category with
    the UKCIS gate gets the nude-imagery list, one with the images rule the indecent-images
    list, whatever the school calls it); otherwise the general list."""
    found = _as_category(category)
    if found is None:
        return _DEFAULT_CHECKLIST
    if found.checklist:
        return found.checklist
    if found.id in _CHECKLISTS:
        return _CHECKLISTS[found.id]
    if found.ukcis_gate:
        return _CHECKLISTS["nude_imagery"]
    if found.images_rule:
        return _CHECKLISTS["indecent_images"]
    return _DEFAULT_CHECKLIST


def has_ukcis_gate(category: Category | str) -> bool:
    """Whether the UKCIS immediate-referral assessment is needed before closing."""
    found = _as_category(category)
    return found is not None and found.ukcis_gate


#: UKCIS "Sharing nudes and semi-nudes" (2020/2024): any of these means an immediate referral
#: to the police and/or children's social care.
UKCIS_CRITERIA: dict[str, str] = {
    "adult_involved": "An adult is involved",
    "coercion": (
        "Coercion, blackmail or grooming, or concern about the child's capacity to consent"
    ),
    "atypical": "The acts are atypical for the child's development, or violent",
    "under_13": "The images show sexual acts and a child is under 13",
    "immediate_risk": "A child is at immediate risk of harm",
}
REFERRALS: dict[str, str] = {"police": "Police", "social_care": "Children's social care"}
#: Built-in categories whose DSL card carries the UKCIS criteria (a school's own category gets
#: them with ``ukcis_gate = true``: see ``has_ukcis_gate``).
UKCIS_CATEGORIES = frozenset(c.id for c in DEFAULT_CATEGORIES if c.ukcis_gate)

OUTCOMES: dict[str, str] = {
    "resolved_in_school": "Resolved in school",
    "social_care": "Referred to children's social care",
    "police": "Referred to the police",
    "lado": "Referred to the LADO",
    "other_agency": "Passed to another agency",
    "no_further_action": "No further action needed",
    # ----- Closing safely (issue 20): the default list's other outcomes -----
    "monitoring": "Monitoring in school",
    "early_help": "Early help",
    "other": "Other",
}
#: The outcomes a school offers when it does not list its own (issue 20, "Closing safely").
DEFAULT_OUTCOMES: tuple[str, ...] = (
    "no_further_action",
    "monitoring",
    "early_help",
    "social_care",
    "police",
    "lado",
    "other",
)


class InvalidTransition(PolicyError):
    """The concern is not in a state that allows this (already acknowledged, closed…)."""


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a new concern goes."""

    #: Channels that get a card: "dsl" (the full safeguarding card), "it" (site details only).
    channels: tuple[str, ...]
    #: Roles whose every holder gets a 1:1 card.
    direct: tuple[Role, ...]
    #: Who it went to, in words for the reporter (roles, not names).
    recipients: str


def route(
    category: Category,
    *,
    urgent: bool,
    about_headteacher: bool = False,
    names: Mapping[Role, str] | None = None,
) -> Routing:
    """Where a concern of ``category`` goes (brief, "Rules for concern reports").

    Child concerns go to the DSL channel, urgent ones also 1:1 to the DSL and every deputy;
    filtering breaches also to IT with the site details only (003 "Filtering breaches"); a
    concern about staff never goes to a channel: the headteacher, or the chair of governors
    when the headteacher is the subject (003, 004 §2).
    """
    if category.route is Route.HEADTEACHER:
        role = Role.CHAIR_OF_GOVERNORS if about_headteacher else Role.HEADTEACHER
        default = "chair of governors" if about_headteacher else "headteacher"
        return Routing((), (role,), f"the {(names or {}).get(role, default)}, privately")
    leads = (Role.DSL, Role.DEPUTY_DSL) if urgent else ()
    team = "the safeguarding team (the DSL and deputy DSLs)"
    if urgent:
        team += ", each alerted directly"
    if category.route is Route.DSL_AND_IT:
        return Routing(("dsl", "it"), leads, f"{team}, and IT (the site details only)")
    return Routing(("dsl",), leads, team)


def is_urgent(category: Category, risk: RiskAnswer) -> bool:
    """Urgent: a child may be at immediate risk, or the category is one the policies treat as
    illegal or serious (indecent images, grooming, radicalisation, nude imagery)."""
    return category.urgent or risk is not RiskAnswer.NO


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a concern's chronology: every action, note and decision, who and when."""

    at: datetime
    actor_id: str
    actor_name: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """The DSL's UKCIS immediate-referral assessment of a nude-imagery concern."""

    criteria: tuple[str, ...]
    referrals: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ItemReview:
    """An open checklist item answered at closing: done, or not needed and why."""

    action: str
    done: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Closure:
    """How a concern is (to be) closed: the outcome, the reason, the reporter's message, the
    checklist review; for a serious category, who proposed it and who confirmed it (000 §12.3,
    002 §16: "more than one senior member of staff"). See ``policy.closure``."""

    outcome: str
    reason: str
    message: str
    proposed_by_id: str
    proposed_by_name: str
    proposed_at: datetime
    reviewed: tuple[ItemReview, ...] = ()
    confirmed_by_id: str | None = None
    confirmed_by_name: str | None = None
    confirmed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Concern:
    """A reported concern. Safeguarding detail (names, description, URL) lives only here."""

    ref: str
    source: Source
    category: str
    urgent: bool
    reporter_id: str
    reporter_name: str
    created_at: datetime
    year_group: str
    involved: str
    what_happened: str
    where: str = ""
    url: str | None = None
    happened_on: str = ""
    immediate_risk: RiskAnswer = RiskAnswer.NO
    actions_taken: str = ""
    device_group: str = ""
    about_headteacher: bool = False
    trusted_adult: str = ""
    status: ConcernStatus = ConcernStatus.NEW
    handler_id: str | None = None
    handler_name: str | None = None
    acknowledged_at: datetime | None = None
    actions_done: tuple[str, ...] = ()
    assessment: Assessment | None = None
    outcome: str | None = None
    outcome_message: str = ""
    closed_at: datetime | None = None
    #: The closure proposed or made (issue 20); None while nobody has proposed closing it.
    closure: Closure | None = None
    chronology: tuple[Event, ...] = field(default=())

    def with_event(self, by: Person, at: datetime, kind: str, text: str) -> Concern:
        """This concern with one more chronology line."""
        return replace(self, chronology=(*self.chronology, Event(at, by.id, by.name, kind, text)))


def private_role(concern: Concern, category: Category) -> Role | None:
    """The one role a concern about staff goes to (the headteacher, or the chair of governors
    when it is about the headteacher), or None for a concern about a child."""
    if category.route is not Route.HEADTEACHER:
        return None
    return Role.CHAIR_OF_GOVERNORS if concern.about_headteacher else Role.HEADTEACHER


def handler_roles(
    concern: Concern, category: Category, unheld_fallback: tuple[Role, ...] = ()
) -> frozenset[Role]:
    """Who may act on this concern: the DSL and deputies; for a concern about staff, only the
    headteacher (or the chair of governors when it is about the headteacher). While nobody
    holds that role, the roles it falls back to (``unheld_fallback``) receive and handle it."""
    private = private_role(concern, category)
    if private is not None:
        return frozenset({private, *unheld_fallback}) - (
            {Role.HEADTEACHER} if concern.about_headteacher else set()
        )
    return SAFEGUARDING_LEADS | frozenset(unheld_fallback)


def may_handle(
    person: Person, concern: Concern, category: Category, unheld_fallback: tuple[Role, ...] = ()
) -> bool:
    """Whether ``person`` may see the detail of, and act on, ``concern``."""
    return not person.is_pupil and bool(
        person.roles & handler_roles(concern, category, unheld_fallback)
    )


def _open(concern: Concern) -> None:
    if concern.status is ConcernStatus.CLOSED:
        raise InvalidTransition(f"{concern.ref} is already closed", code="already closed")


def acknowledge(concern: Concern, by: Person, at: datetime) -> Concern:
    """Record who acknowledged the concern and when (it must be new)."""
    if concern.status is not ConcernStatus.NEW:
        raise InvalidTransition(
            f"{concern.ref} was already acknowledged by {concern.handler_name}",
            code="already acknowledged",
        )
    return replace(
        concern,
        status=ConcernStatus.ACKNOWLEDGED,
        handler_id=by.id,
        handler_name=by.name,
        acknowledged_at=at,
    ).with_event(by, at, "acknowledged", "Acknowledged")


def record_action(
    concern: Concern,
    by: Person,
    action: str,
    note: str,
    at: datetime,
    category: Category | None = None,
) -> Concern:
    """Record an action from the category's checklist, with an optional note."""
    return record_actions(concern, by, (action,), note, at, category)


def record_actions(
    concern: Concern,
    by: Person,
    actions: Sequence[str],
    note: str,
    at: datetime,
    category: Category | None = None,
) -> Concern:
    """Record one or more actions from the category's checklist (a DSL often records several
    at once: device secured, parents informed) as one line of the chronology, with an optional
    note."""
    _open(concern)
    if not actions:
        raise InvalidTransition("choose at least one action", code="no action chosen")
    for action in actions:
        if action not in checklist(category or concern.category):
            raise InvalidTransition(
                f"{action!r} is not an action for this kind of concern",
                code="action not on the checklist",
            )
    chosen = tuple(dict.fromkeys(actions))  # in order, each once
    text = "; ".join(ACTIONS[a] for a in chosen) + (f": {note}" if note else "")
    done = (*concern.actions_done, *(a for a in chosen if a not in concern.actions_done))
    return _taken_on(replace(concern, actions_done=done), by, at).with_event(by, at, "action", text)


def add_note(concern: Concern, by: Person, note: str, at: datetime) -> Concern:
    """Add a note to the chronology."""
    _open(concern)
    if not note.strip():
        raise InvalidTransition("a note needs some text", code="empty note")
    return _taken_on(concern, by, at).with_event(by, at, "note", note.strip())


def assess(
    concern: Concern,
    by: Person,
    criteria: tuple[str, ...],
    referrals: tuple[str, ...],
    reason: str,
    at: datetime,
    category: Category | None = None,
) -> Concern:
    """Record the UKCIS immediate-referral assessment (nude and semi-nude imagery).

    Any criterion ticked needs a "refer now" decision (police and/or children's social care)
    with a reason; the decision and reason are recorded.
    """
    _open(concern)
    if not has_ukcis_gate(category or concern.category):
        raise InvalidTransition(
            "the UKCIS assessment is only for nude or semi-nude imagery",
            code="assessment not for this category",
        )
    unknown = set(criteria) - UKCIS_CRITERIA.keys() | set(referrals) - REFERRALS.keys()
    if unknown:
        raise InvalidTransition(
            f"unknown choice(s): {', '.join(sorted(unknown))}", code="unknown choice"
        )
    if criteria and not referrals:
        raise InvalidTransition(
            "an immediate-referral criterion is ticked: choose police and/or children's social "
            "care to refer to now",
            code="referral missing",
        )
    if (criteria or referrals) and not reason.strip():
        raise InvalidTransition(
            "give the reason for the referral decision", code="referral reason missing"
        )
    if criteria:
        text = "Immediate referral criteria met; referred now to " + " and ".join(
            REFERRALS[r] for r in referrals
        )
    elif referrals:
        text = "No immediate-referral criteria met; referred to " + " and ".join(
            REFERRALS[r] for r in referrals
        )
    else:
        text = "No immediate-referral criteria met"
    if reason.strip():
        text += f". Reason: {reason.strip()}"
    assessed = replace(concern, assessment=Assessment(criteria, referrals, reason.strip()))
    return _taken_on(assessed, by, at).with_event(by, at, "assessment", text)


def needs_assessment(concern: Concern, category: Category | None = None) -> bool:
    """True while a concern whose category has the UKCIS gate (nude or semi-nude imagery,
    whatever the school calls it) has no UKCIS assessment (it cannot be closed)."""
    return has_ukcis_gate(category or concern.category) and concern.assessment is None


def require_message_and_assessment(
    concern: Concern, category: Category | None, message: str
) -> None:
    """What every way of closing a concern needs once its outcome is chosen: a short message
    for the person who reported it, then the UKCIS immediate-referral assessment where the
    concern needs one (``needs_assessment``).

    Raises:
        InvalidTransition: the message or the assessment is missing.
    """
    if not message.strip():
        raise InvalidTransition(
            "write a short message for the person who reported it", code="message missing"
        )
    if needs_assessment(concern, category):
        raise InvalidTransition(
            "record the UKCIS immediate-referral assessment before closing",
            code="assessment missing",
        )


def close(
    concern: Concern,
    by: Person,
    outcome: str,
    message: str,
    at: datetime,
    category: Category | None = None,
) -> Concern:
    """Close with an outcome and a short message for the reporter (not the details)."""
    _open(concern)
    if outcome not in OUTCOMES:
        raise InvalidTransition("choose an outcome", code="outcome missing")
    require_message_and_assessment(concern, category, message)
    closed = replace(
        _taken_on(concern, by, at),
        status=ConcernStatus.CLOSED,
        outcome=outcome,
        outcome_message=message.strip(),
        closed_at=at,
    )
    return closed.with_event(by, at, "closed", f"Closed: {OUTCOMES[outcome]}")


def _taken_on(concern: Concern, by: Person, at: datetime) -> Concern:
    """Acting on a new concern acknowledges it: nobody is left thinking it is unread."""
    if concern.status is ConcernStatus.NEW:
        return acknowledge(concern, by, at)
    return concern
