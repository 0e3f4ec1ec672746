""" "Check my next lessons": each Teams meeting, its attendees and its settings."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from cards.video_call import (
    calendar_unavailable_card,
    next_lessons_card,
)
from cards.welcome import private_chat_only_card
from dialogs.kinds.video_call import (
    RECORDING_KIND,
    REQUESTS,
    WITHDRAWN_ID,
    WITHDRAWN_KIND,
)
from dialogs.ports import (
    DirectoryUnavailable,
    Meeting,
)
from dialogs.router import ActionContext, Reply, Scope
from dialogs.video_call.base import MAX_MEETINGS, NEXT_DAYS, VideoCallBase, _Attendees
from dialogs.video_call.forms import (
    _stored_names,
)
from policy.roles import Person
from policy.video_calls import (
    TEAMS,
    Audience,
    CallPlan,
    MeetingCheck,
    MeetingSettings,
    RecordingRequest,
    RequestStatus,
    check_meeting,
    withdrawn_in,
)

log = logging.getLogger(__package__)  # "dialogs.video_call", as before the split


class MeetingHandlers(VideoCallBase):
    """Reading the calendar and judging each real Teams meeting."""

    async def _my_meeting(self, person: Person, meeting_id: str) -> Meeting | None:
        """The person's own upcoming meeting with this id, reloaded from their calendar.

        Raises:
            DirectoryUnavailable: the calendar cannot be asked right now.
        """
        if self._calendar is None:
            return None
        meetings = await self._calendar.upcoming(person.id, days=NEXT_DAYS)
        return next((m for m in meetings if m.id == meeting_id), None)

    async def _attendees(self, meeting: Meeting) -> _Attendees:
        """Pupils and staff at a meeting, by their directory roles (the organiser included).

        Raises:
            DirectoryUnavailable: the directory cannot be asked right now.
        """
        ids = dict.fromkeys([meeting.organizer_id, *meeting.attendee_ids])
        pupils: list[Person] = []
        staff = others = 0
        for person_id in ids:
            person = await self._directory.person(person_id)
            if person is None or not person.has_access:
                others += 1
            elif person.is_pupil:
                pupils.append(person)
            elif person.is_staff:
                staff += 1
            else:
                others += 1
        return _Attendees(tuple(pupils), staff, others)

    @staticmethod
    def _one_to_one(attendees: _Attendees) -> bool:
        """One member of staff and one pupil, nobody else: a 1:1 call (000 §6)."""
        return len(attendees.pupils) == 1 and attendees.staff == 1 and attendees.others == 0

    def _meeting_plan(
        self,
        meeting: Meeting,
        attendees: _Attendees,
        withdrawn: Sequence[str],
        permission: RecordingRequest | None,
    ) -> CallPlan:
        """The plan a meeting describes: its time, its pupils (by directory role), withdrawn
        pupils (by name or by id on the list), pupil-only meetings (000 §6) and permission to
        record. Parents' consent and the location cannot be read from a calendar."""
        names = [p.name for p in attendees.pupils]
        listed = {w.strip().casefold() for w in withdrawn}
        by_id = [p.name for p in attendees.pupils if p.id.casefold() in listed]
        marked = list(dict.fromkeys([*withdrawn_in(names, withdrawn), *by_id]))
        duration = meeting.end - meeting.start
        return CallPlan(
            start=meeting.start,
            duration=duration if duration > timedelta(0) else timedelta(minutes=1),
            platform=TEAMS,
            audience=Audience.NAMED_PUPILS if names else Audience.STAFF_ONLY,
            pupils=tuple(names),
            one_to_one_with_pupil=self._one_to_one(attendees),
            pupil_to_pupil=bool(names) and attendees.staff == 0,
            recording=meeting.record_automatically,
            recording_reason=permission.reason if permission else "",
            recording_permission_granted=permission is not None,
            withdrawn_pupils=tuple(marked),
        )

    async def next_lessons(self, ctx: ActionContext) -> Reply:
        """List the person's upcoming Teams meetings and judge each (000 §6, §8, §10; 001 §2.4).

        Each meeting is judged on its time, its attendees (withdrawn pupils, pupil-only
        meetings, 1:1 calls) and its own settings (``check_meeting``). Changes nothing. When the
        calendar or the directory cannot answer, a kind card says so.
        """
        if ctx.turn.scope is not Scope.PERSONAL:
            return Reply(card=private_chat_only_card())
        if self._calendar is None:
            return Reply(card=calendar_unavailable_card())
        withdrawn = _stored_names(await self._store.get(WITHDRAWN_KIND, WITHDRAWN_ID))
        approved = [
            r
            for r in (
                REQUESTS.decode(record)
                for record in await self._store.find(RECORDING_KIND, requester=ctx.person.id)
            )
            if r.status is RequestStatus.APPROVED
        ]
        checks: list[MeetingCheck] = []
        try:
            meetings = await self._calendar.upcoming(ctx.person.id, days=NEXT_DAYS)
            for meeting in meetings[:MAX_MEETINGS]:
                attendees = await self._attendees(meeting)
                permission = next(
                    (r for r in approved if r.covers(meeting.start, meeting.id)), None
                )
                plan = self._meeting_plan(meeting, attendees, withdrawn, permission)
                settings = MeetingSettings(
                    allow_recording=meeting.allow_recording,
                    record_automatically=meeting.record_automatically,
                    lobby_bypass=meeting.lobby_bypass,
                    allowed_presenters=meeting.allowed_presenters,
                    has_external_guests=meeting.has_external_guests,
                )
                checks.append(
                    MeetingCheck(
                        meeting_id=meeting.id,
                        subject=meeting.subject,
                        plan=plan,
                        verdict=check_meeting(plan, settings, self._school),
                        pupils=len(attendees.pupils),
                        staff=attendees.staff,
                        others=attendees.others,
                        permission_ref=permission.ref if permission else "",
                    )
                )
        except DirectoryUnavailable:
            log.warning("calendar or directory unavailable for next lessons")
            return Reply(card=calendar_unavailable_card())
        return Reply(
            card=next_lessons_card(
                checks,
                self._school,
                days=NEXT_DAYS,
                more=max(0, len(meetings) - MAX_MEETINGS),
            )
        )
