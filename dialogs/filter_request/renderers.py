"""The outbox renderers: each message a request owes, drawn from the stored request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cards.common import safe_text, school_day
from cards.filter import (
    apply_task,
    decision_card,
    never_unblockable_note,
    question_card,
    reblock_task,
    request_card,
)
from dialogs.filter_request.base import FilterBase
from dialogs.filter_request.kinds import decode
from dialogs.handling import still_in
from dialogs.ports import Outgoing, Record
from policy.filter_scope import NEW_TECHNOLOGY_NOTE
from policy.filtering import FilterStatus


class FilterRenderers(FilterBase):
    """The filter feature's outbox renderers."""

    async def render_request(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The request card in a channel."""
        if subject is None:
            return None
        return Outgoing(card=request_card(decode(subject), self._school, version=subject.version))

    async def render_apply(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """IT's "Apply" task."""
        return (
            None
            if subject is None
            else Outgoing(card=apply_task(decode(subject), version=subject.version))
        )

    async def render_reblock(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """IT's "Re-block now" task, with how overdue it is."""
        if subject is None:
            return None
        request = decode(subject)
        overdue = (
            self.school_days_overdue(request, self._clock.now())
            if request.status is FilterStatus.REBLOCK_DUE
            else 0
        )
        return Outgoing(card=reblock_task(request, version=subject.version, overdue_days=overdue))

    async def render_reminder(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A short daily reminder in the IT channel while a re-block is overdue."""
        request = still_in(subject, decode, FilterStatus.REBLOCK_DUE)
        if request is None:
            return None
        return Outgoing(
            text=(
                f"Reminder: {request.host} ({request.ref}) should have been re-blocked "
                f"on {school_day(request.end)}."
            )
        )

    async def render_overdue(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """1:1 to the DSL: a re-block is two school days overdue."""
        if still_in(subject, decode, FilterStatus.REBLOCK_DUE) is None:
            return None
        return await self.render_reblock(subject, data)

    async def render_question(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The deciders' question, 1:1 to the requester."""
        request = still_in(subject, decode, FilterStatus.NEEDS_INFO)
        if request is None or subject is None:
            return None
        return Outgoing(card=question_card(request, version=subject.version))

    async def render_decision(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The decision, 1:1 to the requester."""
        return None if subject is None else Outgoing(card=decision_card(decode(subject)))

    async def render_new_technology(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The DSL channel's note about a request to allow an AI tool or chatbot."""
        if subject is None:
            return None
        request = decode(subject)
        return Outgoing(
            text=(
                f"Filter request {request.ref} ({safe_text(request.target, limit=300)}): "
                f"{NEW_TECHNOLOGY_NOTE}"
            )
        )

    async def render_now_allowed(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """1:1 to the requester, when the period starts: "Now allowed" (only while it is)."""
        request = still_in(subject, decode, FilterStatus.APPLIED)
        return None if request is None else Outgoing(card=decision_card(request))

    async def render_refused(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """1:1 to the DSL: a never-unblockable request was refused."""
        if subject is None:
            return None
        request = decode(subject)
        return Outgoing(card=never_unblockable_note(request, request.history[-1].detail))
