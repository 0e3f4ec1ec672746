""" "Report this message" on any Teams message (issue 18), as use cases.

Teams opens a dialog from the message's "…" menu (a message action). ``fetch`` answers with the
first card: for staff, what the concern is about with the message's words, its author (as "who
is involved" when the author is a pupil), when it was sent and a link to it carried to the
concern form; for a pupil, the worry card with the message's words in it. Every later click in
the dialog comes back through ``submit`` and runs exactly the verb a click in the private chat
runs (``Router.on_action``: same authorisation, validation, dedupe, routing and outbox).

The dialog is private to the person who opened it, so it counts as their private chat wherever
the message was. Pictures and files in the message are never opened or stored; only their
number is used, to say so. Nothing about the message is stored unless it is sent as a report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cards.concern import LIMITS
from cards.message_action import report_message_card
from cards.pupil import LIMITS as PUPIL_LIMITS
from dialogs.handling import form_key
from dialogs.kinds.concern import year_group_of
from dialogs.ports import Clock, Directory, DirectoryUnavailable, Store
from dialogs.router import Reply, Router, Scope, Turn
from policy.actions import Verb, may
from policy.roles import Person
from policy.school import SchoolPolicy

log = logging.getLogger(__name__)

#: The verbs whose success means a report was made (then the reporter gets a 1:1 copy).
SUBMITS = (Verb.CONCERN_SUBMIT.value, Verb.WORRY_SUBMIT.value)


@dataclass(frozen=True, slots=True)
class ReportedMessage:
    """The parts of a Teams message that a report may use (never its files)."""

    text: str
    author_id: str | None = None
    author_name: str = ""
    sent_at: datetime | None = None
    link: str = ""
    #: Pictures or files with the message: counted, never opened.
    files: int = 0


class MessageActions:
    """The message action's use cases (see the module docstring)."""

    def __init__(
        self,
        router: Router,
        *,
        school: SchoolPolicy,
        directory: Directory,
        store: Store,
        clock: Clock,
    ) -> None:
        self._router = router
        self._store = store
        self._school = school
        self._directory = directory
        self._clock = clock

    async def fetch(self, turn: Turn, message: ReportedMessage) -> tuple[Reply, bool]:
        """The dialog's first card; and whether the person is a pupil (for its title)."""
        private = replace(turn, scope=Scope.PERSONAL)
        person = await self._router.person_for(private)
        if isinstance(person, Reply):
            return person, False
        if person.is_pupil:
            words = message.text[: PUPIL_LIMITS["words"]]
            return await self._router.on_action(
                private, Verb.REPORT_WORRY.value, {"words": words}
            ), True
        if not may(person, Verb.REPORT_CONCERN):
            return await self._router.on_action(private, Verb.REPORT_CONCERN.value, {}), False
        prefill = await self._prefill(message)
        return Reply(
            card=report_message_card(self._school, message.text, prefill, files=message.files)
        ), False

    async def submit(self, turn: Turn, data: Mapping[str, Any]) -> tuple[Reply, bool]:
        """A click inside the dialog: the same verb as in the private chat. Returns the reply
        and whether it made a report (the reply is then the confirmation)."""
        verb = data.get("verb")
        verb = verb if isinstance(verb, str) else ""
        key = _form_key(verb, turn, data)
        already = bool(key) and await self._store.deduped(key) is not None
        reply = await self._router.on_action(replace(turn, scope=Scope.PERSONAL), verb, data)
        if already:
            return reply, False  # a double click: the report was made (and confirmed) before
        shown = _verbs(reply.card) if reply.card is not None else set()
        # Made: the form is gone and the confirmation (with "My reports") is shown instead.
        made = verb in SUBMITS and verb not in shown and Verb.MY_REPORTS.value in shown
        return reply, made

    async def _prefill(self, message: ReportedMessage) -> dict[str, str]:
        author = await self._author(message.author_id)
        zone = self._school.zone
        sent = message.sent_at or self._clock.now()
        when = sent.astimezone(zone).strftime("%d %b %Y at %H:%M")
        name = " ".join(message.author_name.split()) or "someone"
        header = f"A message in Teams from {name}, sent {when}:\n"
        fields = {
            "what_happened": (header + message.text)[: LIMITS["what_happened"]],
            "where": "Microsoft Teams",
            "happened_on": sent.astimezone(zone).date().isoformat(),
        }
        if message.link and len(message.link) <= LIMITS["url"]:
            fields["url"] = message.link
        if author is not None and author.is_pupil:
            fields["involved"] = author.name[: LIMITS["involved"]]
            fields["year_group"] = year_group_of(author)
        return fields

    async def _author(self, author_id: str | None) -> Person | None:
        if not author_id:
            return None
        try:
            return await self._directory.person(author_id)
        except DirectoryUnavailable:
            log.warning("directory unavailable: a reported message's author is left blank")
            return None


def _form_key(verb: str, turn: Turn, data: Mapping[str, Any]) -> str:
    """The dedupe key the form's submit is saved under (``dialogs.concern``,
    ``dialogs.pupil_report``), or "" for other verbs."""
    form = data.get("form")
    if not isinstance(form, str) or not form.strip():
        return ""
    if not turn.actor_id:
        return ""
    if verb == Verb.CONCERN_SUBMIT.value:
        return form_key("concern", turn.actor_id, form.strip())
    if verb == Verb.WORRY_SUBMIT.value:
        return form_key("worry", turn.actor_id, form.strip())
    return ""


def _verbs(node: Any) -> set[str]:
    """Every ``verb`` on the card's buttons."""
    found: set[str] = set()
    if isinstance(node, Mapping):
        if isinstance(node.get("verb"), str):
            found.add(node["verb"])
        for value in node.values():
            found |= _verbs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _verbs(value)
    return found
