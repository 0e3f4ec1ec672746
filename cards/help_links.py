"""Where to get help now: 999, Childline and CEOP, as words and as links (issue 18).

Shared by every card that must never leave a child without a way to get help: the replies to
what a pupil types, and (through the same words) the worry and help cards. The phone numbers
are ``tel:`` links, so a tap on a phone calls them; the words say the numbers too, for a
desktop with no phone.
"""

from __future__ import annotations

from microsoft_teams.cards import ActionSet, CardElement, Container, OpenUrlAction

from cards.common import para

#: The national services (policy 003, "National Links").
EMERGENCY_TEL = "tel:999"
CHILDLINE_TEL = "tel:08001111"
CHILDLINE_URL = "https://www.childline.org.uk/"
CEOP_URL = "https://www.ceop.police.uk/Safety-Centre/"
#: Childline and the IWF's tool for an under-18 to get a nude image of themselves taken down.
REPORT_REMOVE_URL = (
    "https://www.childline.org.uk/info-advice/bullying-abuse-safety/online-mobile-safety/"
    "report-remove/"
)
REPORT_REMOVE_LINE = (
    "Is a nude photo or video of you online? Childline and the IWF can help take it down. "
    "Use Report Remove to ask them."
)

GET_HELP_NOW = "Get help now"
#: One short line each, at a Year 5 reading level (``tests/unit/test_pupil_readability.py``).
HELP_LINES: tuple[str, ...] = (
    "If you are in danger now, call 999.",
    "Childline is free. Call 0800 1111 or go to childline.org.uk.",
    "Worried about someone you talk to online? Use Click CEOP at ceop.police.uk.",
)


def help_link_actions() -> list[OpenUrlAction]:
    """The buttons: call 999, call Childline, Childline online, CEOP."""
    return [
        OpenUrlAction(title="Call 999", url=EMERGENCY_TEL),
        OpenUrlAction(title="Call Childline 0800 1111", url=CHILDLINE_TEL),
        OpenUrlAction(title="Go to Childline", url=CHILDLINE_URL),
        OpenUrlAction(title="Report to CEOP", url=CEOP_URL),
    ]


def pupil_help_links() -> list[CardElement]:
    """Every national help line a pupil's help and worry cards show, each with its link or
    ``tel:`` action (Report Remove included): the words, then the buttons."""
    return [
        *(para(line) for line in (*HELP_LINES[1:], REPORT_REMOVE_LINE)),
        ActionSet(
            actions=[
                *help_link_actions(),
                OpenUrlAction(title="Get a photo taken down", url=REPORT_REMOVE_URL),
            ]
        ),
    ]


def get_help_now() -> list[CardElement]:
    """The "Get help now" block for a card body: the words, then the link buttons."""
    return [
        Container(
            style="attention",
            items=[para(GET_HELP_NOW, emphasis=True), *(para(line) for line in HELP_LINES)],
        ),
        ActionSet(actions=list(help_link_actions())),
    ]
