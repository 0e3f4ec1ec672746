"""Nothing typed is ignored (issue 18): what happens to typed words that are not a command.

``Router.on_message`` hands every typed message here first (``Feature.typed``), with the
command the words named, if any. Then:

**Pupils** (in a shared chat they get only the private-chat card and nothing they typed is
repeated there; words that show risk still go to the DSL as below, and the pupil is told so in
their own 1:1 chat, so a disclosure made in the wrong place is never dropped):

- Words that show risk (``policy.risk_phrases``: the shipped list plus the school's own) are a
  disclosure: they go to the DSL at once as an urgent pupil report, saved exactly as a worry
  sent from the card (``PupilReports.report_typed``: same record, routing, 1:1 alerts to the DSL
  and every deputy, reminder, burst grouping), even when they also name a command ("help me, he
  keeps hurting me"). The pupil is told plainly that the people who keep pupils safe have it
  now and what happens next, with "Get help now". If it could not be saved they are told it was
  NOT sent, with the help links.
- Anything else they type within ``GROUP_WINDOW`` of such a report is added to it.
- A command ("hi", "my reports", "I'm worried") runs as before.
- Anything else gets a warm short reply with "Get help now" and "Send this to a trusted adult"
  (their words already in the worry card). Nothing is sent or kept unless they press it.

**Staff**: a command of up to ``COMMAND_WORDS`` words that shows no risk runs as before, and so
does anything of ``FEW_WORDS`` words or fewer (the menu). Anything longer, or showing risk, is
offered as a concern: "Do you want to report this as a concern?" with the words in the box (cut
to the form's limit, and said so); in a channel or group chat it is never repeated, only "message
me in a private chat". "My reports" or "next lessons" typed there is answered in their 1:1 chat
(``Router._answer_privately``); the channel hears only "I've sent you that in a private chat".

Typed words are never logged, audited or stored unless they become (part of) a report.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from cards.common import card, heading, menu_button, para
from cards.help_links import get_help_now
from cards.typed import (
    PRIVATE_CHAT_PLEASE,
    STAFF_LIMIT,
    concern_offer_card,
    disclosure_sent_card,
    pupil_typed_card,
)
from dialogs.feature import Deps, Feature
from dialogs.outbox import Delivery, message
from dialogs.ports import (
    Change,
    Outgoing,
    Record,
    StoreError,
    StoreUnavailable,
)
from dialogs.router import ActionContext, Reply, Scope
from policy.actions import Verb
from policy.concerns import Concern
from policy.roles import Person

log = logging.getLogger(__name__)

#: Staff messages of this many words or fewer that name no command get the menu.
FEW_WORDS = 6
#: A staff message longer than this is offered as a concern even when it names a command (a
#: pasted account of what happened easily contains "report" or "video call").
COMMAND_WORDS = 20
#: The longest pupil text kept in one report entry (Teams allows far more in one message).
PUPIL_KEPT = 8000
TRY_AGAIN = "Please try again in a minute. If you are in danger now, call 999."
#: The outbox renderer for a shared-chat disclosure's note in the pupil's own 1:1 chat.
SENT_PRIVATELY = "typed.sent_privately"


class PupilReports(Protocol):
    """What typed words need of the pupil report feature (``dialogs.pupil_report``, passed in
    by the composition root, so this feature imports no other)."""

    async def report_typed(self, person: Person, words: str, key: str) -> tuple[Concern, bool]:
        """An urgent pupil report from typed words (or added to the last one): (it, added)."""
        ...

    async def add_typed(self, person: Person, words: str, key: str) -> Concern | None:
        """Add typed words to the report typed words made lately, or None."""
        ...


class Typed:
    """The typed-words handler (see the module docstring)."""

    def __init__(self, deps: Deps, pupils: PupilReports) -> None:
        self._deps = deps
        self._pupils = pupils

    async def __call__(
        self, ctx: ActionContext, text: str, verb: Verb | None, matched: bool
    ) -> list[Reply] | None:
        words = " ".join(text.split())
        if not words:
            return None
        if ctx.person.is_pupil:
            return await self._pupil(ctx, words, matched)
        return self._staff(ctx, words, matched)

    async def _pupil(self, ctx: ActionContext, words: str, matched: bool) -> list[Reply] | None:
        risky = bool(self._deps.school.risk_phrases.find(words))
        kept = words[:PUPIL_KEPT]
        key = f"typed:{ctx.person.id}:{ctx.turn.activity_id or uuid.uuid4().hex}"
        if ctx.turn.scope is not Scope.PERSONAL:
            # A disclosure typed in a shared chat still reaches the DSL (never dropped); the
            # chat itself gets only the private-chat card, so nobody there learns of it.
            if risky:
                await self._report_from_shared_chat(ctx, kept, key)
            return None
        try:
            if risky:
                _, added = await self._pupils.report_typed(ctx.person, kept, key)
                return [Reply(card=disclosure_sent_card(added=added))]
            if matched:
                return None  # "hi", "my reports", "I'm worried": the command runs
            if await self._pupils.add_typed(ctx.person, kept, key) is not None:
                return [Reply(card=disclosure_sent_card(added=True))]
        except StoreUnavailable:
            log.error("a pupil's typed message could not be saved (store unavailable)")
            return [Reply(card=not_sent_card())]
        return [Reply(card=pupil_typed_card(words))]

    async def _report_from_shared_chat(self, ctx: ActionContext, words: str, key: str) -> None:
        """A disclosure typed in a group chat or channel: the urgent report, and the honest
        "an adult has your message" in the pupil's own 1:1 chat (through the outbox), never in
        the shared chat. Nothing is said anywhere when it could not be saved."""
        try:
            _, added = await self._pupils.report_typed(ctx.person, words, key)
        except StoreUnavailable:
            log.error("a pupil's typed message in a shared chat could not be saved")
            return
        told = message(
            Delivery.DIRECT,
            ctx.person.id,
            f"person:{ctx.person.id}",
            SENT_PRIVATELY,
            self._deps.clock.now(),
            x_added="yes" if added else "",
        )
        try:
            await self._deps.store.commit(Change(records=[told], dedupe_key=f"{key}:told"))
        except StoreError:  # a retry (already queued) or the store is down
            log.warning("the 1:1 note for a pupil's shared-chat disclosure was not queued")
            return
        self._deps.doorbell.ring()

    def _staff(self, ctx: ActionContext, words: str, matched: bool) -> list[Reply] | None:
        count = len(words.split())
        risky = bool(self._deps.school.risk_phrases.find(words))
        if not risky and (count <= FEW_WORDS or (matched and count <= COMMAND_WORDS)):
            return None
        if ctx.turn.scope is not Scope.PERSONAL:
            return [Reply(text=PRIVATE_CHAT_PLEASE)]
        return [
            Reply(
                card=concern_offer_card(
                    self._deps.school, words[:STAFF_LIMIT], risky=risky, typed_length=len(words)
                )
            )
        ]


def not_sent_card() -> dict[str, object]:
    """Told to a pupil when what they typed could not be saved: NOT sent, and help now."""
    return card(
        [heading("Sorry, your message was not sent"), para(TRY_AGAIN), *get_help_now()],
        [menu_button("Back")],
    )


async def _render_sent_privately(_subject: Record | None, data: Mapping[str, Any]) -> Outgoing:
    """The pupil's 1:1 copy of "a trusted adult has your message" (shared-chat disclosures)."""
    return Outgoing(card=disclosure_sent_card(added=bool(data.get("x_added"))))


def feature(deps: Deps, pupils: PupilReports) -> Feature:
    """The typed-words hook (no verbs of its own), and the 1:1 note it may send."""
    return Feature(typed=Typed(deps, pupils), renderers={SENT_PRIVATELY: _render_sent_privately})
