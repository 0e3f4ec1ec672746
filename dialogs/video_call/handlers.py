"""Check a video call, its follow-ups, quick answers, the withdrawn list and the next lessons.

Rules: ``policy.video_calls`` (000 §6, §8, §10; 001 §2.4). Authorisation by role has already
happened in ``Router`` (``policy.actions.PERMISSIONS``) before any handler here runs; handlers
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
from typing import Any

from cards.video_call import (
    MAX_MINUTES,
    MAX_PUPIL_NAME,
    MIN_MINUTES,
    OTHER_PLATFORM,
    PUPIL_FIELD,
    Field,
    call_check_form,
    call_verdict_card,
    form_values,
    rule_answer_card,
    withdrawn_pupils_card,
)
from cards.welcome import private_chat_only_card
from dialogs.codec import input_text
from dialogs.feature import Deps, Feature, Handler
from dialogs.handling import dedupe_key
from dialogs.kinds.video_call import (
    CALL_CHECK_KIND,
    CALL_LOG_KIND,
    LOG_DUE,
    LOGS,
    RECORDING_KIND,
    RENDER_DECIDED,
    RENDER_LOG_FORM,
    RENDER_LOG_REMINDER,
    RENDER_LOG_SUBMITTED,
    RENDER_REQUEST,
    REQUESTS,
    WITHDRAWN_ID,
    WITHDRAWN_KIND,
)
from dialogs.ports import (
    Change,
    DirectoryUnavailable,
    DuplicateRequest,
    Meeting,
    Record,
    StoreUnavailable,
    VersionConflict,
)
from dialogs.router import ActionContext, Reply, Scope
from dialogs.video_call.base import _Attendees, _Check, _Started
from dialogs.video_call.call_log import CallLogHandlers
from dialogs.video_call.forms import (
    _meeting_id,
    _stored_names,
    parse_call_plan,
)
from dialogs.video_call.meeting_settings import MeetingHandlers
from dialogs.video_call.recording import RecordingHandlers
from dialogs.video_call.texts import (
    ASK_ONCE_ALLOWED,
    SELF_DECLARED,
    log_due_text,
    request_sent_text,
)
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.errors import InvalidSubmission
from policy.video_calls import (
    DEPUTY_HEAD,
    TEAMS,
    Audience,
    CallPlan,
    CallVerdict,
    RecordingRequest,
    RequestStatus,
    RuleId,
    Verdict,
    check_call,
    pupil_contact_rule_text,
    recording_rule_text,
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


class VideoCallHandlers(RecordingHandlers, CallLogHandlers, MeetingHandlers):
    """The handlers, renderers and timer of the video-call feature, over the feature's ports."""

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
        meeting_id = _meeting_id(ctx.ids)
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
        check_id = ctx.ids.check.strip()
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
        meeting_id = _meeting_id(ctx.ids)
        withdrawn = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
        try:
            plan = parse_call_plan(ctx.data, self._school, withdrawn)
        except InvalidSubmission as exc:
            return Reply(
                card=call_check_form(
                    self._school, values=ctx.data, problems=exc.problems, meeting_id=meeting_id
                )
            )
        mine, approved = await self._my_requests(ctx, plan, meeting_id)
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
        call = _Check(ctx.person, plan, uuid.uuid4().hex, meeting_id, self._clock.now())
        started = _Started(key=key)
        await self._start_follow_ups(call, verdict, mine, approved, self_declared, started)
        if (not_kept := await self._keep_check(ctx, call, verdict, started)) is not None:
            return not_kept
        if started.records:
            self._deps.doorbell.ring()
        return Reply(
            card=call_verdict_card(
                verdict,
                plan,
                self._school,
                follow_ups=started.lines,
                done_by_bot=started.done,
                check_id=call.check_id,
            )
        )

    async def _my_requests(
        self, ctx: ActionContext, plan: CallPlan, meeting_id: str
    ) -> tuple[list[RecordingRequest], RecordingRequest | None]:
        """This person's requests to record, and the approved one covering this call (000 §8)."""
        mine = [
            REQUESTS.decode(r)
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
        return mine, approved

    async def _start_follow_ups(
        self,
        call: _Check,
        verdict: CallVerdict,
        mine: Sequence[RecordingRequest],
        approved: RecordingRequest | None,
        self_declared: bool,
        started: _Started,
    ) -> None:
        """What a check starts, and the lines that say so: the permission already given, a
        request for it (000 §8), or the 1:1 call's log (000 §6)."""
        plan = call.plan
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
                await self._ask_permission(call, mine, started)
        if plan.one_to_one_with_pupil and verdict.verdict is not Verdict.NOT_ALLOWED:
            await self._expect_log(call, started)

    def _check_record(
        self, ctx: ActionContext, call: _Check, verdict: CallVerdict, log_ref: str
    ) -> Record:
        """The ``call_check`` record: the plan, every rule's outcome and the form as entered."""
        plan = call.plan
        local = plan.start.astimezone(self._school.zone)
        return Record(
            kind=CALL_CHECK_KIND,
            id=call.check_id,
            version=1,
            data={
                "actor": ctx.person.id,
                "checked_at": call.now.isoformat(),
                "date": local.date().isoformat(),
                "start": f"{local:%H:%M}",
                "duration_minutes": int(plan.duration.total_seconds() // 60),
                "platform": plan.platform,
                "audience": plan.audience.value,
                "pupils": list(plan.pupils),
                "one_to_one": plan.one_to_one_with_pupil,
                "contact_at_home": plan.contact_at_home,
                "recording": plan.recording,
                "meeting_id": call.meeting_id,
                "call_log": log_ref,
                "verdict": verdict.verdict.value,
                "rules": verdict.summary(),
                # What they entered, for "Check another call" (shown only to them again).
                "form": form_values(ctx.data),
            },
        )

    async def _keep_check(
        self, ctx: ActionContext, call: _Check, verdict: CallVerdict, started: _Started
    ) -> Reply | None:
        """Keep the check, its audit entry and what it started in one change; None once kept,
        else the answer instead (a twin click's, or the form again when the store is down)."""
        check = self._check_record(ctx, call, verdict, started.log_ref)
        event = AuditEvent(
            actor=ctx.person.id,
            action="call.check",
            item=check.ref,
            outcome=verdict.verdict.value,
            at=call.now,
        )
        try:
            await self._store.commit(
                Change(
                    records=(check, *started.records),
                    audit=(event, *started.audit),
                    dedupe_key=started.key,
                )
            )
        except DuplicateRequest as dup:
            # The same click, sent twice at once: the other one was kept; answer as it did.
            log.info("call check already stored", extra={"activity": ctx.turn.activity_id})
            return await self._answer_again(call.plan, dup.refs)
        except StoreUnavailable:
            log.error("a call check could not be saved (store unavailable)")
            return Reply(
                card=call_check_form(
                    self._school,
                    values=ctx.data,
                    meeting_id=call.meeting_id,
                    note="Your check could not be saved just now, so nothing was sent. Please "
                    "try again in a minute.",
                )
            )
        return None

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
                follow_ups.append(request_sent_text(REQUESTS.decode(record)))
                done.append(RuleId.RECORDING_PERMISSION)
            elif kind == CALL_LOG_KIND:
                follow_ups.append(log_due_text(LOGS.decode(record), self._school, new=True))
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
        op = ctx.ids.op.strip()
        name = " ".join(input_text(ctx.data, PUPIL_FIELD).split())
        if op not in ("add", "remove"):
            return Reply(card=withdrawn_pupils_card(await self._withdrawn_names()))
        if not name or len(name) > MAX_PUPIL_NAME:
            current = await self._withdrawn_names()
            problem = (
                "Enter the pupil's full name."
                if not name
                else f"Names are at most {MAX_PUPIL_NAME} characters."
            )
            return Reply(card=withdrawn_pupils_card(current, problem=problem, value=name))
        for attempt in (1, 2):
            reply = await self._change_withdrawn(ctx, op, name, last_try=attempt == 2)
            if reply is not None:
                return reply
        raise AssertionError("unreachable: the last try always answers")

    async def _withdrawn_names(self) -> list[str]:
        """The list of pupils withdrawn by their parents, as stored now."""
        return _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))

    async def _change_withdrawn(
        self, ctx: ActionContext, op: str, name: str, *, last_try: bool
    ) -> Reply | None:
        """Add ``name`` to the list or remove it, from the list as stored now. None when someone
        else changed it first and this is not the last try (reload and decide again)."""
        stored = await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID)
        current = _stored_names(stored)
        on_list = name.casefold() in {n.casefold() for n in current}
        if op == "add" and on_list:
            return Reply(
                card=withdrawn_pupils_card(current, note=f"{name} is already on the list.")
            )
        if op == "remove" and not on_list:
            return Reply(card=withdrawn_pupils_card(current, note=f"{name} is not on the list."))
        if op == "add":
            changed = sorted([*current, name], key=str.casefold)
        else:
            changed = [n for n in current if n.casefold() != name.casefold()]
        try:
            await self._save_withdrawn(ctx, op, stored, changed)
        except VersionConflict:
            if not last_try:
                return None  # someone else changed the list first: reload and decide again
            return Reply(
                card=withdrawn_pupils_card(
                    await self._withdrawn_names(),
                    note="Someone else changed the list at the same moment. "
                    "Please check it and try again.",
                    value=name,
                )
            )
        except DuplicateRequest:
            return Reply(card=withdrawn_pupils_card(await self._withdrawn_names()))
        done = "Added" if op == "add" else "Removed"
        verb = "to" if op == "add" else "from"
        return Reply(card=withdrawn_pupils_card(changed, note=f"{done} {name} {verb} the list."))

    async def _save_withdrawn(
        self, ctx: ActionContext, op: str, stored: Record | None, changed: list[str]
    ) -> None:
        """Keep the changed list as the next version, audited as ``withdrawn.<op>`` without the
        name (``VersionConflict`` when someone else changed it first)."""
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
        await self._store.commit(
            Change(
                records=(record,),
                audit=(event,),
                dedupe_key=dedupe_key(f"withdrawn.{op}", ctx),
            )
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
