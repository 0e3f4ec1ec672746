"""Permission to record: asking every Deputy Head (Academic) but the requester, the decision and
its cards (000 §8; 001 §2.4)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cards.video_call import (
    DECISION_REASON_FIELD,
    recording_decision_card,
    recording_request_card,
)
from cards.welcome import not_allowed_card
from dialogs.codec import input_text
from dialogs.handling import Handling, Refusal, decide, moved_on, record_for, still_in
from dialogs.kinds.video_call import (
    _REF,
    RECORDING_KIND,
    RECORDING_PREFIX,
    RENDER_DECIDED,
    RENDER_REQUEST,
    REQUESTS,
    _to,
)
from dialogs.outbox import Delivery, message
from dialogs.ports import (
    DirectoryUnavailable,
    Outgoing,
    Record,
)
from dialogs.router import ActionContext, Reply
from dialogs.video_call.base import VideoCallBase, _Check, _Started
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
    Decision,
    RecordingRequest,
    RequestStatus,
    RuleId,
    decide_recording,
    why_not_decider,
)

log = logging.getLogger(__package__)  # "dialogs.video_call", as before the split


class _NoDecision(Exception):
    """The click chose neither Approve nor Decline."""


@dataclass(frozen=True, slots=True)
class _LoadedRequest:
    """A recording request reloaded for a click (``done``: what its decision is said with)."""

    record: Record
    request: RecordingRequest
    done: str | None = None


def _decision_audited(decided: _LoadedRequest) -> tuple[str, str]:
    """A decision is audited as ``call.recording.approve``/``decline``, with its status."""
    request = decided.request
    verb = "approve" if request.status is RequestStatus.APPROVED else "decline"
    return f"call.recording.{verb}", request.status.value


def _closed_request(loaded: _LoadedRequest) -> Refusal | None:
    if loaded.request.status is RequestStatus.PENDING:
        return None
    return Refusal("already decided", "This was already decided, so nothing was changed.")


class RecordingHandlers(VideoCallBase):
    """Asking for permission to record, deciding it, and its cards."""

    async def _ask_permission(
        self, check: _Check, mine: Sequence[RecordingRequest], started: _Started
    ) -> None:
        """Ask the Deputy Head (Academic) for permission to record this call (000 §8), unless
        this person already asked, or no one but the person asking could decide."""
        person, plan, now = check.person, check.plan, check.now
        waiting = next(
            (
                r
                for r in mine
                if r.status is RequestStatus.PENDING and r.covers(plan.start, check.meeting_id)
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
        request = await self._new_request(check, started.key)
        subject = REQUESTS.subject(request.ref)
        started.records += [
            Record(RECORDING_KIND, request.ref, 1, REQUESTS.encode(request)),
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

    async def _new_request(self, check: _Check, key: str | None) -> RecordingRequest:
        person, plan, now = check.person, check.plan, check.now
        return RecordingRequest(
            ref=await self._reference(RECORDING_PREFIX, now, key),
            requester_id=person.id,
            requester_name=person.name,
            start=plan.start,
            end=plan.end,
            audience=plan.audience,
            pupil_count=len(plan.pupils),
            platform=plan.platform,
            reason=plan.recording_reason,
            created_at=now,
            call_check_id=check.check_id,
            meeting_id=check.meeting_id,
        )

    def _request_view(
        self,
        ctx: ActionContext,
        loaded: _LoadedRequest,
        *,
        note: str | None = None,
        problem: str | None = None,
    ) -> Reply:
        """The request card for the clicker (with the decision's note once they made it)."""
        request = loaded.request
        if loaded.done is not None:  # shown once, when the decision was saved
            log.info("recording request %s %s", request.ref, request.status.value)
        decidable = why_not_decider(ctx.person, request) is None
        return Reply(
            card=recording_request_card(
                request,
                self._school,
                version=loaded.record.version,
                note=note or loaded.done,
                problem=problem,
                decidable=decidable,
            )
        )

    async def _load_request(self, ctx: ActionContext) -> _LoadedRequest | Reply:
        """The request a click names, if the clicker may decide it: a Deputy Head (Academic)
        in the directory who did not ask for it (each refusal audited)."""
        verb = Verb.RECORDING_DECIDE
        record = await record_for(self._deps, ctx, RECORDING_KIND, action=verb.value, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        loaded = _LoadedRequest(record, REQUESTS.decode(record))
        why_not = why_not_decider(ctx.person, loaded.request)
        if why_not is None:
            return loaded
        await self._refuse(ctx, verb, why_not, record.ref)
        if why_not != "own request":
            return Reply(card=not_allowed_card(ctx.person))
        return self._request_view(
            ctx,
            loaded,
            note=f"You asked for this yourself, so another {DEPUTY_HEAD} must decide it. "
            "Nothing was changed.",
        )

    async def _request_rejected(
        self, ctx: ActionContext, loaded: _LoadedRequest, exc: Exception
    ) -> Reply:
        """No decision chosen (refused), a decline without a good reason (a problem to put
        right) or a request the rules no longer let this person decide (refused)."""
        if isinstance(exc, InvalidSubmission):
            problem = next(iter(exc.problems.values()), "Please check the reason.")
            return self._request_view(ctx, loaded, problem=problem)
        if isinstance(exc, _NoDecision):
            await self._refuse(ctx, Verb.RECORDING_DECIDE, "no decision", loaded.record.ref)
            return self._request_view(ctx, loaded, problem="Choose Approve or Decline.")
        await self._refuse(ctx, Verb.RECORDING_DECIDE, "not allowed now", loaded.record.ref)
        return self._request_view(ctx, loaded, note="Nothing was changed.")

    @property
    def _recording(self) -> Handling[_LoadedRequest]:
        return Handling(
            self._load_request,
            self._request_view,
            "This card was out of date, so nothing was changed. Here is the current state.",
            (_NoDecision, InvalidSubmission, NotAllowed, AlreadyDone),
            closed=_closed_request,
            changed=Refusal(
                "already decided", "This was already decided, so here is the current state."
            ),
            rejected=self._request_rejected,
            audited=_decision_audited,
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

        def make(loaded: _LoadedRequest, now: datetime) -> tuple[_LoadedRequest, list[Record]]:
            try:
                decision = Decision(input_text(ctx.data, "decision"))
            except ValueError:
                raise _NoDecision from None
            reason = input_text(ctx.data, DECISION_REASON_FIELD)
            decided = decide_recording(loaded.request, ctx.person, decision, reason, now)
            record = loaded.record
            updated = Record(record.kind, record.id, record.version + 1, REQUESTS.encode(decided))
            told = message(Delivery.DIRECT, decided.requester_id, record.ref, RENDER_DECIDED, now)
            done = f"Done: {decided.requester_name} will be told."
            return _LoadedRequest(updated, decided, done), [updated, told]

        verb = Verb.RECORDING_DECIDE.value
        return await decide(self._recording, self._deps, ctx, action=verb, change=make)

    # ----- deliveries ----------------------------------------------------------------------------

    async def render_request(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The recording request for one Deputy Head (Academic); nothing once decided, and
        never to the requester themselves."""
        request = still_in(subject, REQUESTS.decode, RequestStatus.PENDING)
        if subject is None or request is None or _to(data, request.requester_id):
            return None
        return Outgoing(card=recording_request_card(request, self._school, version=subject.version))

    async def render_decided(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The decision, for the member of staff who asked."""
        request = moved_on(subject, REQUESTS.decode, RequestStatus.PENDING)
        if request is None:
            return None
        return Outgoing(card=recording_decision_card(request, self._school))
