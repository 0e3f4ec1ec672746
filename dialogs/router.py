"""The use-case entry point: every message and card action from Teams arrives here.

The bot layer translates an activity into a ``Turn`` and calls ``on_message``, ``on_added`` or
``on_action``; it gets back ``Reply`` objects to send. Authorisation happens here, in one place:
the sender's roles come from the directory for ``Turn.actor_id`` (the activity's
``from.aadObjectId``), never from card data, and every refusal is audited.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from cards.payload import PayloadRefused
from cards.pupil import ATTACHMENT_NOT_SAVED
from cards.welcome import (
    COMMAND_HELP,
    PUPIL_COMMAND_HELP,
    channel_greeting_card,
    help_card,
    no_access_card,
    not_allowed_card,
    not_ready_card,
    private_chat_only_card,
    welcome_card,
)
from dialogs.feature import Feature, Handler, TypedHandler
from dialogs.outbox import Delivery, Doorbell, Renderer, message
from dialogs.ports import (
    Change,
    Clock,
    Directory,
    DirectoryUnavailable,
    Outgoing,
    Record,
    Store,
    StoreError,
)
from dialogs.turns import ActionContext as ActionContext
from dialogs.turns import Reply as Reply
from dialogs.turns import Scope as Scope
from dialogs.turns import Turn as Turn
from dialogs.turns import channel_id_of as channel_id_of
from policy.actions import Verb, may
from policy.audit import AuditEvent
from policy.clauses import cite, cite_all, reword
from policy.roles import Person
from policy.school import SchoolPolicy

log = logging.getLogger(__name__)


#: One record per team channel the bot has greeted (its id is the channel id).
GREETED_KIND = "channel_greeting"


#: Words a person may type, and the verb each one runs (anything else gets the menu).
COMMANDS: dict[str, Verb] = {
    "help": Verb.HELP,
    "menu": Verb.MENU,
    "start": Verb.MENU,
    "hi": Verb.MENU,
    "hello": Verb.MENU,
}

#: What people type (and what Teams sends for the app's command menu), tried after the
#: features' own phrases. A typed phrase runs the first matching verb the person may use;
#: typed text never produces a refusal, only the menu.
MENU_PHRASES: tuple[tuple[str, Verb], ...] = (
    (r"\bfilter log\b", Verb.FILTER_LOG),
    (r"\bopen items\b", Verb.OPEN_ITEMS),
    (r"\bincident log\b", Verb.INCIDENT_LOG),
    (r"\bfilter (change|exception|request)\b|\bunblock\b", Verb.REQUEST_FILTER_CHANGE),
    (r"\b(check|plan)\b.*\b(video )?call\b|\bvideo call\b", Verb.CHECK_VIDEO_CALL),
    (r"\bworr(y|ied)\b|\breport\b|\bsomething (bad|happened)\b", Verb.REPORT_WORRY),
    (r"\bmy reports?\b", Verb.MY_REPORTS),
)

#: How the audit log names a sender it cannot name, and a verb the server does not know.
UNKNOWN_SENDER = "unknown"
UNKNOWN_VERB = "unknown_verb"
#: What only the person's private chat may show (their own reports, their own lessons).
PRIVATE_VERBS: frozenset[Verb] = frozenset({Verb.MY_REPORTS, Verb.NEXT_LESSONS})
PRIVATE_ONLY = (
    "That is private, so I only show it in your private chat with me. "
    "Open the chat with me and ask there."
)
#: All that is said in a channel or group chat when the answer went to the person's 1:1 chat.
SENT_PRIVATELY = "I've sent you that in a private chat."
#: The outbox render of a private answer: the verb's answer, made at delivery time for the
#: person it is sent to (so the outbox holds no personal data, only who and which verb).
PRIVATE_ANSWER = "dialogs.private_answer"

ATTACHMENT_REFUSED = (
    "I don't accept files or pictures, so nothing you sent was opened or saved. "
    "Never send pictures of a child: secure the device and tell the DSL."
)


def _known(verb: str) -> Verb | None:
    try:
        return Verb(verb)
    except ValueError:
        return None


def cited(reply: Reply, school: SchoolPolicy) -> Reply:
    """``reply`` with every policy citation in the school's own clause names (never a seed
    file's number such as "000 §6"), and the role titles the school renamed in its own words."""
    words = school.own_words()
    card = (
        None
        if reply.card is None
        else cast(Mapping[str, Any], cite_all(reply.card, school.clauses, words))
    )
    text = None if reply.text is None else reword(cite(reply.text, school.clauses), words)
    return Reply(card=card, text=text)


class Router:
    """Routes turns to verb handlers after authorising the sender."""

    def __init__(
        self,
        *,
        school: SchoolPolicy,
        directory: Directory,
        store: Store,
        clock: Clock,
        features: Sequence[Feature] = (),
        doorbell: Doorbell | None = None,
    ) -> None:
        self._school = school
        self._doorbell = doorbell or Doorbell()
        self._directory = directory
        self._store = store
        self._clock = clock
        self._routes: dict[Verb, Handler] = {Verb.MENU: self._menu, Verb.HELP: self._help}
        self._phrases: list[tuple[re.Pattern[str], Verb]] = []
        self._typed: TypedHandler | None = next((f.typed for f in features if f.typed), None)
        for feature in features:
            clash = self._routes.keys() & feature.routes.keys()
            if clash:
                raise ValueError(f"verbs handled twice: {sorted(clash)}")
            self._routes.update(feature.routes)
            self._phrases += [(re.compile(p), verb) for p, verb in feature.phrases]
        self._phrases += [(re.compile(p), verb) for p, verb in MENU_PHRASES]
        self._typed_verbs = self._check_help()

    def _candidates(self, lowered: str) -> list[Verb]:
        """The verbs typed words name, best first (the person runs the first they may)."""
        words = lowered.split()
        first = words[0].strip("!?.,") if words else ""
        candidates = [COMMANDS[first]] if first in COMMANDS else []
        return candidates + [v for pattern, v in self._phrases if pattern.search(lowered)]

    def _check_help(self) -> tuple[Verb, ...]:
        """Every verb the router runs from typed words, after checking that "help" describes
        exactly those, and that typing each one's words runs it (so help cannot drift)."""
        verbs = tuple(dict.fromkeys([*COMMANDS.values(), *(v for _, v in self._phrases)]))
        if set(verbs) != set(COMMAND_HELP):
            raise ValueError(
                "help does not match the typed commands: "
                f"{sorted(set(verbs) ^ set(COMMAND_HELP))} (see cards.welcome.COMMAND_HELP)"
            )
        for table in (COMMAND_HELP, PUPIL_COMMAND_HELP):
            for verb, command in table.items():
                named = self._candidates(command.typed.lower())
                if not named or named[0] is not verb:
                    raise ValueError(f"help says {command.typed!r} runs {verb}, but it does not")
        return verbs

    async def on_message(self, turn: Turn, text: str, *, attachments: int = 0) -> list[Reply]:
        """A typed message: run the command it names, or show the menu (never an error)."""
        person = await self._person(turn, "message")
        if isinstance(person, Reply):
            return [person]
        replies: list[Reply] = []
        if attachments:
            # Never downloaded, never stored: only the fact that something was refused is kept.
            await self._audit(person, "attachment", "", f"refused: {attachments} not accepted")
            # Pupils get kind words of their own (pupil report issue); staff get the rule.
            replies.append(
                Reply(text=ATTACHMENT_NOT_SAVED if person.is_pupil else ATTACHMENT_REFUSED)
            )
        lowered = " ".join(text.lower().split())
        words = lowered.split()
        candidates = self._candidates(lowered)
        verb = next((v for v in candidates if may(person, v)), None)
        if self._typed is not None and words:
            # Nothing typed is ignored (issue 18): words that may be a disclosure go first.
            handled = await self._typed(ActionContext(person, turn), text, verb, bool(candidates))
            if handled is not None:
                return replies + handled
        if verb is None and candidates and person.is_pupil:
            # A pupil typing a staff command: refused kindly (the menu) and audited.
            await self._audit(person, candidates[0].value, "", "refused: role does not allow it")
        if verb is None:
            note = "Here is what I can do." if words else None
            replies.append(await self._menu(ActionContext(person, turn, verb=Verb.MENU), note=note))
        else:
            replies.append(await self._run(ActionContext(person, turn, {}, verb), verb))
        return replies

    async def on_added(self, turn: Turn) -> list[Reply]:
        """The bot was added to a chat or team: greet with the menu for this person; in a
        channel, once, briefly and for everyone (never again per install or member)."""
        if turn.scope is Scope.CHANNEL:
            return await self._greet_channel(turn)
        person = await self._person(turn, "added")
        if isinstance(person, Reply):
            return [person]
        return [await self._menu(ActionContext(person, turn, verb=Verb.MENU))]

    async def _greet_channel(self, turn: Turn) -> list[Reply]:
        """The channel greeting, the first time only (a ``channel_greeting`` record per
        channel says it was said; if it cannot be saved, nothing is said)."""
        channel = channel_id_of(turn.conversation_id)[:200]
        if not channel or await self._store.get(GREETED_KIND, channel) is not None:
            return []
        try:
            await self._store.commit(
                Change(
                    records=[
                        Record(GREETED_KIND, channel, 1, {"at": self._clock.now().isoformat()})
                    ]
                )
            )
        except StoreError:
            return []  # greeted meanwhile, or the store is down: better silent than twice
        return [Reply(card=channel_greeting_card(self._school.name))]

    async def on_action(self, turn: Turn, verb: str, data: Mapping[str, Any]) -> Reply:
        """An ``Action.Execute`` click: authorise the sender, then run the verb's handler.

        Every refusal is audited once, under the server's name for the verb (``unknown_verb``
        for one it does not know), never under anything the client sent.
        """
        known = _known(verb)
        person = await self._person(turn, known.value if known else UNKNOWN_VERB)
        if isinstance(person, Reply):
            return person
        menu = ActionContext(person, turn, verb=Verb.MENU)
        if known is None:
            await self._audit(person, UNKNOWN_VERB, "", "refused: unknown action")
            return await self._menu(menu, note="That button is not known.")
        try:  # the card's payload, read once here (ctx.ids): the ids, never the record
            ctx = ActionContext(person, turn, data, known)
        except PayloadRefused as refused:
            await self._audit(person, known.value, "", f"refused: {refused.why}")
            if refused.old_version:
                note = "That card was out of date, so here is a new one."
            else:
                note = "That card could not be read, so here is the menu."
            return await self._menu(menu, note=note)
        return await self._run(ctx, known)

    async def _run(self, ctx: ActionContext, verb: Verb) -> Reply:
        person, turn = ctx.person, ctx.turn
        if person.is_pupil and turn.scope is not Scope.PERSONAL:
            if verb not in (Verb.MENU, Verb.HELP):  # anything but the menu is refused here
                await self._audit(person, verb.value, "", "refused: pupils use a private chat")
            return Reply(card=private_chat_only_card())
        if not may(person, verb):
            await self._audit(person, verb.value, "", "refused: role does not allow it")
            return Reply(card=not_allowed_card(person))
        if verb in PRIVATE_VERBS and turn.scope is not Scope.PERSONAL:
            # Someone's own reports or lessons are never shown to a whole channel or group chat:
            # the answer goes to their 1:1 chat, and here only that it was sent (issue 18).
            return await self._answer_privately(person, verb)
        handler = self._routes.get(verb)
        if handler is None:
            return Reply(card=not_ready_card(person))
        return cited(await handler(ctx), self._school)

    @property
    def renderers(self) -> dict[str, Renderer]:
        """How the outbox renders what ``Router`` itself sends (private answers)."""
        return {PRIVATE_ANSWER: self._render_private}

    async def _answer_privately(self, person: Person, verb: Verb) -> Reply:
        """Send ``verb``'s answer to ``person``'s 1:1 chat (through the outbox, so it is not
        lost), and say only that here. If it cannot be queued, say where to ask instead."""
        queued = message(
            Delivery.DIRECT,
            person.id,
            f"person:{person.id}",
            PRIVATE_ANSWER,
            self._clock.now(),
            x_verb=verb.value,
        )
        try:
            await self._store.commit(Change(records=[queued]))
        except StoreError:
            return Reply(text=PRIVATE_ONLY)
        self._doorbell.ring()
        return Reply(text=SENT_PRIVATELY)

    async def _render_private(
        self, _subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """A private answer, made now for the person it goes to, as in their 1:1 chat (nothing
        if they no longer exist or may no longer run it)."""
        verb = _known(str(data.get("x_verb", "")))
        if verb is None or verb not in PRIVATE_VERBS:
            return None
        person = await self._directory.person(str(data["target"]))
        if person is None or not person.has_access or not may(person, verb):
            return None
        handler = self._routes.get(verb)
        if handler is None:
            return None
        turn = Turn(actor_id=person.id, scope=Scope.PERSONAL)
        reply = cited(await handler(ActionContext(person, turn, {}, verb)), self._school)
        return Outgoing(card=reply.card, text=reply.text)

    async def person_for(self, turn: Turn, action: str = "message action") -> Person | Reply:
        """Who sent this turn (see ``_person``), for use cases outside the chat (message
        actions)."""
        return await self._person(turn, action)

    async def _person(self, turn: Turn, action: str) -> Person | Reply:
        """Who sent this, from the directory; a Reply to send instead when we can't tell.

        A sender refused here is audited once as ``action``: as "unknown" when the directory
        does not know them or the activity names nobody (never the id the client sent).
        """
        if not turn.actor_id:
            await self._refuse_access(UNKNOWN_SENDER, action, "no object id")
            return Reply(card=no_access_card(self._school.access_contact))
        try:
            person = await self._directory.person(turn.actor_id)
        except DirectoryUnavailable:
            log.warning("directory unavailable for a turn", extra={"activity": turn.activity_id})
            return Reply(
                text="I can't check who you are right now. Please try again in a minute. "
                "If a child is in immediate danger, call 999."
            )
        if person is None:
            await self._refuse_access(UNKNOWN_SENDER, action, "not in the directory")
            return Reply(card=no_access_card(self._school.access_contact))
        if not person.has_access:
            await self._refuse_access(person.id, action, "no role in the bot")
            return Reply(card=no_access_card(self._school.access_contact))
        return person

    async def _refuse_access(self, actor: str, action: str, why: str) -> None:
        event = AuditEvent(
            actor=actor, action=action, item="", outcome=f"refused: {why}", at=self._clock.now()
        )
        await self._store.commit(Change(audit=(event,)))

    async def _menu(self, ctx: ActionContext, note: str | None = None) -> Reply:
        if ctx.turn.scope is Scope.GROUP_CHAT or (
            ctx.person.is_pupil and ctx.turn.scope is not Scope.PERSONAL
        ):
            return Reply(card=private_chat_only_card())
        return Reply(
            card=welcome_card(
                ctx.person,
                school_name=self._school.name,
                in_channel=ctx.turn.scope is Scope.CHANNEL,
                note=note,
            )
        )

    async def _help(self, ctx: ActionContext) -> Reply:
        return Reply(
            card=help_card(
                ctx.person,
                school_name=self._school.name,
                in_channel=ctx.turn.scope is not Scope.PERSONAL,
                verbs=self._typed_verbs,
            )
        )

    async def _audit(self, person: Person, action: str, item: str, outcome: str) -> None:
        event = AuditEvent(
            actor=person.id, action=action, item=item, outcome=outcome, at=self._clock.now()
        )
        await self._store.commit(Change(audit=(event,)))
