"""Cards for staff concern reports and for the people who handle them.

What each audience sees is decided here, by design:
- the DSL channel card shows only the reference, category, urgency, status, year group and who
  is handling it: never a child's name, the description or the URL, in the card or its data;
- the IT channel card for a filtering breach shows the site, time and device group only;
- the full detail appears only to an authorised viewer who clicks Open (the invoke response
  replaces the card for that viewer alone) or in a 1:1 card to the right person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    DateInput,
    ExecuteAction,
    TextBlock,
    TextInput,
    ToggleInput,
)

from cards.closure import closure_actions, proposal_box, proposed_words
from cards.common import (
    FormInput,
    attention,
    card,
    day_given,
    execute,
    facts,
    heading,
    menu_button,
    note_box,
    para,
    required_choice,
    safe_text,
    school_time,
    show_card,
    with_problems,
)
from cards.handoff import handoff_actions, handoff_block
from cards.on_call import tried_line
from cards.pupil_feedback import feedback_button
from policy.actions import Verb
from policy.categories import DEFAULT_CATEGORIES, Category, Group, Route
from policy.concerns import (
    ACTIONS,
    OUTCOMES,
    REFERRALS,
    UKCIS_CRITERIA,
    Concern,
    ConcernStatus,
    RiskAnswer,
    checklist,
    needs_assessment,
)
from policy.concerns import Source as _Source
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
    choices = [Choice(title=category_label(c), value=c.id) for c in school.categories]
    body: list[CardElement] = [
        heading("Report an online-safety concern"),
        para(EMERGENCY, emphasis=True),
        ChoiceSetInput(
            id="category",
            label="What is it about?",
            choices=choices,
            is_required=True,
            error_message="Choose what the concern is about.",
            style="compact",
        ),
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
    body: list[CardElement] = [
        heading(f"Report: {category.label}"),
        para(EMERGENCY, emphasis=True),
    ]
    if category.images_rule:
        body.append(
            Container(
                style="attention",
                items=[para("Images of children: the rule", emphasis=True), para(IMAGERY_RULE)],
            )
        )
    if problems:
        body.append(attention("Please check the fields marked below. Nothing has been sent yet."))
    risk_choices = [
        Choice(title="Yes: a child may be in danger now", value=RiskAnswer.YES.value),
        Choice(title="No", value=RiskAnswer.NO.value),
    ]
    inputs: list[FormInput] = [
        required_choice(
            values,
            "immediate_risk",
            "Is a child at immediate risk?",
            risk_choices,
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
        DateInput(
            id="happened_on",
            label="When did it happen (or when did you find out)?",
            is_required=True,
            error_message="Give the date.",
            value=values.get("happened_on") or None,
        ),
    ]
    if category.id == "filtering_breach":
        inputs.append(_text_input("device_group", "Which device or device group?", values))
    body += with_problems(inputs, problems)
    if category.route.value == "headteacher":
        body.append(
            ToggleInput(
                id="about_headteacher",
                title="This concern is about the headteacher",
                value="true" if values.get("about_headteacher") == "true" else "false",
            )
        )
        body.append(
            para(
                "Concerns about staff go privately to the headteacher, or to the chair of "
                "governors if it is about the headteacher. They are never posted in a channel.",
                subtle=True,
            )
        )
    actions_taken = _text_input(
        "actions_taken",
        "What has been done already?",
        values,
        multiline=True,
        placeholder="For example: device secured, pupil is with a member of staff.",
    )
    body += [*with_problems([actions_taken], problems), para(NO_FILES, subtle=True)]
    submit = execute(
        "Send to the DSL" if category.route.value != "headteacher" else "Send privately",
        Verb.CONCERN_SUBMIT,
        style="positive",
        category=category.id,
        form=form_id,
    )
    return card(body, [submit, execute("Start again", Verb.REPORT_CONCERN)])


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
    body: list[CardElement] = []
    if note:
        body.append(para(note, subtle=True))
    body += [heading(title), facts(_channel_facts(concern, category, school))]
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


def detail_card(
    concern: Concern,
    category: Category,
    school: SchoolPolicy,
    *,
    version: int,
    problem: str | None = None,
    note: str | None = None,
    in_channel: bool = False,
    viewer_id: str | None = None,
) -> dict[str, Any]:
    """The full concern for an authorised handler, with everything they can do next.

    ``in_channel``: shown to one handler over the channel card; it stays open for them until
    they choose "Close details" (which shows them the channel card again). ``viewer_id``: who
    is looking (the proposer of a closure is not offered "Confirm closure").
    """
    ids: dict[str, str | int] = {"ref": concern.ref, "ver": version, "view": "detail"}
    body: list[CardElement] = []
    if note:
        body.append(para(note, subtle=True))
    if problem:
        body.append(attention(problem))
    title = heading(f"{'URGENT: ' if concern.urgent else ''}{concern.ref}: {category.label}")
    body += [
        title,
        facts(
            [
                *_channel_facts(concern, category, school),
                ("Reported by", safe_text(concern.reporter_name, limit=80)),
                (
                    "Immediate risk",
                    {"yes": "Yes", "no": "No", "not_sure": "Not sure"}[
                        concern.immediate_risk.value
                    ],
                ),
            ]
        ),
        para("Who is involved", emphasis=True),
        para(safe_text(concern.involved or "Not given", limit=LIMITS["involved"])),
        para("What happened", emphasis=True),
        para(safe_text(concern.what_happened or "Not given", limit=LIMITS["what_happened"])),
        facts(
            [
                ("Where", safe_text(concern.where or "Not given", limit=200)),
                ("Web address", safe_text(concern.url or "None given", limit=300)),
                ("When it happened", day_given(concern.happened_on)),
                (
                    "Done already",
                    safe_text(
                        concern.actions_taken or "Nothing recorded", limit=LIMITS["actions_taken"]
                    ),
                ),
            ]
            + (
                [("Device or device group", safe_text(concern.device_group, limit=100))]
                if concern.device_group
                else []
            )
            + (
                [("Trusted adult", safe_text(concern.trusted_adult, limit=100))]
                if concern.trusted_adult
                else []
            )
        ),
    ]
    if category.images_rule:
        body.append(para(IMAGERY_RULE, subtle=True))
    if concern.assessment is not None:
        body.append(para("UKCIS assessment recorded (see chronology).", subtle=True))
    body += proposal_box(concern, school, viewer_id)
    body.append(para("Chronology", emphasis=True))
    body.append(
        facts(
            [
                (
                    school_time(event.at, school.zone),
                    safe_text(f"{event.actor_name}: {event.text}", limit=300),
                )
                for event in concern.chronology
            ]
            or [("-", "Nothing yet")]
        )
    )
    if concern.source is _Source.PUPIL and concern.status is not ConcernStatus.CLOSED:
        # Feedback to the pupil who reported (issue 20): in the body, the foot is full.
        body.append(feedback_button(concern.ref, version))
    if category.route is not Route.HEADTEACHER:  # issue 20: hand-off (the DSL only)
        body += handoff_block(concern, school.zone)
        body.append(handoff_actions(concern, version=version, system=school.handoff.system_name))
    actions = handling_actions(concern, ids, category, school.outcomes, viewer_id)
    actions.append(execute("Export chronology", Verb.CONCERN_CHRONOLOGY, ref=concern.ref))
    if in_channel:
        # At the top, beside the title: the foot already has up to six buttons.
        close_details = execute(
            "Close details", Verb.CONCERN_OPEN, ids={"ref": concern.ref, "view": "summary"}
        )
        body.insert(body.index(title) + 1, ActionSet(actions=[close_details]))
    return card(body, actions)


def handling_actions(
    concern: Concern,
    ids: Mapping[str, str | int],
    category: Category | None = None,
    outcomes: Sequence[str] = tuple(OUTCOMES),
    viewer_id: str | None = None,
) -> list[Any]:
    """Acknowledge, UKCIS assessment, Record an action, Add note and Close, as the state allows.

    The inputs sit in show-cards, so each button sends only its own fields; nothing here shows
    any detail of the concern (the checklist is the same for every concern of the category).
    """
    actions: list[Any] = []
    if concern.status is not ConcernStatus.CLOSED:
        if concern.status is ConcernStatus.NEW:
            actions.append(_acknowledge(ids))
        if needs_assessment(concern, category):
            actions.append(
                show_card(
                    "UKCIS assessment",
                    _assessment_inputs(),
                    execute("Record assessment", Verb.CONCERN_ASSESS, ids=ids),
                )
            )
        actions.append(
            show_card(
                "Record an action",
                [
                    ChoiceSetInput(
                        id="action",
                        label="What was done? Tick all that apply.",
                        style="expanded",
                        is_multi_select=True,
                        is_required=True,
                        error_message="Tick at least one action.",
                        choices=[
                            Choice(title=ACTIONS[a], value=a)
                            for a in checklist(category or concern.category)
                        ],
                    ),
                    note_box("Note for all of them (optional)", LIMITS["note"]),
                ],
                execute("Record", Verb.CONCERN_ACTION, ids=ids),
            )
        )
        actions.append(
            show_card(
                "Add note",
                [note_box("Note", LIMITS["note"])],
                execute("Add note", Verb.CONCERN_NOTE, ids=ids),
            )
        )
        # Closing safely (issue 20): outcome, reason, open checklist items; a second person
        # for a serious concern.
        actions += closure_actions(
            concern, category or _category_of(concern), ids, outcomes, viewer_id
        )
    return actions


def _category_of(concern: Concern) -> Category:
    """A concern's built-in category (only when the caller has not given the school's)."""
    found = next((c for c in DEFAULT_CATEGORIES if c.id == concern.category), None)
    return found or Category(concern.category, concern.category, Group.OTHER)


def _assessment_inputs() -> list[CardElement]:
    return [
        para(
            "Tick any that apply. Any tick means an immediate referral to the police and/or "
            "children's social care (UKCIS guidance).",
        ),
        *[
            ToggleInput(id=f"ukcis_{key}", title=text, value="false")
            for key, text in UKCIS_CRITERIA.items()
        ],
        ChoiceSetInput(
            id="referrals",
            label="Refer now to",
            is_multi_select=True,
            style="expanded",
            choices=[Choice(title=t, value=v) for v, t in REFERRALS.items()],
        ),
        note_box("Reason for the decision", LIMITS["reason"], field_id="reason"),
    ]


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


def stale_card_note() -> str:
    """Shown when a click came from an out-of-date card: nothing was changed."""
    return "This card was out of date, so nothing was changed. Here is the current state."
