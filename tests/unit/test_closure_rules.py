"""Closing safely (issue 20): the rules in ``policy.closure`` and the cards that show them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from cards.closure import closure_actions
from cards.concern import channel_card, detail_card
from policy.categories import DEFAULT_CATEGORIES, Category, Group, Route
from policy.closure import (
    DONE,
    NOT_NEEDED,
    close_now,
    confirm,
    confirmed_by_second_person,
    is_proposed,
    may_confirm,
    open_items,
    propose,
    send_back,
    sends_back,
)
from policy.concerns import (
    DEFAULT_OUTCOMES,
    Concern,
    ConcernStatus,
    InvalidTransition,
    Source,
    checklist,
)
from policy.reporting import governors_report, range_period
from policy.roles import Person, Role
from policy.school_checks import school_problems
from tests.support import assert_valid_card, visible_text

AT = datetime(2026, 12, 6, 14, 2, tzinfo=UTC)
JANE = Person("jane", "Jane Smith", frozenset({Role.DSL, Role.STAFF}))
TOM = Person("tom", "Tom Hughes", frozenset({Role.DEPUTY_DSL, Role.STAFF}))
HEAD = Person("head", "Helen Carter", frozenset({Role.HEADTEACHER, Role.STAFF}))
CHAIR = Person("chair", "Sam Patel", frozenset({Role.CHAIR_OF_GOVERNORS}))
TEACHER = Person("t", "Daniel Okafor", frozenset({Role.STAFF}))
CATEGORIES = {c.id: c for c in DEFAULT_CATEGORIES}
SCHOOL = load_school_policy(DEFAULT_SCHOOL_CONFIG)


def concern(category: str = "cyberbullying", **changes: object) -> Concern:
    made = Concern(
        ref="OSC-2026-0001",
        source=Source.STAFF,
        category=category,
        urgent=False,
        reporter_id="t",
        reporter_name="Daniel Okafor",
        created_at=AT - timedelta(days=1),
        year_group="Year 8",
        involved="A child",
        what_happened="Details",
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def answers(category: str, **states: tuple[str, str]) -> dict[str, tuple[str, str]]:
    return {**{a: (DONE, "") for a in checklist(category)}, **states}


def form(category: str, **changes: object) -> dict[str, object]:
    return {
        "outcome": "monitoring",
        "reason": "Agreed with parents",
        "message": "Thank you",
        "answers": answers(category),
        "outcomes": DEFAULT_OUTCOMES,
        **changes,
    }


def test_the_default_outcomes_are_the_issues_list() -> None:
    assert SCHOOL.outcomes == (
        "no_further_action",
        "monitoring",
        "early_help",
        "social_care",
        "police",
        "lado",
        "other",
    )


def test_the_default_serious_categories() -> None:
    serious = {c.id for c in DEFAULT_CATEGORIES if c.serious}
    assert serious == {
        "nude_imagery",
        "indecent_images",
        "grooming",
        "radicalisation",
        "staff_conduct",
    }


def test_a_routine_concern_closes_in_one_step_and_items_answered_are_recorded() -> None:
    cat = CATEGORIES["cyberbullying"]
    done = close_now(
        concern(),
        cat,
        JANE,
        at=AT,
        **form(  # type: ignore[arg-type]
            "cyberbullying", answers=answers("cyberbullying", sanctions=(NOT_NEEDED, "Apologised"))
        ),
    )

    assert done.status is ConcernStatus.CLOSED and done.outcome == "monitoring"
    assert "sanctions" not in done.actions_done and "review" in done.actions_done
    assert open_items(done, cat) == ("sanctions",)
    assert done.chronology[-1].text == "Closed: Monitoring in school. Reason: Agreed with parents"
    assert not confirmed_by_second_person(done)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"outcome": ""}, "outcome missing"),
        ({"outcome": "resolved_in_school"}, "outcome missing"),  # not on the school's list
        ({"reason": "  "}, "closure reason missing"),
        ({"message": ""}, "message missing"),
        ({"answers": {}}, "checklist item not answered"),
        (
            {"answers": answers("cyberbullying", review=(NOT_NEEDED, ""))},
            "not-needed reason missing",
        ),
        (
            {"answers": answers("cyberbullying", review=("maybe", ""))},
            "checklist item not answered",
        ),
    ],
)
def test_close_is_refused_without_everything_it_needs(
    changes: dict[str, object], code: str
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        close_now(
            concern(), CATEGORIES["cyberbullying"], JANE, at=AT, **form("cyberbullying", **changes)
        )  # type: ignore[arg-type]
    assert refused.value.code == code


def test_items_already_recorded_are_not_asked_again() -> None:
    partly = concern(actions_done=tuple(checklist("cyberbullying")[:-1]))
    assert open_items(partly, CATEGORIES["cyberbullying"]) == ("review",)
    closed = close_now(
        partly,
        CATEGORIES["cyberbullying"],
        JANE,
        at=AT,
        **form("cyberbullying", answers={"review": (DONE, "")}),  # type: ignore[arg-type]
    )
    assert closed.status is ConcernStatus.CLOSED


def test_a_serious_concern_cannot_be_closed_by_one_person() -> None:
    cat = CATEGORIES["radicalisation"]
    with pytest.raises(InvalidTransition) as refused:
        close_now(concern("radicalisation"), cat, JANE, at=AT, **form("radicalisation"))  # type: ignore[arg-type]
    assert refused.value.code == "second person needed"

    proposed = propose(concern("radicalisation"), cat, JANE, at=AT, **form("radicalisation"))  # type: ignore[arg-type]
    assert is_proposed(proposed) and proposed.status is not ConcernStatus.CLOSED

    with pytest.raises(InvalidTransition) as own:
        confirm(proposed, cat, JANE, AT)
    assert own.value.code == "own proposal"
    with pytest.raises(InvalidTransition) as not_senior:
        confirm(proposed, cat, TEACHER, AT)
    assert not_senior.value.code == "not a senior person"
    with pytest.raises(InvalidTransition) as twice:
        propose(proposed, cat, TOM, at=AT, **form("radicalisation"))  # type: ignore[arg-type]
    assert twice.value.code == "closure already proposed"

    closed = confirm(proposed, cat, TOM, AT + timedelta(hours=1))
    assert closed.status is ConcernStatus.CLOSED and confirmed_by_second_person(closed)
    assert closed.closure is not None and closed.closure.confirmed_by_name == "Tom Hughes"


def test_a_routine_concern_is_not_proposed() -> None:
    with pytest.raises(InvalidTransition) as refused:
        propose(concern(), CATEGORIES["cyberbullying"], JANE, at=AT, **form("cyberbullying"))  # type: ignore[arg-type]
    assert refused.value.code == "no second person needed"


def test_send_back_needs_a_reason_and_leaves_it_open_to_propose_again() -> None:
    cat = CATEGORIES["grooming"]
    proposed = propose(concern("grooming"), cat, JANE, at=AT, **form("grooming", outcome="police"))  # type: ignore[arg-type]
    with pytest.raises(InvalidTransition) as no_reason:
        send_back(proposed, cat, TOM, " ", AT)
    assert no_reason.value.code == "send-back reason missing"
    with pytest.raises(InvalidTransition) as own:
        send_back(proposed, cat, JANE, "changed my mind", AT)
    assert own.value.code == "own proposal"

    back = send_back(proposed, cat, TOM, "CEOP report first", AT)
    assert not is_proposed(back) and back.status is ConcernStatus.ACKNOWLEDGED
    assert sends_back(back) == 1
    with pytest.raises(InvalidTransition) as nothing:
        confirm(back, cat, TOM, AT)
    assert nothing.value.code == "no closure proposed"


def test_a_concern_about_the_headteacher_is_confirmed_by_the_chair_never_the_head() -> None:
    cat = CATEGORIES["staff_conduct"]
    about_head = propose(
        concern("staff_conduct", about_headteacher=True),
        cat,
        CHAIR,
        at=AT,
        **form("staff_conduct", outcome="lado"),  # type: ignore[arg-type]
    )
    # The chair is the one handler: the head and the DSL are never second persons here.
    assert not may_confirm(HEAD, about_head, cat)
    assert not may_confirm(JANE, about_head, cat)
    fallback_dsl = (Role.DSL,)
    assert may_confirm(JANE, about_head, cat, fallback_dsl)

    about_staff = propose(
        concern("staff_conduct"),
        cat,
        HEAD,
        at=AT,
        **form("staff_conduct", outcome="lado"),  # type: ignore[arg-type]
    )
    other_head = Person("head2", "Co-head", frozenset({Role.HEADTEACHER, Role.STAFF}))
    assert may_confirm(other_head, about_staff, cat) and not may_confirm(HEAD, about_staff, cat)


def test_a_school_cannot_make_images_or_staff_categories_not_serious() -> None:
    loose = replace(
        SCHOOL,
        categories=(
            Category("sexting", "Nudes", Group.CONDUCT, images_rule=True),
            Category("staff", "About staff", Group.CONDUCT, route=Route.HEADTEACHER),
            Category("extremism", "Radicalisation", Group.CONTENT),
            Category("other", "Something else", Group.OTHER),
        ),
        pupil_worries={},
    )
    problems = " ".join(school_problems(loose))
    assert "categories.sexting: needs serious = true" in problems
    assert "categories.staff: needs serious = true" in problems
    assert "categories.extremism: needs serious = true" in problems


def test_the_proposed_state_on_the_channel_card_and_in_the_detail() -> None:
    cat = CATEGORIES["radicalisation"]
    proposed = propose(concern("radicalisation"), cat, JANE, at=AT, **form("radicalisation"))  # type: ignore[arg-type]

    channel = channel_card(proposed, cat, SCHOOL, version=3)
    for_jane = detail_card(proposed, cat, SCHOOL, version=3, viewer_id="jane")
    for_tom = detail_card(proposed, cat, SCHOOL, version=3, viewer_id="tom")

    for shown in (channel, for_jane, for_tom):
        assert_valid_card(shown)
        assert "Closure proposed by Jane Smith, Sun 6 Dec 2026, 14:02" in visible_text(shown)
    assert "Agreed with parents" not in visible_text(channel)  # the reason stays in the detail
    verbs = lambda c: [a.get("verb") for a in c["actions"]]  # noqa: E731
    assert "concern.close.confirm" in verbs(for_tom)
    assert "concern.close.confirm" not in verbs(for_jane)


def test_the_close_forms_are_valid_and_list_only_open_items() -> None:
    ids: dict[str, str | int] = {"ref": "OSC-2026-0001", "ver": 2}
    for category in ("cyberbullying", "nude_imagery"):
        partly = concern(category, actions_done=("parents_informed",))
        [form_action] = closure_actions(partly, CATEGORIES[category], ids, DEFAULT_OUTCOMES)
        assert_valid_card(
            {
                "type": "AdaptiveCard",
                "version": "1.5",
                "body": [],
                "actions": [form_action.model_dump(exclude_none=True, by_alias=True)],
            }
        )
        inputs = [i.id for i in form_action.card.body if getattr(i, "id", None)]
        assert "item_parents_informed" not in inputs
        assert "item_review" in inputs and "item_review_reason" in inputs
        assert {"outcome", "reason", "message"} <= set(inputs)


def _confirmed(n: int) -> Concern:
    cat = CATEGORIES["grooming"]
    made = replace(concern("grooming"), ref=f"OSC-2026-{n:04d}")
    proposed = propose(made, cat, JANE, at=AT, **form("grooming", outcome="police"))  # type: ignore[arg-type]
    return confirm(proposed, cat, TOM, AT + timedelta(hours=2))


def test_the_governors_report_counts_second_person_closures_and_sends_back() -> None:
    cat = CATEGORIES["grooming"]
    sent_back = send_back(
        propose(concern("grooming"), cat, JANE, at=AT, **form("grooming")),  # type: ignore[arg-type]
        cat,
        TOM,
        "Not yet",
        AT,
    )
    routine = close_now(
        concern(), CATEGORIES["cyberbullying"], JANE, at=AT, **form("cyberbullying")
    )  # type: ignore[arg-type]
    still_open = [replace(concern(), ref=f"OSC-2026-00{n}") for n in (10, 11)]
    concerns = [_confirmed(n) for n in range(2, 6)] + [sent_back, routine, *still_open]

    report = governors_report(
        school=SCHOOL,
        period=range_period(date(2026, 9, 1), date(2026, 12, 31)),
        generated_at=AT,
        concerns=concerns,
        filter_requests=[],
        call_checks=[],
        recordings=[],
    )

    table = report.table("serious_closed_by_second_person")
    assert [(c.label, c.text) for c in table.cells] == [
        ("Confirmed by a second senior person", "4"),
        ("Closed by one person", "0"),
    ]
    figures = {f.label: f.text for s in report.sections for f in s.figures}
    assert figures["Proposed closures sent back"] == "fewer than 3"  # one: suppressed


def test_few_second_person_closures_are_withheld() -> None:
    report = governors_report(
        school=SCHOOL,
        period=range_period(date(2026, 9, 1), date(2026, 12, 31)),
        generated_at=AT,
        concerns=[_confirmed(2)],
        filter_requests=[],
        call_checks=[],
        recordings=[],
    )
    table = report.table("serious_closed_by_second_person")
    assert table.withheld and all(c.value is None for c in table.cells)
