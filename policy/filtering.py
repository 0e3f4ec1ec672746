"""Temporary web-filter exceptions: who may ask, what may never be lifted, who must agree.

Rules (domain brief, "Rules for filter-exception requests"): for good educational reasons staff
may request removal from the filtered list for the period of study, auditable with clear
reasons (000 §4.1, 002 §3, 004 §3); requests go to IT and changes are risk assessed by staff
with educational and technical experience, consented to by leadership where appropriate, and
all changes are logged (001 §7.3); the filtering change log is reviewed by governors and the
DSL (002 §2.1, §2.3); the IWF list and the police list of unlawful terrorist content are never
unblocked (001 §7.3, 004 "Filtering").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from policy.errors import PolicyError
from policy.filter_scope import ExceptionScope, rule_text, scope_target
from policy.roles import SAFEGUARDING_LEADS, Person, Role
from policy.school import Channels, Filtering
from policy.weblinks import host_of


class FilterStatus(StrEnum):
    """Where a request is in its life."""

    PENDING = "pending"
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    APPLIED = "applied"
    REBLOCK_DUE = "reblock_due"
    REBLOCKED = "reblocked"
    REJECTED = "rejected"
    REFUSED = "refused"
    LAPSED = "lapsed"


STATUS_WORDS: dict[FilterStatus, str] = {
    FilterStatus.PENDING: "Waiting for a decision",
    FilterStatus.NEEDS_INFO: "Waiting for more information from the requester",
    FilterStatus.APPROVED: "Approved: waiting for IT to apply it",
    FilterStatus.APPLIED: "Applied: the site is allowed",
    FilterStatus.REBLOCK_DUE: "Period ended: waiting for IT to re-block",
    FilterStatus.REBLOCKED: "Re-blocked",
    FilterStatus.REJECTED: "Rejected",
    FilterStatus.REFUSED: "Refused: never unblockable",
    FilterStatus.LAPSED: "Period ended before it was applied",
}

#: Filter categories a requester can name (what the filter said it blocked).
BLOCKED_CATEGORIES: dict[str, str] = {
    "unknown": "Not sure",
    "extremism": "Extremism or radicalisation",
    "drugs": "Drugs",
    "self_harm": "Self-harm or suicide",
    "weapons": "Weapons",
    "adult": "Adult content",
    "hate": "Hate or discrimination",
    "violence": "Violence",
    "gambling": "Gambling",
    "social_media": "Social media",
    "games": "Games",
    "streaming": "Video streaming",
    "iwf_child_abuse": "Child sexual abuse content (IWF list)",
    "police_terrorism": "Unlawful terrorist content (police list)",
    "ai_chatbot": "AI tool or chatbot",
    "other": "Something else",
}

AUDIENCES: dict[str, str] = {
    "class": "A class",
    "year_group": "A year group",
    "named_pupils": "Named pupils",
    "staff_only": "Staff only",
}

#: Words that, on their own, are not a reason (the request must be auditable with clear
#: reasons, 000 §4.1).
_EMPTY_REASON_WORDS = {
    "research",
    "researching",
    "study",
    "studying",
    "work",
    "lesson",
    "lessons",
    "school",
    "project",
    "homework",
    "teaching",
    "education",
    "educational",
    "needed",
    "need",
    "access",
    "please",
    "for",
    "the",
    "a",
    "my",
    "class",
    "pupils",
    "students",
    "it",
    "to",
    "and",
}


class FilterRuleBroken(PolicyError):
    """A decision the rules do not allow (own request, same person twice, wrong state…)."""


@dataclass(frozen=True, slots=True)
class Approval:
    """One person's decision."""

    by_id: str
    by_name: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """A line of the request's history: who did what, when and why (the change log)."""

    at: datetime
    actor_id: str
    actor_name: str
    action: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FilterRequest:
    """A request to allow a blocked site for a period of study."""

    ref: str
    requester_id: str
    requester_name: str
    created_at: datetime
    site: str
    blocked_category: str
    audience: str
    audience_detail: str
    reason: str
    topic: str
    start: date
    end: date
    supervised: bool
    age_appropriate: bool
    sensitive: bool
    status: FilterStatus = FilterStatus.PENDING
    reason_approval: Approval | None = None
    change_approval: Approval | None = None
    decision_note: str = ""
    question: str = ""
    applied: Approval | None = None
    reblocked: Approval | None = None
    history: tuple[Step, ...] = ()
    #: How much of the site is allowed (policy.filter_scope). Requests stored before scopes
    #: existed named only the host: they were whole-site exceptions and stay so.
    scope: ExceptionScope = ExceptionScope.SITE
    #: Why the whole site is needed (required for ``ExceptionScope.SITE`` on a new request).
    scope_reason: str = ""
    #: The over-blocking report this request was made from, if any (``OBR-…``).
    from_report: str = ""
    #: Who filled in the form when it was made for the requester (IT, from their report).
    entered_by_name: str = ""

    @property
    def host(self) -> str:
        """The site's host name."""
        return host_of(self.site)

    @property
    def rule(self) -> str:
        """The exact rule IT applies: "Allow exactly: …", "Allow path: …/*" or "Allow whole
        site: … (reason: …)"."""
        return rule_text(self.site, self.scope, self.scope_reason)

    @property
    def target(self) -> str:
        """What is allowed, without the scheme: a page, ``a/path/*`` or the host."""
        return scope_target(self.site, self.scope)

    def step(self, by: Person | None, at: datetime, action: str, detail: str = "") -> FilterRequest:
        """This request with one more history line (``by`` None means the system)."""
        who_id, who_name = (by.id, by.name) if by else ("system", "The bot")
        return replace(self, history=(*self.history, Step(at, who_id, who_name, action, detail)))

    @property
    def is_open(self) -> bool:
        """Still waiting for a decision (pending, or waiting for more information)."""
        return self.status in {FilterStatus.PENDING, FilterStatus.NEEDS_INFO}


def never_unblockable(host: str, blocked_category: str, rules: Filtering) -> str | None:
    """Why a request can never be granted, or None (001 §7.3, 004 "Filtering").

    The IWF list (child sexual abuse content) and the police list of unlawful terrorist
    content are never lifted, and neither is any domain on the school's own deny-list (or a
    subdomain of one).
    """
    if blocked_category in rules.never_unblockable:
        label = BLOCKED_CATEGORIES.get(blocked_category, blocked_category)
        return f"{label} is never unblocked, for any reason."
    for denied in rules.deny_domains:
        denied = denied.lower().strip(".")
        if host == denied or host.endswith("." + denied):
            return f"{denied} is on the school's never-unblock list."
    return None


def is_sensitive(blocked_category: str, rules: Filtering) -> bool:
    """Sensitive topics need the DSL or online safety lead as well as IT (001 §7.3)."""
    return blocked_category in rules.sensitive_categories


def reason_problem(reason: str) -> str | None:
    """Why a stated educational reason is not a real reason, or None if it is."""
    words = re.findall(r"[a-zA-Z']+", reason.lower())
    meaningful = [w for w in words if w not in _EMPTY_REASON_WORDS and len(w) > 2]
    if len(words) < 5 or len(reason.strip()) < 25 or len(meaningful) < 3:
        return (
            "Give the educational reason in a sentence: what pupils will do with the site and "
            "why (not just 'research')."
        )
    return None


def period_problems(start: date, end: date, today: date, rules: Filtering) -> dict[str, str]:
    """Problems with the period of study, by field."""
    problems: dict[str, str] = {}
    if start < today:
        problems["start"] = "The start date is in the past."
    if end <= start:
        problems["end"] = "The end date must be after the start date."
    elif (end - start).days > rules.max_exception_days:
        problems["end"] = (
            f"The longest period is {rules.max_exception_days} days: ask again for a further "
            "period if you need it."
        )
    return problems


@dataclass(frozen=True, slots=True)
class Approver:
    """One approval a request needs: who may give it, how cards name them, and which of the
    school's channels shows them the request (``Channels`` field name)."""

    roles: frozenset[Role]
    #: As a card's status names them: "Waiting: IT", "Waiting: DSL or online safety lead".
    name: str
    #: In a sentence: "IT", "the DSL or online safety lead".
    in_sentence: str
    channel: str


#: IT approves the technical change of every request (001 §7.3: requests go to IT).
CHANGE_APPROVER = Approver(frozenset({Role.IT}), "IT", "IT", "it_channel_id")

_REASON_APPROVER = Approver(
    SAFEGUARDING_LEADS | {Role.ONLINE_SAFETY_LEAD},
    "DSL or online safety lead",
    "the DSL or online safety lead",
    "dsl_channel_id",
)


def reason_approver() -> Approver:
    """Who approves the educational reason and the risk of a sensitive request, as well as IT
    (001 §7.3: changes are risk assessed by staff with educational and technical experience,
    consented to by leadership where appropriate): the DSL, a deputy or the online safety lead,
    in the DSL channel.

    The one place this rule lives: the verb permissions (``policy.actions``), the per-request
    check (``approve``), where the request's card goes (``approvers``) and every card's words
    ask it.
    """
    return _REASON_APPROVER


def approvers(request: FilterRequest) -> tuple[Approver, ...]:
    """The approvals a request needs, in the order its cards are posted: IT's, and for a
    sensitive topic the reason approver's too."""
    if request.sensitive:
        return (CHANGE_APPROVER, reason_approver())
    return (CHANGE_APPROVER,)


def approver_channels(request: FilterRequest, channels: Channels) -> list[str]:
    """Where a request's card goes: the channel of each approval it needs, once each."""
    return list(dict.fromkeys(getattr(channels, a.channel) for a in approvers(request)))


def every_decider() -> frozenset[Role]:
    """Every role that may decide some filter request (the verb permission, ``policy.actions``)."""
    return CHANGE_APPROVER.roles | reason_approver().roles


def deciders(request: FilterRequest) -> frozenset[Role]:
    """Roles that may give a decision on this request."""
    return frozenset().union(*(a.roles for a in approvers(request)))


def _can_give_reason_approval(person: Person) -> bool:
    return bool(person.roles & reason_approver().roles)


def _check_decider(request: FilterRequest, by: Person) -> None:
    if by.id == request.requester_id:
        raise FilterRuleBroken("nobody can decide their own request", code="own request")
    if not by.roles & deciders(request):
        raise FilterRuleBroken("your role cannot decide this request", code="role cannot decide")
    if not request.is_open:
        raise FilterRuleBroken(
            f"this request is already {request.status.value.replace('_', ' ')}",
            code="already decided",
        )


def approve(request: FilterRequest, by: Person, at: datetime) -> FilterRequest:
    """Give the approval this person's role allows.

    A plain request needs IT's approval. A sensitive one needs two decisions by two different
    people: the DSL, a deputy or the online safety lead approves the reason, and IT approves
    the change. Nobody approves their own request; one person cannot give both approvals.
    """
    _check_decider(request, by)
    if request.status is FilterStatus.NEEDS_INFO:
        raise FilterRuleBroken(
            "the requester has been asked for more information first",
            code="waiting for information",
        )
    given = {a.by_id for a in (request.reason_approval, request.change_approval) if a}
    if by.id in given:
        raise FilterRuleBroken(
            "you have already approved it: a second person must decide", code="same person twice"
        )
    decision = Approval(by.id, by.name, at)
    updated = request
    if request.sensitive and request.reason_approval is None and _can_give_reason_approval(by):
        updated = replace(request, reason_approval=decision).step(
            by, at, "reason approved", "the educational reason and the risk"
        )
    elif request.change_approval is None and by.roles & CHANGE_APPROVER.roles:
        updated = replace(request, change_approval=decision).step(
            by, at, "change approved", "the technical change"
        )
    else:
        missing = CHANGE_APPROVER if request.change_approval is None else reason_approver()
        needed = missing.in_sentence
        raise FilterRuleBroken(
            f"the approval still needed is from {needed}", code="other approval needed"
        )
    if updated.change_approval and (not updated.sensitive or updated.reason_approval):
        updated = replace(updated, status=FilterStatus.APPROVED)
    return updated


def reject(request: FilterRequest, by: Person, reason: str, at: datetime) -> FilterRequest:
    """Reject with a reason (required)."""
    _check_decider(request, by)
    if not reason.strip():
        raise FilterRuleBroken("give the reason for rejecting it", code="reason missing")
    return replace(request, status=FilterStatus.REJECTED, decision_note=reason.strip()).step(
        by, at, "rejected", reason.strip()
    )


def ask(request: FilterRequest, by: Person, question: str, at: datetime) -> FilterRequest:
    """Ask the requester for more information; the request waits."""
    _check_decider(request, by)
    if not question.strip():
        raise FilterRuleBroken("write the question for the requester", code="question missing")
    return replace(request, status=FilterStatus.NEEDS_INFO, question=question.strip()).step(
        by, at, "asked for more information", question.strip()
    )


def answer(request: FilterRequest, by: Person, text: str, at: datetime) -> FilterRequest:
    """The requester answers; the request goes back to the deciders."""
    if by.id != request.requester_id:
        raise FilterRuleBroken("only the person who asked can answer", code="not the requester")
    if request.status is not FilterStatus.NEEDS_INFO:
        raise FilterRuleBroken("no question is waiting for an answer", code="no question waiting")
    if not text.strip():
        raise FilterRuleBroken("write your answer", code="answer missing")
    return replace(request, status=FilterStatus.PENDING, question="").step(
        by, at, "answered", text.strip()
    )


def mark_applied(request: FilterRequest, by: Person, at: datetime) -> FilterRequest:
    """IT records that it applied the change."""
    if Role.IT not in by.roles:
        raise FilterRuleBroken("only IT records that a change was applied", code="not IT")
    if request.status is not FilterStatus.APPROVED:
        raise FilterRuleBroken("only an approved request can be applied", code="not approved")
    return replace(request, status=FilterStatus.APPLIED, applied=Approval(by.id, by.name, at)).step(
        by, at, "applied", request.rule
    )


def reblock_due(request: FilterRequest, at: datetime) -> FilterRequest:
    """The period has ended: an applied exception must be re-blocked; an unapplied one lapses."""
    if request.status is FilterStatus.APPLIED:
        return replace(request, status=FilterStatus.REBLOCK_DUE).step(
            None, at, "period ended", "re-block due"
        )
    if request.status is FilterStatus.APPROVED:
        return replace(request, status=FilterStatus.LAPSED).step(
            None, at, "period ended", "never applied, nothing to re-block"
        )
    return request


def mark_reblocked(request: FilterRequest, by: Person, at: datetime) -> FilterRequest:
    """IT records that the site is blocked again."""
    if Role.IT not in by.roles:
        raise FilterRuleBroken("only IT records a re-block", code="not IT")
    if request.status not in {FilterStatus.REBLOCK_DUE, FilterStatus.APPLIED}:
        raise FilterRuleBroken(
            "this site is not waiting to be re-blocked", code="not waiting for re-block"
        )
    return replace(
        request, status=FilterStatus.REBLOCKED, reblocked=Approval(by.id, by.name, at)
    ).step(by, at, "re-blocked", f"blocked {request.target} again")
