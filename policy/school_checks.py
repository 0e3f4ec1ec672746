"""Checks on a whole school file, run before the bot starts (and by ``script/check-config``).

``SchoolPolicy`` checks each value on its own; these check how the values fit together and
that no file can switch a safeguard off: every name a list uses must be a real category, role
or action (a typo such as ``"iwf"`` is refused, never silently ignored); every role a route or
flow sends to must have a group; term dates must not overlap. Every problem is listed at once,
each saying what to fix.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable

from policy.categories import Category, Route
from policy.clauses import DEFAULT_CLAUSE_NAMES
from policy.concerns import ACTIONS, OUTCOMES
from policy.filtering import BLOCKED_CATEGORIES
from policy.handoff import handoff_problems
from policy.on_call import gaps, role_of, unknown_tokens
from policy.pupil_feedback import template_problem
from policy.roles import Role
from policy.school import ALWAYS_NEVER_UNBLOCKABLE, DEFAULT_PUPIL_WORRIES, SchoolPolicy

#: Words that mark a category as being about sexual images of children: such a category must
#: carry ``images_rule = true`` (never view, copy, store or ask for them; no files accepted).
IMAGERY_WORDS: tuple[str, ...] = (
    "nude",
    "sexting",
    "indecent image",
    "sexual image",
    "iioc",
    "csam",
    "youth produced sexual",
    "self-generated",
)


#: Words that mark a category as one whose closing needs a second senior person (issue 20).
SERIOUS_WORDS: tuple[str, ...] = ("radicalis", "extremis", "terroris", "groom", "exploitation")


def serious_floor(where: str, category: Category) -> list[str]:
    """A category about sexual images of children, grooming or exploitation, radicalisation or
    a member of staff must be serious: a second senior person confirms closing it (000 §12.3,
    002 §16; 001 §8, 003). A school may mark more categories serious, never fewer."""
    if category.serious:
        return []
    words = f"{category.id.replace('_', ' ')} {category.label}".casefold()
    if category.images_rule or category.ukcis_gate:
        why = "it is about images of children"
    elif category.route is Route.HEADTEACHER:
        why = "it is about a member of staff"
    elif any(w in words for w in SERIOUS_WORDS):
        why = "it is about grooming, exploitation or radicalisation"
    else:
        return []
    return [f"{where}: needs serious = true ({why}: a second senior person confirms closing it)"]


def _suggest(value: str, known: Iterable[str]) -> str:
    choices = sorted(known)
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.3)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; use one of: {', '.join(choices)}"


def _unknown_names(where: str, values: Iterable[str], known: Iterable[str]) -> list[str]:
    known = set(known)
    return [
        f"{where}: {value!r} is not a known name{_suggest(value, known)}"
        for value in values
        if value not in known
    ]


def needed_roles(school: SchoolPolicy) -> dict[Role, str]:
    """Roles the school's routes and flows send to, with why (a role with no group is refused)."""
    needed: dict[Role, str] = {
        Role.DSL: "every concern goes to the DSL",
        Role.IT: "filter exceptions and filtering breaches go to IT",
        Role.DEPUTY_HEAD_ACADEMIC: (
            f"permission to record an online lesson is asked of the "
            f"{school.role_name(Role.DEPUTY_HEAD_ACADEMIC)}"
        ),
    }
    if any(c.route is Route.HEADTEACHER for c in school.categories):
        needed[Role.HEADTEACHER] = "concerns about staff go to the headteacher"
        needed[Role.CHAIR_OF_GOVERNORS] = (
            "concerns about the headteacher go to the chair of governors (or list the group of "
            "the person the school nominates instead, such as the vice-chair)"
        )
    return needed


def school_problems(school: SchoolPolicy) -> list[str]:
    """Every way ``school`` does not fit together, in words that say what to fix."""
    return [
        *_filtering_problems(school),
        *_role_problems(school),
        *_category_problems(school),
        *_list_problems(school),
        *_term_problems(school),
        *_fallback_problems(school),
        *_feedback_problems(school),
        *handoff_problems(school.handoff),
        *on_call_problems(school),
    ]


def _filtering_problems(school: SchoolPolicy) -> list[str]:
    """Unknown filter categories, and a never-unblockable one listed as merely sensitive."""
    filtering = school.filtering
    problems = _unknown_names(
        "filtering.never_unblockable_categories",
        filtering.never_unblockable_categories,
        BLOCKED_CATEGORIES,
    )
    problems += _unknown_names(
        "filtering.sensitive_categories", filtering.sensitive_categories, BLOCKED_CATEGORIES
    )
    floors = ALWAYS_NEVER_UNBLOCKABLE & set(filtering.sensitive_categories)
    for name in sorted(floors):
        problems.append(
            f"filtering.sensitive_categories: {name!r} is never unblockable, whoever agrees; "
            "remove it from this list"
        )
    return problems


def _role_problems(school: SchoolPolicy) -> list[str]:
    """A role the school's settings need that no group holds."""
    held = {role for role, ids in school.roles.items() if ids}
    return [
        f"roles.{role}: list at least one group id ({why})"
        for role, why in needed_roles(school).items()
        if role not in held
    ]


def _category_problems(school: SchoolPolicy) -> list[str]:
    """Each category's unknown actions, missing images rule and lowered floors."""
    problems: list[str] = []
    for category in school.categories:
        where = f"categories.{category.id}"
        problems += _unknown_names(f"{where}.checklist", category.checklist, ACTIONS)
        words = f"{category.id.replace('_', ' ')} {category.label}".casefold()
        if not category.images_rule and any(w in words for w in IMAGERY_WORDS):
            problems.append(
                f"{where}: {category.label!r} is about sexual images of children, so it needs "
                "images_rule = true (never view, copy, store or ask for the images)"
            )
        if category.ukcis_gate and not category.images_rule:
            problems.append(f"{where}: ukcis_gate = true needs images_rule = true as well")
        problems += serious_floor(where, category)
    return problems


def _list_problems(school: SchoolPolicy) -> list[str]:
    """Pupils' worries, outcomes, clauses and year groups: unknown names and empty lists."""
    category_ids = {c.id for c in school.categories}
    problems = _unknown_names("pupil_worries", school.pupil_worries, DEFAULT_PUPIL_WORRIES)
    for worry, target in school.pupil_worries.items():
        if target not in category_ids:
            problems.append(
                f"pupil_worries.{worry}: {target!r} is not one of the school's categories"
                f"{_suggest(target, category_ids)}"
            )
    problems += _unknown_names("outcomes", school.outcomes, OUTCOMES)
    if not school.outcomes:
        problems.append("outcomes: list at least one outcome a concern can be closed with")
    problems += _unknown_names("clauses", school.clauses, DEFAULT_CLAUSE_NAMES)
    if not school.year_groups or "Not known" not in school.year_groups:
        problems.append('year_groups: list the school\'s year groups, with "Not known"')
    return problems


def _term_problems(school: SchoolPolicy) -> list[str]:
    """Terms that overlap."""
    terms = sorted(school.terms, key=lambda t: t.start)
    return [
        f"terms: {before.name!r} ({before.start}–{before.end}) overlaps "
        f"{after.name!r} ({after.start}–{after.end})"
        for before, after in itertools.pairwise(terms)
        if after.start <= before.end
    ]


def _fallback_problems(school: SchoolPolicy) -> list[str]:
    """A role falling back to itself, or the chair of governors to the headteacher."""
    problems: list[str] = []
    for role, fallback in school.role_fallbacks.items():
        if role in fallback:
            problems.append(f"role_fallbacks.{role}: a role cannot fall back to itself")
        if role is Role.CHAIR_OF_GOVERNORS and Role.HEADTEACHER in fallback:
            problems.append(
                "role_fallbacks.chair_of_governors: concerns about the headteacher must never "
                "go to the headteacher; name the DSL or another nominated role"
            )
    return problems


def _feedback_problems(school: SchoolPolicy) -> list[str]:
    """Messages to a child are short and easy to read, whatever the school writes (issue 20)."""
    templates = school.pupil_feedback.templates
    problems: list[str] = []
    if not templates:
        problems.append("pupil_feedback.templates: list at least one message, or leave it out")
    for number, template in enumerate(templates, start=1):
        trouble = template_problem(template)
        if trouble is not None:
            problems.append(f"pupil_feedback.templates, message {number}: {trouble}")
    return problems


def on_call_problems(school: SchoolPolicy) -> list[str]:
    """The rota and chain must name real roles (with a group) or people, must leave no time
    with nobody on call, and the chain must end at a person (000 §12.2, 004 "DO NOT DELAY")."""
    cover = school.on_call
    problems: list[str] = []
    held = {role for role, ids in school.roles.items() if ids}
    named: list[tuple[str, tuple[str, ...], bool]] = [
        ("on_call.in_hours", cover.in_hours, False),
        ("on_call.out_of_hours", cover.out_of_hours, False),
        *(
            (f"on_call.rota {e.name or n!r}", e.who, False)
            for n, e in enumerate(cover.rota, start=1)
        ),
        *((f"on_call.chain step {n}", s.who, True) for n, s in enumerate(cover.chain, start=1)),
    ]
    for where, who, in_chain in named:
        for token in unknown_tokens(who, chain_step=in_chain):
            problems.append(
                f"{where}: {token!r} is neither a role nor a person's Entra object id"
                f"{_suggest(token, [r.value for r in Role] + (['on_call'] if in_chain else []))}"
            )
        for token in who:
            role = role_of(token)
            if role is not None and role not in held:
                problems.append(
                    f"{where}: nobody can be reached as {token!r}: roles.{token} lists no group"
                )
    if not cover.chain:
        problems.append(
            "on_call.chain: list at least one step; the chain must end at a person, not at a "
            "reminder"
        )
    for n, step in enumerate(cover.chain, start=1):
        if not step.who:
            problems.append(
                f"on_call.chain step {n}: name at least one person or role (the chain must "
                "end at a person)"
            )
    days = [d for t in school.terms for d in (t.start, t.end)] or list(school.bank_holidays)
    if days and not cover.out_of_hours:
        found = gaps(school, min(days), max(days))
        if found:
            day, start, end = found[0]
            more = f" (and {len(found) - 1} other times)" if len(found) > 1 else ""
            problems.append(
                f"on_call: nobody is on call on {day:%A} {day.day} {day:%B %Y} from "
                f"{start:%H:%M} to {'midnight' if end is None else f'{end:%H:%M}'}{more}; add "
                "a rota entry that covers it, or name someone in on_call.out_of_hours"
            )
    return problems
