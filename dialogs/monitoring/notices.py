"""Sensitive-lesson notices: a teacher tells the DSL and IT channels; alerts during that lesson,
for that class and topic, say so on their card.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from cards.monitoring import (
    notice_form,
    notice_received_card,
)
from cards.welcome import not_allowed_card
from dialogs.handling import open_form
from dialogs.kinds import next_reference
from dialogs.kinds.monitoring import (
    NOTICE_CODEC,
    NOTICE_KIND,
    NOTICE_PREFIX,
)
from dialogs.monitoring.base import (
    RENDER_NOTICE,
    MonitoringBase,
)
from dialogs.outbox import Delivery, message
from dialogs.ports import (
    Change,
    DuplicateRequest,
    Record,
    StoreUnavailable,
)
from dialogs.router import ActionContext, Reply, Scope
from policy.audit import AuditEvent
from policy.monitoring import (
    LessonNotice,
    validate_notice,
)
from policy.roles import Person

PRIVATE_ONLY = "Please tell me about a lesson in a private chat with me."
NOT_SENT = "It could not be saved just now, so it was NOT sent. Try again."


class Notices(MonitoringBase):
    """A teacher's notice of a sensitive lesson: the form, saving it with its channel cards."""

    async def notice_start(self, ctx: ActionContext) -> Reply:
        """The notice form (in a private chat)."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text=PRIVATE_ONLY)
        today = self._clock.now().astimezone(self._school.zone).date()
        return Reply(card=notice_form(self._school, form_id=uuid.uuid4().hex, today=today))

    async def notice_submit(self, ctx: ActionContext) -> Reply:
        """Check, save the notice with its DSL and IT channel cards, then confirm."""
        opened = await open_form(
            self._deps,
            ctx,
            "notice",
            not_private=Reply(text=PRIVATE_ONLY),
            no_form=lambda: self.notice_start(ctx),
            confirm=lambda ref: self._confirm(ctx.person, ref),
        )
        if isinstance(opened, Reply):
            return opened
        now = self._clock.now()
        today = now.astimezone(self._school.zone).date()
        values, problems = validate_notice(ctx.data, self._school.monitoring, today)
        if problems:
            return self._form_again(opened.form_id, today, values, problems)
        topic = self._school.monitoring.topic(values["topic"])
        assert topic is not None  # validated
        notice = LessonNotice(
            ref=await next_reference(self._store, NOTICE_PREFIX, today.year, opened.key),
            teacher_id=ctx.person.id,
            teacher_name=ctx.person.name,
            class_name=values["class_name"],
            topic=topic.id,
            topic_label=topic.label,
            day=date.fromisoformat(values["day"]),
            start=time.fromisoformat(values["start"]),
            end=time.fromisoformat(values["end"]),
            reason=values["reason"],
            created_at=now,
        )
        try:
            await self._store.commit(self._saved(ctx, notice, opened.key, now))
        except DuplicateRequest as dup:
            return await self._confirm(ctx.person, dup.refs[0])
        except StoreUnavailable:
            return self._form_again(opened.form_id, today, values, {"reason": NOT_SENT})
        self._deps.doorbell.ring()
        return Reply(card=notice_received_card(notice))

    def _form_again(
        self, form_id: str, today: date, values: dict[str, str], problems: dict[str, str]
    ) -> Reply:
        """The form again, as it was filled in, with its problems."""
        return Reply(
            card=notice_form(
                self._school, form_id=form_id, today=today, values=values, problems=problems
            )
        )

    def _saved(self, ctx: ActionContext, notice: LessonNotice, key: str, now: datetime) -> Change:
        """The notice's record, its cards to the DSL and IT channels and the audit entry, in
        one change saved once (``key``)."""
        subject = NOTICE_CODEC.subject(notice.ref)
        channels = self._school.channels
        data = {**NOTICE_CODEC.encode(notice), "day": notice.day.isoformat()}
        return Change(
            records=[
                Record(NOTICE_KIND, notice.ref, 1, data),
                *(
                    message(Delivery.CHANNEL_POST, channel, subject, RENDER_NOTICE, now)
                    for channel in (channels.dsl_channel_id, channels.it_channel_id)
                ),
            ],
            audit=[AuditEvent(ctx.person.id, "notice.submit", subject, "ok", now)],
            dedupe_key=key,
        )

    async def _confirm(self, person: Person, ref: str) -> Reply:
        _, _, item_id = ref.partition(":")
        record = await self._store.get(NOTICE_KIND, item_id)
        notice = None if record is None else NOTICE_CODEC.decode(record)
        if notice is None or notice.teacher_id != person.id:
            return Reply(card=not_allowed_card(person))
        return Reply(card=notice_received_card(notice))
