"""The welcome / menu card, help, and the cards for "no access" and "not allowed".

The welcome card shows only the actions the sender's role allows (``policy.actions.may``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cards.common import card, execute, heading, menu_button, para, safe_text
from cards.help_links import pupil_help_links
from policy.actions import Verb, may
from policy.roles import Person

#: Menu entries in the order people see them, with the words on each button.
STAFF_MENU: tuple[tuple[Verb, str], ...] = (
    (Verb.REPORT_CONCERN, "Report a concern"),
    (Verb.REQUEST_FILTER_CHANGE, "Request a filter change"),
    (Verb.OVERBLOCKED_START, "Blocked but I need it"),
    (Verb.CHECK_VIDEO_CALL, "Check a video call"),
    (Verb.NEXT_LESSONS, "Check my next lessons"),
    (Verb.LESSON_NOTICE, "Sensitive lesson notice"),
    (Verb.MY_REPORTS, "My reports"),
    (Verb.WITHDRAWN_PUPILS, "Withdrawn pupils"),
    (Verb.OPEN_ITEMS, "Open items"),
    (Verb.INCIDENT_LOG, "Incident log"),
    (Verb.FILTER_LOG, "Filter log"),
    (Verb.FILTER_OPEN_ITEMS, "Open filter items"),
    (Verb.GOVERNORS_REPORT, "Governors' report"),
    (Verb.HELP, "Help"),
)
#: In a team channel only the channel tools (reporting happens in a private chat).
CHANNEL_MENU: tuple[tuple[Verb, str], ...] = (
    (Verb.OPEN_ITEMS, "Open items"),
    (Verb.INCIDENT_LOG, "Incident log"),
    (Verb.FILTER_LOG, "Filter log"),
    (Verb.FILTER_OPEN_ITEMS, "Open filter items"),
    (Verb.HELP, "Help"),
)
PUPIL_MENU: tuple[tuple[Verb, str], ...] = (
    (Verb.REPORT_WORRY, "Tell us about a worry"),
    (Verb.MY_REPORTS, "My reports"),
    (Verb.HELP, "Get help"),
)

EMERGENCY = "If a child is in immediate danger, call 999 now, then tell the DSL."


@dataclass(frozen=True, slots=True)
class Command:
    """One thing a person can type, as "help" explains it."""

    label: str
    #: Words that run it (typing them in the chat does exactly what the button does).
    typed: str
    does: str


#: What "help" says about every verb the router runs from typed words (issue 18: help lists
#: every command and button the person may use). ``Router`` checks when it is built that this
#: table covers exactly the verbs its typed commands and phrases reach, and that typing each
#: ``typed`` runs that verb, so help cannot drift from what the bot understands. Each person's
#: help shows only the verbs their role may run (``policy.actions.may``), in this order.
COMMAND_HELP: dict[Verb, Command] = {
    Verb.REPORT_CONCERN: Command(
        "Report a concern", "report a concern", "Tell the DSL about an online-safety worry."
    ),
    Verb.REQUEST_FILTER_CHANGE: Command(
        "Request a filter change", "filter change", "Ask IT to unblock a site for study."
    ),
    Verb.CHECK_VIDEO_CALL: Command(
        "Check a video call", "check a video call", "Check a planned call against the rules."
    ),
    Verb.LESSON_NOTICE: Command(
        "Tell monitoring about a sensitive lesson",
        "sensitive lesson",
        "Warn the DSL and IT before a lesson on a sensitive topic.",
    ),
    Verb.NEXT_LESSONS: Command(
        "Check my next lessons", "next lessons", "Check your coming online lessons."
    ),
    Verb.CALL_RULE_RECORDING: Command(
        "Recording rules", "recording rules", "When a lesson or call may be recorded."
    ),
    Verb.CALL_RULE_CONTACT: Command(
        "Contact hours", "contact hours", "When and how staff may contact pupils at home."
    ),
    Verb.MY_REPORTS: Command(
        "My reports", "my reports", "The reports and requests you made, and what happened."
    ),
    Verb.WITHDRAWN_PUPILS: Command(
        "Withdrawn pupils", "withdrawn pupils", "Pupils withdrawn from video lessons."
    ),
    Verb.OPEN_ITEMS: Command(
        "Open items", "open items", "Concerns and requests that still need a decision."
    ),
    Verb.INCIDENT_LOG: Command("Incident log", "incident log", "Every concern, as a log."),
    Verb.CONCERN_CHRONOLOGY: Command(
        "Chronology", "chronology", "A concern's full history, to print or keep."
    ),
    Verb.FILTER_LOG: Command("Filter log", "filter log", "Every web-filter change."),
    Verb.OVERBLOCKED_START: Command(
        "Blocked but I need it for teaching",
        "blocked but I need it",
        "Tell IT a blocked site got in the way of a lesson.",
    ),
    Verb.FILTER_OPEN_ITEMS: Command(
        "Open filter items",
        "open filter items",
        "Filter requests and blocked-site reports still waiting, from the whole school.",
    ),
    Verb.GOVERNORS_REPORT: Command(
        "Governors' report", "governors report", "Anonymised figures for the governors."
    ),
    Verb.FM_CHECK_START: Command(
        "Record a filtering check",
        "filtering check",
        "Record a check of the filtering and monitoring systems.",
    ),
    Verb.REPORT_WORRY: Command(
        "Tell us about a worry", "I'm worried", "Tell an adult at school about a worry."
    ),
    Verb.MENU: Command("Menu", "menu", "Show the buttons."),
    Verb.HELP: Command("Help", "help", "Show this help."),
}
#: The same commands in a pupil's words (only the ones a pupil may run are ever shown).
PUPIL_COMMAND_HELP: dict[Verb, Command] = {
    Verb.REPORT_WORRY: Command(
        "Tell us about a worry", "I'm worried", "Tell an adult at school what happened."
    ),
    Verb.MY_REPORTS: Command("My reports", "my reports", "See the worries you sent."),
    Verb.MENU: Command("Menu", "menu", "See the buttons again."),
    Verb.HELP: Command("Get help", "help", "See this help again."),
}
#: Where the "Report this message" action is, on any message in Teams (``bot/message_action``).
MESSAGE_ACTION_HELP = "On any message in Teams: choose More actions (…), then Report this message."


def commands_for(person: Person, verbs: Sequence[Verb] | None = None) -> list[Command]:
    """What ``person`` may type, in help's order: the verbs the router reaches (``verbs``,
    all of ``COMMAND_HELP`` when not given) that their role may run."""
    table = PUPIL_COMMAND_HELP if person.is_pupil else COMMAND_HELP
    reachable = set(COMMAND_HELP if verbs is None else verbs)
    return [c for verb, c in table.items() if verb in reachable and may(person, verb)]


def _first_name(person: Person) -> str:
    return safe_text(person.name.split()[0] if person.name.strip() else "there", limit=40)


def menu_verbs(person: Person, *, in_channel: bool) -> list[tuple[Verb, str]]:
    """The menu entries this person may use here, in display order."""
    if person.is_pupil:
        entries = PUPIL_MENU
    elif in_channel:
        entries = CHANNEL_MENU
    else:
        entries = STAFF_MENU
    return [(verb, label) for verb, label in entries if may(person, verb)]


def welcome_card(
    person: Person, *, school_name: str, in_channel: bool, note: str | None = None
) -> dict[str, Any]:
    """The welcome card: a greeting and one button per action the person's role allows."""
    actions = [execute(label, verb) for verb, label in menu_verbs(person, in_channel=in_channel)]
    body = []
    if note:
        body.append(para(note, subtle=True))
    if person.is_pupil:
        body += [
            heading(f"Hi {_first_name(person)}"),
            para(
                "You can tell us if something online worried you. "
                "The people who keep pupils safe at school will read it."
            ),
        ]
    else:
        body += [
            heading(f"Online safety at {safe_text(school_name, limit=80)}"),
            para(f"Hello {_first_name(person)}. What do you need to do?"),
            para(EMERGENCY, subtle=True),
        ]
        if in_channel:
            body.append(para("To report a concern, message me in a private chat.", subtle=True))
    return card(body, actions)


def channel_greeting_card(school_name: str) -> dict[str, Any]:
    """Posted once when the bot joins a team channel: brief, for everyone, no one's name."""
    return card(
        [
            heading(f"Online safety at {safe_text(school_name, limit=80)}"),
            para(
                "Cards about concerns and filter requests for this team appear here. "
                "Each shows only what everyone here may see; Open shows the rest to those "
                "who handle it."
            ),
            para("To report a concern, message me in a private chat.", subtle=True),
        ],
        [execute(label, verb) for verb, label in CHANNEL_MENU],
    )


def help_card(
    person: Person,
    *,
    school_name: str,
    in_channel: bool = False,
    verbs: Sequence[Verb] | None = None,
) -> dict[str, Any]:
    """Help in plain words, for pupils and for staff: every command the person may type and
    every button they may use (``commands_for``, over the router's own ``verbs``)."""
    commands = commands_for(person, verbs)
    buttons = [
        execute(label, verb)
        for verb, label in menu_verbs(person, in_channel=in_channel)
        if verb is not Verb.HELP
    ]
    if person.is_pupil:
        body = [
            heading("Getting help"),
            para("If you are in danger now, tell an adult near you or call 999."),
            para("You can talk to any adult you trust at school."),
            *pupil_help_links(),
            para("Things you can do here. Press a button, or type the words:", emphasis=True),
            *(para(f"{c.label}: {c.does} Type “{c.typed}”.") for c in commands),
            para("Is a message in Teams a worry? Press … on it. Then pick Report this message."),
            para("You can also write to me in your own words."),
        ]
        return card(body, [*buttons, menu_button("Back")])
    body = [
        heading("How this bot works"),
        para(EMERGENCY, emphasis=True),
        para("What you can do. Press a button, or type the words:", emphasis=True),
        *(para(f"**{c.label}**: {c.does} Type “{c.typed}”.") for c in commands),
        para(MESSAGE_ACTION_HELP),
        para(
            "Anything else you type that may be a concern, I offer to send as a report.",
            subtle=True,
        ),
    ]
    if in_channel:
        body.append(para("Anything private I send to your private chat.", subtle=True))
    body.append(para(f"School: {safe_text(school_name, limit=80)}", subtle=True))
    return card(body, [*buttons, menu_button()])


def no_access_card(contact: str) -> dict[str, Any]:
    """For someone the directory does not know or who is in no configured group."""
    return card(
        [
            heading("You can't use this bot yet"),
            para(
                "Your account is not set up for the online safety bot. "
                f"Please contact {safe_text(contact, limit=120)}."
            ),
            para(
                "If a child is in immediate danger, call 999. "
                "If you are worried about a child, speak to the DSL now."
            ),
        ]
    )


def not_allowed_card(person: Person) -> dict[str, Any]:
    """A kind refusal: this action is not one the person's role allows."""
    if person.is_pupil:
        return card(
            [
                heading("Sorry, you can't do that here"),
                para("You can tell us about a worry, see your reports or get help."),
            ],
            [menu_button("Back")],
        )
    return card(
        [
            heading("That isn't available to you"),
            para("Your role does not include this action, so nothing was changed."),
        ],
        [menu_button()],
    )


def not_ready_card(person: Person) -> dict[str, Any]:
    """An action this installation does not offer yet: say what to do instead, safely."""
    if person.is_pupil:
        return card(
            [
                heading("This isn't working yet"),
                para("Please tell an adult you trust at school about your worry today."),
                para("If you are in danger now, tell an adult near you or call 999."),
            ],
            [execute("Get help", Verb.HELP)],
        )
    return card(
        [
            heading("Not switched on yet"),
            para("This part of the bot is not switched on in this installation yet."),
            para(
                "If you are worried about a child, tell the DSL now in person or by phone. "
                "If a child is in immediate danger, call 999."
            ),
        ],
        [menu_button()],
    )


def private_chat_only_card() -> dict[str, Any]:
    """Said in a group chat or channel: reveals nothing, points to the private chat."""
    return card([para("Message me in a private chat to get started.")])
