"""Out-of-hours cover and escalation: who is on call now, and who is told next.

Rules (004 flowchart "report to the DSL immediately ... DO NOT DELAY"; 000 §12.2 "the DSL or a
deputy is available at all times, or cover is arranged"): an urgent concern goes first to whoever
the school's rota says is on call; nobody acknowledging it moves it up the school's chain, one
step at a time, and the chain always ends at a person, whose step repeats (never only a
reminder in a channel). Routine concerns are chased on school days, in the school's contact
hours. A concern about a member of staff starts the LADO clock (001 §8, 003): the LADO must be
contacted within the school's working days, and the reminders do not stop until it is.

Who is named: ``who`` lists people as the directory knows them (Entra object ids) and roles
("deputy_dsl" is every deputy); ``on_call`` in the chain is whoever the rota has then.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from policy.categories import Category, Route
from policy.concerns import Concern, ConcernStatus
from policy.roles import Role
from policy.school import ON_CALL, RotaEntry, SchoolPolicy, Weekday
from policy.school_calendar import add_school_days, is_school_day

_WEEKDAYS = tuple(Weekday)
MIDNIGHT = time(0, 0)
#: Chronology kinds this module writes (the channel card's "Tried" line is built from them).
ALERTED = "alerted"
ESCALATED = "escalated"
LADO_REMINDER = "lado_reminder"
#: How an alert's chronology line starts: "Sent to Tom Hughes (on call: weekends)".
SENT_TO = "Sent to "


def is_person_id(token: str) -> bool:
    """A person as the directory knows them: an Entra object id (a GUID)."""
    try:
        uuid.UUID(token)
    except ValueError:
        return False
    return True


def role_of(token: str) -> Role | None:
    """The role ``token`` names, or None."""
    try:
        return Role(token)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Cover:
    """Who is on call at one moment, and why (for the chronology: "on call: weekends")."""

    who: tuple[str, ...]
    why: str
    #: True in the school's contact hours on a school day.
    in_hours: bool


def in_contact_hours(now: datetime, school: SchoolPolicy) -> bool:
    """A school day, inside the school's contact hours (school time)."""
    local = now.astimezone(school.zone)
    hours = school.on_call.contact_hours
    return is_school_day(local.date(), school) and hours.start <= local.time() < hours.end


def _day_fits(entry: RotaEntry, day: date, school: SchoolPolicy) -> bool:
    dated = entry.from_date is not None and entry.to_date is not None
    if dated and not entry.from_date <= day <= entry.to_date:  # type: ignore[operator]
        return False
    if entry.days and _WEEKDAYS[day.weekday()] not in entry.days:
        return False
    weekend = day.weekday() >= 5
    school_day = is_school_day(day, school)
    if entry.on == "school_days":
        return school_day
    if entry.on == "weekends":
        return weekend
    if entry.on == "holidays":
        return not weekend and not school_day
    return True


def _window(entry: RotaEntry) -> tuple[time, time | None]:
    """Start, and end (None: midnight, the end of the day)."""
    return entry.start, None if entry.end == MIDNIGHT else entry.end


def covers(entry: RotaEntry, at: datetime, school: SchoolPolicy) -> bool:
    """Whether rota ``entry`` applies at ``at`` (school time; clocks changing included)."""
    local = at.astimezone(school.zone)
    start, end = _window(entry)
    now = local.time().replace(tzinfo=None)
    return _day_fits(entry, local.date(), school) and start <= now and (end is None or now < end)


def on_call_at(now: datetime, school: SchoolPolicy) -> Cover:
    """Who is on call at ``now``: in contact hours on a school day the school's in-hours cover
    (by default the DSL and deputies), else the first rota entry that covers the moment, else
    the out-of-hours default (by default the headteacher). ``who`` is empty only when the
    school's file leaves a gap, which ``policy.school_checks`` refuses at start-up."""
    cover = school.on_call
    if cover.in_hours and in_contact_hours(now, school):
        return Cover(cover.in_hours, "school hours", in_hours=True)
    for entry in cover.rota:
        if covers(entry, now, school):
            return Cover(entry.who, entry.name or "the rota", in_hours=False)
    return Cover(cover.out_of_hours, "out of hours", in_hours=False)


def gaps(school: SchoolPolicy, first: date, last: date) -> list[tuple[date, time, time | None]]:
    """Every stretch from ``first`` to ``last`` (school days, clock times) when nobody is on
    call: (day, from, until; None meaning midnight). Empty when the cover is complete."""
    cover = school.on_call
    found: list[tuple[date, time, time | None]] = []
    day = first
    while day <= last:
        windows: list[tuple[time, time | None]] = []
        if is_school_day(day, school) and cover.in_hours:
            windows.append((cover.contact_hours.start, cover.contact_hours.end))
        if cover.out_of_hours:
            windows.append((MIDNIGHT, None))
        windows += [_window(e) for e in cover.rota if e.who and _day_fits(e, day, school)]
        at: time | None = MIDNIGHT
        for start, end in sorted(windows, key=lambda w: w[0]):
            if at is None:
                break
            if start > at:
                found.append((day, at, start))
            if end is None or end > at:
                at = end
        if at is not None:
            found.append((day, at, None))
        day += timedelta(days=1)
    return found


@dataclass(frozen=True, slots=True)
class Step:
    """One step up the chain: its number (1 is the first escalation), who, and how long after
    the step before it."""

    number: int
    who: tuple[str, ...]
    after: timedelta
    last: bool


def chain(school: SchoolPolicy) -> tuple[Step, ...]:
    """The school's chain with each step's wait filled in."""
    default = school.escalation.urgent_unacknowledged_minutes
    steps = school.on_call.chain
    return tuple(
        Step(
            number,
            s.who,
            timedelta(minutes=s.after_minutes or default),
            last=number == len(steps),
        )
        for number, s in enumerate(steps, start=1)
    )


def steps_taken(concern: Concern) -> int:
    """How many escalation steps this concern has had (from its chronology)."""
    return sum(1 for e in concern.chronology if e.kind == ESCALATED)


def next_step(school: SchoolPolicy, taken: int) -> Step:
    """The step after ``taken`` steps; once at the end, the last step again (it repeats to
    the same person, never only a channel reminder)."""
    steps = chain(school)
    return steps[min(taken, len(steps) - 1)]


def escalates(concern: Concern, category: Category) -> bool:
    """Only urgent concerns about a child climb the chain; a concern about staff keeps its own
    private route (the headteacher, or the chair of governors about the headteacher)."""
    return concern.urgent and category.route is not Route.HEADTEACHER


def routine_reminder_at(from_time: datetime, school: SchoolPolicy) -> datetime:
    """When a routine concern is chased: after the school's school days, inside the contact
    hours (a report on Saturday evening is chased on a school day morning, never at night)."""
    due = add_school_days(from_time, school.escalation.routine_unacknowledged_school_days, school)
    return into_contact_hours(due, school)


def into_contact_hours(at: datetime, school: SchoolPolicy) -> datetime:
    """``at`` if it is in contact hours on a school day, else the start of the next ones."""
    hours = school.on_call.contact_hours
    local = at.astimezone(school.zone)
    day = local.date()
    for _ in range(400):
        if is_school_day(day, school):
            start = datetime.combine(day, hours.start, school.zone)
            end = datetime.combine(day, hours.end, school.zone)
            if local < start:
                return start.astimezone(at.tzinfo)
            if local < end:
                return at
        day += timedelta(days=1)
    return at  # no school day ahead (terms run out): never hold a reminder back


# ----- the LADO clock ---------------------------------------------------------------------------


def lado_clock_applies(category: Category) -> bool:
    """A concern about a member of staff starts the LADO clock (001 §8, 003)."""
    return category.id == "staff_conduct" or category.route is Route.HEADTEACHER


def lado_informed(concern: Concern) -> bool:
    """The LADO contact is recorded (the "LADO informed" action): the clock stops."""
    return "lado_informed" in concern.actions_done


def lado_running(concern: Concern) -> bool:
    """The LADO clock still runs: open, and the LADO not yet informed."""
    return concern.status is not ConcernStatus.CLOSED and not lado_informed(concern)


def lado_due(reported_at: datetime, school: SchoolPolicy) -> datetime:
    """When the LADO must have been contacted: the school's working days after the report."""
    return add_school_days(reported_at, school.lado.working_days, school)


def lado_private_role(concern: Concern) -> Role:
    """Who the LADO reminders go to: the headteacher, or the chair of governors when the
    concern is about the headteacher (never the headteacher then)."""
    return Role.CHAIR_OF_GOVERNORS if concern.about_headteacher else Role.HEADTEACHER


# ----- words -------------------------------------------------------------------------------------


def sent_to(names: Sequence[str], why: str) -> str:
    """The chronology line for an alert: "Sent to Tom Hughes (on call: weekends)"."""
    return f"{SENT_TO}{', '.join(names) or 'nobody found'} ({why})"


def tried(concern: Concern) -> list[tuple[datetime, str]]:
    """Who has been alerted so far and when, from the chronology (for the channel card)."""
    out: list[tuple[datetime, str]] = []
    for event in concern.chronology:
        if event.kind in (ALERTED, ESCALATED) and event.text.startswith(SENT_TO):
            names = event.text[len(SENT_TO) :].rsplit(" (", 1)[0]
            out.append((event.at, names))
    return out


def unknown_tokens(who: Iterable[str], *, chain_step: bool) -> list[str]:
    """The entries of ``who`` that are neither a role, a person id, nor (in the chain) on_call."""
    return [
        t
        for t in who
        if role_of(t) is None and not is_person_id(t) and not (chain_step and t == ON_CALL)
    ]


def _who_names(who: Sequence[str], school: SchoolPolicy) -> str:
    words = []
    for token in who:
        role = role_of(token)
        if role is not None:
            words.append(school.role_name(role))
        elif token == ON_CALL:
            words.append("whoever is on call")
        else:
            words.append(f"the person with directory id {token}")
    return ", ".join(words) or "NOBODY"


def preview_lines(school: SchoolPolicy) -> list[str]:
    """The cover, the chain and the LADO clock in words, for ``script/check-config``."""
    cover = school.on_call
    hours = f"{cover.contact_hours.start:%H:%M}–{cover.contact_hours.end:%H:%M}"
    lines = ['Out-of-hours cover (000 §12.2; 004 "DO NOT DELAY")']
    lines.append(f"  - School days, {hours}: {_who_names(cover.in_hours, school)}")
    for entry in cover.rota:
        end = "midnight" if entry.end == MIDNIGHT else f"{entry.end:%H:%M}"
        when = entry.on.replace("_", " ")
        if entry.from_date and entry.to_date:
            when = f"{entry.from_date:%d %b %Y} to {entry.to_date:%d %b %Y}"
        if entry.days:
            when += f" ({', '.join(d.value for d in entry.days)})"
        name = f"{entry.name}: " if entry.name else ""
        lines.append(
            f"  - {name}{when}, {entry.start:%H:%M}–{end}: {_who_names(entry.who, school)}"
        )
    lines.append(f"  - Any other time: {_who_names(cover.out_of_hours, school)}")
    for step in chain(school):
        minutes = int(step.after.total_seconds() // 60)
        again = " (repeats until someone acknowledges)" if step.last else ""
        lines.append(
            f"  - Urgent and not acknowledged, step {step.number}, {minutes} minutes later: "
            f"{_who_names(step.who, school)}{again}"
        )
    lines.append(
        f"  - Concern about staff: LADO contact due within {school.lado.working_days} working "
        f"day(s), then a reminder every {school.lado.repeat_minutes} minutes until recorded."
    )
    lines.append("")
    return lines
