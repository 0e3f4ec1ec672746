"""Cards and the printable document of a hand-off to the school's safeguarding record system.

The pack card goes only to the DSL who asked, in their private chat; its links are the short-
lived, unguessable downloads every export uses (``bot.exports``). Nothing here names anyone
but the concern's own handlers, and user text is made safe (``safe_text``, ``html.escape``).
"""

from __future__ import annotations

import html
from typing import Any
from zoneinfo import ZoneInfo

from microsoft_teams.cards import ActionSet, ExecuteAction, OpenUrlAction

from cards.common import card, execute, facts, heading, para, safe_text, school_time
from policy.actions import Verb
from policy.concerns import Concern
from policy.handoff import last_handoff

#: How long the pack's links work (``bot.exports.TTL_SECONDS``).
LINK_NOTE = (
    "The download links work for 10 minutes, for you only: don't forward them. If they have "
    "run out, export the chronology again from the concern."
)


def handoff_line(concern: Concern, zone: ZoneInfo) -> str | None:
    """ "Handed off to MyConcern by Jane Smith at Sun 6 Dec 2026, 14:02" for the concern's
    latest hand-off, or None if it was never handed off."""
    event = last_handoff(concern)
    if event is None:
        return None
    return f"{event.text} by {event.actor_name} at {school_time(event.at, zone)}"


def handoff_block(concern: Concern, zone: ZoneInfo) -> list[Any]:
    """The line a concern card shows once the concern has been handed off (else nothing)."""
    line = handoff_line(concern, zone)
    return [] if line is None else [para(safe_text(line, limit=200), subtle=True)]


def handoff_button(concern: Concern, *, version: int, system: str) -> ExecuteAction:
    """ "Send to MyConcern": for the DSL (checked on the server against who clicked)."""
    return execute(
        f"Send to {system}",
        Verb.CONCERN_HANDOFF,
        ids={"ref": concern.ref, "ver": version, "view": "detail"},
    )


def handoff_actions(concern: Concern, *, version: int, system: str) -> ActionSet:
    """The hand-off button in its own row (a concern card's foot is already full)."""
    return ActionSet(actions=[handoff_button(concern, version=version, system=system)])


def pack_card(
    ref: str,
    *,
    system: str,
    handed_off: str,
    document_url: str,
    json_url: str,
    csv_url: str,
) -> dict[str, Any]:
    """The hand-off pack, for the DSL who made it, in their private chat."""
    return card(
        [
            heading(f"Hand-off pack for {ref}"),
            para(
                f"Everything about {ref} to put into {system}: the printable record, and the "
                "same record as JSON and as CSV (one row per chronology entry) to import."
            ),
            facts([("Recorded on the concern", safe_text(handed_off, limit=200))]),
            para(
                "The pack holds names and the details of the concern. Keep it only in the "
                "child's safeguarding file and delete any downloaded copy once it is imported.",
            ),
            para(LINK_NOTE, subtle=True),
        ],
        [
            OpenUrlAction(title="The record (HTML, printable)", url=document_url),
            OpenUrlAction(title="For import (JSON)", url=json_url),
            OpenUrlAction(title="For import (CSV)", url=csv_url),
        ],
    )


def pack_unavailable_card(ref: str, *, system: str) -> dict[str, Any]:
    """Said instead of the pack when this server cannot offer downloads."""
    return card(
        [
            heading(f"Hand-off pack for {ref}"),
            para(
                f"{ref} is marked as handed off to {system}, but this server cannot offer "
                "downloads, so the pack could not be made here. Ask your IT team to set "
                "PUBLIC_BASE_URL, then export the chronology from the concern."
            ),
        ]
    )


def pack_html(chronology_document: str, *, system: str, handed_off: str, handoff_id: str) -> str:
    """The printable record of a hand-off: the concern's chronology document with the hand-off
    (to which system, by whom, when, and its id) stated under its title."""
    e = html.escape
    banner = (
        f'<p class="marking">Hand-off to {e(system)}</p>\n'
        f"<p>{e(handed_off)}. Hand-off id {e(handoff_id)}: the JSON and CSV files of this "
        "pack carry the same id.</p>\n"
    )
    title_end = chronology_document.find("</h1>\n")
    if title_end < 0:
        return chronology_document
    cut = title_end + len("</h1>\n")
    return chronology_document[:cut] + banner + chronology_document[cut:]
