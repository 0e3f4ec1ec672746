"""Check a video call, quick answers about the rules, and the list of withdrawn pupils.

Rules: ``policy.video_calls`` (000 §6, §8, §10; 001 §2.4). Authorisation by role has already
happened in ``Dialogs`` (``policy.actions.PERMISSIONS``) before any handler here runs.

What is kept: each check is a ``call_check`` record (the plan, and every rule's outcome) with an
audit entry ``call.check`` whose outcome is the verdict; the Deputy Head (Academic)'s list of
pupils withdrawn by their parents is one ``withdrawn_pupils`` record, each change audited.
Audit entries never hold a pupil's name.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, time, timedelta
from typing import Any

from cards.video_call import (
    MAX_MINUTES,
    MAX_NAMES_LENGTH,
    MAX_PUPIL_NAME,
    MAX_REASON_LENGTH,
    MIN_MINUTES,
    OTHER_PLATFORM,
    PUPIL_FIELD,
    WHERE_CHOICES,
    Field,
    Purpose,
    call_check_form,
    call_verdict_card,
    rule_answer_card,
    withdrawn_pupils_card,
)
from cards.welcome import private_chat_only_card
from dialogs.ports import Change, DuplicateRequest, Record, VersionConflict
from dialogs.registry import Deps, Feature, Handler
from dialogs.service import ActionContext, Reply, Scope
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.errors import InvalidSubmission
from policy.school import SchoolPolicy
from policy.video_calls import (
    Audience,
    CallPlan,
    Location,
    check_call,
    pupil_contact_rule_text,
    recording_rule_text,
    school_datetime,
    withdrawn_in,
)

log = logging.getLogger(__name__)

CALL_CHECK_KIND = "call_check"
WITHDRAWN_KIND = "withdrawn_pupils"
WITHDRAWN_ID = "list"
#: Most pupils one check may name (a class is chosen as "A class", not by listing names).
MAX_PUPILS = 60

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::00)?$")
_NAME_SEPARATORS = re.compile(r"[,;\n]+")

#: Typed questions and the verb each runs (matched against lower-cased text, in order). Kept
#: narrow on purpose: "a pupil recorded a video of me" is a concern, not a rule question.
PHRASES: tuple[tuple[str, Verb], ...] = (
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


def _str(data: Mapping[str, Any], key: str) -> str:
    """A submitted value as text ("" when absent); Teams sends every input as a string."""
    value = data.get(key)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def _flag(data: Mapping[str, Any], key: str) -> bool:
    """An Input.Toggle: "true" when on."""
    return _str(data, key).lower() == "true"


def _names(text: str) -> list[str]:
    """Names separated by commas, semicolons or lines, spaces tidied, repeats dropped."""
    seen: dict[str, str] = {}
    for part in _NAME_SEPARATORS.split(text):
        name = " ".join(part.split())
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return list(seen.values())


def parse_call_plan(
    data: Mapping[str, Any], school: SchoolPolicy, withdrawn: Sequence[str] = ()
) -> CallPlan:
    """Validate the "Check a video call" form into a ``CallPlan``.

    The date and time are school time (Europe/London by default; BST/GMT via zoneinfo).
    Pupils named in the plan who are on ``withdrawn`` (ignoring case) are marked withdrawn.

    Raises:
        InvalidSubmission: with every problem at once, by field id: date required and real;
            start HH:MM; length a whole number of minutes (5–480); platform required; a reason
            when recorded; names when the call is with named pupils or 1:1.
    """
    problems: dict[str, str] = {}

    day: date | None = None
    date_text = _str(data, Field.DATE)
    match = _DATE.match(date_text)
    if not date_text:
        problems[Field.DATE] = "Choose the date of the call."
    elif match is None:
        problems[Field.DATE] = "That is not a date. Use the date picker (YYYY-MM-DD)."
    else:
        try:
            day = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            problems[Field.DATE] = "That date does not exist. Please choose a real date."
        else:
            if not 2000 <= day.year <= 2100:
                problems[Field.DATE] = "Choose a date between the years 2000 and 2100."
                day = None

    at: time | None = None
    start_text = _str(data, Field.START)
    time_match = _TIME.match(start_text)
    if not start_text:
        problems[Field.START] = "Choose the start time."
    elif time_match is None:
        problems[Field.START] = "Give the start time as HH:MM, for example 10:30."
    else:
        at = time(int(time_match[1]), int(time_match[2]))

    minutes: int | None = None
    duration_text = _str(data, Field.DURATION)
    try:
        number = float(duration_text)
    except ValueError:
        number = float("nan")
    if not duration_text:
        problems[Field.DURATION] = "Enter how long the call lasts, in minutes."
    elif not (number.is_integer() and MIN_MINUTES <= number <= MAX_MINUTES):
        problems[Field.DURATION] = (
            f"Enter a whole number of minutes between {MIN_MINUTES} and {MAX_MINUTES}."
        )
    else:
        minutes = int(number)

    platform = _str(data, Field.PLATFORM)[:100]
    if not platform:
        problems[Field.PLATFORM] = "Choose the platform."
    elif platform == OTHER_PLATFORM:
        platform = "Other"

    purpose = _str(data, Field.PURPOSE) or Purpose.LESSON
    if purpose not in (Purpose.LESSON, Purpose.CONTACT_AT_HOME, Purpose.PUPIL_TO_PUPIL):
        problems[Field.PURPOSE] = "Choose what the call is for."

    audience = Audience.CLASS
    try:
        audience = Audience(_str(data, Field.WHO) or Audience.CLASS.value)
    except ValueError:
        problems[Field.WHO] = "Choose who the call is with."

    one_to_one = _flag(data, Field.ONE_TO_ONE)
    names_text = _str(data, Field.PUPILS)
    pupils = _names(names_text)
    if len(names_text) > MAX_NAMES_LENGTH or len(pupils) > MAX_PUPILS:
        problems[Field.PUPILS] = f"Name at most {MAX_PUPILS} pupils, or choose 'A class'."
    elif any(len(name) > MAX_PUPIL_NAME for name in pupils):
        problems[Field.PUPILS] = f"Each name must be at most {MAX_PUPIL_NAME} characters."
    elif one_to_one and not pupils:
        problems[Field.PUPILS] = "Name the pupil the 1:1 call is with."
    elif audience is Audience.NAMED_PUPILS and not pupils:
        problems[Field.PUPILS] = "Name the pupils, separated by commas."
    if one_to_one and audience is Audience.STAFF_ONLY:
        problems[Field.WHO] = "A 1:1 call with a pupil is not staff only: choose 'Named pupils'."

    recording = _flag(data, Field.RECORDED)
    reason = " ".join(_str(data, Field.RECORDING_REASON).split())
    if recording and not reason:
        problems[Field.RECORDING_REASON] = "Say why the call will be recorded."
    elif len(reason) > MAX_REASON_LENGTH:
        problems[Field.RECORDING_REASON] = f"Keep the reason to {MAX_REASON_LENGTH} characters."

    where = _str(data, Field.WHERE) or Location.SCHOOL.value
    if where not in {value for value, _ in WHERE_CHOICES}:
        problems[Field.WHERE] = "Choose where you will be."
        where = Location.SCHOOL.value

    if problems or day is None or at is None or minutes is None:
        raise InvalidSubmission(problems)
    return CallPlan(
        start=school_datetime(day, at, school),
        duration=timedelta(minutes=minutes),
        platform=platform,
        audience=audience,
        pupils=tuple(pupils),
        one_to_one_with_pupil=one_to_one,
        pupil_to_pupil=purpose == Purpose.PUPIL_TO_PUPIL,
        contact_at_home=purpose == Purpose.CONTACT_AT_HOME,
        recording=recording,
        recording_reason=reason if recording else "",
        recording_permission_granted=_flag(data, Field.PERMISSION),
        consent_all_participants=_flag(data, Field.CONSENT),
        announce_recording=_flag(data, Field.ANNOUNCE),
        location=Location(where),
        nothing_identifying=_flag(data, Field.NOTHING_IDENTIFYING),
        others_in_room=_flag(data, Field.OTHERS_IN_ROOM),
        well_lit=_flag(data, Field.WELL_LIT),
        parental_consent=_flag(data, Field.PARENTAL_CONSENT),
        withdrawn_pupils=withdrawn_in(pupils, withdrawn),
    )


def _stored_names(record: Record | None) -> list[str]:
    if record is None:
        return []
    names = record.data.get("pupils", [])
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


class VideoCallHandlers:
    """The handlers of the video-call feature, over the feature's ports."""

    def __init__(self, deps: Deps) -> None:
        self._school = deps.school
        self._store = deps.store
        self._clock = deps.clock

    async def show_form(self, ctx: ActionContext) -> Reply:
        """Show the "Check a video call" form, dated today in school time (private chat only)."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        today = self._clock.now().astimezone(self._school.zone).date()
        return Reply(card=call_check_form(self._school, values={Field.DATE: today.isoformat()}))

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate the form, judge the plan (000 §6, §8, §10; 001 §2.4), keep and answer.

        Bad input re-shows the form with each problem by its field and stores nothing. A
        valid plan is stored as a ``call_check`` record with a ``call.check`` audit entry
        (outcome: the verdict; no names), once per Teams activity: a retried activity gets
        the same answer without a second record.
        """
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        withdrawn = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
        try:
            plan = parse_call_plan(ctx.data, self._school, withdrawn)
        except InvalidSubmission as exc:
            return Reply(card=call_check_form(self._school, values=ctx.data, problems=exc.problems))
        verdict = check_call(plan, self._school)
        now = self._clock.now()
        local = plan.start.astimezone(self._school.zone)
        record = Record(
            kind=CALL_CHECK_KIND,
            id=uuid.uuid4().hex,
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
                "verdict": verdict.verdict.value,
                "rules": verdict.summary(),
            },
        )
        event = AuditEvent(
            actor=ctx.person.id,
            action="call.check",
            item=record.ref,
            outcome=verdict.verdict.value,
            at=now,
        )
        try:
            await self._store.commit(
                Change(records=(record,), audit=(event,), dedupe_key=ctx.turn.activity_id)
            )
        except DuplicateRequest:
            # Teams retried the same click: already kept once; answer the same again.
            log.info("call check already stored", extra={"activity": ctx.turn.activity_id})
        return Reply(card=call_verdict_card(verdict, plan, self._school))

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
                    Change(records=(record,), audit=(event,), dedupe_key=ctx.turn.activity_id)
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


def feature(deps: Deps) -> Feature:
    """The video-call feature: check a call, quick rule answers, the withdrawn-pupils list."""
    calls = VideoCallHandlers(deps)
    routes: dict[Verb, Handler] = {
        Verb.CHECK_VIDEO_CALL: calls.show_form,
        Verb.CALL_SUBMIT: calls.submit,
        Verb.CALL_RULE_RECORDING: calls.recording_rule,
        Verb.CALL_RULE_CONTACT: calls.contact_rule,
        Verb.WITHDRAWN_PUPILS: calls.withdrawn_pupils,
    }
    return Feature(routes=routes, phrases=PHRASES)


__all__ = ["PHRASES", "VideoCallHandlers", "feature", "parse_call_plan"]
