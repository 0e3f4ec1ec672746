"""Who a school's settings name and how: role names, the roles every school must map, what a
pupil can pick, and where people can turn (signposts). Assembled in ``policy.school``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from policy.roles import Role
from policy.school_common import (
    _FORBID_EXTRA,
)

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
