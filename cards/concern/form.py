"""Reporting a concern: the category picker, the form, "received" and "My reports"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from microsoft_teams.cards import (
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    TextBlock,
    TextInput,
    ToggleInput,
)

from cards.common import (
    FormInput,
    attention,
    card,
    check_fields,
    date_box,
    execute,
    facts,
    heading,
    menu_button,
    para,
    required_choice,
    with_problems,
)
from policy.actions import Verb
from policy.categories import Category, Group
from policy.concerns import (
    Concern,
    ConcernStatus,
    RiskAnswer,
)
from policy.school import SchoolPolicy

IMAGERY_RULE = (
    "Do not view, copy, screenshot, forward or save the images. Do not ask a child to send "
    "them. Secure the device (switch it off or put it somewhere safe) and leave the images on it."
)


EMERGENCY = "If a child is in immediate danger, call 999 now."


NO_FILES = "Don't attach files or pictures: describe what you saw in words."


GROUP_NAMES = {
    Group.CONTENT: "Content",
    Group.CONTACT: "Contact",
    Group.CONDUCT: "Conduct",
    Group.COMMERCE: "Commerce",
    Group.OTHER: "Other",
}


STATUS_WORDS = {
    ConcernStatus.NEW: "New: not yet acknowledged",
    ConcernStatus.ACKNOWLEDGED: "Acknowledged",
    ConcernStatus.CLOSED: "Closed",
}


#: Longest text accepted in each free-text field of the report form.
LIMITS = {
    "involved": 500,
    "what_happened": 4000,
    "where": 200,
    "url": 2000,
    "actions_taken": 1000,
    "device_group": 100,
    "note": 1000,
    "message": 500,
    "reason": 1000,
}


def category_label(category: Category) -> str:
    """The category with its KCSIE group, as offered on the form."""
    return f"{GROUP_NAMES[category.group]}: {category.label}"


def category_input(
    school: SchoolPolicy, *, style: Literal["compact", "expanded"] = "compact"
) -> ChoiceSetInput:
    """The "What is it about?" choice of the school's categories (a drop-down, or every choice
    in view with ``style="expanded"``)."""
    return ChoiceSetInput(
        id="category",
        label="What is it about?",
        choices=[Choice(title=category_label(c), value=c.id) for c in school.categories],
        is_required=True,
        error_message="Choose what the concern is about.",
        style=style,
    )


def _text_input(
    field_id: str,
    label: str,
    values: Mapping[str, str],
    *,
    required: bool = False,
    multiline: bool = False,
    placeholder: str | None = None,
    error: str | None = None,
) -> TextInput:
    box = TextInput(
        id=field_id,
        label=label,
        is_required=required,
        is_multiline=multiline,
        max_length=LIMITS.get(field_id),
        value=values.get(field_id) or None,
        placeholder=placeholder,
    )
    if required:
        box.error_message = error or f"Fill in: {label.rstrip('?')}."
    return box


def category_picker(
    school: SchoolPolicy, *, problem: str | None = None, risk: str | None = None
) -> dict[str, Any]:
    """Step 1 of a staff report: what kind of concern it is, and whether a child is at risk."""
    body: list[CardElement] = [
        heading("Report an online-safety concern"),
        para(EMERGENCY, emphasis=True),
        category_input(school),
    ]
    if problem:
        body.append(attention(problem))
    body.append(para("You can describe it in your own words on the next card.", subtle=True))
    return card(body, [execute("Next", Verb.REPORT_CONCERN, step="details"), menu_button("Cancel")])


def concern_form(
    school: SchoolPolicy,
    category: Category,
    *,
    form_id: str,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Step 2: the report itself, tailored to the category, with any problems beside fields."""
    values = values or {}
    problems = problems or {}
    body = [
        *_form_top(category),
        *check_fields(problems),
        *with_problems(_report_inputs(school, category, values), problems),
        *_about_staff(category, values),
        *with_problems([_actions_taken(values)], problems),
        para(NO_FILES, subtle=True),
    ]
    submit = execute(
        "Send to the DSL" if category.route.value != "headteacher" else "Send privately",
        Verb.CONCERN_SUBMIT,
        style="positive",
        category=category.id,
        form=form_id,
    )
    return card(body, [submit, execute("Start again", Verb.REPORT_CONCERN)])


def _form_top(category: Category) -> list[CardElement]:
    """The form's title, the 999 line and, for a category about images, the imagery rule."""
    top: list[CardElement] = [heading(f"Report: {category.label}"), para(EMERGENCY, emphasis=True)]
    if category.images_rule:
        top.append(
            Container(
                style="attention",
                items=[para("Images of children: the rule", emphasis=True), para(IMAGERY_RULE)],
            )
        )
    return top


#: The answers to "Is a child at immediate risk?".
RISK_CHOICES = (
    Choice(title="Yes: a child may be in danger now", value=RiskAnswer.YES.value),
    Choice(title="No", value=RiskAnswer.NO.value),
)


def _report_inputs(
    school: SchoolPolicy, category: Category, values: Mapping[str, str]
) -> list[FormInput]:
    """The report's questions: risk, who, year, what, where, web address, when (and which
    devices, for a filtering breach)."""
    inputs: list[FormInput] = [
        required_choice(
            values,
            "immediate_risk",
            "Is a child at immediate risk?",
            RISK_CHOICES,
            error="Say whether a child is at immediate risk.",
        ),
        _text_input(
            "involved",
            "Who is involved?",
            values,
            required=True,
            error="Say who is involved.",
            placeholder="Pupil name(s), year or form. Say if you are not sure.",
        ),
        required_choice(
            values,
            "year_group",
            "Year group",
            [Choice(title=y, value=y) for y in school.year_groups],
            error="Choose a year group, or Not known.",
            style="compact",
        ),
        *_where_and_what(values),
        date_box(
            values,
            "happened_on",
            "When did it happen (or when did you find out)?",
            error="Give the date.",
        ),
    ]
    if category.id == "filtering_breach":
        inputs.append(_text_input("device_group", "Which device or device group?", values))
    return inputs


def _where_and_what(values: Mapping[str, str]) -> list[FormInput]:
    """What happened, where, and the web address if there is one."""
    return [
        _text_input(
            "what_happened",
            "What happened?",
            values,
            required=True,
            error="Describe what happened.",
            multiline=True,
            placeholder="The facts, in your own words. Don't investigate or ask leading questions.",
        ),
        _text_input(
            "where",
            "Where? (app, game, website or device)",
            values,
            required=True,
            error="Say where it happened: the app, game, website or device.",
        ),
        _text_input(
            "url",
            "Web address, if there is one",
            values,
            placeholder="example.com/page (just type it: don't visit it again)",
        ),
    ]


def _about_staff(category: Category, values: Mapping[str, str]) -> list[CardElement]:
    """For a category routed to the headteacher: "about the headteacher" and where it goes."""
    if category.route.value != "headteacher":
        return []
    return [
        ToggleInput(
            id="about_headteacher",
            title="This concern is about the headteacher",
            value="true" if values.get("about_headteacher") == "true" else "false",
        ),
        para(
            "Concerns about staff go privately to the headteacher, or to the chair of "
            "governors if it is about the headteacher. They are never posted in a channel.",
            subtle=True,
        ),
    ]


def _actions_taken(values: Mapping[str, str]) -> TextInput:
    """The "What has been done already?" box."""
    return _text_input(
        "actions_taken",
        "What has been done already?",
        values,
        multiline=True,
        placeholder="For example: device secured, pupil is with a member of staff.",
    )


def received_card(
    concern: Concern,
    category: Category,
    *,
    recipients: str,
    signposts: Sequence[tuple[str, str]] = (),
    on_call: bool = False,
) -> dict[str, Any]:
    """The reporter's confirmation: the reference, what happens next and who it went to
    (``on_call``: out of hours, an urgent concern went first to whoever is on call)."""
    alerted = "the person on call" if on_call else "the DSL"
    body: list[CardElement] = [
        heading(f"Received: {concern.ref}"),
        para(f"Your report about {category.label.lower()} has been saved and sent."),
    ]
    if concern.immediate_risk is RiskAnswer.YES:
        body.append(
            Container(
                style="attention",
                items=[
                    para("Call 999 now if a child is in immediate danger.", emphasis=True),
                    para(f"{alerted[:1].upper()}{alerted[1:]} has been alerted."),
                ],
            )
        )
    elif concern.urgent:
        body.append(
            para(
                "This is marked urgent: "
                + ("the person on call" if on_call else "the DSL and deputies")
                + (" has" if on_call else " have")
                + " been alerted.",
                emphasis=True,
            )
        )
    if category.images_rule:
        body.append(para(IMAGERY_RULE))
    body += [
        facts(
            [
                ("Reference", concern.ref),
                ("Sent to", recipients),
            ]
        ),
        para(
            "What happens next: they will acknowledge it and decide what to do. Don't "
            "investigate further yourself. You'll get a message here when it is closed.",
        ),
        para("Keep the reference if you need to add anything: tell the DSL directly.", subtle=True),
    ]
    if signposts:  # the school's own contacts (LADO, MASH, helplines), from its file
        body += [para("Further help", emphasis=True), facts(list(signposts))]
    return card(body, [execute("My reports", Verb.MY_REPORTS), menu_button()])


def my_reports_card(
    items: Sequence[tuple[str, str, str, str]], *, pupil: bool = False
) -> dict[str, Any]:
    """The sender's own reports (and a teacher's filter requests): (reference, what, when,
    status words), newest first; each one stacked, so it reads on a phone too."""
    title = heading("Your reports" if pupil else "Your reports and requests")
    if not items:
        none = "You haven't sent any reports yet." if pupil else "You haven't sent any yet."
        return card([title, para(none)], [menu_button("Back")])
    body: list[CardElement] = [title]
    for ref, what, when, status in items[:30]:
        body.append(
            Container(
                separator=True,
                items=[
                    TextBlock(text=f"{what}: {status}", weight="Bolder", wrap=True),
                    TextBlock(
                        text=f"{ref}, sent {when}", is_subtle=True, wrap=True, spacing="None"
                    ),
                ],
            )
        )
    if len(items) > 30:
        body.append(para(f"And {len(items) - 30} older ones.", subtle=True))
    return card(body, [menu_button("Back")])
