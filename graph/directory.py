"""``GraphDirectory``: who is who, from Microsoft Graph (the Directory port in production).

A person's roles come from two Graph facts, resolved by the one policy rule
(``policy.roles.resolve_roles``):

- their education role, ``GET /education/users/{id}`` ``primaryRole`` (School Data Sync); a 404
  means they are not an education user (``EducationRole.NONE``);
- which of the school's configured role groups they belong to, transitively, with
  ``POST /users/{id}/checkMemberGroups`` (at most 20 group ids per call, so the configured
  groups are asked in chunks of 20).

Their display name comes from ``GET /users/{id}`` (``$select=id,displayName``); a 404 there means
the directory does not know them (``None``). Someone in no configured group who is not a student
gets no roles: the bot tells them who to contact, never treats them as staff.

Lookups are cached for ``ttl`` seconds (10 minutes by default) so a turn rarely waits on Graph.
A turn never waits on Graph's retries either: a lookup is given ``turn_timeout`` seconds; if
Graph is slow, throttling (429) or down, the last known answer is used (up to ``max_stale``
old), otherwise ``DirectoryUnavailable`` is raised and the bot says it cannot check right now.
A lookup that outlives its turn keeps going in the background (bounded by
``background_timeout``) and fills the cache for the next turn. After a 429 no Graph call is
made until its ``Retry-After`` has passed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.users.item.check_member_groups.check_member_groups_post_request_body import (
    CheckMemberGroupsPostRequestBody,
)
from msgraph.graph_service_client import GraphServiceClient

from dialogs.ports import Clock, DirectoryUnavailable
from graph.errors import GraphCallFailed, GraphProblem, ProblemKind, classify, graph_call
from policy.roles import STAFF_ROLES, EducationRole, Person, Role, resolve_roles

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Graph's limit on group ids per ``checkMemberGroups`` call.
CHECK_MEMBER_GROUPS_LIMIT = 20
#: Graph's largest page for directory collections.
PAGE_SIZE = 999
#: A guard against a group so large (or a paging loop so long) that it cannot be right.
MAX_PAGES = 200

PERMISSION_USERS = "User.Read.All"
PERMISSION_MEMBERSHIP = "GroupMember.Read.All (with User.Read.All)"
PERMISSION_EDUCATION = "EduRoster.Read.All"


@dataclass(slots=True)
class _Cached(Generic[T]):
    value: T
    at: datetime


def normalise_object_id(object_id: str) -> str | None:
    """The lower-case Entra object id, or None when ``object_id`` is not a GUID."""
    try:
        return str(uuid.UUID(object_id.strip()))
    except (ValueError, AttributeError):
        return None


def year_group(grade: str | None) -> str | None:
    """A display year group from School Data Sync's ``grade`` ("8" -> "Year 8")."""
    if not grade or not grade.strip():
        return None
    grade = grade.strip()
    return f"Year {int(grade)}" if grade.isdigit() else grade


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class GraphDirectory:
    """The Directory port on Microsoft Graph (see the module docstring for the rules)."""

    def __init__(
        self,
        client: GraphServiceClient,
        role_groups: Mapping[Role, Iterable[str]],
        clock: Clock,
        *,
        ttl: float = 600.0,
        missing_ttl: float = 60.0,
        max_stale: float = 24 * 3600.0,
        turn_timeout: float = 3.0,
        background_timeout: float = 20.0,
        concurrency: int = 4,
    ) -> None:
        """Set up the directory; nothing is asked of Graph until the first lookup.

        Args:
            client: The process's Graph client (``graph.client.connect``).
            role_groups: Role -> the Entra group ids whose transitive members hold it.
            clock: Time for cache ages and throttling windows (tests move it).
            ttl: Seconds a looked-up person or member list is used without asking Graph.
            missing_ttl: Seconds an "unknown person" answer is remembered.
            max_stale: How old a cached answer may be and still be used while Graph fails.
            turn_timeout: The longest a person lookup makes a turn wait.
            background_timeout: The longest one lookup (or one member list) may take at all.
            concurrency: Person lookups run at once when resolving a member list.
        """
        self._client = client
        self._role_groups = {
            role: frozenset(g.lower() for g in ids) for role, ids in role_groups.items()
        }
        self._all_groups = sorted(set().union(*self._role_groups.values()))
        self._clock = clock
        self._ttl = timedelta(seconds=ttl)
        self._missing_ttl = timedelta(seconds=min(missing_ttl, ttl))
        self._max_stale = timedelta(seconds=max_stale)
        self._turn_timeout = turn_timeout
        self._background_timeout = background_timeout
        self._limit = asyncio.Semaphore(concurrency)
        self._people: dict[str, _Cached[Person | None]] = {}
        self._members: dict[Role, _Cached[tuple[Person, ...]]] = {}
        self._inflight: dict[str, asyncio.Task[Person | None]] = {}
        self._throttled_until: datetime | None = None

    # -- the port ------------------------------------------------------------------------------

    async def person(self, object_id: str) -> Person | None:
        """The person with this Entra object id, or None if Graph does not know them.

        Raises:
            DirectoryUnavailable: Graph failed or was too slow and nothing usable is cached.
        """
        key = normalise_object_id(object_id)
        if key is None:
            return None
        cached = self._people.get(key)
        now = self._clock.now()
        if cached is not None and now - cached.at < self._fresh_for(cached.value):
            return cached.value
        try:
            self._check_not_throttled(now)
            async with asyncio.timeout(self._turn_timeout):
                # shield: a lookup that outlives the turn goes on and fills the cache.
                return await asyncio.shield(self._lookup(key))
        except (GraphCallFailed, TimeoutError) as exc:
            return self._stale_or_raise(cached, classify(exc), f"person {key}")

    async def members(self, role: Role) -> tuple[Person, ...]:
        """Everyone holding ``role``, in name order (for 1:1 alerts to each DSL and deputy).

        The candidates are the transitive members of the groups that can give the role (for
        staff: every staff-duty group), each then resolved like ``person`` so that the same
        rule applies (a pupil in a DSL group is not a DSL). Pupils are listed from the pupil
        groups only. Each uncached candidate costs a person lookup (three Graph calls, four at a
        time), so this is meant for the small safeguarding roles, and it runs in the outbox,
        not in a turn (bounded by ``background_timeout``).

        Raises:
            DirectoryUnavailable: Graph failed and no member list for the role is cached.
        """
        cached = self._members.get(role)
        now = self._clock.now()
        if cached is not None and now - cached.at < self._ttl:
            return cached.value
        try:
            self._check_not_throttled(now)
            async with asyncio.timeout(self._background_timeout):
                ids = await self._candidates(role)
                people = await asyncio.gather(*(self._limited_lookup(i) for i in ids))
        except (GraphCallFailed, TimeoutError) as exc:
            return self._stale_or_raise(cached, classify(exc), f"members of {role}")
        holders = tuple(
            sorted(
                (p for p in people if p is not None and role in p.roles),
                key=lambda p: (p.name, p.id),
            )
        )
        self._members[role] = _Cached(holders, self._clock.now())
        return holders

    async def close(self) -> None:
        """Cancel lookups still running in the background."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- caching and throttling ----------------------------------------------------------------

    def _fresh_for(self, value: Person | None) -> timedelta:
        return self._ttl if value is not None else self._missing_ttl

    def _check_not_throttled(self, now: datetime) -> None:
        if self._throttled_until is not None and now < self._throttled_until:
            wait = (self._throttled_until - now).total_seconds()
            raise GraphCallFailed(GraphProblem(ProblemKind.THROTTLED, 429, retry_after=wait))

    def _note(self, problem: GraphProblem) -> None:
        if problem.kind is ProblemKind.THROTTLED:
            wait = problem.retry_after if problem.retry_after is not None else 30.0
            until = self._clock.now() + timedelta(seconds=wait)
            if self._throttled_until is None or until > self._throttled_until:
                self._throttled_until = until

    def _stale_or_raise(self, cached: _Cached[T] | None, problem: GraphProblem, what: str) -> T:
        age = None if cached is None else self._clock.now() - cached.at
        if cached is not None and age is not None and age < self._max_stale:
            log.warning(
                "directory: using a cached answer for %s (%.0fs old): %s",
                what,
                age.total_seconds(),
                problem.explain("look it up"),
            )
            return cached.value
        reason = problem.explain(f"look up {what}")
        log.warning("directory unavailable: %s", reason)
        raise DirectoryUnavailable(reason)

    # -- lookups -------------------------------------------------------------------------------

    def _lookup(self, key: str) -> asyncio.Task[Person | None]:
        """The running lookup for ``key`` (one Graph round per person at a time)."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._fetch_and_cache(key), name=f"graph-person-{key}")
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._finished, key))
        return task

    def _finished(self, key: str, task: asyncio.Task[Person | None]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            # Read here so that the failure of a lookup nobody waits for any more (its turn
            # already answered) is not reported as "never retrieved"; throttling was noted.
            task.exception()

    async def _limited_lookup(self, key: str) -> Person | None:
        cached = self._people.get(key)
        if cached is not None and self._clock.now() - cached.at < self._fresh_for(cached.value):
            return cached.value
        async with self._limit:
            return await asyncio.shield(self._lookup(key))

    async def _fetch_and_cache(self, key: str) -> Person | None:
        try:
            async with asyncio.timeout(self._background_timeout):
                person = await self._fetch_person(key)
        except GraphCallFailed as failed:
            self._note(failed.problem)
            raise
        except TimeoutError:
            raise GraphCallFailed(GraphProblem(ProblemKind.TIMEOUT)) from None
        self._people[key] = _Cached(person, self._clock.now())
        return person

    async def _fetch_person(self, key: str) -> Person | None:
        user, education, groups = await asyncio.gather(
            self._display_name(key),
            self._education(key),
            self._member_of(key),
            return_exceptions=True,
        )
        if isinstance(user, BaseException):
            if isinstance(user, GraphCallFailed) and user.problem.kind is ProblemKind.NOT_FOUND:
                return None
            raise user
        for result in (education, groups):
            if isinstance(result, BaseException):
                raise result
        assert isinstance(education, tuple)
        assert isinstance(groups, frozenset)
        role, grade = education
        return Person(
            id=key,
            name=user or "(no name in the directory)",
            roles=resolve_roles(role, groups, self._role_groups),
            year_group=year_group(grade),
        )

    async def _display_name(self, key: str) -> str:
        builder = self._client.users.by_user_id(key)
        config = RequestConfiguration(
            query_parameters=builder.UserItemRequestBuilderGetQueryParameters(
                select=["id", "displayName"]
            )
        )
        user = await graph_call(PERMISSION_USERS, lambda: builder.get(config))
        return (user.display_name or "") if user is not None else ""

    async def _education(self, key: str) -> tuple[EducationRole, str | None]:
        builder = self._client.education.users.by_education_user_id(key)
        config = RequestConfiguration(
            query_parameters=builder.EducationUserItemRequestBuilderGetQueryParameters(
                select=["id", "primaryRole", "student"]
            )
        )
        try:
            found = await graph_call(PERMISSION_EDUCATION, lambda: builder.get(config))
        except GraphCallFailed as failed:
            if failed.problem.kind is ProblemKind.NOT_FOUND:
                return EducationRole.NONE, None  # not an education user (or no SDS)
            raise
        if found is None or found.primary_role is None:
            return EducationRole.NONE, None
        raw = getattr(found.primary_role, "value", str(found.primary_role))
        role = {"student": EducationRole.STUDENT, "teacher": EducationRole.TEACHER}.get(
            raw, EducationRole.NONE
        )
        grade = found.student.grade if role is EducationRole.STUDENT and found.student else None
        return role, grade

    async def _member_of(self, key: str) -> frozenset[str]:
        if not self._all_groups:
            return frozenset()
        builder = self._client.users.by_user_id(key).check_member_groups

        async def ask(chunk: list[str]) -> list[str]:
            body = CheckMemberGroupsPostRequestBody(group_ids=chunk)
            answer = await graph_call(PERMISSION_MEMBERSHIP, lambda: builder.post(body))
            return list(answer.value or []) if answer is not None else []

        answers = await asyncio.gather(
            *(ask(c) for c in _chunks(self._all_groups, CHECK_MEMBER_GROUPS_LIMIT))
        )
        return frozenset(g.lower() for answer in answers for g in answer)

    def _candidate_groups(self, role: Role) -> frozenset[str]:
        if role is Role.STAFF:
            # resolve_roles makes every holder of a staff duty staff, even outside the staff group.
            roles: Iterable[Role] = STAFF_ROLES
        else:
            roles = (role,)
        return frozenset().union(*(self._role_groups.get(r, frozenset()) for r in roles))

    async def _candidates(self, role: Role) -> list[str]:
        ids: dict[str, None] = {}
        for group_id in sorted(self._candidate_groups(role)):
            for member in await self._group_users(group_id):
                ids.setdefault(member, None)
        return list(ids)

    async def _group_users(self, group_id: str) -> list[str]:
        builder = self._client.groups.by_group_id(group_id).transitive_members.graph_user
        config = RequestConfiguration(
            query_parameters=builder.GraphUserRequestBuilderGetQueryParameters(
                select=["id", "displayName"], top=PAGE_SIZE
            )
        )
        page = await graph_call(PERMISSION_MEMBERSHIP, lambda: builder.get(config))
        ids: list[str] = []
        for _ in range(MAX_PAGES):
            if page is None:
                break
            ids.extend(k for u in page.value or [] if u.id and (k := normalise_object_id(u.id)))
            if not page.odata_next_link:
                break
            page = await graph_call(
                PERMISSION_MEMBERSHIP, builder.with_url(page.odata_next_link).get
            )
        else:
            log.error("directory: group %s has more than %d pages of members", group_id, MAX_PAGES)
        return ids
