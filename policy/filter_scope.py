"""How much of a site a filter exception allows: exactly what the teacher asked for.

Rules: an exception is for the period of study and the stated educational reason (000 §4.1,
002 §3), so it allows what was asked and no more: one page (the exact address), a path (the
page and everything under it), or, only when the requester chooses it and says why, the whole
site (001 §7.3: changes are risk assessed; a whole site is a bigger change than one page).
Requests stored before scopes existed named only the site's host: they were whole-site
exceptions and stay so (``ExceptionScope.SITE`` is the stored default).

Also: a request to allow an AI tool or chatbot is new technology. The DfE filtering and
monitoring standards (gov.uk, "Meeting digital and technology standards in schools and
colleges: filtering and monitoring standards") expect the filtering and monitoring review to be
revisited when new technology is introduced, not only once a year; the school's own policy says
the same (004 "Filtering and monitoring": checks "when ... new technology is introduced").
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from policy.weblinks import host_of


class ExceptionScope(StrEnum):
    """How much of the site an exception allows."""

    PAGE = "page"
    PATH = "path"
    SITE = "site"


#: The request form's choices (the first is the default: the page asked for).
SCOPE_CHOICES: dict[ExceptionScope, str] = {
    ExceptionScope.PAGE: "Just this page",
    ExceptionScope.PATH: "This page and everything under it",
    ExceptionScope.SITE: "The whole site (say why)",
}

#: The filter categories that are new technology (AI tools and chatbots): see the module note.
NEW_TECHNOLOGY_CATEGORIES: frozenset[str] = frozenset({"ai_chatbot"})

#: Why a request for new technology is brought to the DSL and into the review (module note).
NEW_TECHNOLOGY_NOTE = (
    "This request is to allow an AI tool or chatbot: new technology. The DfE filtering and "
    "monitoring standards expect the school's filtering and monitoring review to be revisited "
    "when new technology is introduced, not only once a year (and the school's policy, 004, "
    "says the same). Please consider whether a check is needed before or while it is used."
)

SCOPE_REASON_LIMIT = 300


def parse_scope(value: str) -> ExceptionScope | None:
    """The scope a form value names, or None when it names none."""
    try:
        return ExceptionScope(value)
    except ValueError:
        return None


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path or "/"


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.lower() or host_of(url)


def scope_target(url: str, scope: ExceptionScope) -> str:
    """What the filter is to allow, without the scheme: ``www.x.org/page``, ``www.x.org/page/*``
    or ``www.x.org``."""
    if scope is ExceptionScope.SITE:
        return _netloc(url)
    path = _path(url)
    if scope is ExceptionScope.PATH:
        return f"{_netloc(url)}{path.rstrip('/')}/*"
    query = urlsplit(url).query
    return f"{_netloc(url)}{path}{'?' + query if query else ''}"


def rule_text(url: str, scope: ExceptionScope, reason: str = "") -> str:
    """The exact rule IT applies, as IT's task card and the change log say it."""
    target = scope_target(url, scope)
    if scope is ExceptionScope.PAGE:
        return f"Allow exactly: {target}"
    if scope is ExceptionScope.PATH:
        return f"Allow path: {target}"
    why = reason.strip()
    return f"Allow whole site: {target}" + (f" (reason: {why})" if why else "")


def scope_problems(url: str, scope: ExceptionScope | None, reason: str) -> dict[str, str]:
    """Problems with the chosen scope, by form field (none when it is what was asked)."""
    if scope is None:
        return {"scope": "Say how much of the site is needed."}
    if scope is ExceptionScope.SITE:
        if len(reason.strip()) < 10:
            return {"scope_reason": "Say why the whole site is needed, not just the page."}
        if len(reason) > SCOPE_REASON_LIMIT:
            return {"scope_reason": f"Please keep this under {SCOPE_REASON_LIMIT} characters."}
        return {}
    if scope is ExceptionScope.PATH and _path(url).strip("/") == "":
        return {
            "scope": (
                "That address is the whole site: give the page or folder, or choose the whole "
                "site and say why."
            )
        }
    return {}


def is_new_technology(blocked_category: str) -> bool:
    """Whether the request is for an AI tool or chatbot (see the module note)."""
    return blocked_category in NEW_TECHNOLOGY_CATEGORIES
