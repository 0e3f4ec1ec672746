"""Hand-off to the school's safeguarding record system (issue 20; rules in ``policy.handoff``).

"Send to MyConcern" on a concern (open or closed), for the DSL only: checked on the server
against who clicked (``policy.actions``: the verb is the DSL's; ``may_handle``: a concern about
staff is not theirs), like every click that changes a concern it goes through ``decide``. One
atomic change holds:

- the concern with a chronology line "Handed off to MyConcern" (so every card shows "handed
  off to MyConcern by Jane Smith at …"), its channel card updated for all;
- a ``handoff`` record: the concern as it was handed off, who, when, to which system and the
  hand-off's id (the webhook's idempotency key);
- an outbox message to the clicking DSL's own 1:1 chat (never a channel, never anyone else):
  the pack, made at delivery time from that record: the printable document and the JSON and
  CSV files, as short-lived download links;
- when the school has a webhook, an outbox message that posts the same JSON, signed, retried
  with backoff across restarts until the receiver accepts it, and never again after that;
- the audit entry.

Nothing of the pack reaches a log: only the reference and the hand-off id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cards.concern import GROUP_NAMES, stale_card_note
from cards.handoff import handoff_line, pack_card, pack_html, pack_unavailable_card
from cards.reports import chronology_html
from dialogs.concern_view import ConcernView, channel_update, load_concern
from dialogs.feature import Deps, Feature
from dialogs.handling import FeatureHandlers, Handling, decide
from dialogs.kinds import concern as concern_kind
from dialogs.kinds.concern import Loaded
from dialogs.kinds.handoff import KIND, subject_of
from dialogs.outbox import Delivery, message
from dialogs.ports import Outgoing, Record
from dialogs.router import ActionContext, Reply
from policy.actions import Verb
from policy.categories import Category
from policy.concerns import (
    Concern,
    ConcernStatus,
    InvalidTransition,
    acknowledge,
    may_handle,
)
from policy.handoff import (
    HANDOFF_EVENT,
    handoff_event_text,
    handoff_record,
    may_hand_off,
    record_csv,
    record_json,
)
from policy.roles import Person

log = logging.getLogger(__name__)

PACK = "handoff.pack"
WEBHOOK = "handoff.webhook"
ON_ITS_WAY = (
    "Handed off. The pack (the record to print, and JSON and CSV files to import) is on its "
    "way to your private chat with me."
)


class HandoffHandlers(FeatureHandlers):
    """The hand-off verb, its pack and its webhook body."""

    def __init__(self, deps: Deps) -> None:
        super().__init__(deps)
        view = ConcernView(deps.school, default_note=self._on_its_way)
        self._handling = Handling(self._load, view, stale_card_note(), InvalidTransition)

    @property
    def _system(self) -> str:
        return self._school.handoff.system_name

    def _category(self, concern: Concern) -> Category:
        return self._school.category_or_other(concern.category)

    async def _load(self, ctx: ActionContext) -> Loaded | Reply:
        """The concern a click names, if the clicker is the DSL and may handle it, in their
        1:1 chat or the DSL channel (each refusal audited)."""
        return await load_concern(
            self._deps, ctx, self._may_hand_off, refused_as="not the DSL for this concern"
        )

    async def _may_hand_off(self, person: Person, found: Loaded) -> Loaded | None:
        """The concern, if ``person`` is the DSL and may handle it (not one about staff)."""
        may = may_hand_off(person) and may_handle(person, found.concern, found.category)
        return found if may else None

    def _on_its_way(self, ctx: ActionContext, loaded: Loaded) -> str | None:
        """Once the clicker's hand-off is made, the pack is on its way (said on the detail
        card, where the button is)."""
        last = loaded.concern.chronology[-1] if loaded.concern.chronology else None
        if last is not None and last.kind == HANDOFF_EVENT and last.actor_id == ctx.person.id:
            return ON_ITS_WAY
        return None

    async def hand_off(self, ctx: ActionContext) -> Reply:
        """Mark the concern handed off, and queue the pack (and the webhook post)."""

        def make(loaded: Loaded, now: datetime) -> tuple[Loaded, list[Record]]:
            handoff_id = uuid.uuid4().hex
            system = self._system
            concern = loaded.concern
            if concern.status is ConcernStatus.NEW:
                # Acting on a new concern acknowledges it: nobody is left thinking it unread.
                concern = acknowledge(concern, ctx.person, now)
            updated = concern.with_event(ctx.person, now, HANDOFF_EVENT, handoff_event_text(system))
            record = Record(
                concern_kind.KIND,
                updated.ref,
                loaded.record.version + 1,
                concern_kind.encode(updated),
            )
            kept = Record(
                KIND,
                handoff_id,
                1,
                {
                    "ref": updated.ref,
                    "system": system,
                    "by_id": ctx.person.id,
                    "by_name": ctx.person.name,
                    "at": now.isoformat(),
                    "concern": concern_kind.encode(updated),
                },
            )
            subject = subject_of(handoff_id)
            out = [message(Delivery.DIRECT, ctx.person.id, subject, PACK, now)]
            if self._school.handoff.webhook:
                out.append(
                    message(Delivery.WEBHOOK, "webhook", subject, WEBHOOK, now, x_key=handoff_id)
                )
            out += channel_update(self._school, loaded.category, updated, now)
            log.info("hand-off %s of concern %s prepared", handoff_id, updated.ref)
            return Loaded(record, updated, loaded.category), [record, kept, *out]

        return await decide(self._handling, self._deps, ctx, action="concern.handoff", change=make)

    # ----- the record as handed off --------------------------------------------------------------

    def _snapshot(self, subject: Record) -> tuple[Concern, dict[str, Any], str]:
        """The concern as handed off, its structured record and "Handed off to … by … at …"."""
        data = subject.data
        concern = concern_kind.CODEC.decode(
            Record(concern_kind.KIND, str(data["ref"]), 1, data["concern"])
        )
        category = self._category(concern)
        at = datetime.fromisoformat(str(data["at"]))
        person = Person(str(data["by_id"]), str(data["by_name"]), frozenset())
        structured = handoff_record(
            concern,
            handoff_id=subject.id,
            system=str(data["system"]),
            school_name=self._school.name,
            category_id=category.id,
            category_label=category.label,
            kcsie_group=GROUP_NAMES[category.group],
            by=person,
            at=at,
            zone=self._school.zone,
        )
        line = handoff_line(concern, self._school.zone)
        return concern, structured, line or handoff_event_text(str(data["system"]))

    async def render_pack(self, subject: Record | None, data: Mapping[str, Any]) -> Outgoing | None:
        """The pack, for the DSL who made the hand-off and nobody else."""
        if subject is None or str(data.get("target")) != str(subject.data.get("by_id")):
            return None
        concern, structured, line = self._snapshot(subject)
        system = str(subject.data["system"])
        exports = self._deps.exports
        if exports is None:
            return Outgoing(card=pack_unavailable_card(concern.ref, system=system))
        category = self._category(concern)
        document = pack_html(
            chronology_html(
                concern,
                category_label=category.label,
                school_name=self._school.name,
                zone=self._school.zone,
                prepared_by=str(subject.data["by_name"]),
                prepared_at=datetime.fromisoformat(str(subject.data["at"])),
            ),
            system=system,
            handed_off=line,
            handoff_id=subject.id,
        )
        stem = f"{concern.ref}-handoff"
        document_url = await exports.publish(
            f"{stem}.html", document.encode("utf-8"), media_type="text/html"
        )
        json_url = await exports.publish(
            f"{stem}.json", record_json(structured), media_type="application/json"
        )
        csv_url = await exports.publish(
            f"{stem}.csv", record_csv(structured).encode("utf-8"), media_type="text/csv"
        )
        return Outgoing(
            card=pack_card(
                concern.ref,
                system=system,
                handed_off=line,
                document_url=document_url,
                json_url=json_url,
                csv_url=csv_url,
            )
        )

    async def render_webhook(
        self, subject: Record | None, data: Mapping[str, Any]
    ) -> Outgoing | None:
        """The webhook's body: the structured record as handed off (the same bytes each try)."""
        if subject is None:
            return None
        _, structured, _ = self._snapshot(subject)
        return Outgoing(text=record_json(structured).decode("utf-8"))


def feature(deps: Deps) -> Feature:
    """The hand-off feature: the DSL's "Send to …" button, the pack and the webhook body."""
    h = HandoffHandlers(deps)
    return Feature(
        routes={Verb.CONCERN_HANDOFF: h.hand_off},
        renderers={PACK: h.render_pack, WEBHOOK: h.render_webhook},
    )
