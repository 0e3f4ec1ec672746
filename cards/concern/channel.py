"""A concern where handlers see it first: the channel card (no names, no detail), the IT
breach card, 1:1 alerts and reminders, the outcome notice, and keeping the detail open."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import (
    ExecuteAction,
)

from cards.closure import proposed_words
from cards.common import (
    card,
    execute,
    facts,
    heading,
    item_head,
    para,
    safe_text,
    school_time,
)
from cards.concern.form import LIMITS, STATUS_WORDS
from cards.handoff import handoff_block
from cards.on_call import tried_line
from policy.actions import Verb
from policy.categories import Category
from policy.concerns import (
    Concern,
    ConcernStatus,
)
from policy.school import SchoolPolicy


def _channel_facts(
    concern: Concern, category: Category, school: SchoolPolicy
) -> list[tuple[str, str]]:
    return [
        ("Category", category.label),
        ("Urgency", "URGENT" if concern.urgent else "Routine"),
        ("Status", proposed_words(concern, school) or STATUS_WORDS[concern.status]),
        ("Year group", safe_text(concern.year_group, limit=40)),
        ("Reported", school_time(concern.created_at, school.zone)),
        ("Handled by", safe_text(concern.handler_name or "Nobody yet", limit=80)),
    ]


#: Most people one card keeps the detail open for (Teams honours up to 60 ``userIds``).
MAX_DETAIL_VIEWERS = 60


def teams_user_id(entra_object_id: str) -> str:
    """The id Teams uses for a person in a card's ``refresh.userIds``."""
    return f"8:orgid:{entra_object_id}"


def keep_detail_open(
    shown: dict[str, Any], ref: str, version: int, viewers: Sequence[str]
) -> dict[str, Any]:
    """``shown`` (a channel card, the same for everyone) with a per-user refresh: Teams asks the
    bot again, for each of ``viewers`` only (Entra object ids of handlers who opened the detail
    and have not closed it), so their detail view stays open after the card changes for all.

    The refresh is an ordinary ``concern.open``: the server checks the person again and shows
    the detail only to a handler who still has it open; everyone else sees ``shown``.
    """
    if not viewers:
        return shown
    return {
        **shown,
        "refresh": {
            "action": execute(
                "Open", Verb.CONCERN_OPEN, ids={"ref": ref, "ver": version, "view": "detail"}
            ).model_dump(exclude_none=True, by_alias=True),
            "userIds": [teams_user_id(v) for v in viewers[:MAX_DETAIL_VIEWERS]],
        },
    }


def _acknowledge(ids: Mapping[str, str | int]) -> ExecuteAction:
    return execute("Acknowledge", Verb.CONCERN_ACKNOWLEDGE, style="positive", ids=ids)


def _acknowledge_and_open(concern: Concern, version: int) -> list[ExecuteAction]:
    """A handler's two buttons for a concern: Acknowledge, then Open."""
    ids: dict[str, str | int] = {"ref": concern.ref, "ver": version}
    return [_acknowledge(ids), execute("Open", Verb.CONCERN_OPEN, ids=ids)]


def channel_card(
    concern: Concern,
    category: Category,
    school: SchoolPolicy,
    *,
    version: int,
    note: str | None = None,
) -> dict[str, Any]:
    """The DSL channel card: visible to everyone in the channel, so no names and no detail."""
    kind = "Pupil report" if concern.source.value == "pupil" else "Concern"
    title = f"{'URGENT: ' if concern.urgent else ''}{kind} {concern.ref}"
    body = item_head(title, _channel_facts(concern, category, school), note=note)
    body += tried_line(concern, school)  # out-of-hours cover and escalation (issue 20)
    body += handoff_block(concern, school.zone)  # issue 20: "handed off to … by … at …"
    acknowledge, open_it = _acknowledge_and_open(concern, version)
    actions = [acknowledge, open_it] if concern.status is ConcernStatus.NEW else [open_it]
    if concern.status is ConcernStatus.CLOSED:
        body.append(para("Closed. The reporter has been told the outcome.", subtle=True))
    elif proposed_words(concern, school):
        body.append(para("Waiting for a second senior person to confirm closing it.", subtle=True))
    return card(body, actions)


def it_breach_card(concern: Concern, school: SchoolPolicy) -> dict[str, Any]:
    """The IT channel card for a filtering breach: what IT needs to block the site, nothing more."""
    return card(
        [
            heading(f"Filtering breach {concern.ref}"),
            para(
                "A site that should be blocked was reached. Please check the filter and block it."
            ),
            facts(
                [
                    ("Site", safe_text(concern.url or "Not given", limit=300)),
                    ("Reported", school_time(concern.created_at, school.zone)),
                    ("Device group", safe_text(concern.device_group or "Not given", limit=100)),
                ]
            ),
            para("The DSL has the rest of the report.", subtle=True),
        ]
    )


def alert_card(
    concern: Concern, category: Category, school: SchoolPolicy, *, version: int
) -> dict[str, Any]:
    """The 1:1 alert each DSL and deputy gets for an urgent concern."""
    return card(
        [
            heading(f"URGENT concern {concern.ref}"),
            para("An urgent online-safety concern has just been reported. Please act now."),
            facts(_channel_facts(concern, category, school)[:5]),
        ],
        _acknowledge_and_open(concern, version),
    )


def reminder_card(
    concern: Concern, category: Category, school: SchoolPolicy, *, version: int, waited: str
) -> dict[str, Any]:
    """A reminder that a concern is still unacknowledged."""
    return card(
        [
            heading(f"Reminder: {concern.ref} is not acknowledged"),
            para(
                f"This {'URGENT ' if concern.urgent else ''}concern has waited {waited}. "
                "Please acknowledge it."
            ),
            facts(_channel_facts(concern, category, school)[:4]),
        ],
        _acknowledge_and_open(concern, version),
    )


def closed_notice(concern: Concern) -> dict[str, Any]:
    """What the reporter hears when the concern is closed: the handler's message, not details."""
    return card(
        [
            heading(f"Your report {concern.ref} has been closed"),
            para("Message from the safeguarding team:"),
            para(safe_text(concern.outcome_message, limit=LIMITS["message"])),
            para("Thank you for reporting it.", subtle=True),
        ]
    )


def stale_card_note() -> str:
    """Shown when a click came from an out-of-date card: nothing was changed."""
    return "This card was out of date, so nothing was changed. Here is the current state."
