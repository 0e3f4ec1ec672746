"""Permission to record: asking every Deputy Head (Academic) but the requester, the decision and
its cards (000 §8; 001 §2.4)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cards.video_call import (
    DECISION_REASON_FIELD,
    recording_decision_card,
    recording_request_card,
)
from cards.welcome import not_allowed_card
from dialogs.handling import dedupe_key, record_for, still_in
from dialogs.outbox import Delivery, message
from dialogs.ports import (
    Change,
    DirectoryUnavailable,
    DuplicateRequest,
    Outgoing,
    Record,
    StoreUnavailable,
    VersionConflict,
)
from dialogs.service import ActionContext, Reply
from dialogs.video_call.base import VideoCallBase, _Started
from dialogs.video_call.forms import (
    _str,
    _version,
)
from dialogs.video_call.kinds import (
    _REF,
    RECORDING_KIND,
    RENDER_DECIDED,
    RENDER_REQUEST,
    _decode_request,
    _encode_request,
    _subject,
    _to,
)
from dialogs.video_call.texts import (
    DECIDED_BY_ANOTHER,
    NO_OTHER_DECIDER,
    NOBODY_TO_DECIDE,
    request_sent_text,
    request_waiting_text,
)
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.errors import InvalidSubmission, NotAllowed
from policy.roles import Person, Role
from policy.video_calls import (
    DEPUTY_HEAD,
    AlreadyDone,
    CallPlan,
    Decision,
    RecordingRequest,
    RequestStatus,
    RuleId,
    decide_recording,
    why_not_decider,
)

log = logging.getLogger(__package__)  # "dialogs.video_call", as before the split


class RecordingHandlers(VideoCallBase):
    """Asking for permission to record, deciding it, and its cards."""

    async def _ask_permission(
        self,
        person: Person,
        plan: CallPlan,
        mine: Sequence[RecordingRequest],
        check_id: str,
        meeting_id: str,
        now: datetime,
        started: _Started,
    ) -> None:
        """Ask the Deputy Head (Academic) for permission to record this call (000 §8), unless
        this person already asked, or no one but the person asking could decide."""
        waiting = next(
            (
                r
                for r in mine
                if r.status is RequestStatus.PENDING and r.covers(plan.start, meeting_id)
            ),
            None,
        )
        if waiting is not None:
            started.lines.append(request_waiting_text(waiting))
            started.done.append(RuleId.RECORDING_PERMISSION)
            return
        if not await self._someone_else_decides(person):
            started.lines.append(NO_OTHER_DECIDER)
            return
        request = await self._new_request(person, plan, check_id, meeting_id, now, started.key)
        subject = _subject(RECORDING_KIND, request.ref)
        started.records += [
            Record(RECORDING_KIND, request.ref, 1, _encode_request(request)),
            message(
                Delivery.DIRECT_TO_ROLE,
                Role.DEPUTY_HEAD_ACADEMIC.value,
                subject,
                RENDER_REQUEST,
                now,
            ),
        ]
        started.audit.append(
            AuditEvent(person.id, "call.recording.request", subject, "pending", now)
        )
        line = request_sent_text(request)
        if Role.DEPUTY_HEAD_ACADEMIC in person.roles:
            line += " " + DECIDED_BY_ANOTHER
        elif not await self._held(Role.DEPUTY_HEAD_ACADEMIC):
            line = NOBODY_TO_DECIDE
        started.lines.append(line)
        started.done.append(RuleId.RECORDING_PERMISSION)

    async def _held(self, role: Role) -> bool:
        """Whether someone holds ``role`` (assumed so when the directory cannot answer now:
        holders are resolved again when the message is delivered)."""
        try:
            return bool(await self._directory.members(role))
        except DirectoryUnavailable:
            return True

    async def _someone_else_decides(self, person: Person) -> bool:
        """Whether someone other than ``person`` holds the Deputy Head (Academic) role.

        Always true for anyone else. If the directory cannot answer now, the request is sent
        anyway: holders are resolved again when it is delivered.
        """
        if Role.DEPUTY_HEAD_ACADEMIC not in person.roles:
            return True
        try:
            holders = await self._directory.members(Role.DEPUTY_HEAD_ACADEMIC)
        except DirectoryUnavailable:
            return True
        return any(holder.id != person.id for holder in holders)

    async def _new_request(
        self,
        person: Person,
        plan: CallPlan,
        check_id: str,
        meeting_id: str,
        now: datetime,
        key: str | None,
    ) -> RecordingRequest:
        return RecordingRequest(
            ref=await self._reference("REC", now, key),
            requester_id=person.id,
            requester_name=person.name,
            start=plan.start,
            end=plan.end,
            audience=plan.audience,
            pupil_count=len(plan.pupils),
            platform=plan.platform,
            reason=plan.recording_reason,
            created_at=now,
            call_check_id=check_id,
            meeting_id=meeting_id,
        )

    def _request_view(
        self,
        ctx: ActionContext,
        record: Record,
        request: RecordingRequest,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        decidable = why_not_decider(ctx.person, request) is None
        return Reply(
            card=recording_request_card(
                request,
                self._school,
                version=record.version,
                note=note,
                problem=problem,
                decidable=decidable,
            )
        )

    async def decide_recording(self, ctx: ActionContext) -> Reply:
        """Approve or decline a recording request (000 §8), once.

        The request is reloaded by ``ref``; the clicker must hold the Deputy Head (Academic)
        role in the directory and must not be the requester; it must still be pending and the
        card's ``ver`` current; a decline needs a reason. Every refusal is audited; a Teams
        retry of the same click, or a second click, changes nothing twice. On success the
        member of staff gets a 1:1 card with the decision (and, on approval, the conditions
        of 001 §2.4), in the same atomic change.
        """
        verb = Verb.RECORDING_DECIDE
        record = await record_for(self._deps, ctx, RECORDING_KIND, action=verb.value, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        subject = _subject(RECORDING_KIND, record.id)
        request = _decode_request(record)
        key = dedupe_key(verb.value, ctx)
        if key is not None and await self._store.deduped(key) is not None:
            return self._request_view(ctx, record, request)  # the same click again
        why_not = why_not_decider(ctx.person, request)
        if why_not == "own request":
            await self._refuse(ctx, verb, why_not, subject)
            return self._request_view(
                ctx,
                record,
                request,
                note=f"You asked for this yourself, so another {DEPUTY_HEAD} must decide it. "
                "Nothing was changed.",
            )
        if why_not is not None:
            await self._refuse(ctx, verb, why_not, subject)
            return Reply(card=not_allowed_card(ctx.person))
        if ctx.turn.automatic:  # Teams refreshing a card by itself: never a decision
            await self._refuse(ctx, verb, "automatic refresh", subject)
            return self._request_view(ctx, record, request)
        if request.status is not RequestStatus.PENDING:
            await self._refuse(ctx, verb, "already decided", subject)
            return self._request_view(
                ctx, record, request, note="This was already decided, so nothing was changed."
            )
        if _version(ctx.data) != record.version:
            await self._refuse(ctx, verb, "stale card", subject)
            return self._request_view(
                ctx,
                record,
                request,
                note="This card was out of date, so nothing was changed. Here is the "
                "current state.",
            )
        try:
            decision = Decision(_str(ctx.data, "decision"))
        except ValueError:
            await self._refuse(ctx, verb, "no decision", subject)
            return self._request_view(ctx, record, request, problem="Choose Approve or Decline.")
        now = self._clock.now()
        try:
            decided = decide_recording(
                request, ctx.person, decision, _str(ctx.data, DECISION_REASON_FIELD), now
            )
        except InvalidSubmission as exc:
            problem = next(iter(exc.problems.values()), "Please check the reason.")
            return self._request_view(ctx, record, request, problem=problem)
        except (NotAllowed, AlreadyDone):  # checked above; kept for a request changed meanwhile
            await self._refuse(ctx, verb, "not allowed now", subject)
            return self._request_view(ctx, record, request, note="Nothing was changed.")
        updated = Record(RECORDING_KIND, record.id, record.version + 1, _encode_request(decided))
        try:
            await self._store.commit(
                Change(
                    records=[
                        updated,
                        message(
                            Delivery.DIRECT, decided.requester_id, subject, RENDER_DECIDED, now
                        ),
                    ],
                    audit=[
                        AuditEvent(
                            ctx.person.id,
                            f"call.recording.{decision.value}",
                            subject,
                            decided.status.value,
                            now,
                        )
                    ],
                    dedupe_key=key,
                )
            )
        except (VersionConflict, DuplicateRequest) as exc:
            latest = await self._changed_first(ctx, verb, record, exc, "already decided")
            if latest is None:
                return Reply(card=not_allowed_card(ctx.person))
            return self._request_view(
                ctx,
                latest,
                _decode_request(latest),
                note="This was already decided, so here is the current state.",
            )
        except StoreUnavailable:
            return self._request_view(
                ctx, record, request, problem="That could not be saved just now. Please try again."
            )
        self._deps.doorbell.ring()
        log.info("recording request %s %s", decided.ref, decided.status.value)
        return self._request_view(
            ctx,
            updated,
            decided,
            note=f"Done: {decided.requester_name} will be told.",
        )

    # ----- deliveries ----------------------------------------------------------------------------

    async def render_request(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The recording request for one Deputy Head (Academic); nothing once decided, and
        never to the requester themselves."""
        request = still_in(subject, _decode_request, RequestStatus.PENDING)
        if subject is None or request is None or _to(data, request.requester_id):
            return None
        return Outgoing(card=recording_request_card(request, self._school, version=subject.version))

    async def render_decided(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The decision, for the member of staff who asked."""
        if subject is None:
            return None
        request = _decode_request(subject)
        if request.status is RequestStatus.PENDING:
            return None
        return Outgoing(card=recording_decision_card(request, self._school))
