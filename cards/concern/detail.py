"""A concern in full for an authorised viewer: the detail card and the actions handling it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    ChoiceSetInput,
    ToggleInput,
)

from cards.closure import closure_actions, proposal_box
from cards.common import (
    attention,
    card,
    day_given,
    execute,
    facts,
    heading,
    labelled_text,
    note_box,
    para,
    safe_text,
    school_time,
    show_card,
)
from cards.concern.channel import _acknowledge, _channel_facts
from cards.concern.form import IMAGERY_RULE, LIMITS
from cards.handoff import handoff_actions, handoff_block
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
    checklist,
    needs_assessment,
)
from policy.concerns import Source as _Source
from policy.school import SchoolPolicy


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
    body += [title, *_what_was_reported(concern, category, school)]
    body += _where_it_stands(concern, category, school, viewer_id)
    body += _follow_ups(concern, category, school, version)
    actions = handling_actions(concern, ids, category, school.outcomes, viewer_id)
    actions.append(execute("Export chronology", Verb.CONCERN_CHRONOLOGY, ref=concern.ref))
    if in_channel:
        # At the top, beside the title: the foot already has up to six buttons.
        close_details = execute(
            "Close details", Verb.CONCERN_OPEN, ids={"ref": concern.ref, "view": "summary"}
        )
        body.insert(body.index(title) + 1, ActionSet(actions=[close_details]))
    return card(body, actions)


#: How the detail card words the reporter's answer to "Is a child at immediate risk?".
RISK_WORDS = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}


def _what_was_reported(
    concern: Concern, category: Category, school: SchoolPolicy
) -> list[CardElement]:
    """The report as sent: its facts, who is involved, what happened, where and when."""
    return [
        facts(
            [
                *_channel_facts(concern, category, school),
                ("Reported by", safe_text(concern.reporter_name, limit=80)),
                ("Immediate risk", RISK_WORDS[concern.immediate_risk.value]),
            ]
        ),
        *labelled_text(
            "Who is involved", concern.involved or "Not given", limit=LIMITS["involved"]
        ),
        *labelled_text(
            "What happened", concern.what_happened or "Not given", limit=LIMITS["what_happened"]
        ),
        facts(_where_and_when(concern)),
    ]


def _where_and_when(concern: Concern) -> list[tuple[str, str]]:
    """Where and when it happened, what was done already, and the device group and trusted
    adult when there are any."""
    shown = [
        ("Where", safe_text(concern.where or "Not given", limit=200)),
        ("Web address", safe_text(concern.url or "None given", limit=300)),
        ("When it happened", day_given(concern.happened_on)),
        (
            "Done already",
            safe_text(concern.actions_taken or "Nothing recorded", limit=LIMITS["actions_taken"]),
        ),
    ]
    if concern.device_group:
        shown.append(("Device or device group", safe_text(concern.device_group, limit=100)))
    if concern.trusted_adult:
        shown.append(("Trusted adult", safe_text(concern.trusted_adult, limit=100)))
    return shown


def _where_it_stands(
    concern: Concern, category: Category, school: SchoolPolicy, viewer_id: str | None
) -> list[CardElement]:
    """The imagery rule, whether it was assessed, a closure proposed, and the chronology."""
    shown: list[CardElement] = []
    if category.images_rule:
        shown.append(para(IMAGERY_RULE, subtle=True))
    if concern.assessment is not None:
        shown.append(para("UKCIS assessment recorded (see chronology).", subtle=True))
    shown += proposal_box(concern, school, viewer_id)
    events = [
        (
            school_time(event.at, school.zone),
            safe_text(f"{event.actor_name}: {event.text}", limit=300),
        )
        for event in concern.chronology
    ]
    return [*shown, para("Chronology", emphasis=True), facts(events or [("-", "Nothing yet")])]


def _follow_ups(
    concern: Concern, category: Category, school: SchoolPolicy, version: int
) -> list[CardElement]:
    """Messaging the pupil who reported (an open pupil report) and the hand-off (the DSL's)."""
    shown: list[CardElement] = []
    if concern.source is _Source.PUPIL and concern.status is not ConcernStatus.CLOSED:
        # Feedback to the pupil who reported (issue 20): in the body, the foot is full.
        shown.append(feedback_button(concern.ref, version))
    if category.route is not Route.HEADTEACHER:  # issue 20: hand-off (the DSL only)
        shown += handoff_block(concern, school.zone)
        shown.append(handoff_actions(concern, version=version, system=school.handoff.system_name))
    return shown


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
