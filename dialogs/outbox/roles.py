"""Messages for a role: one copy for every holder, and a role nobody holds never a message
to nobody (its fallback, and the DSL team told)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dialogs.outbox.records import OUTBOX, UNHELD_ROLE_RENDER, Delivery, OutboxMessage, message
from dialogs.outbox.steps import WorkerSteps
from dialogs.ports import (
    Change,
    Record,
)
from policy.roles import SAFEGUARDING_LEADS, Role
from policy.school import DEFAULT_ROLE_NAMES

log = logging.getLogger("dialogs.outbox")  # one logger for the outbox, as before


class RoleDelivery(WorkerSteps):
    """Expands a message for a role into one per holder."""

    __slots__ = ()

    def _role_name(self, role: Role) -> str:
        return self.school.role_name(role) if self.school else DEFAULT_ROLE_NAMES[role]

    def _fallback_for(self, role: Role) -> tuple[Role, ...]:
        if self.school is not None:
            return self.school.fallback_for(role)
        return tuple(r for r in (Role.DSL, Role.DEPUTY_DSL) if r is not role)

    async def _holders(self, roles: Sequence[Role]) -> list[Any]:
        people: dict[str, Any] = {}
        for role in roles:
            for person in await self._call(self.directory.members(role)):
                people.setdefault(person.id, person)
        return list(people.values())

    async def _expand_role(self, item: OutboxMessage) -> None:
        """One copy for every holder of the role. A role nobody holds is never a message to
        nobody: it goes to the role's fallback (the DSL and deputies unless the school names
        another; never a channel), the DSL team is told who is missing, and ``/healthz``
        counts it. With nobody in the fallback either, it waits and is tried again."""
        role = Role(item.target)
        people = await self._holders([role])
        now = self.clock.now()
        alerts: list[Record] = []
        if people:
            self.status.unheld_roles.pop(role.value, None)
        else:
            fallback = self._fallback_for(role)
            people = await self._holders(fallback)
            if not people:
                self.status.unheld_roles[role.value] = self.status.unheld_roles.get(role.value, 0)
                log.error("no one holds role %s or its fallback: a message waits", role.value)
                await self._later(item, f"nobody holds the role {role.value} or its fallback", None)
                return
            self.status.unheld_roles[role.value] = self.status.unheld_roles.get(role.value, 0) + 1
            log.error("no one holds role %s: a message went to its fallback", role.value)
            if item.delivery is Delivery.DIRECT_TO_ROLE:
                alerts = await self._unheld_alerts(item, role, fallback, people, now)
        single = Delivery.FEED if item.delivery is Delivery.FEED_TO_ROLE else Delivery.DIRECT
        copies = [
            message(
                single,
                person.id,
                item.subject,
                item.render,
                now,
                **item.extras,
            )
            for person in people
        ]
        await self.store.commit(
            Change(records=[*copies, *alerts], deletes=[(OUTBOX, item.id, item.revision)])
        )
        if alerts:
            self.doorbell.ring()

    async def _unheld_alerts(
        self,
        item: OutboxMessage,
        role: Role,
        fallback: Sequence[Role],
        people: Sequence[Any],
        now: datetime,
    ) -> list[Record]:
        """ "Nobody holds the role X" for the DSL team (or, without one, those who got it)."""
        name = self._role_name(role)
        went_to = " and ".join(self._role_name(r) for r in fallback)
        _, _, ref = item.subject.partition(":")
        text = (
            f"Nobody holds the role {name} in the directory, so a message for them "
            f"({ref}) went to the {went_to} instead. Please add the right person to the "
            f"{name} group, or tell the school's IT team."
        )
        team = await self._holders(sorted(SAFEGUARDING_LEADS)) or list(people)
        return [
            message(
                Delivery.DIRECT,
                person.id,
                item.subject,
                UNHELD_ROLE_RENDER,
                now,
                x_text=text,
                x_role=role.value,
            )
            for person in team
        ]
