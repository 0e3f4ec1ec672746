"""Feedback to the pupil who reported (issue 20; 004 §2 "those involved will be provided with
feedback").

From a pupil's own report (never a staff one), the DSL or a deputy (checked on the server
against who clicked: ``policy.pupil_feedback.may_message_pupil``) sends the pupil a short
message, ready-made from the school's file or written, or asks one open follow-up question at a
time. Each goes to the pupil's 1:1 chat through the outbox (``Delivery.DIRECT`` to the pupil's
Entra id: the conversation the bot already has with them), and is in the report's chronology
and the audit log, in one atomic change with the record, through ``decide``.

Truthful about delivery: the DSL is told "queued, it will be delivered", never "sent", when
they click. A timer (``DELIVERY_TIMER``) looks until the outbox has handed the message to Teams
(its outbox record is gone), then marks it delivered, audits it and tells the sender
"Delivered". Until then their card says "waiting to be delivered" (and how often it was tried).

The pupil's answer has the pupil report's checks (``policy.pupil_feedback.answer_problem``:
words only, the worry card's length; text cleaned at the edge and in the store; pictures are
never asked for, and any file is refused as for every pupil message). It joins the same report:
a chronology line, a 1:1 notice to whoever asked and a note in the DSL channel, neither with the
pupil's words (they stay behind "Open", for the people who handle the report). A double tap or a
Teams retry is one answer (``form_key`` per question).

No message text in logs: references, numbers and ids only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cards.common import school_day, school_time
from cards.pupil_feedback import (
    ANSWER_NOT_SENT,
    OWN,
    Sent,
    answer_sent_card,
    answered_card,
    answered_note,
    delivered_text,
    feedback_card,
    pupil_message_card,
    pupil_question_card,
)
from cards.welcome import not_allowed_card, private_chat_only_card
from dialogs.codec import text_field
from dialogs.feature import Deps, Feature
from dialogs.handling import (
    FeatureHandlers,
    Handling,
    decide,
    form_key,
    from_elsewhere,
    record_for,
    refuse,
    refused,
)
from dialogs.kinds.concern import KIND, PUPIL_CHANNEL, decode, encode, subject_of
from dialogs.outbox import OUTBOX, TIMER, Delivery, TimerResult, message, timer
from dialogs.ports import (
    Change,
    DuplicateRequest,
    Outgoing,
    Record,
    StoreUnavailable,
    VersionConflict,
)
from dialogs.router import ActionContext, Reply, Scope
from policy.actions import Verb
from policy.audit import AuditEvent
from policy.concerns import Concern, ConcernStatus, Source, acknowledge
from policy.errors import PolicyError
from policy.on_call import in_contact_hours
from policy.pupil_feedback import (
    ADULT_LIMIT,
    ANSWER,
    QUESTION,
    QUESTION_LIMIT,
    TO_PUPIL,
    Problem,
    answer_problem,
    closed_problem,
    fill,
    first_name,
    may_message_pupil,
    message_problem,
    open_question,
    questions,
    says_today,
)
from policy.roles import Person, Role

log = logging.getLogger(__name__)

#: One record per pupil report written to: what was sent, its outbox id and whether Teams has
#: taken it. No message text (that is in the report's chronology only).
FEEDBACK_KIND = "pupil_feedback"
#: Looks for messages Teams has taken, then tells their senders "Delivered".
DELIVERY_TIMER = "pupil_feedback.delivery"
#: How soon, and then how often, the delivery timer looks.
DELIVERY_CHECK = timedelta(seconds=20)
#: A message still waiting after this long is looked for every ``SLOW_CHECK`` instead.
SLOW_AFTER = timedelta(minutes=10)
SLOW_CHECK = timedelta(minutes=5)
#: Render names of the outbox messages this feature sends.
TO_PUPIL_RENDER = "feedback.to_pupil"
DELIVERED_RENDER = "feedback.delivered"
ANSWERED_RENDER = "feedback.answered"
ANSWERED_NOTE_RENDER = "feedback.answered_note"

#: How each kind of line begins in the report's chronology (what follows is the text itself).
LINE_START = {
    TO_PUPIL: "Message sent to the pupil: ",
    QUESTION: "Question for the pupil: ",
}
QUEUED = (
    "Queued: it will be delivered to the pupil's chat as soon as Teams takes it. "
    "You will get a message in your chat with the bot when it has been delivered."
)
STALE = "This card was out of date, so nothing was sent. Here is the current state."
_REF = re.compile(r"OSC-\d{4}-\d{1,8}")


class FeedbackRefused(PolicyError):
    """Nothing can be sent to the pupil now (the message says why, for the DSL)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A pupil report reloaded for a click, with what was sent to the pupil so far."""

    record: Record
    concern: Concern
    feedback: Record | None
    timer_waiting: bool
    #: Item number -> the truth about it: "Delivered" or "Waiting to be delivered…".
    status: Mapping[int, str]
    #: Our words for the card after a change (``QUEUED``).
    note: str | None = None


def _items(feedback: Record | None) -> list[dict[str, Any]]:
    return [dict(i) for i in feedback.data["items"]] if feedback else []


def _text_of(concern: Concern, item: Mapping[str, Any]) -> str:
    """The words of a message or question, from the report's chronology."""
    index = int(item["event"])
    if not 0 <= index < len(concern.chronology):
        return ""
    event = concern.chronology[index]
    return event.text.removeprefix(LINE_START.get(event.kind, ""))


class PupilFeedbackHandlers(FeatureHandlers):
    """The feature's handlers, renderers and delivery timer."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        self._handling = Handling(self._load, self._view, STALE, FeedbackRefused)

    # ----- the DSL's side ------------------------------------------------------------------------

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        record = await record_for(self._deps, ctx, KIND, ref=_REF)
        if record is None:
            return Reply(card=not_allowed_card(ctx.person))
        concern = decode(record)
        if concern.source is not Source.PUPIL:
            await refuse(self._deps, ctx, "not a pupil report", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        if not may_message_pupil(ctx.person, concern):
            await refuse(self._deps, ctx, "not the DSL or a deputy", record.ref)
            return Reply(card=not_allowed_card(ctx.person))
        if from_elsewhere(ctx, self._school.channels.dsl_channel_id):
            return await refused(self._deps, ctx, "wrong conversation", record.ref)
        feedback = await self._store.get(FEEDBACK_KIND, concern.ref)
        waiting = await self._store.get(TIMER, f"{subject_of(concern.ref)}|{DELIVERY_TIMER}")
        status: dict[int, str] = {}
        for item in _items(feedback):
            status[int(item["n"])] = await self._status(item)
        return Loaded(record, concern, feedback, waiting is not None, status)

    async def _status(self, item: Mapping[str, Any]) -> str:
        """Delivered, or the truth about a message Teams has not taken yet."""
        if item.get("delivered"):
            return "Delivered"
        queued = await self._store.get(OUTBOX, str(item["outbox"]))
        if queued is None:
            return "Delivered"
        tries = int(queued.data.get("attempts", 0))
        if not tries:
            return "Waiting to be delivered"
        return f"Waiting to be delivered (Teams has not taken it yet, tried {tries} times)"

    def _view(
        self,
        ctx: ActionContext,
        loaded: Loaded,
        *,
        note: str | None = None,
        problem: str | None = None,
        values: Mapping[str, str] | None = None,
    ) -> Reply:
        concern = loaded.concern
        zone = self._school.zone
        sent = [
            Sent(
                when=school_time(datetime.fromisoformat(item["at"]), zone),
                by=str(item.get("by_name", "")),
                kind=str(item["kind"]),
                text=_text_of(concern, item),
                status=loaded.status.get(int(item["n"]), "Waiting to be delivered"),
            )
            for item in _items(loaded.feedback)
        ]
        return Reply(
            card=feedback_card(
                concern.ref,
                version=loaded.record.version,
                templates=self._school.pupil_feedback.templates,
                adult=first_name(ctx.person),
                sent=sent,
                question_open=open_question(concern) is not None,
                closed=concern.status is ConcernStatus.CLOSED,
                values=values,
                note=note or loaded.note,
                problem=problem,
                school_day=in_contact_hours(self._clock.now(), self._school),
            )
        )

    async def start(self, ctx: ActionContext) -> Reply:
        """Show the "Message the pupil" card (the DSL or a deputy, a pupil's report only)."""
        loaded = await self._load(ctx)
        return loaded if isinstance(loaded, Reply) else self._view(ctx, loaded)

    def _chosen(self, ctx: ActionContext) -> tuple[str, Problem | None]:
        """The message to send: their own words if they wrote some, else the ready-made one
        with the name in it; and why it cannot be sent, if it cannot."""
        written = text_field(ctx.data, "message")
        if written:
            return written, message_problem(written)
        choice = text_field(ctx.data, "template")
        templates = self._school.pupil_feedback.templates
        number = int(choice[1:]) if re.fullmatch(r"t\d{1,3}", choice) else -1
        if choice == OWN or not 0 <= number < len(templates):
            return "", Problem("empty", "Nothing was sent. Choose a message, or write your own.")
        adult = text_field(ctx.data, "adult") or first_name(ctx.person)
        if len(adult) > ADULT_LIMIT:
            return "", Problem(
                "name too long", f"Nothing was sent. Keep the name under {ADULT_LIMIT} characters."
            )
        if says_today(templates[number]) and not in_contact_hours(self._clock.now(), self._school):
            return "", Problem(
                "today after school",
                'Nothing was sent. That message says "today", and the school day is over: '
                "choose another, or write your own.",
            )
        # The school's templates passed the reading check when the bot started (school_checks);
        # the name is a name, so only the length is checked again here.
        filled = fill(templates[number], adult)
        problem = message_problem(filled)
        if problem is not None and problem.code != "too hard to read":
            return filled, problem
        return filled, None

    async def send(self, ctx: ActionContext) -> Reply:
        """Send the pupil a message (ready-made or written): queued through the outbox."""
        text, problem = self._chosen(ctx)
        return await self._send(ctx, "message", text, problem)

    async def ask(self, ctx: ActionContext) -> Reply:
        """Ask the pupil one open follow-up question (refused while one is unanswered)."""
        text = text_field(ctx.data, "question")
        return await self._send(ctx, "question", text, message_problem(text, limit=QUESTION_LIMIT))

    async def _send(
        self, ctx: ActionContext, kind: str, text: str, problem: Problem | None
    ) -> Reply:
        if problem is not None:
            return await self._bad_input(ctx, problem)
        action = "pupil_feedback.message" if kind == "message" else "pupil_feedback.question"

        def make(loaded: Loaded, now: datetime) -> tuple[Loaded, list[Record]]:
            return self._sent(ctx, kind, text, loaded, now)

        return await decide(self._handling, self._deps, ctx, action=action, change=make)

    async def _bad_input(self, ctx: ActionContext, problem: Problem) -> Reply:
        """Bad input changes nothing: audited (the rule's code, never the words), and the card
        shown again with what they typed and why nothing was sent."""
        loaded = await self._load(ctx)
        if isinstance(loaded, Reply):
            return loaded
        await refuse(self._deps, ctx, f"rule: {problem.code}", loaded.record.ref)
        return self._view(ctx, loaded, problem=problem.words, values=self._typed(ctx))

    def _sent(
        self, ctx: ActionContext, kind: str, text: str, loaded: Loaded, now: datetime
    ) -> tuple[Loaded, list[Record]]:
        """The report with the message or question to the pupil on it, and what that writes:
        the report, its feedback items, the message to the pupil, the channel card's redraw
        and (unless one waits already) the delivery check's timer."""
        concern = loaded.concern
        _check_may_send(concern, kind)
        if concern.status is ConcernStatus.NEW:
            # Writing to the pupil means someone has read it: nobody is left thinking it is
            # unread, and the pupil's "My reports" says someone is looking after it.
            concern = acknowledge(concern, ctx.person, now)
        line = TO_PUPIL if kind == "message" else QUESTION
        updated = concern.with_event(ctx.person, now, line, LINE_START[line] + text)
        items = _items(loaded.feedback)
        number = len(items) + 1
        subject = subject_of(concern.ref)
        to_pupil = message(
            Delivery.DIRECT, concern.reporter_id, subject, TO_PUPIL_RENDER, now, x_item=str(number)
        )
        event = len(updated.chronology) - 1
        items.append(_item(number, kind, event, to_pupil.id, ctx.person, now))
        record = Record(KIND, concern.ref, loaded.record.version + 1, encode(updated))
        feedback = Record(
            FEEDBACK_KIND,
            concern.ref,
            loaded.feedback.version + 1 if loaded.feedback else 1,
            {"items": items},
        )
        # The channel card's buttons carry the record version: redraw it.
        dsl_channel = self._school.channels.dsl_channel_id
        redraw = message(Delivery.CHANNEL_UPDATE, dsl_channel, subject, PUPIL_CHANNEL, now)
        records = [record, feedback, to_pupil, redraw]
        if not loaded.timer_waiting:
            records.append(timer(DELIVERY_TIMER, subject, now + DELIVERY_CHECK))
        status = {**loaded.status, number: "Waiting to be delivered"}
        return Loaded(record, updated, feedback, True, status, QUEUED), records

    def _typed(self, ctx: ActionContext) -> dict[str, str]:
        return {k: text_field(ctx.data, k) for k in ("template", "adult", "message", "question")}

    # ----- the pupil's side ----------------------------------------------------------------------

    async def answer(self, ctx: ActionContext) -> Reply:
        """The pupil answers the open question about their own report: it joins the report."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        ref = ctx.ids.ref
        number = ctx.data.get("q")
        record = await self._store.get(KIND, ref) if _REF.fullmatch(ref) else None
        concern = decode(record) if record else None
        if (
            record is None
            or concern is None
            or concern.source is not Source.PUPIL
            or concern.reporter_id != ctx.person.id
            or not isinstance(number, int)
            or not 1 <= number <= len(questions(concern))
        ):
            await refuse(self._deps, ctx, "not a question about their own report", ref[:40])
            return Reply(card=not_allowed_card(ctx.person))
        key = form_key("feedback.answer", ctx.person.id, f"{concern.ref}:{number}")
        if await self._store.deduped(key) or open_question(concern) != number:
            return Reply(card=answer_sent_card(already=True))  # a double tap, or answered
        words = text_field(ctx.data, "answer")
        day = school_day(concern.created_at.astimezone(self._school.zone).date())
        question = self._question_text(concern, number)
        problem = answer_problem(words)
        if problem is not None:
            card = pupil_question_card(
                concern.ref, number, question, day, value=words[:2000], problem=problem
            )
            return Reply(card=card)
        try:
            await self._save_answer(ctx, concern.ref, number, words, key)
        except DuplicateRequest:
            return Reply(card=answer_sent_card(already=True))
        except StoreUnavailable:
            log.error("an answer to a question on %s could not be saved", concern.ref)
            card = pupil_question_card(
                concern.ref, number, question, day, value=words, problem=ANSWER_NOT_SENT
            )
            return Reply(card=card)
        self._deps.doorbell.ring()
        log.info("the pupil answered question %d on %s", number, concern.ref)
        return Reply(card=answer_sent_card())

    def _question_text(self, concern: Concern, number: int) -> str:
        return questions(concern)[number - 1].text.removeprefix(LINE_START[QUESTION])

    async def _save_answer(
        self, ctx: ActionContext, ref: str, number: int, words: str, key: str
    ) -> None:
        for _ in range(3):
            record = await self._store.get(KIND, ref)
            if record is None:
                raise StoreUnavailable("the report is missing")
            concern = decode(record)
            if open_question(concern) != number:
                raise DuplicateRequest(key, (subject_of(ref),))
            now = self._clock.now()
            updated = concern.with_event(
                ctx.person, now, ANSWER, f"The pupil answered question {number}: {words}"
            )
            subject = subject_of(ref)
            feedback = await self._store.get(FEEDBACK_KIND, ref)
            asker = next(
                (
                    str(i["by"])
                    for i in _items(feedback)
                    if i["kind"] == "question" and self._is_question(concern, i, number)
                ),
                "",
            )
            dsl = self._school.channels.dsl_channel_id
            tell = (
                message(Delivery.DIRECT, asker, subject, ANSWERED_RENDER, now)
                if asker
                else message(Delivery.DIRECT_TO_ROLE, Role.DSL.value, subject, ANSWERED_RENDER, now)
            )
            try:
                await self._store.commit(
                    Change(
                        records=[
                            Record(KIND, ref, record.version + 1, encode(updated)),
                            tell,
                            message(Delivery.CHANNEL_NOTE, dsl, subject, ANSWERED_NOTE_RENDER, now),
                            message(Delivery.CHANNEL_UPDATE, dsl, subject, PUPIL_CHANNEL, now),
                        ],
                        audit=[
                            AuditEvent(ctx.person.id, "pupil_feedback.answer", subject, "ok", now)
                        ],
                        dedupe_key=key,
                    )
                )
            except VersionConflict:
                continue
            return
        raise StoreUnavailable("the answer could not be saved after three tries")

    @staticmethod
    def _is_question(concern: Concern, item: Mapping[str, Any], number: int) -> bool:
        asked = [i for i, e in enumerate(concern.chronology) if e.kind == QUESTION]
        return len(asked) >= number and asked[number - 1] == int(item["event"])

    # ----- delivery ------------------------------------------------------------------------------

    async def render_to_pupil(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The message or question, for the pupil's 1:1 chat."""
        if subject is None:
            return None
        concern = decode(subject)
        feedback = await self._store.get(FEEDBACK_KIND, concern.ref)
        item = next((i for i in _items(feedback) if str(i["n"]) == data.get("x_item")), None)
        if item is None:
            return None
        day = school_day(concern.created_at.astimezone(self._school.zone).date())
        text = _text_of(concern, item)
        if item["kind"] == "question":
            number = sum(
                1 for e in concern.chronology[: int(item["event"]) + 1] if e.kind == QUESTION
            )
            return Outgoing(card=pupil_question_card(concern.ref, number, text, day))
        return Outgoing(card=pupil_message_card(text, day))

    async def render_delivered(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """ "Delivered" for whoever sent it."""
        if subject is None:
            return None
        concern = decode(subject)
        return Outgoing(text=delivered_text(concern.ref, str(data.get("x_kind", "message"))))

    async def render_answered(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The asker's notice that the pupil answered (not the answer)."""
        if subject is None:
            return None
        return Outgoing(card=answered_card(decode(subject).ref, subject.version))

    async def render_answered_note(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The DSL channel's note that the pupil answered (not the answer)."""
        return None if subject is None else Outgoing(text=answered_note(decode(subject).ref))

    @staticmethod
    def _next_look(now: datetime, waiting: list[datetime]) -> datetime | None:
        """When to look again: soon while a message is new, then every ``SLOW_CHECK`` (Teams
        may be down for hours; the outbox keeps trying, and the DSL's card says so)."""
        if not waiting:
            return None
        if now - min(waiting) < SLOW_AFTER:
            return now + DELIVERY_CHECK
        return now + SLOW_CHECK

    async def on_delivery(self, subject: Record | None, item: Record, now: datetime) -> TimerResult:
        """Mark what Teams has taken as delivered, audit it and tell its sender; look again
        later while anything is still waiting."""
        if subject is None:
            return TimerResult()
        ref = decode(subject).ref
        feedback = await self._store.get(FEEDBACK_KIND, ref)
        if feedback is None:
            return TimerResult()
        items = _items(feedback)
        out: list[Record] = []
        audit: list[AuditEvent] = []
        waiting: list[datetime] = []
        name = subject_of(ref)
        for entry in items:
            if entry.get("delivered"):
                continue
            if await self._store.get(OUTBOX, str(entry["outbox"])) is not None:
                waiting.append(datetime.fromisoformat(entry["at"]))
                continue
            entry["delivered"] = True
            out.append(
                message(
                    Delivery.DIRECT,
                    str(entry["by"]),
                    name,
                    DELIVERED_RENDER,
                    now,
                    x_kind=str(entry["kind"]),
                )
            )
            audit.append(
                AuditEvent("system", f"pupil_feedback.delivered.{entry['n']}", name, "ok", now)
            )
        records = (
            [Record(FEEDBACK_KIND, ref, feedback.version + 1, {"items": items})] if out else []
        )
        if out:
            log.info("%d message(s) to the pupil on %s delivered", len(out), ref)
        return TimerResult(
            records=records,
            outbox=out,
            audit=audit,
            again_at=self._next_look(now, waiting),
        )


def feature(deps: Deps) -> Feature:
    """Feedback to the pupil who reported: routes, renderers and the delivery timer."""
    h = PupilFeedbackHandlers(deps)
    return Feature(
        routes={
            Verb.PUPIL_FEEDBACK_START: h.start,
            Verb.PUPIL_FEEDBACK_SEND: h.send,
            Verb.PUPIL_FEEDBACK_ASK: h.ask,
            Verb.PUPIL_FEEDBACK_ANSWER: h.answer,
        },
        renderers={
            TO_PUPIL_RENDER: h.render_to_pupil,
            DELIVERED_RENDER: h.render_delivered,
            ANSWERED_RENDER: h.render_answered,
            ANSWERED_NOTE_RENDER: h.render_answered_note,
        },
        timers={DELIVERY_TIMER: h.on_delivery},
    )


def _check_may_send(concern: Concern, kind: str) -> None:
    """Refuse (``FeedbackRefused``) a message to the pupil about a closed report, or a second
    question while one is still open."""
    if closed_problem(concern) is not None:
        raise FeedbackRefused("this report is closed", code="concern closed")
    if kind == "question" and open_question(concern) is not None:
        raise FeedbackRefused(
            "the pupil has not answered your last question yet, and only one question "
            "can be open at a time",
            code="question already open",
        )


def _item(
    number: int, kind: str, event: int, outbox: str, by: Person, now: datetime
) -> dict[str, Any]:
    """One feedback item as stored: which message or question, its chronology event and
    outbox message, who sent it and when (not delivered yet)."""
    return {
        "n": number,
        "kind": kind,
        "event": event,
        "outbox": outbox,
        "by": by.id,
        "by_name": by.name,
        "at": now.isoformat(),
        "delivered": False,
    }
