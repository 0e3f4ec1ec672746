"""A concern, as stored: its kind, codec, subject, timers and reference prefix.

Written by the concern, pupil report, monitoring and handoff features; read by reports,
pupil feedback and "My reports".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.codec import RecordCodec
from dialogs.ports import Record
from policy.categories import Category
from policy.concerns import YEAR_GROUPS, Concern
from policy.roles import Person, Role

KIND = "concern"
#: ``OSC-2026-0001``: the reference of a concern, whoever raised it.
PREFIX = "OSC"
#: The timer that chases a concern nobody has acknowledged.
UNACKNOWLEDGED = "concern.unacknowledged"
#: The LADO clock of a concern about a member of staff (001 §8, 003).
LADO_CLOCK = "concern.lado"
#: The renderer of a pupil report's channel card (drawn by the pupil report feature).
PUPIL_CHANNEL = "pupil.channel"
#: Who the bot is in a chronology line it writes itself (alerts, escalations, reminders).
BOT_ID, BOT_NAME = "system", "Online Safety bot"
CODEC: RecordCodec[Concern] = RecordCodec(KIND, Concern)

encode = CODEC.encode


decode = CODEC.decode


#: ``concern:<ref>``: how audit entries and outbox messages name a concern.
subject_of = CODEC.subject


def bot() -> Person:
    """The bot, as the author of the chronology lines it writes itself."""
    return Person(BOT_ID, BOT_NAME, frozenset())


@dataclass(frozen=True, slots=True)
class Loaded:
    """A concern reloaded for a click, with its record version and category."""

    record: Record
    concern: Concern
    category: Category
    #: Who handles it while nobody holds its private role (issue 20: who may confirm closing).
    fallback: tuple[Role, ...] = ()


_YEAR_NUMBER = re.compile(r"(?:year|yr|y)?\s*(\d{1,2})", re.IGNORECASE)


def year_group_of(person: Person) -> str:
    """The pupil's year group from the directory, as the concern records write it, or
    "Not known" (never free directory text in the channel card)."""
    raw = " ".join((person.year_group or "").split())
    if raw in YEAR_GROUPS:
        return raw
    number = _YEAR_NUMBER.fullmatch(raw)
    if number and f"Year {int(number.group(1))}" in YEAR_GROUPS:
        return f"Year {int(number.group(1))}"
    return "Not known"
