"""Pupils tell us about a worry through a restricted, child-friendly card (pupil report issue).

Authorisation has already happened in ``Router``: only a pupil reaches these handlers
(``policy.actions.PUPIL_VERBS``), and only in a personal chat (anywhere else a pupil gets the
private-chat card). The handlers check the scope again because a crafted invoke can say anything.

A pupil report is a ``Concern`` with ``source=PUPIL`` and goes exactly where a staff concern of
its category goes (``policy.concerns.route``), reusing the concern feature's outbox messages,
reminder timer and handling (``dialogs.concern``). It is saved, with its outbox messages, its
reminder timer and its audit entry, in one atomic change before the pupil is told "sent", and a
form id makes a double tap or a Teams retry one report.

What kind of thing happened -> category (the choices are open and non-leading, so the category
is the least the pupil's choice tells us; the DSL reads the choice and the pupil's words when
opening the report, and "not safe" or "not sure" makes any of them urgent, 001 §8, 000 §12.2):

- "Someone was mean to me online" -> cyberbullying (Conduct).
- "I saw something that upset me" -> other: the question does not say what it was (hateful,
  violent, sexual, extremist…), and guessing would be leading and could misroute it (a
  filtering-breach category would also post to the IT channel).
- "Someone I don't know got in touch with me" -> grooming (urgent): contact from someone a
  pupil does not know is the Contact risk the policies name with grooming ("inappropriate
  on-line contact with adults / strangers", 002 §2.6), and a pupil who chose to tell us about it
  should reach the DSL and deputies at once ("DO NOT DELAY", 004 flowchart), not sit in the
  channel as "Something else". The DSL reads the pupil's choice and words on opening and can
  re-file it; a school can map it elsewhere in ``[pupil_worries]``.
- "Someone asked me for photos, or to do things I didn't want to" -> grooming (urgent): being
  asked for images or pressed to do things is coercion/exploitation by whoever asked, adult or
  peer. Not "nude imagery", which presumes an image exists and was shared by an under-18; we
  must not presume that or ask about it. Grooming carries the never-view-or-save images rule and
  the police/CEOP checklist for the DSL.
- "Something else" -> other.

A burst from one pupil is never dropped: every report is its own concern (own reference, audit
entry, reminder timer and, when urgent, its own 1:1 alerts to the DSL and deputies). Only the
channel card is grouped: a report made within ``GROUP_WINDOW`` of a first report that is still
new (not yet acknowledged), is no less urgent than it, and has room (``GROUP_LIMIT``) does not
post a new channel card but updates the first report's card, which then says "N more reports
from this pupil" and has an Open button for each. An urgent report is never folded into a
routine card, and nothing is grouped onto a card someone has already acknowledged.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from cards.concern import keep_detail_open
from cards.pupil import (
    LIMITS,
    NOT_SENT,
    PROBLEMS,
    SAFE_CHOICES,
    WORRY_KINDS,
    kind_words,
    pupil_channel_card,
    worry_card,
    worry_sent_card,
)
from cards.welcome import private_chat_only_card
from dialogs.codec import text_field
from dialogs.concern_alerts import ConcernAlerts, reminder_due
from dialogs.detail_views import viewers
from dialogs.feature import Deps, Feature
from dialogs.handling import FeatureHandlers, form_key
from dialogs.kinds import next_reference
from dialogs.kinds.concern import (
    KIND,
    PREFIX,
    PUPIL_CHANNEL,
    UNACKNOWLEDGED,
    decode,
    encode,
    subject_of,
    year_group_of,
)
from dialogs.locks import KeyedLocks
from dialogs.outbox import Delivery, OutboxMessage, message, timer
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
from policy.categories import Category
from policy.concerns import Concern, ConcernStatus, RiskAnswer, Source, is_urgent
from policy.roles import Person
from policy.school import DEFAULT_PUPIL_WORRIES

log = logging.getLogger(__name__)

#: One record per pupil: the report whose channel card their repeats are grouped on.
BURST_KIND = "pupil_burst"
#: One record per grouped first report: the later reports shown on its card, oldest first.
GROUP_KIND = "pupil_group"
#: Repeats within this time of the first report are grouped on its card.
GROUP_WINDOW = timedelta(minutes=10)
#: At most this many later reports on one card (so each keeps an Open button); then a new card.
GROUP_LIMIT = 24

#: What kind of thing happened -> category id (see the module docstring for why); a school's
#: file may map each to its own categories (``pupil_worries``).
KIND_TO_CATEGORY: dict[str, str] = DEFAULT_PUPIL_WORRIES
#: "Are you safe right now?" -> "is a child at immediate risk?".
SAFE_TO_RISK: dict[str, RiskAnswer] = {
    "yes": RiskAnswer.NO,
    "no": RiskAnswer.YES,
    "not_sure": RiskAnswer.NOT_SURE,
}
NO_WORDS = "(no words given)"
_FORM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


_text = text_field


def validate_worry(data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Check a submitted worry. Returns (cleaned values, kind problems by field id).

    The card marks the questions, but a crafted invoke can send anything, so every rule is
    checked here: the kind of thing from the fixed list, an answer to "Are you safe right now?",
    the pupil's words at most 2000 characters and the adult's name at most 100 (both optional).
    """
    values = {key: _text(data, key) for key in ("kind", "words", "safe", "adult")}
    problems: dict[str, str] = {}
    if values["kind"] not in WORRY_KINDS:
        problems["kind"] = PROBLEMS["kind"]
        values["kind"] = ""
    if values["safe"] not in SAFE_CHOICES:
        problems["safe"] = PROBLEMS["safe"]
        values["safe"] = ""
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            problems[key] = PROBLEMS[key]
    return values, problems


def what_happened(kind: str, words: str) -> str:
    """The record's "what happened": the pupil's choice and their own words, unchanged."""
    return f"The pupil chose: “{kind_words(kind)}”. In their own words: {words or NO_WORDS}"


@dataclass(frozen=True, slots=True)
class _Group:
    """The first report a new one is grouped with, and the records to write for it."""

    leader: str
    records: tuple[Record, ...]


class PupilReports(FeatureHandlers):
    """The pupil report feature's handlers and its channel-card renderer.

    Reuses the first alerts every new concern owes (``dialogs.concern_alerts``) by
    composition; everything after saving (alerts, reminders, handling) is the concern
    feature's own.
    """

    def __init__(self, deps: Deps, concerns: ConcernAlerts | None = None) -> None:
        super().__init__(deps)
        self._concerns = concerns or ConcernAlerts(deps)
        # One save at a time per pupil: grouping reads, then writes, that pupil's burst record.
        # The record versions keep it right across processes too; the lock keeps a burst from
        # colliding. Other pupils' reports do not wait (every record a save writes is the
        # pupil's own: their new concern, its messages, their burst and group records).
        self._locks = KeyedLocks()

    # ----- the card -----------------------------------------------------------------------------

    async def start(self, ctx: ActionContext) -> Reply:
        """Show the worry card (personal chat only)."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        # "Send this to a trusted adult" (a reply to what they typed) brings their words along.
        words = _text(ctx.data, "words")[: LIMITS["words"]]
        return Reply(card=worry_card(uuid.uuid4().hex, {"words": words} if words else None))

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate, save (concern + outbox + reminder + audit, atomically), then say "sent".

        Problems show the card again with kind words and nothing sent; a form already sent
        (double tap, Teams retry) shows "sent" again without a second report; if the store
        fails, the pupil is told it was NOT sent and what to do now.
        """
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        form_id = ctx.ids.form
        if not _FORM_ID.fullmatch(form_id):
            return Reply(card=worry_card(uuid.uuid4().hex))
        key = form_key("worry", ctx.person.id, form_id)
        values, problems = validate_worry(ctx.data)
        try:
            async with self._locks.hold(ctx.person.id):
                already = await self._store.deduped(key)
                if already:
                    return await self._confirm_existing(already, form_id)
                if problems:
                    return Reply(card=worry_card(form_id, values, problems))
                concern, leader = await self._save(ctx.person, values, key)
        except DuplicateRequest as dup:
            return await self._confirm_existing(dup.refs, form_id)
        except StoreUnavailable:
            log.error("a pupil report could not be saved (store unavailable)")
            return Reply(card=worry_card(form_id, values, {"form": NOT_SENT}))
        self._deps.doorbell.ring()
        log.info(
            "pupil report %s saved (urgent=%s, grouped on %s)",
            concern.ref,
            concern.urgent,
            leader or "its own card",
        )
        return Reply(card=worry_sent_card(concern.immediate_risk, self._pupil_signposts()))

    async def _confirm_existing(self, refs: tuple[str, ...], form_id: str) -> Reply:
        ref = next((r for r in refs if r.startswith(f"{KIND}:")), "")
        record = await self._store.get(KIND, ref.partition(":")[2]) if ref else None
        if record is None:
            return Reply(card=worry_card(form_id))
        return Reply(card=worry_sent_card(decode(record).immediate_risk, self._pupil_signposts()))

    def _pupil_signposts(self) -> tuple[tuple[str, str], ...]:
        return tuple((s.name, s.contact) for s in self._school.signposts_for("pupils"))

    def _category(self, category_id: str) -> Category:
        return self._school.category_or_other(category_id)

    # ----- saving and grouping ------------------------------------------------------------------

    # ----- what a pupil typed (issue 18) --------------------------------------------------------

    async def report_typed(self, person: Person, words: str, key: str) -> tuple[Concern, bool]:
        """Words a pupil typed that show risk: an urgent pupil report, saved exactly as a worry
        sent from the card (same record, routing, 1:1 alerts, reminder and burst grouping).

        Words typed again within ``GROUP_WINDOW`` of the last ones are added to that report
        (still open) instead of making a new one. ``key`` (the Teams activity) makes a retry one
        report. Returns the report and whether the words were added to an earlier one.

        Raises:
            StoreUnavailable: nothing could be saved (the pupil must not be told "sent").
        """
        async with self._locks.hold(person.id):
            try:
                already = await self._store.deduped(key)
                if already:
                    record = await self._store.get(KIND, already[0].partition(":")[2])
                    if record is not None:
                        return decode(record), False
                added = await self._add_typed(person, words, key)
                if added is not None:
                    return added, True
                values = {"kind": "other", "words": words, "safe": "not_sure", "adult": ""}
                concern, _ = await self._save(person, values, key, typed=True)
            except DuplicateRequest as dup:
                record = await self._store.get(KIND, dup.refs[0].partition(":")[2])
                if record is None:
                    raise StoreUnavailable("the report saved for this message is missing") from None
                return decode(record), False
        self._deps.doorbell.ring()
        log.info("pupil report %s saved from typed words (urgent=%s)", concern.ref, concern.urgent)
        return concern, False

    async def add_typed(self, person: Person, words: str, key: str) -> Concern | None:
        """Add what a pupil typed to the report their typed words made in the last
        ``GROUP_WINDOW`` (still open), or None when there is no such report."""
        async with self._locks.hold(person.id):
            try:
                return await self._add_typed(person, words, key)
            except DuplicateRequest:
                return await self._recent_typed(person)

    async def _recent_typed(self, person: Person) -> Concern | None:
        now = self._clock.now()
        recent: list[Concern] = []
        for record in await self._store.find(KIND, reporter_id=person.id):
            concern = decode(record)
            last = max((e.at for e in concern.chronology if e.actor_id == person.id), default=None)
            typed = any(e.kind == "typed" for e in concern.chronology)
            if (
                typed
                and last is not None
                and now - last <= GROUP_WINDOW
                and concern.status is not ConcernStatus.CLOSED
            ):
                recent.append(concern)
        return max(recent, key=lambda c: c.created_at, default=None)

    async def _add_typed(self, person: Person, words: str, key: str) -> Concern | None:
        for _ in range(3):
            concern = await self._recent_typed(person)
            if concern is None:
                return None
            record = await self._store.get(KIND, concern.ref)
            assert record is not None
            now = self._clock.now()
            at = now.astimezone(self._school.zone).strftime("%H:%M")
            updated = replace(
                concern, what_happened=f"{concern.what_happened}\n\nThen, at {at}: {words}"
            ).with_event(person, now, "typed", "The pupil wrote more")
            subject = subject_of(concern.ref)
            # The channel card showing it is redrawn, so its buttons carry the new version.
            cards = [
                message(Delivery.CHANNEL_UPDATE, self._dsl_channel(), subject, PUPIL_CHANNEL, now)
            ]
            leader = await self._leader_of(person, concern.ref)
            if leader is not None:
                cards.append(
                    message(
                        Delivery.CHANNEL_UPDATE,
                        self._dsl_channel(),
                        subject_of(leader),
                        PUPIL_CHANNEL,
                        now,
                    )
                )
            try:
                await self._store.commit(
                    Change(
                        records=[
                            Record(KIND, concern.ref, record.version + 1, encode(updated)),
                            *cards,
                        ],
                        audit=[AuditEvent(person.id, "worry.typed_more", subject, "ok", now)],
                        dedupe_key=key,
                    )
                )
            except VersionConflict:
                continue
            self._deps.doorbell.ring()
            return updated
        raise StoreUnavailable("the words could not be added after three tries")

    def _dsl_channel(self) -> str:
        return self._school.channels.dsl_channel_id

    async def _leader_of(self, person: Person, ref: str) -> str | None:
        """The first report whose channel card shows ``ref`` among its later reports, if any."""
        burst = await self._store.get(BURST_KIND, person.id)
        leader = str(burst.data["leader"]) if burst else ""
        if not leader or leader == ref:
            return None
        group = await self._store.get(GROUP_KIND, leader)
        return leader if group and ref in group.data["followers"] else None

    async def _save(
        self, person: Person, values: dict[str, str], key: str, *, typed: bool = False
    ) -> tuple[Concern, str | None]:
        now = self._clock.now()
        year = now.astimezone(self._school.zone).year
        ref = await next_reference(self._store, PREFIX, year, key)
        category = self._category(self._school.pupil_worries.get(values["kind"], "other"))
        concern = _new_concern(ref, category, person, values, now, typed=typed)
        # Out of hours: who is on call was alerted first (issue 20, ``policy.on_call``).
        concern = await self._concerns.with_first_alert(concern, category, now)
        subject = subject_of(concern.ref)
        # The concern's record version is new (1), so a conflict can only come from the burst
        # records: decide the grouping again. The last try saves it on a card of its own.
        for attempt in range(3):
            group = None if attempt == 2 else await self._group_for(person, concern, now)
            records = [
                Record(KIND, concern.ref, 1, encode(concern)),
                *self._messages(concern, category, now, group.leader if group else None),
                timer(UNACKNOWLEDGED, subject, reminder_due(self._school, concern, now)),
                *(group.records if group else ()),
            ]
            try:
                await self._store.commit(
                    Change(
                        records=records,
                        audit=[AuditEvent(person.id, "worry.report", subject, "ok", now)],
                        dedupe_key=key,
                    )
                )
            except VersionConflict:
                continue
            grouped_on = group.leader if group and group.leader != concern.ref else None
            return concern, grouped_on
        raise StoreUnavailable("the report could not be saved after three tries")

    async def _group_for(self, person: Person, concern: Concern, now: datetime) -> _Group:
        """The grouping for a new report: on an earlier report's card, or the first of a new
        group (then ``leader`` is its own reference)."""
        burst = await self._store.get(BURST_KIND, person.id)
        version = burst.version + 1 if burst else 1
        leader = await self._open_group(burst, concern, now)
        if leader is None:
            start = Record(
                BURST_KIND,
                person.id,
                version,
                {
                    "leader": concern.ref,
                    "since": now.isoformat(),
                    "urgent": concern.urgent,
                    "count": 0,
                },
            )
            return _Group(concern.ref, (start,))
        assert burst is not None
        group = await self._store.get(GROUP_KIND, leader)
        followers = list(group.data["followers"]) if group else []
        moved = Record(BURST_KIND, person.id, version, {**burst.data, "count": len(followers) + 1})
        grouped = Record(
            GROUP_KIND,
            leader,
            group.version + 1 if group else 1,
            {"followers": [*followers, concern.ref]},
        )
        return _Group(leader, (moved, grouped))

    async def _open_group(
        self, burst: Record | None, concern: Concern, now: datetime
    ) -> str | None:
        """The first report this one may be grouped with, or None for a card of its own."""
        if burst is None:
            return None
        data = burst.data
        if now - datetime.fromisoformat(data["since"]) > GROUP_WINDOW:
            return None
        if concern.urgent and not data["urgent"]:
            return None  # never fold an urgent report into a routine card
        if int(data["count"]) >= GROUP_LIMIT:
            return None
        first = await self._store.get(KIND, data["leader"])
        if first is None or decode(first).status is not ConcernStatus.NEW:
            return None  # someone has acknowledged it: new reports get a card of their own
        return str(data["leader"])

    def _messages(
        self, concern: Concern, category: Category, now: datetime, leader: str | None
    ) -> list[Record]:
        """The concern feature's messages for a new concern, with the DSL channel card drawn by
        this feature: a new card for the first of a group, an update of it for the rest."""
        out: list[Record] = []
        for record in self._concerns.first_messages(concern, category, now):
            queued = OutboxMessage.from_record(record)
            if queued.render != "concern.channel":
                out.append(record)  # urgent 1:1 alerts (never grouped), IT or private cards
            elif leader is None or leader == concern.ref:
                out.append(
                    message(
                        Delivery.CHANNEL_POST,
                        queued.target,
                        subject_of(concern.ref),
                        PUPIL_CHANNEL,
                        now,
                    )
                )
            else:
                out.append(
                    message(
                        Delivery.CHANNEL_UPDATE,
                        queued.target,
                        subject_of(leader),
                        PUPIL_CHANNEL,
                        now,
                    )
                )
        return out

    # ----- delivery -----------------------------------------------------------------------------

    async def render_channel(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The DSL channel card for a pupil report, with any later reports grouped on it."""
        if subject is None:
            return None
        concern = decode(subject)
        group = await self._store.get(GROUP_KIND, concern.ref)
        others: list[tuple[str, int, bool]] = []
        for ref in group.data["followers"] if group else []:
            record = await self._store.get(KIND, ref)
            if record is not None:
                others.append((ref, record.version, bool(record.data["urgent"])))
        shown = pupil_channel_card(
            concern,
            self._category(concern.category),
            self._school,
            version=subject.version,
            others=others,
        )
        open_for = await viewers(self._store, concern.ref)
        return Outgoing(card=keep_detail_open(shown, concern.ref, subject.version, open_for))


def feature(deps: Deps, handlers: PupilReports | None = None) -> Feature:
    """The pupil report feature: the worry card, its submit, and the pupil channel card."""
    h = handlers or PupilReports(deps)
    return Feature(
        routes={Verb.REPORT_WORRY: h.start, Verb.WORRY_SUBMIT: h.submit},
        phrases=[
            (
                r"\bbull(y|ied|ies|ying)\b|\bscared\b|\bunsafe\b|\bupset\b|\bmean to me\b",
                Verb.REPORT_WORRY,
            )
        ],
        renderers={PUPIL_CHANNEL: h.render_channel},
    )


def _new_concern(
    ref: str,
    category: Category,
    person: Person,
    values: dict[str, str],
    now: datetime,
    *,
    typed: bool,
) -> Concern:
    """A pupil's new report ``ref``, from the worry card (or, ``typed``, from words they
    typed to the bot that showed risk), with its first chronology line."""
    risk = SAFE_TO_RISK[values["safe"]]
    what = (
        f"The pupil typed this to the bot: {values['words']}"
        if typed
        else what_happened(values["kind"], values["words"])
    )
    return Concern(
        ref=ref,
        source=Source.PUPIL,
        category=category.id,
        urgent=is_urgent(category, risk),
        reporter_id=person.id,
        reporter_name=person.name,
        created_at=now,
        year_group=year_group_of(person),
        involved=person.name,
        what_happened=what,
        immediate_risk=risk,
        trusted_adult=values["adult"],
    ).with_event(
        person,
        now,
        "typed" if typed else "reported",
        "Typed to the bot by the pupil (its words showed risk)"
        if typed
        else "Reported by the pupil",
    )
