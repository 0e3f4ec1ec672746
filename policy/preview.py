"""A school file in plain English, for a DSL to read and sign off (``script/check-config``).

Everything is worked out by the same rules the bot runs (``route``, ``checklist``,
``fallback_for``), so the preview says what the bot will do, not what the file meant.
"""

from __future__ import annotations

from policy.categories import Route
from policy.clauses import DEFAULT_CLAUSE_NAMES
from policy.concerns import ACTIONS, OUTCOMES, checklist, has_ukcis_gate, route
from policy.filtering import BLOCKED_CATEGORIES
from policy.on_call import preview_lines as on_call_preview
from policy.roles import Role
from policy.school import DEFAULT_PUPIL_WORRIES, SchoolPolicy
from policy.video_calls import hours_text, teaching_hours


def _list(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def preview(school: SchoolPolicy) -> str:
    """What ``school``'s file means, section by section, in words."""
    lines = [f"Policy preview: {school.name}", ""]
    lines += [*_who_is_who(school), ""]
    lines += [*_concern_routes(school), *_pupil_worries(school), ""]
    lines += [*_urgent_rules(school), ""]
    lines += on_call_preview(school)
    lines += [*_video_calls(school), ""]
    lines += [*_filter_exceptions(school), ""]
    lines += [*_retention(school), ""]
    lines += [*_pupil_messages(school), ""]
    lines += _signposts_and_clauses(school)
    return "\n".join(lines) + "\n"


def _who_is_who(school: SchoolPolicy) -> list[str]:
    """Each role: how many groups hold it, and who gets its messages when nobody does."""
    name = school.role_name
    lines = ["Who is who"]
    for role in Role:
        groups = len(school.roles.get(role, ()))
        held = f"{groups} group(s)" if groups else "NO GROUP"
        fallback = _list([name(r) for r in school.fallback_for(role)])
        lines.append(f"  - {name(role)}: {held}; if nobody holds it, messages go to {fallback}")
    return lines


def _concern_routes(school: SchoolPolicy) -> list[str]:
    """Each category: who receives it, its marks (urgent, images rule, ...) and its checklist."""
    name = school.role_name
    names = {role: name(role) for role in Role}
    lines = ["Concerns: who receives what"]
    for category in school.categories:
        routing = route(category, urgent=category.urgent, names=names)
        if category.route is Route.HEADTEACHER:
            about_head = route(
                category, urgent=category.urgent, about_headteacher=True, names=names
            )
            head = name(Role.HEADTEACHER)
            who = f"{routing.recipients}; about the {head}: {about_head.recipients}"
        else:
            who = routing.recipients
        marks = [
            "urgent" if category.urgent else "",
            "images rule (never view, copy, store or ask for the images)"
            if category.images_rule
            else "",
            "UKCIS assessment before closing" if has_ukcis_gate(category) else "",
            "a second senior person confirms closing it" if category.serious else "",
        ]
        extra = "; ".join(m for m in marks if m)
        lines.append(f"  - {category.label}: {who}" + (f" [{extra}]" if extra else ""))
        steps = _list([ACTIONS[a] for a in checklist(category) if a in ACTIONS])
        lines.append(f"      checklist: {steps}")
    return lines


def _pupil_worries(school: SchoolPolicy) -> list[str]:
    """Where pupils' worries file, those not mapped, the outcomes and the year groups."""
    lines = ["  Pupils' worries file as:"]
    for worry, target in school.pupil_worries.items():
        found = school.category(target)
        lines.append(f"  - {worry}: {found.label if found else target}")
    missing = sorted(set(DEFAULT_PUPIL_WORRIES) - set(school.pupil_worries))
    if missing:
        lines.append(f"  - not mapped (filed as 'Something else'): {_list(missing)}")
    lines.append(f"  Outcomes: {_list([OUTCOMES[o] for o in school.outcomes if o in OUTCOMES])}")
    lines.append(f"  Year groups: {_list(list(school.year_groups))}")
    return lines


def _urgent_rules(school: SchoolPolicy) -> list[str]:
    """The fixed urgent rules and when unacknowledged concerns are chased."""
    esc = school.escalation
    return [
        "Urgent rules (fixed: no file can change them)",
        "  - A child at immediate risk: call 999; the DSL and deputies are alerted at once.",
        "  - A pupil who says they are not safe, or not sure, is always urgent.",
        f"  - Unacknowledged: urgent concerns chased after {esc.urgent_unacknowledged_minutes} "
        f"minutes, others after {esc.routine_unacknowledged_school_days} school day(s).",
    ]


def _video_calls(school: SchoolPolicy) -> list[str]:
    """Lesson and contact hours, approved platforms, and who permits recording."""
    calls = school.video_calls
    return [
        "Video calls",
        f"  - Lessons: {_list([d.value for d in calls.teaching_days])}, "
        f"{hours_text(teaching_hours(school), joiner='–')}",
        f"  - Contacting pupils at home: {hours_text(calls.pupil_contact_hours, joiner='–')}",
        f"  - Approved platforms: {_list(list(calls.approved_platforms))}",
        f"  - Recording needs the permission of the {school.role_name(Role.DEPUTY_HEAD_ACADEMIC)}, "
        "given by them in the bot (never self-declared).",
    ]


def _filter_exceptions(school: SchoolPolicy) -> list[str]:
    """What is never unblocked, who approves sensitive categories, and how long one lasts."""
    name = school.role_name
    rules = school.filtering
    never = [BLOCKED_CATEGORIES.get(c, c) for c in sorted(rules.never_unblockable)]
    sensitive = [BLOCKED_CATEGORIES.get(c, c) for c in rules.sensitive_categories]
    return [
        "Filter exceptions",
        f"  - Never unblocked: {_list(never)}",
        f"  - Never unblocked (domains): {_list(list(rules.deny_domains))}",
        f"  - Need the {name(Role.DSL)} or {name(Role.ONLINE_SAFETY_LEAD)} as well as "
        f"{name(Role.IT)}: {_list(sensitive)}",
        f"  - Longest exception: {rules.max_exception_days} days; re-block due at "
        f"{rules.reblock_at:%H:%M} on the last day.",
    ]


def _retention(school: SchoolPolicy) -> list[str]:
    """How long each kind of record is kept."""
    kept = school.retention
    return [
        "Retention",
        f"  - Concerns about a child: until their 25th birthday "
        f"({kept.concern_years_without_age} years when the age is not known); about staff: "
        f"{kept.staff_concern_years} years; filter requests: {kept.filter_request_years} "
        f"years; call records: {kept.call_record_years} years.",
    ]


def _pupil_messages(school: SchoolPolicy) -> list[str]:
    """The ready-made messages to a pupil who reported, and the rules for one's own words."""
    return [
        "Messages to a pupil who reported (the DSL or a deputy; {adult} is their name)",
        *(f"  - {template}" for template in school.pupil_feedback.templates),
        "  - Or their own words: as easy to read as the pupil's cards, at most 300 characters, "
        "never about pictures; one question at a time.",
    ]


def _signposts_and_clauses(school: SchoolPolicy) -> list[str]:
    """The school's signposts and the clause names cited to staff (own or default)."""
    lines = ["Signposts"]
    for signpost in school.signposts:
        lines.append(f"  - ({signpost.audience}) {signpost.name}: {signpost.contact}")
    lines += ["", "Clauses cited to staff"]
    for key, default in DEFAULT_CLAUSE_NAMES.items():
        own = school.clauses.get(key)
        lines.append(f"  - {key}: {own or default + ' (default)'}")
    return lines
