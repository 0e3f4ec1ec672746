"""Replies to what a person types that is not a command (issue 18: nothing typed is ignored).

- A pupil whose words show risk: their words have gone to the people who keep pupils safe,
  what happens next, that more they type is added, and "Get help now".
- Any other pupil message: a warm short reply, "Get help now", and "Send this to a trusted
  adult" with their words already in the box (the button opens the worry card with them).
- Staff, more than a few words: "Do you want to report this as a concern?", with the words in
  the box (cut to the concern form's limit, and said so), a category to choose, "Report this as
  a concern" (the concern form, filled in) and "No, show the menu".

The typed words appear only in the reply to the person who typed them, in their private chat.
Pupil sentences are held to a Year 5 reading level (``tests/unit/test_typed_cards.py``).
"""

from __future__ import annotations

from typing import Any

from microsoft_teams.cards import CardElement, TextInput

from cards.common import attention, card, execute, heading, menu_button, para
from cards.concern import EMERGENCY, LIMITS, category_input
from cards.help_links import get_help_now
from cards.pupil import LIMITS as PUPIL_LIMITS
from cards.pupil import WHO_READS_IT
from policy.actions import Verb
from policy.school import SchoolPolicy

#: The longest staff text put into the concern form ("What happened?").
STAFF_LIMIT = LIMITS["what_happened"]
#: The longest pupil text put into the worry card ("Tell us what happened").
PUPIL_LIMIT = PUPIL_LIMITS["words"]
#: Said in a channel or group chat: nothing typed there is repeated or kept.
PRIVATE_CHAT_PLEASE = (
    "To report a concern, message me in a private chat. "
    "I haven't kept or repeated what you typed here."
)


def disclosure_sent_card(*, added: bool) -> dict[str, Any]:
    """What a pupil sees when what they typed showed risk and went to the DSL as a report.

    Args:
        added: True when these words were added to the report their earlier words made.
    """
    body: list[CardElement] = [
        heading("Thank you for telling me"),
        para(
            "I added this to your message. The adults who keep you safe can read it now."
            if added
            else "I sent your message to the adults who keep pupils safe at school. "
            "They have it now."
        ),
        para("What happens next: an adult will talk to you soon."),
        para("You can write more here. I will add it to your message."),
        *get_help_now(),
    ]
    return card(body, [execute("See my reports", Verb.MY_REPORTS), menu_button("Back")])


def pupil_typed_card(words: str) -> dict[str, Any]:
    """A warm reply to a pupil's message that showed no risk, with their words ready to send.

    Nothing is sent until they press "Send this to a trusted adult", which opens the worry card
    with the words in it (they can change them, and say if they are safe).
    """
    body: list[CardElement] = [
        heading("Thanks for your message"),
        para("I am a bot, so I can't chat. But a trusted adult at school can help you."),
        *get_help_now(),
        para("Do you want to tell a trusted adult?", emphasis=True),
        TextInput(
            id="words",
            label="Your message",
            is_multiline=True,
            max_length=PUPIL_LIMIT,
            value=words[:PUPIL_LIMIT] or None,
        ),
        para(WHO_READS_IT, subtle=True),
        para("Nothing is sent until you press it.", subtle=True),
    ]
    send = execute("Send this to a trusted adult", Verb.REPORT_WORRY, style="positive")
    return card(body, [send, menu_button("Back", send_inputs=False)])


def concern_offer_card(
    school: SchoolPolicy, text: str, *, risky: bool, typed_length: int
) -> dict[str, Any]:
    """ "Do you want to report this as a concern?", with ``text`` in the box.

    Args:
        school: The school's settings (its categories).
        text: What they typed, already cut to ``STAFF_LIMIT``.
        risky: The words show risk to a child: lead with the 999 line.
        typed_length: How many characters they typed (to say when it was cut).
    """
    body: list[CardElement] = []
    if risky:
        body.append(attention(EMERGENCY))
    body += [
        heading("Do you want to report this as a concern?"),
        para(
            "Nothing has been sent or saved yet. Choose what it is about, check the words, "
            "then press Report this as a concern: you will see the full form before it goes "
            "to the DSL."
        ),
    ]
    if not risky:
        body.append(para(EMERGENCY, subtle=True))
    if typed_length > STAFF_LIMIT:
        body.append(
            attention(
                f"Your message was {typed_length:,} characters. The report form holds "
                f"{STAFF_LIMIT:,}, so only the first {STAFF_LIMIT:,} are in the box below. "
                "Add anything important from the rest before you send it."
            )
        )
    body += [
        category_input(school),
        TextInput(
            id="what_happened",
            label="What happened?",
            is_multiline=True,
            max_length=STAFF_LIMIT,
            value=text[:STAFF_LIMIT] or None,
        ),
    ]
    report = execute(
        "Report this as a concern", Verb.REPORT_CONCERN, style="positive", step="details"
    )
    return card(body, [report, menu_button("No, show the menu", send_inputs=False)])
