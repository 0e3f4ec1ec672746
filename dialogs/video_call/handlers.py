"""Check a video call, its follow-ups, quick answers, the withdrawn list and the next lessons.

Rules: ``policy.video_calls`` (000 §6, §8, §10; 001 §2.4). Authorisation by role has already
happened in ``Dialogs`` (``policy.actions.PERMISSIONS``) before any handler here runs; handlers
that act on an item check the clicker against the item itself again.

What is kept, and what it starts:
- each check is a ``call_check`` record (the plan, and every rule's outcome) with an audit
  entry ``call.check`` whose outcome is the verdict;
- a check that will be recorded without permission yet (and is otherwise allowed) starts a
  ``recording_request`` (``REC-YYYY-NNNN``) with a 1:1 card to every Deputy Head (Academic)
  but the requester, in the same atomic change (000 §8); the decision (``RECORDING_DECIDE``)
  is role-checked, never by the requester, versioned, idempotent and audited, and the member
  of staff is told, with the conditions that still apply on approval (001 §2.4);
- a 1:1 call with a pupil (allowed, or allowed once) starts a ``call_log`` (``LOG-YYYY-NNNN``)
  and a timer at the planned end: the member of staff then gets a 1:1 "Log this call" card,
  reminded at the start of each school day until it is sent; the submitted log goes to the
  Deputy Head (Academic) and the head of department (000 §6);
- the Deputy Head (Academic)'s list of pupils withdrawn by their parents is one
  ``withdrawn_pupils`` record, each change audited;
- "Check my next lessons" reads the calendar and judges each Teams meeting, its attendees and
  its settings (``check_meeting``); it changes nothing.
Audit entries and logs never hold a pupil's name, a purpose or a reason: ids and references.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from cards.video_call import (
    DECISION_REASON_FIELD,
    EVERY_HEAD,
    MAX_MINUTES,
    MAX_PUPIL_NAME,
    MIN_MINUTES,
    OTHER_PLATFORM,
    PUPIL_FIELD,
    Field,
    LogField,
    calendar_unavailable_card,
    call_check_form,
    call_log_card,
    call_log_record_card,
    call_log_sent_card,
    call_verdict_card,
    form_values,
    next_lessons_card,
    recording_decision_card,
    recording_request_card,
    rule_answer_card,
    withdrawn_pupils_card,
)
from cards.welcome import not_allowed_card, private_chat_only_card
from dialogs.codec import text_field
from dialogs.handling import FeatureHandlers, dedupe_key, record_for, refuse, still_in
from dialogs.outbox import Delivery, TimerResult, message, timer
from dialogs.ports import (
    Change,
    DirectoryUnavailable,
    DuplicateRequest,
    Meeting,
    Outgoing,
    Record,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from dialogs.registry import Deps, Feature, Handler
from dialogs.service import ActionContext, Reply, Scope
from dialogs.video_call.base import MAX_MEETINGS, NEXT_DAYS, _Attendees, _Started
from dialogs.video_call.forms import (
    _meeting_id,
    _stored_names,
    _str,
    _version,
    parse_call_log,
    parse_call_plan,
)
from dialogs.video_call.kinds import (
    _REF,
    CALL_CHECK_KIND,
    CALL_LOG_KIND,
    LOG_DUE,
    RECORDING_KIND,
    RENDER_DECIDED,
    RENDER_LOG_FORM,
    RENDER_LOG_REMINDER,
    RENDER_LOG_SUBMITTED,
    RENDER_REQUEST,
    WITHDRAWN_ID,
    WITHDRAWN_KIND,
    _decode_log,
    _decode_request,
    _encode_log,
    _encode_request,
    _subject,
    _to,
)
from dialogs.video_call.texts import (
    ASK_ONCE_ALLOWED,
    DECIDED_BY_ANOTHER,
    NO_OTHER_DECIDER,
    NOBODY_TO_DECIDE,
    SELF_DECLARED,
    log_due_text,
    request_sent_text,
    request_waiting_text,
)
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.errors import InvalidSubmission, NotAllowed
from policy.roles import Person, Role
from policy.video_calls import (
    DEPUTY_HEAD,
    TEAMS,
    AlreadyDone,
    Audience,
    CallLog,
    CallPlan,
    Decision,
    LogStatus,
    MeetingCheck,
    MeetingSettings,
    RecordingRequest,
    RequestStatus,
    RuleId,
    Verdict,
    check_call,
    check_meeting,
    decide_recording,
    next_log_reminder,
    pupil_contact_rule_text,
    recording_rule_text,
    submit_call_log,
    why_not_decider,
    withdrawn_in,
)

log = logging.getLogger(__package__)  # "dialogs.video_call", as before the split

#: Typed questions and the verb each runs (matched against lower-cased text, in order). Kept
#: narrow on purpose: "a pupil recorded a video of me" is a concern, not a rule question.
PHRASES: tuple[tuple[str, Verb], ...] = (
    (
        r"\bnext (lessons?|meetings?)\b|\bcheck my (lessons|meetings|calendar)\b",
        Verb.NEXT_LESSONS,
    ),
    (
        r"^recordings?\W*$|\brecording rules?\b"
        r"|\b(can|may|how|when|should|allowed to)\b.*\brecord(ing)?\b"
        r".*\b(lessons?|calls?|meetings?|teams|video|class)\b"
        r"|^recording (a |an |the |my )?(lessons?|calls?|meetings?)\b",
        Verb.CALL_RULE_RECORDING,
    ),
    (
        r"\b(when|what time|can i|may i|how)\b.*\b(call|contact|phone|ring|message|email)\b"
        r".*\b(pupils?|students?|child|children)\b"
        r"|\b(contact|call|phone|email|message)(ing)? (a )?(pupils?|students?) at home\b"
        r"|\bcontact hours\b",
        Verb.CALL_RULE_CONTACT,
    ),
    (r"\bwithdrawn (pupils|list)\b|\bwithdrawn from video", Verb.WITHDRAWN_PUPILS),
    (r"\b(check|plan|planning)\b.*\bvideo ?calls?\b|^video ?calls?\W*$", Verb.CHECK_VIDEO_CALL),
)


class VideoCallHandlers(FeatureHandlers):
    """The handlers, renderers and timer of the video-call feature, over the feature's ports."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._directory = deps.directory
        self._calendar = deps.calendar

    # ----- the check ------------------------------------------------------------------------------

    async def show_form(self, ctx: ActionContext) -> Reply:
        """Show the "Check a video call" form, dated today in school time (private chat only).

        With ``data["meeting"]`` (from "Check my next lessons") the meeting is reloaded from
        the person's own calendar by id and the form is filled in from it.
        """
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        today = self._clock.now().astimezone(self._school.zone).date()
        values: dict[str, Any] = {Field.DATE: today.isoformat()}
        if previous := await self._previous_form(ctx):
            # "Check another call": start from the last call's answers (theirs only).
            return Reply(card=call_check_form(self._school, values=previous))
        meeting_id = _meeting_id(ctx.data)
        if not meeting_id:
            return Reply(card=call_check_form(self._school, values=values))
        try:
            meeting = await self._my_meeting(ctx.person, meeting_id)
            attendees = None if meeting is None else await self._attendees(meeting)
        except DirectoryUnavailable:
            meeting = attendees = None
        if meeting is None or attendees is None:
            return Reply(
                card=call_check_form(
                    self._school,
                    values=values,
                    note="I couldn't find that meeting in your calendar just now, so please "
                    "fill in the details.",
                )
            )
        return Reply(
            card=call_check_form(
                self._school,
                values=self._meeting_values(meeting, attendees),
                meeting_id=meeting.id,
                note="Filled in from your Teams meeting. Add what the calendar can't tell me: "
                "parents' consent, where you'll be, and whether it will be recorded.",
            )
        )

    async def _previous_form(self, ctx: ActionContext) -> dict[str, str]:
        """The answers of the check a "Check another call" button names, when it is this
        person's own (anyone else's, or none: nothing)."""
        check_id = text_field(ctx.data, "check")
        if not check_id or len(check_id) > 64:
            return {}
        record = await self._store.get(CALL_CHECK_KIND, check_id)
        if record is None or record.data.get("actor") != ctx.person.id:
            return {}
        form = record.data.get("form")
        return dict(form) if isinstance(form, Mapping) else {}

    def _meeting_values(self, meeting: Meeting, attendees: _Attendees) -> dict[str, Any]:
        local = meeting.start.astimezone(self._school.zone)
        minutes = int((meeting.end - meeting.start).total_seconds() // 60)
        platforms = self._school.video_calls.approved_platforms
        pupils = [p.name for p in attendees.pupils]
        return {
            Field.DATE: local.date().isoformat(),
            Field.START: f"{local:%H:%M}",
            Field.DURATION: str(min(max(minutes, MIN_MINUTES), MAX_MINUTES)),
            Field.PLATFORM: TEAMS if TEAMS in platforms else OTHER_PLATFORM,
            Field.WHO: Audience.NAMED_PUPILS.value if pupils else Audience.STAFF_ONLY.value,
            Field.PUPILS: ", ".join(pupils),
            Field.ONE_TO_ONE: "true" if self._one_to_one(attendees) else "false",
            Field.RECORDED: "true" if meeting.record_automatically else "false",
        }

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate the form, judge the plan (000 §6, §8, §10; 001 §2.4), keep, start the
        follow-ups and answer.

        Bad input re-shows the form with each problem by its field and stores nothing. A valid
        plan is stored as a ``call_check`` record with a ``call.check`` audit entry (outcome:
        the verdict; no names). In the same atomic change: a ``recording_request`` to the
        Deputy Head (Academic) when the call will be recorded without permission yet and
        nothing forbids it (000 §8), and a ``call_log`` with its timer for a 1:1 call with a
        pupil that is allowed or allowed once (000 §6). An approved request of this person
        for this call counts as permission. Once per Teams activity: a retried activity gets
        the same answer without a second record.
        """
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        meeting_id = _meeting_id(ctx.data)
        withdrawn = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
        try:
            plan = parse_call_plan(ctx.data, self._school, withdrawn)
        except InvalidSubmission as exc:
            return Reply(
                card=call_check_form(
                    self._school, values=ctx.data, problems=exc.problems, meeting_id=meeting_id
                )
            )
        mine = [
            _decode_request(r)
            for r in await self._store.find(RECORDING_KIND, requester=ctx.person.id)
        ]
        approved = next(
            (
                r
                for r in mine
                if r.status is RequestStatus.APPROVED and r.covers(plan.start, meeting_id)
            ),
            None,
        )
        # Permission to record is recorded as given by the Deputy Head (Academic) (000 §8):
        # "they have already agreed" counts only with their approved request; otherwise they are
        # sent one to confirm, and the verdict waits until they do.
        self_declared = plan.recording and plan.recording_permission_granted and approved is None
        if plan.recording:
            plan = replace(plan, recording_permission_granted=approved is not None)
        verdict = check_call(plan, self._school)
        key = dedupe_key("call.check", ctx)
        if key is not None and (done := await self._store.deduped(key)) is not None:
            # Teams sent the same click again: already kept once; answer the same again.
            return await self._answer_again(plan, done)
        now = self._clock.now()
        check_id = uuid.uuid4().hex
        started = _Started(key=key)
        if approved is not None and plan.recording:
            started.lines.append(
                f"The {DEPUTY_HEAD} gave permission to record this call ({approved.ref})."
            )
        if self_declared and verdict.verdict is not Verdict.NOT_ALLOWED:
            started.lines.append(SELF_DECLARED)
        if plan.recording and not plan.recording_permission_granted:
            if verdict.verdict is Verdict.NOT_ALLOWED:
                started.lines.append(ASK_ONCE_ALLOWED)
            else:
                await self._ask_permission(
                    ctx.person, plan, mine, check_id, meeting_id, now, started
                )
        if plan.one_to_one_with_pupil and verdict.verdict is not Verdict.NOT_ALLOWED:
            await self._expect_log(ctx.person, plan, check_id, meeting_id, now, started)
        local = plan.start.astimezone(self._school.zone)
        check = Record(
            kind=CALL_CHECK_KIND,
            id=check_id,
            version=1,
            data={
                "actor": ctx.person.id,
                "checked_at": now.isoformat(),
                "date": local.date().isoformat(),
                "start": f"{local:%H:%M}",
                "duration_minutes": int(plan.duration.total_seconds() // 60),
                "platform": plan.platform,
                "audience": plan.audience.value,
                "pupils": list(plan.pupils),
                "one_to_one": plan.one_to_one_with_pupil,
                "contact_at_home": plan.contact_at_home,
                "recording": plan.recording,
                "meeting_id": meeting_id,
                "call_log": started.log_ref,
                "verdict": verdict.verdict.value,
                "rules": verdict.summary(),
                # What they entered, for "Check another call" (shown only to them again).
                "form": form_values(ctx.data),
            },
        )
        event = AuditEvent(
            actor=ctx.person.id,
            action="call.check",
            item=check.ref,
            outcome=verdict.verdict.value,
            at=now,
        )
        try:
            await self._store.commit(
                Change(
                    records=(check, *started.records),
                    audit=(event, *started.audit),
                    dedupe_key=key,
                )
            )
        except DuplicateRequest as dup:
            # The same click, sent twice at once: the other one was kept; answer as it did.
            log.info("call check already stored", extra={"activity": ctx.turn.activity_id})
            return await self._answer_again(plan, dup.refs)
        except StoreUnavailable:
            log.error("a call check could not be saved (store unavailable)")
            return Reply(
                card=call_check_form(
                    self._school,
                    values=ctx.data,
                    meeting_id=meeting_id,
                    note="Your check could not be saved just now, so nothing was sent. Please "
                    "try again in a minute.",
                )
            )
        if started.records:
            self._deps.doorbell.ring()
        return Reply(
            card=call_verdict_card(
                verdict,
                plan,
                self._school,
                follow_ups=started.lines,
                done_by_bot=started.done,
                check_id=check_id,
            )
        )

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

    async def _expect_log(
        self,
        person: Person,
        plan: CallPlan,
        check_id: str,
        meeting_id: str,
        now: datetime,
        started: _Started,
    ) -> None:
        """Start the log of a 1:1 call with a pupil (000 §6) and its timer at the planned end,
        unless this call's log is already waiting."""
        waiting = [
            _decode_log(r)
            for r in await self._store.find(
                CALL_LOG_KIND, teacher=person.id, status=LogStatus.PENDING.value
            )
        ]
        existing = next((c for c in waiting if c.covers(plan.start, meeting_id)), None)
        if existing is not None:
            started.lines.append(log_due_text(existing, self._school, new=False))
            started.log_ref = existing.ref
            return
        call_log = await self._new_log(person, plan, check_id, meeting_id, now, started.key)
        subject = _subject(CALL_LOG_KIND, call_log.ref)
        started.records += [
            Record(CALL_LOG_KIND, call_log.ref, 1, _encode_log(call_log)),
            timer(LOG_DUE, subject, call_log.planned_end),
        ]
        started.audit.append(AuditEvent(person.id, "call.log.request", subject, "pending", now))
        started.lines.append(log_due_text(call_log, self._school, new=True))
        started.log_ref = call_log.ref

    async def _answer_again(self, plan: CallPlan, refs: Sequence[str]) -> Reply:
        """The answer to a click already kept: the same verdict and the same follow-ups."""
        verdict = check_call(plan, self._school)
        follow_ups: list[str] = []
        done: list[RuleId] = []
        check_id = ""
        for ref in refs:
            kind, _, item_id = ref.partition(":")
            record = await self._store.get(kind, item_id)
            if record is None:
                continue
            if kind == RECORDING_KIND:
                follow_ups.append(request_sent_text(_decode_request(record)))
                done.append(RuleId.RECORDING_PERMISSION)
            elif kind == CALL_LOG_KIND:
                follow_ups.append(log_due_text(_decode_log(record), self._school, new=True))
            elif kind == CALL_CHECK_KIND:
                check_id = item_id
        return Reply(
            card=call_verdict_card(
                verdict,
                plan,
                self._school,
                follow_ups=follow_ups,
                done_by_bot=done,
                check_id=check_id,
            )
        )

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

    async def _reference(self, prefix: str, now: datetime, key: str | None) -> str:
        year = now.astimezone(self._school.zone).year
        number = await self._store.next_sequence(f"{prefix}-{year}", key=key)
        return f"{prefix}-{year}-{number:04d}"

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

    async def _new_log(
        self,
        person: Person,
        plan: CallPlan,
        check_id: str,
        meeting_id: str,
        now: datetime,
        key: str | None,
    ) -> CallLog:
        return CallLog(
            ref=await self._reference("LOG", now, key),
            teacher_id=person.id,
            teacher_name=person.name,
            pupils=plan.pupils,
            planned_start=plan.start,
            planned_duration=plan.duration,
            created_at=now,
            call_check_id=check_id,
            meeting_id=meeting_id,
        )

    # ----- quick answers and the withdrawn list ---------------------------------------------------

    async def recording_rule(self, ctx: ActionContext) -> Reply:
        """The recording rule in plain words (000 §6, §8; 001 §2.4)."""
        return Reply(card=rule_answer_card("Recording a lesson", recording_rule_text(self._school)))

    async def contact_rule(self, ctx: ActionContext) -> Reply:
        """When pupils may be called or contacted (000 §6, §10)."""
        return Reply(
            card=rule_answer_card(
                "When you can call or contact pupils", pupil_contact_rule_text(self._school)
            )
        )

    async def withdrawn_pupils(self, ctx: ActionContext) -> Reply:
        """Show, add to or remove from the list of pupils withdrawn by parents (000 §6).

        ``data["op"]`` is "add", "remove" or anything else to show; ``data["pupil"]`` the name.
        The list is one record changed with optimistic versioning (one retry on a conflict);
        each change is audited as ``withdrawn.add`` / ``withdrawn.remove`` without the name.
        Shown only in a private chat: the names are personal data.
        """
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        op = _str(ctx.data, "op")
        name = " ".join(_str(ctx.data, PUPIL_FIELD).split())
        if op not in ("add", "remove"):
            current = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
            return Reply(card=withdrawn_pupils_card(current))
        if not name or len(name) > MAX_PUPIL_NAME:
            current = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
            problem = (
                "Enter the pupil's full name."
                if not name
                else f"Names are at most {MAX_PUPIL_NAME} characters."
            )
            return Reply(card=withdrawn_pupils_card(current, problem=problem, value=name))
        for attempt in (1, 2):
            stored = await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID)
            current = _stored_names(stored)
            on_list = name.casefold() in {n.casefold() for n in current}
            if op == "add" and on_list:
                return Reply(
                    card=withdrawn_pupils_card(current, note=f"{name} is already on the list.")
                )
            if op == "remove" and not on_list:
                return Reply(
                    card=withdrawn_pupils_card(current, note=f"{name} is not on the list.")
                )
            if op == "add":
                changed = sorted([*current, name], key=str.casefold)
            else:
                changed = [n for n in current if n.casefold() != name.casefold()]
            record = Record(
                kind=WITHDRAWN_KIND,
                id=WITHDRAWN_ID,
                version=(stored.version if stored else 0) + 1,
                data={"pupils": changed},
            )
            event = AuditEvent(
                actor=ctx.person.id,
                action=f"withdrawn.{op}",
                item=record.ref,
                outcome="ok",
                at=self._clock.now(),
            )
            try:
                await self._store.commit(
                    Change(
                        records=(record,),
                        audit=(event,),
                        dedupe_key=dedupe_key(f"withdrawn.{op}", ctx),
                    )
                )
            except VersionConflict:
                if attempt == 1:
                    continue  # someone else changed the list first: reload and decide again
                latest = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
                return Reply(
                    card=withdrawn_pupils_card(
                        latest,
                        note="Someone else changed the list at the same moment. "
                        "Please check it and try again.",
                        value=name,
                    )
                )
            except DuplicateRequest:
                latest = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
                return Reply(card=withdrawn_pupils_card(latest))
            done = "Added" if op == "add" else "Removed"
            verb = "to" if op == "add" else "from"
            return Reply(
                card=withdrawn_pupils_card(changed, note=f"{done} {name} {verb} the list.")
            )
        raise AssertionError("unreachable: the loop always returns")

    # ----- permission to record (000 §8; 001 §2.4) ------------------------------------------------

    async def _refuse(self, ctx: ActionContext, verb: Verb, why: str, item: str = "") -> None:
        """Audit a refusal: who, which verb, which item, why (no names, no text)."""
        await refuse(self._deps, ctx, why, item, action=verb.value)

    async def _changed_first(
        self, ctx: ActionContext, verb: Verb, record: Record, exc: StoreError, why: str
    ) -> Record | None:
        """The item as it is now, after someone else (or a Teams retry of this click) changed
        it first; someone else's change is audited as a refusal (``why``)."""
        latest = await self._store.get(record.kind, record.id)
        if latest is not None and isinstance(exc, VersionConflict):
            await self._refuse(ctx, verb, why, record.ref)
        return latest

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

    # ----- the 1:1 call log (000 §6) --------------------------------------------------------------

    async def _heads(self) -> list[tuple[str, str]]:
        """(id, name) of every head of department, from the directory.

        Raises:
            DirectoryUnavailable: the directory cannot be asked right now.
        """
        return [(p.id, p.name) for p in await self._directory.members(Role.HEAD_OF_DEPARTMENT)]

    async def _last_head(self, teacher_id: str) -> str:
        """The head of department this person sent their last log to ("" if none)."""
        sent = [
            _decode_log(r)
            for r in await self._store.find(
                CALL_LOG_KIND, teacher=teacher_id, status=LogStatus.SUBMITTED.value
            )
        ]
        sent.sort(key=lambda c: c.submitted_at or c.created_at)
        return sent[-1].entry.head_of_department_id if sent and sent[-1].entry else ""

    async def _log_values(
        self, call_log: CallLog, heads: Sequence[tuple[str, str]]
    ) -> dict[str, Any]:
        """The log card's inputs, filled in from the check (000 §6)."""
        local = call_log.planned_start.astimezone(self._school.zone)
        ids = [pid for pid, _ in heads]
        last = await self._last_head(call_log.teacher_id)
        head = last if last in ids else (ids[0] if len(ids) == 1 else EVERY_HEAD)
        return {
            LogField.NAMES: ", ".join([call_log.teacher_name, *call_log.pupils]),
            LogField.DATE: local.date().isoformat(),
            LogField.START: f"{local:%H:%M}",
            LogField.DURATION: str(int(call_log.planned_duration.total_seconds() // 60)),
            LogField.HEAD_OF_DEPARTMENT: head,
        }

    async def _recipients(self, call_log: CallLog) -> str:
        """Where a submitted log went, in words."""
        head_id = call_log.entry.head_of_department_id if call_log.entry else ""
        if not head_id:
            return f"the {DEPUTY_HEAD} and every head of department"
        try:
            head = await self._directory.person(head_id)
        except DirectoryUnavailable:
            head = None
        name = head.name if head is not None else "your head of department"
        return f"the {DEPUTY_HEAD} and {name} (head of department)"

    async def _log_sent(self, call_log: CallLog, note: str | None = None) -> Reply:
        return Reply(
            card=call_log_sent_card(
                call_log, self._school, recipients=await self._recipients(call_log), note=note
            )
        )

    async def submit_log(self, ctx: ActionContext) -> Reply:
        """Send a 1:1 call log to the Deputy Head (Academic) and the head of department.

        000 §6: staff "record details (e.g. names, date, time/duration, purpose, outcome) and
        submit to the Deputy Head (Academic) and Head of department". The log is reloaded by
        ``ref``; only the member of staff who made the check may send it, once, from a current
        card; the input is validated here again. The log, its audit entry and the 1:1
        messages (to every Deputy Head (Academic), and to the chosen head of department or,
        when none is chosen, every head of department) are one atomic change.
        """
        verb = Verb.CALL_LOG_SUBMIT
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        record = await record_for(self._deps, ctx, CALL_LOG_KIND, action=verb.value, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        subject = _subject(CALL_LOG_KIND, record.id)
        call_log = _decode_log(record)
        if call_log.teacher_id != ctx.person.id:
            await self._refuse(ctx, verb, "not the member of staff who made the call", subject)
            return Reply(card=not_allowed_card(ctx.person))
        key = dedupe_key(verb.value, ctx)
        if key is not None and await self._store.deduped(key) is not None:
            return await self._log_sent(call_log)  # the same click again
        if ctx.turn.automatic:
            await self._refuse(ctx, verb, "automatic refresh", subject)
            if call_log.status is LogStatus.SUBMITTED:
                return await self._log_sent(call_log)
            return await self._log_form(call_log, record.version, ctx.data)
        if call_log.status is not LogStatus.PENDING:
            await self._refuse(ctx, verb, "already submitted", subject)
            return await self._log_sent(call_log, note="This log was already sent.")
        if _version(ctx.data) != record.version:
            await self._refuse(ctx, verb, "stale card", subject)
            return await self._log_form(
                call_log,
                record.version,
                ctx.data,
                note="This card was out of date, so nothing was sent. Please send it again.",
            )
        now = self._clock.now()
        heads: list[tuple[str, str]] = []
        chosen = _str(ctx.data, LogField.HEAD_OF_DEPARTMENT) or EVERY_HEAD
        try:
            heads = await self._heads()
        except DirectoryUnavailable:
            if chosen != EVERY_HEAD:
                return await self._log_form(
                    call_log,
                    record.version,
                    ctx.data,
                    problems={
                        LogField.HEAD_OF_DEPARTMENT: "I can't check the directory just now. "
                        "Please try again in a minute."
                    },
                )
        try:
            entry = parse_call_log(
                ctx.data,
                self._school,
                today=now.astimezone(self._school.zone).date(),
                heads=[pid for pid, _ in heads],
            )
            submitted = submit_call_log(call_log, ctx.person, entry, now)
        except InvalidSubmission as exc:
            return await self._log_form(
                call_log, record.version, ctx.data, problems=exc.problems, heads=heads
            )
        updated = Record(CALL_LOG_KIND, record.id, record.version + 1, _encode_log(submitted))
        outbox = [
            message(
                Delivery.DIRECT_TO_ROLE,
                Role.DEPUTY_HEAD_ACADEMIC.value,
                subject,
                RENDER_LOG_SUBMITTED,
                now,
            ),
            message(
                Delivery.DIRECT, entry.head_of_department_id, subject, RENDER_LOG_SUBMITTED, now
            )
            if entry.head_of_department_id
            else message(
                Delivery.DIRECT_TO_ROLE,
                Role.HEAD_OF_DEPARTMENT.value,
                subject,
                RENDER_LOG_SUBMITTED,
                now,
            ),
        ]
        try:
            await self._store.commit(
                Change(
                    records=[updated, *outbox],
                    audit=[AuditEvent(ctx.person.id, "call.log.submit", subject, "ok", now)],
                    dedupe_key=key,
                )
            )
        except (VersionConflict, DuplicateRequest) as exc:
            latest = await self._changed_first(ctx, verb, record, exc, "already submitted")
            if latest is None:
                return Reply(card=not_allowed_card(ctx.person))
            return await self._log_sent(_decode_log(latest), note="This log was already sent.")
        except StoreUnavailable:
            return await self._log_form(
                call_log,
                record.version,
                ctx.data,
                note="The log could not be saved just now, so it has NOT been sent. Please try "
                "again in a minute.",
                heads=heads,
            )
        self._deps.doorbell.ring()
        log.info("call log %s submitted", submitted.ref)
        return await self._log_sent(submitted)

    async def _log_form(
        self,
        call_log: CallLog,
        version: int,
        values: Mapping[str, Any],
        *,
        problems: Mapping[str, str] | None = None,
        note: str | None = None,
        heads: Sequence[tuple[str, str]] | None = None,
    ) -> Reply:
        """The log card again, with what was sent (or filled in) and any problems."""
        if heads is None:
            try:
                heads = await self._heads()
            except DirectoryUnavailable:
                heads = []
        return Reply(
            card=call_log_card(
                call_log,
                self._school,
                version=version,
                heads=heads,
                values=values,
                problems=problems,
                note=note,
            )
        )

    # ----- "Check my next lessons" ----------------------------------------------------------------

    async def _my_meeting(self, person: Person, meeting_id: str) -> Meeting | None:
        """The person's own upcoming meeting with this id, reloaded from their calendar.

        Raises:
            DirectoryUnavailable: the calendar cannot be asked right now.
        """
        if self._calendar is None:
            return None
        meetings = await self._calendar.upcoming(person.id, days=NEXT_DAYS)
        return next((m for m in meetings if m.id == meeting_id), None)

    async def _attendees(self, meeting: Meeting) -> _Attendees:
        """Pupils and staff at a meeting, by their directory roles (the organiser included).

        Raises:
            DirectoryUnavailable: the directory cannot be asked right now.
        """
        ids = dict.fromkeys([meeting.organizer_id, *meeting.attendee_ids])
        pupils: list[Person] = []
        staff = others = 0
        for person_id in ids:
            person = await self._directory.person(person_id)
            if person is None or not person.has_access:
                others += 1
            elif person.is_pupil:
                pupils.append(person)
            elif person.is_staff:
                staff += 1
            else:
                others += 1
        return _Attendees(tuple(pupils), staff, others)

    @staticmethod
    def _one_to_one(attendees: _Attendees) -> bool:
        """One member of staff and one pupil, nobody else: a 1:1 call (000 §6)."""
        return len(attendees.pupils) == 1 and attendees.staff == 1 and attendees.others == 0

    def _meeting_plan(
        self,
        meeting: Meeting,
        attendees: _Attendees,
        withdrawn: Sequence[str],
        permission: RecordingRequest | None,
    ) -> CallPlan:
        """The plan a meeting describes: its time, its pupils (by directory role), withdrawn
        pupils (by name or by id on the list), pupil-only meetings (000 §6) and permission to
        record. Parents' consent and the location cannot be read from a calendar."""
        names = [p.name for p in attendees.pupils]
        listed = {w.strip().casefold() for w in withdrawn}
        by_id = [p.name for p in attendees.pupils if p.id.casefold() in listed]
        marked = list(dict.fromkeys([*withdrawn_in(names, withdrawn), *by_id]))
        duration = meeting.end - meeting.start
        return CallPlan(
            start=meeting.start,
            duration=duration if duration > timedelta(0) else timedelta(minutes=1),
            platform=TEAMS,
            audience=Audience.NAMED_PUPILS if names else Audience.STAFF_ONLY,
            pupils=tuple(names),
            one_to_one_with_pupil=self._one_to_one(attendees),
            pupil_to_pupil=bool(names) and attendees.staff == 0,
            recording=meeting.record_automatically,
            recording_reason=permission.reason if permission else "",
            recording_permission_granted=permission is not None,
            withdrawn_pupils=tuple(marked),
        )

    async def next_lessons(self, ctx: ActionContext) -> Reply:
        """List the person's upcoming Teams meetings and judge each (000 §6, §8, §10; 001 §2.4).

        Each meeting is judged on its time, its attendees (withdrawn pupils, pupil-only
        meetings, 1:1 calls) and its own settings (``check_meeting``). Changes nothing. When the
        calendar or the directory cannot answer, a kind card says so.
        """
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        if self._calendar is None:
            return Reply(card=calendar_unavailable_card())
        withdrawn = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
        approved = [
            r
            for r in (
                _decode_request(record)
                for record in await self._store.find(RECORDING_KIND, requester=ctx.person.id)
            )
            if r.status is RequestStatus.APPROVED
        ]
        checks: list[MeetingCheck] = []
        try:
            meetings = await self._calendar.upcoming(ctx.person.id, days=NEXT_DAYS)
            for meeting in meetings[:MAX_MEETINGS]:
                attendees = await self._attendees(meeting)
                permission = next(
                    (r for r in approved if r.covers(meeting.start, meeting.id)), None
                )
                plan = self._meeting_plan(meeting, attendees, withdrawn, permission)
                settings = MeetingSettings(
                    allow_recording=meeting.allow_recording,
                    record_automatically=meeting.record_automatically,
                    lobby_bypass=meeting.lobby_bypass,
                    allowed_presenters=meeting.allowed_presenters,
                    has_external_guests=meeting.has_external_guests,
                )
                checks.append(
                    MeetingCheck(
                        meeting_id=meeting.id,
                        subject=meeting.subject,
                        plan=plan,
                        verdict=check_meeting(plan, settings, self._school),
                        pupils=len(attendees.pupils),
                        staff=attendees.staff,
                        others=attendees.others,
                        permission_ref=permission.ref if permission else "",
                    )
                )
        except DirectoryUnavailable:
            log.warning("calendar or directory unavailable for next lessons")
            return Reply(card=calendar_unavailable_card())
        return Reply(
            card=next_lessons_card(
                checks,
                self._school,
                days=NEXT_DAYS,
                more=max(0, len(meetings) - MAX_MEETINGS),
            )
        )

    # ----- deliveries and the log timer -----------------------------------------------------------

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

    async def _render_log(self, subject: Record | None, *, reminder: bool) -> Outgoing | None:
        call_log = still_in(subject, _decode_log, LogStatus.PENDING)
        if subject is None or call_log is None:
            return None
        heads = await self._heads()  # DirectoryUnavailable: the outbox tries again later
        return Outgoing(
            card=call_log_card(
                call_log,
                self._school,
                version=subject.version,
                heads=heads,
                values=await self._log_values(call_log, heads),
                reminder=reminder,
            )
        )

    async def render_log_form(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The "Log this call" card, after the planned end; nothing once it was sent."""
        return await self._render_log(subject, reminder=False)

    async def render_log_reminder(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The overdue "Log this call" card; nothing once it was sent."""
        return await self._render_log(subject, reminder=True)

    async def render_log_submitted(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The submitted log, for the Deputy Head (Academic) and the head of department (the
        member of staff who sent it already has it)."""
        call_log = still_in(subject, _decode_log, LogStatus.SUBMITTED)
        if call_log is None or _to(data, call_log.teacher_id):
            return None
        return Outgoing(card=call_log_record_card(call_log, self._school))

    async def on_log_due(self, subject: Record | None, item: Record, now: datetime) -> TimerResult:
        """The planned end of a 1:1 call: ask for the log; later, remind each school day.

        The first firing (at the planned end) sends the "Log this call" card; if the log is
        still not sent, the next school day's start of teaching hours sends a reminder, and so
        on daily until it is sent (000 §6). A sent or missing log ends the timer.
        """
        call_log = still_in(subject, _decode_log, LogStatus.PENDING)
        if call_log is None:
            return TimerResult()
        first = datetime.fromisoformat(item.data["due_at"]) <= call_log.planned_end
        ref = _subject(CALL_LOG_KIND, call_log.ref)
        render = RENDER_LOG_FORM if first else RENDER_LOG_REMINDER
        log.info("call log %s %s", call_log.ref, "asked for" if first else "reminded")
        return TimerResult(
            outbox=[message(Delivery.DIRECT, call_log.teacher_id, ref, render, now)],
            audit=[
                AuditEvent(
                    "system", "call.log.ask" if first else "call.log.reminder", ref, "sent", now
                )
            ],
            again_at=next_log_reminder(now, self._school),
        )


def feature(deps: Deps) -> Feature:
    """The video-call feature: check a call and its follow-ups (permission to record, the 1:1
    call log), the next lessons, quick rule answers and the withdrawn-pupils list."""
    calls = VideoCallHandlers(deps)
    routes: dict[Verb, Handler] = {
        Verb.CHECK_VIDEO_CALL: calls.show_form,
        Verb.CALL_SUBMIT: calls.submit,
        Verb.NEXT_LESSONS: calls.next_lessons,
        Verb.RECORDING_DECIDE: calls.decide_recording,
        Verb.CALL_LOG_SUBMIT: calls.submit_log,
        Verb.CALL_RULE_RECORDING: calls.recording_rule,
        Verb.CALL_RULE_CONTACT: calls.contact_rule,
        Verb.WITHDRAWN_PUPILS: calls.withdrawn_pupils,
    }
    return Feature(
        routes=routes,
        phrases=PHRASES,
        renderers={
            RENDER_REQUEST: calls.render_request,
            RENDER_DECIDED: calls.render_decided,
            RENDER_LOG_FORM: calls.render_log_form,
            RENDER_LOG_REMINDER: calls.render_log_reminder,
            RENDER_LOG_SUBMITTED: calls.render_log_submitted,
        },
        timers={LOG_DUE: calls.on_log_due},
    )
