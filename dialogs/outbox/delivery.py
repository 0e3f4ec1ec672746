"""Delivering one message: render it at delivery time, in the school's words, then post,
update, send or notify; a channel post is never made twice (see ``dialogs.outbox``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from dialogs.outbox.records import (
    CHANNEL_MESSAGE,
    MAX_BACKOFF,
    READ_TRIES,
    UNHELD_ROLE_RENDER,
    Delivery,
    OutboxMessage,
    channel_message_id,
    message,
)
from dialogs.outbox.roles import RoleDelivery
from dialogs.ports import (
    Change,
    DeliveryFailed,
    DirectoryUnavailable,
    NotReadYet,
    Outgoing,
    Record,
    StoreError,
)
from policy.clauses import cite, cite_all, reword
from policy.school import SchoolPolicy

log = logging.getLogger("dialogs.outbox")  # one logger for the outbox, as before


class Delivering(RoleDelivery):
    """Delivers one outbox message."""

    __slots__ = ()

    async def _deliver(self, item: OutboxMessage) -> int:
        """Deliver one message (1 once it is sent, 0 when it waits or is done without sending):
        a role's message becomes one per holder; the rest are rendered now, from the item's
        current state, in the school's words, and sent the way they travel."""
        delivery = item.delivery
        try:
            if delivery in {Delivery.DIRECT_TO_ROLE, Delivery.FEED_TO_ROLE}:
                await self._expand_role(item)
                return 0
            outgoing = await self._render(item)
            if delivery is Delivery.WEBHOOK:
                return await self._post_webhook(item, outgoing)
            if outgoing is not None and self.school is not None:
                outgoing = self._in_school_words(outgoing, self.school)
            if outgoing is None:
                await self._done(item)  # nothing to say any more (or nobody knows how)
                return 0
            return await self._send(delivery, item, outgoing)
        except (DeliveryFailed, DirectoryUnavailable) as exc:
            retry_after = getattr(exc, "retry_after", None)
            await self._later(item, getattr(exc, "reason", exc.__class__.__name__), retry_after)
            return 0
        except StoreError as exc:
            self.status.last_failure = exc.__class__.__name__
            return 0

    async def _render(self, item: OutboxMessage) -> Outgoing | None:
        """The message as its feature's renderer draws it now (None: nothing to say); the
        renderer reads the stored data as it always has (its ``x_`` values)."""
        subject = await self._subject(item.subject)
        renderer = self.renderers.get(item.render)
        if item.render == UNHELD_ROLE_RENDER:
            return Outgoing(text=str(item.extra.get("x_text", "")))
        if renderer is None:
            return None
        return await self._call(renderer(subject, item.to_data()))

    async def _send(self, delivery: Delivery, item: OutboxMessage, outgoing: Outgoing) -> int:
        """Send a rendered message the way it travels: 1 once sent, 0 when it waits."""
        if delivery is Delivery.CHANNEL_POST:
            return await self._post_channel_card(item, outgoing)
        if delivery is Delivery.CHANNEL_UPDATE:
            await self._update_channel_card(item, outgoing)
        elif delivery is Delivery.CHANNEL_NOTE:
            posted = await self._post_once(item, outgoing)
            if posted is None:
                return 0
            await self._done(posted[0])
        elif delivery is Delivery.FEED:
            if self.notifier is not None:
                await self._call(
                    self.notifier.notify(
                        item.target,
                        title=str(item.extra.get("x_title") or "Online safety"),
                        preview=outgoing.text or "",
                        item_ref=item.subject,
                    )
                )
            await self._done(item)
        else:
            await self._call(self.messenger.send_direct(item.target, outgoing))
            await self._done(item)
        return 1

    async def _post_channel_card(self, item: OutboxMessage, outgoing: Outgoing) -> int:
        """Post a new channel card (once) and keep its message id, so later changes update it;
        a card an earlier attempt left in the channel is kept and brought up to date."""
        posted = await self._post_once(item, outgoing)
        if posted is None:
            return 0
        item, message_id, found = posted
        keep = Record(
            CHANNEL_MESSAGE,
            channel_message_id(item.subject, item.target, item.render),
            1,
            {"message_id": message_id, "conversation": item.target},
        )
        if found:  # the card found shows the item as it was then: bring it up to date
            refresh = message(
                Delivery.CHANNEL_UPDATE,
                item.target,
                item.subject,
                item.render,
                self.clock.now(),
            )
            await self._done(item, keep, refresh)
            self.doorbell.ring()
        else:
            await self._done(item, keep)
        return 1

    async def _update_channel_card(self, item: OutboxMessage, outgoing: Outgoing) -> None:
        """Re-render the kept channel card for everyone (no post yet: the post will show the
        latest anyway)."""
        kept = await self.store.get(
            CHANNEL_MESSAGE, channel_message_id(item.subject, item.target, item.render)
        )
        if kept is not None:
            message_id = kept.data["message_id"]
            await self._call(self.messenger.update(item.target, message_id, outgoing))
        await self._done(item)

    async def _post_webhook(self, item: OutboxMessage, outgoing: Outgoing | None) -> int:
        """Post a rendered body to the webhook, exactly as rendered (never reworded); the
        message is done once the receiver accepts it, and never posted again after that.
        Without a webhook configured it waits (the setting may come back), never dropped."""
        if outgoing is None or outgoing.text is None:
            await self._done(item)  # nothing to post any more
            return 0
        if self.webhook is None:
            await self._later(item, "no webhook is configured", MAX_BACKOFF)
            return 0
        key = str(item.extra.get("x_key") or item.id)
        await self._call(self.webhook.post(outgoing.text.encode("utf-8"), key=key))
        await self._done(item)
        return 1

    async def _post_once(
        self, item: OutboxMessage, outgoing: Outgoing
    ) -> tuple[OutboxMessage, str, bool] | None:
        """Post ``outgoing`` for ``item`` unless an earlier attempt already did; the outbox
        record as it now stands, the message id and whether it was an earlier post found in
        the channel, or None if the post must wait (then the record is already rescheduled).
        Only card posts are marked and checked (a text note has nowhere to carry the mark);
        without a ``PostFinder`` every attempt simply posts.
        """
        target = item.target
        marked = self.finder is not None and outgoing.card is not None
        earlier = item.sending_at
        if marked and earlier:
            wait, found = await self._find_earlier(item, earlier)
            if wait:
                return None
            self._abandoned.pop(item.id, None)
            if found is not None:
                log.info("%s for %s was already posted", item.render, item.subject)
                return item, found, True
        if marked:
            item = await self._mark_sending(item)
            outgoing = replace(outgoing, marker=item.id)
        try:
            message_id = await self._call(self.messenger.post(target, outgoing))
        except DeliveryFailed as exc:
            in_doubt = marked and exc.maybe_delivered
            if in_doubt:
                self._abandoned[item.id] = time.monotonic()
            await self._later(item, exc.reason, exc.retry_after, in_doubt=in_doubt)
            return None
        self._abandoned.pop(item.id, None)
        return item, message_id, False

    async def _find_earlier(self, item: OutboxMessage, earlier: str) -> tuple[bool, str | None]:
        """Whether an earlier attempt at ``item`` (begun at ``earlier``) reached the channel:
        (True, None) when that cannot be told yet (the record is already rescheduled), else
        (False, the id of the post it made, or None when it made none: post now)."""
        assert self.finder is not None
        gave_up = self._abandoned.get(item.id)
        if gave_up is not None and time.monotonic() - gave_up < self.in_flight_grace:
            return True, None  # that request may still reach Teams: ask on a later tick
        since = datetime.fromisoformat(earlier)
        wait = (since - self.clock.now()).total_seconds() + self.finder.settle_seconds
        if wait > 0:  # the channel's listing may not show that attempt yet
            await self._later(item, "checking whether Teams took an earlier attempt", wait)
            return True, None
        try:
            found = await self._call(
                self.finder.find_post(
                    item.target, item.id, since - timedelta(seconds=self.finder.margin_seconds)
                )
            )
        except NotReadYet as exc:  # nothing known yet: ask again, never post blind
            await self._later(item, exc.reason, exc.retry_after)
            return True, None
        except DeliveryFailed as exc:
            return await self._read_failed(item, exc), None
        return False, found

    async def _read_failed(self, item: OutboxMessage, exc: DeliveryFailed) -> bool:
        """Whether to wait after the channel could not be read back (True: the record is
        rescheduled). A read that failed or ran out of time says nothing about the channel: ask
        again (a slow or busy moment passes, and posting now would put a second card in front
        of the DSL). If the channel still cannot be read after READ_TRIES attempts, then for a
        safeguarding card a possible second copy is better than a delay of unknown length."""
        tries = (item.read_failures or 0) + 1
        if tries < READ_TRIES:
            log.warning(
                "could not check whether %s for %s was posted (%s); asking again",
                item.render,
                item.subject,
                exc.reason,
            )
            await self._later(
                item,
                f"could not read the channel back ({exc.reason})",
                exc.retry_after,
                read_failures=tries,
            )
            return True
        log.warning(
            "could not check whether %s for %s was posted (%s, %d times); posting it",
            item.render,
            item.subject,
            exc.reason,
            tries,
        )
        return False

    async def _mark_sending(self, item: OutboxMessage) -> OutboxMessage:
        """Record, durably, that a post is about to be made (so a crash leaves a mark).

        The message falls due again only after a lease's length: writing a record ends its
        claim on a shared store, and no other instance may take it up while this one posts.
        """
        now = self.clock.now()
        marked = replace(
            item,
            revision=item.revision + 1,
            read_failures=None,
            sending_at=now.isoformat(),
            next_at=(now + timedelta(seconds=self.lease_seconds)).isoformat(),
        )
        await self.store.commit(Change(records=[marked.to_record()]))
        return marked

    @staticmethod
    def _in_school_words(outgoing: Outgoing, school: SchoolPolicy) -> Outgoing:
        """The school's clause names and role titles, never seed-file numbers."""
        words = school.own_words()
        card = outgoing.card
        if card is not None:
            card = cast(Mapping[str, Any], cite_all(card, school.clauses, words))
        text = outgoing.text
        if text is not None:
            text = reword(cite(text, school.clauses), words)
        return replace(outgoing, card=card, text=text)
