"""The first card of "Report this message" (issue 18): a Teams message action opens it in a
dialog, with the message's words, who sent it, when and a link carried to the concern form.

Staff choose what it is about here; "Next" opens the usual concern form with those filled in
(the same form, validation and routing as in the private chat). Pictures and files in the
message are never opened, saved or shown (the imagery rule), and the card says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from microsoft_teams.cards import CardElement, Container

from cards.common import card, execute, heading, para, safe_text
from cards.concern import EMERGENCY, IMAGERY_RULE, category_input
from policy.actions import Verb
from policy.school import SchoolPolicy

STAFF_TITLE = "Report an online-safety concern"
PUPIL_TITLE = "Tell a trusted adult about this message"
NOT_SAVED = "Pictures and files in the message are not saved or shown here."
HAD_FILES = "This message has a picture or a file. It was not opened or saved."


def report_message_card(
    school: SchoolPolicy, shown: str, prefill: Mapping[str, str], *, files: int
) -> dict[str, Any]:
    """Step 1 of reporting a message: what it is about, with the message shown.

    Args:
        school: The school's settings (its categories).
        shown: The message's words, as text (shown cut short; all of them go to the form).
        prefill: Form fields filled in from the message (carried by the "Next" button).
        files: How many pictures or files the message had (never opened).
    """
    rule: list[CardElement] = [para(NOT_SAVED, emphasis=True), para(IMAGERY_RULE)]
    if files:
        rule.insert(0, para(HAD_FILES, emphasis=True))
    body: list[CardElement] = [
        heading(STAFF_TITLE),
        para(EMERGENCY, emphasis=True),
        Container(style="attention", items=rule),
        para("The message", emphasis=True),
        para(safe_text(shown) or "(no words)", subtle=True),
        # Every choice in view: a dialog has the room (and the Agents Playground's dialog
        # would otherwise keep this list in the next card's first drop-down).
        category_input(school, style="expanded"),
        para(
            "Next you will see the report form with the message's words, who sent it, when, "
            "and a link to it. Nothing is sent until you press Send.",
            subtle=True,
        ),
    ]
    carried: dict[str, str | int] = {**prefill, "step": "details"}
    return card(body, [execute("Next", Verb.REPORT_CONCERN, ids=carried)])
