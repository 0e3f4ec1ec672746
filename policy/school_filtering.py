"""A school's web-filtering settings: the filter exceptions (``Filtering``), the never-unblockable
floors and the filtering and monitoring checks (``FilteringChecks``). Assembled in
``policy.school``; the rules are in ``policy.filtering`` and ``policy.fm_checks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import ClassVar

from policy.school_common import (
    _FORBID_EXTRA,
)


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
