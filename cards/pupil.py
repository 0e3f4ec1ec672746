"""Cards a pupil sees when telling us about a worry, and the DSL channel card for pupil reports.

Rules these cards carry (domain brief, "Rules for concern reports"; pupil report issue):

- Open questions only, never leading ones ("Do not ask leading questions", 004 flowchart): what
  kind of thing happened (a fixed list ending in "Something else"), their own words (optional),
  whether they are safe now, and who they would like to talk to (optional).
- Never ask for pictures, and say so plainly (000 §12, 001 §9.1, 003): "Please don't send
  pictures. An adult will talk to you."
- Never promise secrecy: say who will read it, "the people who keep pupils safe at school".
- Signposting (003 "National Links"): 999 in danger, a trusted adult, Childline, Report Remove
  (Childline and the IWF) and Click CEOP.
- Short, warm, plain words for ages 7–16: every sentence here is held to a UK Year 5 reading level
  by ``tests/unit/test_pupil_readability.py``. The emoji in the choices are pictures-as-words for
  younger readers; the readability check ignores them.

The DSL channel card for a pupil report is the concern channel card (reference, "Pupil report",
year group, urgency; never the pupil's name or words) plus, when the same pupil sent more reports
soon after, one line "N more reports from this pupil" and an Open button for each of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    Container,
)

from cards.common import (
    FormInput,
    attention,
    card,
    entered_box,
    execute,
    heading,
    menu_button,
    para,
    required_choice,
    show_card,
    with_problems,
)
from cards.concern import channel_card
from cards.help_links import pupil_help_links
from policy.actions import Verb
from policy.categories import Category
from policy.concerns import Concern, RiskAnswer
from policy.school import SchoolPolicy

#: What kind of thing happened: value -> the words on the card (a picture, then plain words).
#: Open, non-leading choices; "Something else" is always there.
WORRY_KINDS: dict[str, tuple[str, str]] = {
    "unkind": ("😢", "Someone was mean to me online"),
    "upset": ("😟", "I saw something that upset me"),
    "stranger": ("👤", "Someone I don't know got in touch with me"),
    "asked": ("✋", "Someone asked me for photos, or to do things I didn't want to"),
    "other": ("💬", "Something else"),
}
#: "Are you safe right now?" value -> words. The dialog turns the answer round into "is a child
#: at immediate risk?": "no" (not safe) is a yes, "not_sure" stays not sure.
SAFE_CHOICES: dict[str, str] = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}
#: Longest text accepted in each free-text field.
LIMITS: dict[str, int] = {"words": 2000, "adult": 100}

WHO_READS_IT = "The people who keep pupils safe at school will read it."
NO_PICTURES = "Please don't send pictures. An adult will talk to you."
IN_DANGER = "If you are in danger now, tell an adult near you or call 999."
#: Said when a pupil sends a file or picture anyway (it is never downloaded or kept).
ATTACHMENT_NOT_SAVED = (
    "I didn't save your picture. You don't need to send pictures. An adult will talk to you."
)
#: Said when the report could not be saved: it has NOT been sent, so tell them what to do now.
NOT_SENT = "Sorry, your worry was not sent. Please try again in a minute."

#: Problems, in kind words, by field.
PROBLEMS: dict[str, str] = {
    "kind": "Please pick the one that fits best.",
    "safe": "Please tell us if you are safe.",
    "words": f"Please write less than {LIMITS['words']} letters.",
    "adult": "Please write a shorter name.",
}

SIGNPOSTS: tuple[str, ...] = (
    "You can talk to any adult you trust at school.",
    "Childline is free. Call 0800 1111 or go to childline.org.uk.",
    "Is a nude photo or video of you online? Childline and the IWF can help take it down. "
    "Use Report Remove to ask them.",
    "Worried about someone you talk to online? Use Click CEOP at ceop.police.uk.",
)


def kind_words(kind: str) -> str:
    """The words of a kind-of-thing choice, without its picture (for the DSL's record)."""
    return WORRY_KINDS[kind][1]


def worry_card(
    form_id: str,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The pupil's worry form: four open questions, no pictures, and who will read it.

    Args:
        form_id: A new random id per form, sent back with the answers so that a double tap or
            a Teams retry makes one report.
        values: What the pupil already wrote (when the card is shown again).
        problems: Kind words beside the questions that need another look, by field id; the key
            ``"form"`` shows its words at the top (for example when nothing could be saved).
    """
    values = values or {}
    problems = problems or {}
    body: list[CardElement] = [heading("Tell us about a worry")]
    if problems:
        body.append(attention(problems.get("form", "Please look at the part marked below.")))
        body.append(para("Nothing has been sent yet.", emphasis=True))
    body += [
        para("You can tell us if something online worried you."),
        para(WHO_READS_IT),
        *with_problems(_worry_questions(values), problems),
        para(NO_PICTURES, emphasis=True),
        para(IN_DANGER, subtle=True),
    ]
    send = execute("Send", Verb.WORRY_SUBMIT, style="positive", form=form_id)
    return card(body, [send, menu_button("Back")])


def _worry_questions(values: Mapping[str, str]) -> list[FormInput]:
    """The four questions: what kind of thing, what happened, are you safe, who to talk to."""
    return [
        required_choice(
            values,
            "kind",
            "What kind of thing happened?",
            [
                Choice(title=f"{picture} {words}", value=value)
                for value, (picture, words) in WORRY_KINDS.items()
            ],
            error=PROBLEMS["kind"],
        ),
        entered_box(
            values,
            "words",
            "Tell us what happened, in your own words",
            limit=LIMITS["words"],
            placeholder="You can skip this if you want.",
            multiline=True,
        ),
        required_choice(
            values,
            "safe",
            "Are you safe right now?",
            [Choice(title=words, value=value) for value, words in SAFE_CHOICES.items()],
            error=PROBLEMS["safe"],
        ),
        entered_box(
            values,
            "adult",
            "Who would you like to talk to?",
            limit=LIMITS["adult"],
            placeholder="The name of an adult you trust. You can skip this.",
        ),
    ]


def worry_sent_card(risk: RiskAnswer, local: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """What the pupil sees after sending: thank you, it was sent, an adult will talk to them,
    what to do in danger, and where else to get help. Says nothing about what anyone will do.

    Args:
        risk: The "is a child at risk" answer made from "Are you safe right now?" (``YES`` when
            they said they are not safe, ``NOT_SURE`` when they were not sure).
        local: The school's own signposts for pupils (name, contact), after the national ones.
    """
    body: list[CardElement] = [
        heading("Thank you for telling us"),
        para("Your worry has been sent."),
        para("An adult will talk to you soon."),
    ]
    if risk is not RiskAnswer.NO:
        said = (
            "You said you are not safe right now."
            if risk is RiskAnswer.YES
            else "You said you are not sure if you are safe."
        )
        body.append(para(f"{said} The people who keep pupils safe at school have been told now."))
    else:
        body.append(para(WHO_READS_IT))
    body += [
        Container(style="attention", items=[para(IN_DANGER, emphasis=True)]),
        para("You can get more help here too.", emphasis=True),
        para(SIGNPOSTS[0]),
        *pupil_help_links(),
        *(para(f"{name}: {contact}") for name, contact in local),
    ]
    return card(
        body,
        [
            execute("See my reports", Verb.MY_REPORTS),
            execute("Get help", Verb.HELP),
            menu_button("Back"),
        ],
    )


def more_reports_line(count: int) -> str:
    """``"3 more reports from this pupil"`` (for the DSL channel card)."""
    return f"{count} more report{'' if count == 1 else 's'} from this pupil"


def pupil_channel_card(
    concern: Concern,
    category: Category,
    school: SchoolPolicy,
    *,
    version: int,
    others: Sequence[tuple[str, int, bool]] = (),
) -> dict[str, Any]:
    """The DSL channel card for a pupil report, with the same pupil's later reports grouped on it.

    Visible to the whole channel: only references, category, urgency, status and year group,
    never the pupil's name or words, in the card or its data (design note, "Teams facts").

    Args:
        concern: The first report of the group (its card is the one in the channel).
        category: Its category.
        school: The school's settings (time zone).
        version: The first report's record version (for its buttons).
        others: ``(reference, record version, urgent)`` of each later report grouped on this
            card, oldest first; each gets an Open button (the DSL reads it on opening).
    """
    result = channel_card(concern, category, school, version=version)
    if not others:
        return result
    any_urgent = any(urgent for _, _, urgent in others)
    line = more_reports_line(len(others)) + (" (some URGENT)" if any_urgent else "")
    extra = card([para(line, emphasis=True)])["body"]
    body: list[dict[str, Any]] = result["body"]
    at = next((i for i, e in enumerate(body) if e.get("type") == "FactSet"), len(body))
    body[at:at] = extra
    buttons: list[CardElement] = [
        para("Each report has its own reference. Open one to read it.", subtle=True),
        *(
            ActionSet(
                actions=[
                    execute(
                        f"Open {ref}{' (URGENT)' if urgent else ''}",
                        Verb.CONCERN_OPEN,
                        ids={"ref": ref, "ver": ver},
                    )
                ]
            )
            for ref, ver, urgent in others
        ),
    ]
    show = show_card(f"The other {len(others)}", buttons).model_dump(
        exclude_none=True, by_alias=True
    )
    result["actions"] = [*result.get("actions", []), show]
    return result
