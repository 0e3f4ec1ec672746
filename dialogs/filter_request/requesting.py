"""Requesting: the form, and a submitted request saved (or refused at once)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime

from cards.filter import filter_form, request_received, request_refused
from dialogs.filter_request.base import FilterBase, new_request_records
from dialogs.filter_request.form import Submitted, validate_request
from dialogs.filter_request.kinds import KIND, PREFIX, decode, encode, subject_of
from dialogs.handling import open_form
from dialogs.kinds import next_reference
from dialogs.outbox import Delivery, message
from dialogs.ports import Change, DuplicateRequest, Record, StoreUnavailable
from dialogs.router import ActionContext, Reply, Scope
from policy.audit import AuditEvent
from policy.filter_scope import ExceptionScope, parse_scope
from policy.filtering import FilterRequest, FilterStatus, never_unblockable
from policy.roles import Person, Role
from policy.weblinks import host_of

log = logging.getLogger("dialogs.filter_request")  # one logger for the feature, as before

PRIVATE_ONLY = "Please request filter changes in a private chat with me."


class RequestHandlers(FilterBase):
    """The request form and its submit."""

    async def start(self, ctx: ActionContext) -> Reply:
        """The request form (private chat only)."""
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(text=PRIVATE_ONLY)
        return Reply(card=filter_form(self._school, form_id=uuid.uuid4().hex))

    async def submit(self, ctx: ActionContext) -> Reply:
        """Validate; refuse never-unblockable sites at once; otherwise save and send to IT."""
        opened = await open_form(
            self._deps,
            ctx,
            "filter",
            not_private=Reply(text=PRIVATE_ONLY),
            no_form=lambda: self.start(ctx),
            confirm=lambda ref: self._confirm(ctx.person, ref),
        )
        if isinstance(opened, Reply):
            return opened
        form_id, key = opened.form_id, opened.key
        now = self._clock.now()
        today = now.astimezone(self._school.zone).date()
        values, problems, submitted = validate_request(ctx.data, today, self._deps)
        refusal = self._refusal(values, problems)
        if refusal is None and submitted is None:
            return self._form_again(form_id, values, problems)
        ref = await self._reference(now, key)
        request = self._new_request(ref, ctx.person, now, values, submitted)
        if refusal is not None:
            request = replace(request, status=FilterStatus.REFUSED).step(
                None, now, "refused", refusal
            )
        try:
            await self._store.commit(self._saved(ctx.person, request, refusal, key, now))
        except DuplicateRequest as dup:
            return await self._confirm(ctx.person, dup.refs[0])
        except StoreUnavailable:
            problems = {"reason": "Your request could not be saved just now. Please try again."}
            return self._form_again(form_id, values, problems)
        self._deps.doorbell.ring()
        log.info("filter request %s made (status %s)", ref, request.status.value)
        if refusal is not None:
            return Reply(card=request_refused(request, refusal))
        return Reply(card=request_received(request, self._school))

    def _refusal(self, values: dict[str, str], problems: dict[str, str]) -> str | None:
        """Why the site asked for can never be unblocked, or None (also None while the site
        itself is not a usable address)."""
        if "site" in problems:
            return None
        return never_unblockable(
            host_of(values["site"]), values["blocked_category"], self._school.filtering
        )

    def _form_again(self, form_id: str, values: dict[str, str], problems: dict[str, str]) -> Reply:
        """The form again, as filled in, with the problems next to their fields."""
        return Reply(
            card=filter_form(self._school, form_id=form_id, values=values, problems=problems)
        )

    async def _reference(self, now: datetime, key: str) -> str:
        """The request's reference, ``FLT-<year>-<n>`` (the same one for copies of one submit)."""
        year = now.astimezone(self._school.zone).year
        return await next_reference(self._store, PREFIX, year, key)

    def _saved(
        self, person: Person, request: FilterRequest, refusal: str | None, key: str, now: datetime
    ) -> Change:
        """The one atomic change that saves a submitted request: a refused one with the DSL's
        note; otherwise the request with its cards for the deciders."""
        subject = subject_of(request.ref)
        if refusal is not None:
            return Change(
                records=[
                    Record(KIND, request.ref, 1, encode(request)),
                    message(
                        Delivery.DIRECT_TO_ROLE, Role.DSL.value, subject, "filter.refused", now
                    ),
                ],
                audit=[
                    AuditEvent(
                        person.id, "filter.request", subject, "refused: never unblockable", now
                    )
                ],
                dedupe_key=key,
            )
        return Change(
            records=new_request_records(request, self._deps, now),
            audit=[AuditEvent(person.id, "filter.request", subject, "ok", now)],
            dedupe_key=key,
        )

    def _new_request(
        self,
        ref: str,
        person: Person,
        now: datetime,
        values: dict[str, str],
        submitted: Submitted | None,
    ) -> FilterRequest:
        if submitted is None:  # refused at once: keep what was asked, for the log
            today = now.astimezone(self._school.zone).date()
            request = FilterRequest(
                ref=ref,
                requester_id=person.id,
                requester_name=person.name,
                created_at=now,
                site=values["site"],
                blocked_category=values["blocked_category"],
                audience=values["audience"] or "staff_only",
                audience_detail=values["audience_detail"][:300],
                reason=values["reason"][:1000],
                topic=values["topic"][:200],
                start=today,
                end=today,
                supervised=values["supervised"] == "yes",
                age_appropriate=values["age_appropriate"] == "yes",
                sensitive=True,
                status=FilterStatus.REFUSED,
                scope=parse_scope(values["scope"]) or ExceptionScope.PAGE,
            )
        else:
            request = submitted(
                ref=ref, requester_id=person.id, requester_name=person.name, created_at=now
            )
        return request.step(person, now, "requested", request.reason)

    async def _confirm(self, person: Person, ref: str) -> Reply:
        _, _, item_id = ref.partition(":")
        record = await self._store.get(KIND, item_id)
        request = None if record is None else decode(record)
        if request is None or request.requester_id != person.id:  # never someone else's
            return Reply(card=filter_form(self._school, form_id=uuid.uuid4().hex))
        if request.status is FilterStatus.REFUSED:
            return Reply(card=request_refused(request, request.history[-1].detail))
        return Reply(card=request_received(request, self._school))
