""" "Check my next lessons": each real Teams meeting's settings judged against the rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Container,
    TextBlock,
)

from cards.common import (
    card,
    execute,
    facts,
    heading,
    para,
    safe_text,
)
from cards.video_call.form import VERDICT_HEADING, _check_or_menu
from cards.video_call.plan_rules import _when
from policy.actions import Verb
from policy.school import SchoolPolicy
from policy.video_calls import (
    MeetingCheck,
)

# ---------------------------------------------------------------------------------------------
# "Check my next lessons"
# ---------------------------------------------------------------------------------------------


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _meeting_block(check: MeetingCheck, school: SchoolPolicy) -> Container:
    verdict = check.verdict
    title, color = VERDICT_HEADING[verdict.verdict]
    who = [_count(check.pupils, "pupil", "pupils"), _count(check.staff, "member", "members")]
    who[1] += " of staff"
    if check.others:
        who.append(_count(check.others, "guest", "guests"))
    if check.plan.one_to_one_with_pupil:
        who[0] += " (1:1)"
    items: list[CardElement] = [
        TextBlock(
            text=safe_text(check.subject or "Teams meeting", limit=120),
            weight="Bolder",
            wrap=True,
        ),
        facts([("When", _when(check.plan, school)), ("With", ", ".join(who))]),
        TextBlock(text=title, color=color, weight="Bolder", wrap=True, spacing="Small"),
    ]
    items += [
        TextBlock(text=f"⛔ {safe_text(r.reason)} ({r.clause})", wrap=True, spacing="Small")
        for r in verdict.blockers
    ]
    items += [
        TextBlock(text=f"⚠️ {safe_text(r.reason)} ({r.clause})", wrap=True, spacing="Small")
        for r in verdict.to_do
    ]
    if check.permission_ref:
        items.append(para(f"Permission to record: {check.permission_ref} (approved).", subtle=True))
    items.append(
        ActionSet(
            actions=[
                execute("Check this call in full", Verb.CHECK_VIDEO_CALL, meeting=check.meeting_id)
            ]
        )
    )
    return Container(separator=True, spacing="Medium", items=items)


def next_lessons_card(
    checks: Sequence[MeetingCheck], school: SchoolPolicy, *, days: int, more: int = 0
) -> dict[str, Any]:
    """The member of staff's upcoming Teams meetings, each checked against the rules.

    Each meeting shows its time and who attends (counts only), the verdict, what forbids it and
    what to change (the exact Teams setting), and a button to check it in full (where the
    calendar cannot tell: location, parents' consent, asking permission to record).
    """
    body: list[CardElement] = [
        heading("Your next lessons"),
        para(
            f"Your Teams meetings in the next {days} days, checked against the school's rules "
            "(000 §6, §8, §10; 001 §2.4).",
            subtle=True,
        ),
    ]
    if not checks:
        body.append(para(f"You have no Teams meetings in the next {days} days."))
    else:
        body += [_meeting_block(check, school) for check in checks]
        if more:
            body.append(para(f"And {_count(more, 'more meeting', 'more meetings')}.", subtle=True))
        body.append(
            para(
                "The calendar can't tell me where you'll be or whether parents agreed: use "
                "Check this call in full for those.",
                subtle=True,
            )
        )
    return card(
        body,
        _check_or_menu(execute("Check again", Verb.NEXT_LESSONS)),
    )


def calendar_unavailable_card() -> dict[str, Any]:
    """The calendar could not be read: say so kindly; nothing was lost or changed."""
    return card(
        [
            heading("I can't check your calendar right now"),
            para(
                "Your calendar didn't answer just now. Nothing is lost: please try again in a "
                "few minutes, or check a call by hand."
            ),
        ],
        _check_or_menu(execute("Try again", Verb.NEXT_LESSONS)),
    )
