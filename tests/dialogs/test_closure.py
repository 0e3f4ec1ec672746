"""Closing safely (issue 20) through the use-case layer: an outcome, a reason, the open checklist
reviewed; a serious concern proposed by one senior person and confirmed or sent back by another
(000 §12.3, 002 §16); the proposer's own confirmation refused and audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graph.local_directory import LocalDirectory
from policy.roles import Role
from policy.school import SchoolPolicy
from tests.dialogs.conftest import School
from tests.dialogs.test_concern import channel_card, report
from tests.support import (
    CHAIR_OF_GOVERNORS,
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    ROOT,
    TEACHER,
    assert_valid_card,
    card_buttons,
    click_button,
    close_form,
    dm,
    everything,
    visible_text,
)


def closing(category: str, **overrides: str) -> dict[str, str]:
    """A complete close form: outcome, reason, the reporter's message, every item done."""
    return close_form(category, **overrides)


async def opened(school: School, category: str, who: str = DSL) -> dict[str, Any]:
    await report(school, category)
    return await click_button(school, who, await channel_card(school), "concern.open")


async def stored(school: School) -> dict[str, Any]:
    [concern] = await school.find("concern")
    return dict(concern.data)


async def test_a_routine_concern_closes_in_one_step_with_outcome_reason_and_checklist(
    school: School,
) -> None:
    detail = await opened(school, "cyberbullying")
    assert_valid_card(detail)
    form = everything(detail)
    assert "Early help" in form and "Monitoring in school" in form and "Reason for closing" in form
    assert "Parents or carers informed" in form and "Not needed" in form

    closed = await click_button(
        school,
        DSL,
        detail,
        "concern.close",
        **closing(
            "cyberbullying",
            item_sanctions="not_needed",
            item_sanctions_reason="No pupil of ours was responsible",
        ),
    )
    await school.settle()

    assert_valid_card(closed)
    concern = await stored(school)
    assert concern["status"] == "closed" and concern["outcome"] == "monitoring"
    texts = [e["text"] for e in concern["chronology"]]
    assert "Not needed: Sanctions applied. Reason: No pupil of ours was responsible" in texts
    assert texts[-1] == (
        "Closed: Monitoring in school. Reason: Agreed with parents; form tutor keeping an eye on it"
    )
    [notice] = school.messenger.cards(dm(TEACHER))
    assert "Thank you: this has been dealt with." in visible_text(notice)


async def test_an_item_marked_not_needed_needs_a_reason(school: School) -> None:
    detail = await opened(school, "cyberbullying")

    refused = await click_button(
        school,
        DSL,
        detail,
        "concern.close",
        **closing("cyberbullying", item_sanctions="not_needed", item_sanctions_reason=" "),
    )

    assert 'give a reason why \\"Sanctions applied\\" is not needed' in everything(refused)
    assert (await stored(school))["status"] != "closed"
    outcomes = [e.outcome for e in await school.audit() if e.action == "concern.close"]
    assert outcomes == ["refused: rule: not-needed reason missing"]


async def test_close_needs_a_reason_and_every_open_item_answered(school: School) -> None:
    detail = await opened(school, "cyberbullying")

    no_reason = await click_button(
        school, DSL, detail, "concern.close", **closing("cyberbullying", reason="")
    )
    unanswered = {**closing("cyberbullying"), "item_review": ""}
    skipped = await click_button(school, DSL, detail, "concern.close", **unanswered)
    not_listed = await click_button(
        school, DSL, detail, "concern.close", **closing("cyberbullying", outcome="resolved_x")
    )

    assert "give the reason for closing it" in everything(no_reason)
    assert 'say whether \\"Review of how it was handled\\" was done' in everything(skipped)
    assert "choose an outcome from the list" in everything(not_listed)
    assert (await stored(school))["status"] != "closed"
    assert [e.outcome for e in await school.audit() if e.action == "concern.close"] == [
        "refused: rule: closure reason missing",
        "refused: rule: checklist item not answered",
        "refused: rule: outcome missing",
    ]


async def test_a_serious_concern_is_proposed_then_confirmed_by_a_second_senior_person(
    school: School,
) -> None:
    detail = await opened(school, "radicalisation")
    assert "Propose closure" in everything(detail)
    assert 'concern.close"' not in everything(detail)  # no one-step close for serious ones

    proposed = await click_button(
        school,
        DSL,
        detail,
        "concern.close.propose",
        **closing("radicalisation", outcome="early_help"),
    )
    await school.settle()

    assert_valid_card(proposed)
    assert "Closure proposed by Fiona Blake, Mon 23 Nov 2026, 10:00" in visible_text(proposed)
    assert "You cannot confirm your own proposal" in visible_text(proposed)
    assert ("Confirm closure", "concern.close.confirm") not in card_buttons(proposed)
    on_channel = school.messenger.shown(DSL_CHANNEL)[-1]
    assert_valid_card(on_channel)
    assert "Closure proposed by Fiona Blake, Mon 23 Nov 2026, 10:00" in visible_text(on_channel)
    assert (await stored(school))["status"] == "acknowledged"
    assert school.messenger.cards(dm(TEACHER)) == []  # not told "closed" yet

    school.advance(minutes=30)
    open_items = await school.click(DEPUTY_DSL, "dsl.open_items")
    assert "Closure proposed: waiting for a second senior person" in visible_text(open_items)
    deputy_view = await click_button(school, DEPUTY_DSL, on_channel, "concern.open")
    assert_valid_card(deputy_view)
    assert ("Confirm closure", "concern.close.confirm") in card_buttons(deputy_view)
    confirmed = await click_button(school, DEPUTY_DSL, deputy_view, "concern.close.confirm")
    await school.settle()

    assert_valid_card(confirmed)
    concern = await stored(school)
    assert concern["status"] == "closed" and concern["outcome"] == "early_help"
    assert concern["closure"]["proposed_by_id"] == DSL
    assert concern["closure"]["confirmed_by_id"] == DEPUTY_DSL
    assert concern["chronology"][-1]["text"] == (
        "Closure confirmed (proposed by Fiona Blake). Closed: Early help"
    )
    [notice] = school.messenger.cards(dm(TEACHER))
    assert "has been closed" in visible_text(notice)
    assert "Closed" in visible_text(school.messenger.shown(DSL_CHANNEL)[-1])


async def test_the_proposer_cannot_confirm_their_own_proposal(school: School) -> None:
    detail = await opened(school, "grooming")
    await click_button(
        school, DSL, detail, "concern.close.propose", **closing("grooming", outcome="police")
    )
    await school.settle()
    # Their own earlier card (or a forged click) still carries the button: the server refuses.
    deputy_view = await click_button(
        school, DEPUTY_DSL, school.messenger.shown(DSL_CHANNEL)[-1], "concern.open"
    )

    refused = await click_button(school, DSL, deputy_view, "concern.close.confirm")

    assert "you proposed closing it, so a second senior person must confirm it" in everything(
        refused
    )
    assert (await stored(school))["status"] == "acknowledged"
    assert [e.outcome for e in await school.audit() if e.action == "concern.close.confirm"] == [
        "refused: rule: own proposal"
    ]


async def test_a_serious_concern_cannot_be_closed_in_one_step(school: School) -> None:
    # A one-step Close button from a routine concern's card, sent for a serious one.
    routine = await opened(school, "cyberbullying")
    await report(school, "indecent_images")

    refused = await click_button(
        school,
        DSL,
        routine,
        "concern.close",
        ref="OSC-2026-0002",
        **closing("indecent_images", outcome="police"),
    )

    assert "needs a second senior person to confirm closing it" in everything(refused)
    concerns = {r.id: r.data["status"] for r in await school.find("concern")}
    assert concerns["OSC-2026-0002"] != "closed"


async def test_send_back_needs_a_reason_and_reopens_the_close_form(school: School) -> None:
    detail = await opened(school, "radicalisation")
    await click_button(school, DSL, detail, "concern.close.propose", **closing("radicalisation"))
    await school.settle()
    deputy_view = await click_button(
        school, DEPUTY_DSL, school.messenger.shown(DSL_CHANNEL)[-1], "concern.open"
    )

    no_reason = await click_button(school, DEPUTY_DSL, deputy_view, "concern.close.send_back")
    sent_back = await click_button(
        school,
        DEPUTY_DSL,
        deputy_view,
        "concern.close.send_back",
        reason="Prevent referral needs a second look",
    )
    await school.settle()

    assert "give a reason for sending it back" in everything(no_reason)
    assert_valid_card(sent_back)
    assert "Closure proposed by" not in visible_text(sent_back)
    assert "Propose closure" in [a["title"] for a in sent_back["actions"]]
    concern = await stored(school)
    assert concern["status"] == "acknowledged" and concern["closure"] is None
    assert concern["chronology"][-1]["text"] == (
        "Closure sent back (proposed by Fiona Blake). Reason: Prevent referral needs a second look"
    )
    assert "Closure proposed by" not in visible_text(school.messenger.shown(DSL_CHANNEL)[-1])
    assert school.messenger.cards(dm(TEACHER)) == []


async def test_a_concern_about_staff_with_one_headteacher_is_confirmed_by_the_fallback(
    school: School,
) -> None:
    await report(school, "staff_conduct")
    await school.settle()
    [detail] = school.messenger.cards(dm(HEADTEACHER))  # the concern in full, privately

    await click_button(
        school,
        HEADTEACHER,
        detail,
        "concern.close.propose",
        **closing("staff_conduct", outcome="lado", reason="LADO advised no further action"),
    )
    await school.settle()

    # The only headteacher proposed it: the DSL team (the role's fallback) is asked, 1:1.
    asked = school.messenger.cards(dm(DSL))
    assert len(asked) == 1 and "Helen Carter proposed closing this" in visible_text(asked[0])
    assert_valid_card(asked[0])
    assert school.messenger.cards(DSL_CHANNEL) == []  # never a channel
    assert len(school.messenger.cards(dm(HEADTEACHER))) == 1  # the proposer is not asked
    confirmed = await click_button(school, DSL, asked[0], "concern.close.confirm")
    await school.settle()

    assert_valid_card(confirmed)
    concern = await stored(school)
    assert concern["status"] == "closed"
    assert concern["closure"]["confirmed_by_id"] == DSL


async def test_a_concern_about_the_headteacher_is_never_confirmed_by_the_headteacher(
    school: School,
) -> None:
    await report(school, "staff_conduct", about_headteacher="true")
    await school.settle()
    [detail] = school.messenger.cards(dm(CHAIR_OF_GOVERNORS))
    await click_button(
        school,
        CHAIR_OF_GOVERNORS,
        detail,
        "concern.close.propose",
        **closing("staff_conduct", outcome="lado"),
    )
    await school.settle()
    [asked] = school.messenger.cards(dm(DSL))

    refused = await click_button(school, HEADTEACHER, asked, "concern.close.confirm")

    assert "That isn't available to you" in visible_text(refused)
    assert school.messenger.cards(dm(HEADTEACHER)) == []
    assert (await stored(school))["status"] != "closed"
    assert [e.outcome for e in await school.audit() if e.action == "concern.close.confirm"] == [
        "refused: not a handler of this concern"
    ]


async def test_in_a_school_with_a_single_dsl_the_headteacher_confirms_a_serious_closure(
    demo_school: SchoolPolicy, demo_directory: LocalDirectory, tmp_path: Path
) -> None:
    # No deputies: the DSL is the only safeguarding lead, so the headteacher is the second
    # senior person (000 §12.3, 002 §16) and is asked 1:1; nobody else can confirm.
    people = json.loads((ROOT / "config" / "demo-directory.json").read_text())
    deputy_group = demo_school.roles[Role.DEPUTY_DSL][0]
    for person in people["people"]:
        person["groups"] = [g for g in person["groups"] if g != deputy_group]
    (tmp_path / "directory.json").write_text(json.dumps(people))
    directory = LocalDirectory.load(tmp_path / "directory.json", demo_school.role_groups())
    school = School(demo_school, directory)
    detail = await opened(school, "grooming")
    await click_button(
        school, DSL, detail, "concern.close.propose", **closing("grooming", outcome="police")
    )
    await school.settle()

    [asked] = school.messenger.cards(dm(HEADTEACHER))
    assert_valid_card(asked)
    assert "Fiona Blake proposed closing this" in visible_text(asked)
    assert school.messenger.cards(dm(DEPUTY_DSL)) == []
    confirmed = await click_button(school, HEADTEACHER, asked, "concern.close.confirm")
    await school.settle()
    assert_valid_card(confirmed)
    concern = await stored(school)
    assert concern["status"] == "closed"
    assert concern["closure"]["confirmed_by_id"] == HEADTEACHER


async def test_with_deputies_the_headteacher_is_not_asked_and_cannot_confirm(
    school: School,
) -> None:
    detail = await opened(school, "grooming")
    await click_button(
        school, DSL, detail, "concern.close.propose", **closing("grooming", outcome="police")
    )
    await school.settle()
    assert school.messenger.cards(dm(HEADTEACHER)) == []
    reply = await school.act(
        HEADTEACHER, "concern.close.confirm", {"ref": "OSC-2026-0001", "ver": 3}
    )
    assert "Closed" not in visible_text(dict(reply.card or {}))
    assert (await stored(school))["status"] != "closed"
