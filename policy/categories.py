"""Categories of concern and where each one goes.

KCSIE's four Cs (000 §4) group the concrete incident types that the policies give their own
procedures for (001 §9, 003 "Procedures", 004 §2). Routing is a table, not code paths: a school
may change urgency or routing in its configuration file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class Group(StrEnum):
    """KCSIE's four Cs, plus "something else" (000 §4)."""

    CONTENT = "content"
    CONTACT = "contact"
    CONDUCT = "conduct"
    COMMERCE = "commerce"
    OTHER = "other"


class Route(StrEnum):
    """Who receives a concern of a category."""

    #: The DSL channel (004 flowchart: "report to the DSL immediately").
    DSL = "dsl"
    #: The DSL channel and, with only what is needed to block the site, the IT channel
    #: (003 "Dealing with filtering breaches").
    DSL_AND_IT = "dsl_and_it"
    #: Never a channel: a 1:1 card to the headteacher, or the chair of governors when the
    #: headteacher is the subject (003, 004 §2).
    HEADTEACHER = "headteacher"


@dataclass(frozen=True, slots=True)
class Category:
    """One type of concern a reporter can choose."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    id: str
    label: str
    group: Group
    route: Route = Route.DSL
    #: Urgent: the DSL and every deputy get a 1:1 alert at once (001 §8, 000 §12.2).
    urgent: bool = False
    #: The images rule (000 §12, 001 §9.1, 003): staff are told never to view, copy, forward,
    #: store or ask for the images, and no files are accepted. Follows this property, never the id.
    images_rule: bool = False
    #: The UKCIS "Sharing nudes and semi-nudes" immediate-referral assessment must be recorded
    #: before the concern can be closed (needs ``images_rule``).
    ukcis_gate: bool = False
    #: The actions the DSL records for this category (ids from ``policy.concerns.ACTIONS``);
    #: empty: the built-in list for the category's kind (see ``policy.concerns.checklist``).
    checklist: tuple[str, ...] = ()
    #: Serious: closing it needs a second senior person to confirm (000 §12.3, 002 §16 "more
    #: than one senior member of staff"; 001 §8, 003). See ``policy.closure``.
    serious: bool = False

    @property
    def imagery_rule(self) -> bool:
        """The images rule (the name used before schools could configure it)."""
        return self.images_rule

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").isalnum() or not self.id.islower():
            raise ValueError(f"category id {self.id!r} must be lower-case letters, digits and _")
        if not self.label.strip():
            raise ValueError(f"category {self.id!r} needs a label")


DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(
        "nude_imagery",
        "Nudes or semi-nudes shared by under-18s",
        Group.CONDUCT,
        urgent=True,
        images_rule=True,
        ukcis_gate=True,
        serious=True,
    ),
    Category(
        "indecent_images",
        "Indecent images of children (IIOC / CSAM)",
        Group.CONTENT,
        urgent=True,
        images_rule=True,
        serious=True,
    ),
    Category(
        "grooming",
        "Online sexual abuse, exploitation or grooming",
        Group.CONTACT,
        urgent=True,
        images_rule=True,
        serious=True,
    ),
    Category(
        "radicalisation", "Radicalisation or extremism", Group.CONTENT, urgent=True, serious=True
    ),
    Category("cyberbullying", "Cyberbullying", Group.CONDUCT),
    Category("online_hate", "Online hate", Group.CONTENT),
    Category(
        "filtering_breach",
        "Filtering breach: an unsuitable site was reached",
        Group.CONTENT,
        route=Route.DSL_AND_IT,
    ),
    Category("harassment", "Harassment or stalking", Group.CONTACT),
    Category("fraud", "Fraud, extortion, phishing or gambling", Group.COMMERCE),
    Category("hacking", "Hacking or misuse of computers", Group.CONDUCT),
    Category(
        "staff_conduct",
        "Concern about a member of staff",
        Group.CONDUCT,
        route=Route.HEADTEACHER,
        serious=True,
    ),
    Category("other", "Something else", Group.OTHER),
)
