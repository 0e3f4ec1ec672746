"""Pre-filled data folders: a school's history written straight through the Store port.

``N`` concerns spread evenly over the ten years up to the current one (so this year holds a
tenth, and its reference sequence is advanced to match), one filter request per ten concerns,
the audit entries their lives made (report, acknowledge, two actions, close; request, approve,
applied, re-blocked) and the DSL/IT channel card ids the outbox keeps for each. Older items
are closed (or re-blocked); the newest ``new_count`` concerns are new, waiting for a DSL: they
are the ones the DSL-acknowledge turns act on. No reminder timers are written (the outbox
worker would scan them all on every tick; a real school has few concerns unacknowledged).

Everything is written into a fresh folder before any app opens it. The audit entries go
through the Store port in a few large ``Change``s. The records do not: a ``Change`` of ``k``
records makes ``TinyDbStore`` rewrite the kind's whole file ``k`` times (``_apply`` calls
TinyDB's ``insert`` once per record, and each ``insert`` re-serialises, fsyncs and renames the
file), so 20 000 concerns through the port cost ~20 000 rewrites of a file growing to ~15 MB
(it did not finish in 12 minutes). They are written instead with TinyDB's ``insert_multiple``
through ``bench.atomic_storage.AtomicJSONStorage`` (one atomic write per kind), in the documents'
stored layout, as is this year's reference sequence; the store then opens the folder (checking
every document) and seals the audit entries.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from bench.atomic_storage import AtomicJSONStorage
from bench.school import PUPILS, TEACHERS
from dialogs.kinds import concern as concern_kind
from dialogs.kinds import filter_request as filter_kind
from dialogs.kinds import reference
from dialogs.outbox import CHANNEL_MESSAGE, channel_message_id
from dialogs.ports import Change, Record
from policy.audit import AuditEvent
from policy.categories import DEFAULT_CATEGORIES, Route
from policy.concerns import (
    UKCIS_CATEGORIES,
    Concern,
    RiskAnswer,
    Source,
    acknowledge,
    checklist,
    close,
    is_urgent,
    record_action,
)
from policy.filtering import Approval, FilterRequest, FilterStatus
from policy.roles import Person, Role
from store.files import DIR_MODE
from store.tinydb_store import TinyDbStore
from tests.support import DSL, DSL_CHANNEL, IT, IT_CHANNEL

YEARS = 10
BATCH = 20000
LEAD = Person(DSL, "Fiona Blake", frozenset({Role.DSL, Role.STAFF}))
TECHNICIAN = Person(IT, "Nadia Khan", frozenset({Role.IT, Role.STAFF}))
CATEGORIES = {c.id: c for c in DEFAULT_CATEGORIES}
#: Categories a DSL can acknowledge (not about staff) and close without an assessment.
ROUTINE = [
    c.id
    for c in DEFAULT_CATEGORIES
    if c.route is not Route.HEADTEACHER and c.id not in UKCIS_CATEGORIES
]
CLOSABLE = [c.id for c in DEFAULT_CATEGORIES if c.id not in UKCIS_CATEGORIES]


@dataclass
class Prefilled:
    """A pre-filled data folder and what the turns need to know about it."""

    folder: Path
    concerns: int
    filter_requests: int
    audit_entries: int
    ack_refs: list[str]
    seconds: float
    bytes_on_disk: int


def _at(year: int, slot: int, per_year: int, now: datetime) -> datetime:
    """A time in ``year`` (before ``now`` in the current year), spread by ``slot``."""
    start = datetime(year, 1, 5, 9, 0, tzinfo=UTC)
    end = min(datetime(year, 12, 15, 15, 0, tzinfo=UTC), now - timedelta(days=2))
    step = (end - start) / max(per_year, 1)
    return start + step * slot


def _teacher(i: int) -> Person:
    return Person(TEACHERS[i % len(TEACHERS)], f"Teacher {i % 97:03d}", frozenset({Role.STAFF}))


def _pupil(i: int) -> Person:
    return Person(
        PUPILS[i % len(PUPILS)], f"Pupil {i % 389:03d}", frozenset({Role.PUPIL}), "Year 8"
    )


def _concern(i: int, ref: str, at: datetime, is_new: bool) -> tuple[Concern, list[AuditEvent]]:
    pupil_made = i % 5 == 4
    names = ROUTINE if is_new else CLOSABLE
    category = CATEGORIES[names[i % len(names)]]
    reporter = _pupil(i) if pupil_made else _teacher(i)
    concern = Concern(
        ref=ref,
        source=Source.PUPIL if pupil_made else Source.STAFF,
        category=category.id,
        urgent=is_urgent(category, RiskAnswer.NO),
        reporter_id=reporter.id,
        reporter_name=reporter.name,
        created_at=at,
        year_group="Year 8",
        involved=reporter.name if pupil_made else "A pupil in 8B and two in 9C",
        what_happened=(
            "Messages were sent late at night in a group chat, with a screenshot shared to "
            f"other pupils the next morning. Case {i}."
        ),
        where="Snapchat" if i % 2 else "a game's chat",
        url=None if i % 3 else f"https://site-{i % 50}.example/page",
        happened_on=(at.date() - timedelta(days=1)).isoformat(),
        actions_taken="" if pupil_made else "Spoke to the pupils; phone kept in the office",
        trusted_adult="Mrs Jones" if pupil_made else "",
    ).with_event(reporter, at, "reported", "Reported")
    subject = concern_kind.subject_of(ref)
    action = "worry.report" if pupil_made else "concern.report"
    events = [AuditEvent(reporter.id, action, subject, "ok", at)]
    if is_new:
        return concern, events
    later = at + timedelta(hours=1)
    concern = acknowledge(concern, LEAD, later)
    events.append(AuditEvent(LEAD.id, "concern.acknowledge", subject, "ok", later))
    for n, step in enumerate(checklist(category.id)[:2], start=2):
        when = at + timedelta(hours=n)
        concern = record_action(concern, LEAD, step, "Done and recorded on the file.", when)
        events.append(AuditEvent(LEAD.id, "concern.action", subject, "ok", when))
    when = at + timedelta(days=3)
    concern = close(
        concern, LEAD, "resolved_in_school", "Thank you: this has been dealt with.", when
    )
    events.append(AuditEvent(LEAD.id, "concern.close", subject, "ok", when))
    return concern, events


def _filter_request(i: int, ref: str, at: datetime) -> tuple[FilterRequest, list[AuditEvent]]:
    teacher = _teacher(i)
    start = at.date() + timedelta(days=1)
    request = FilterRequest(
        ref=ref,
        requester_id=teacher.id,
        requester_name=teacher.name,
        created_at=at,
        site=f"https://www.resource-{i % 40}.example/unit",
        blocked_category="games" if i % 2 else "unknown",
        audience="class",
        audience_detail="10B",
        reason="Pupils will test the physics simulation game we built in Computing this week.",
        topic="Computing: simulations",
        start=start,
        end=start + timedelta(days=4),
        supervised=True,
        age_appropriate=True,
        sensitive=False,
    ).step(teacher, at, "requested")
    subject = filter_kind.subject_of(ref)
    events = [AuditEvent(teacher.id, "filter.request", subject, "ok", at)]
    for hours, action, status in (
        (2, "approved", FilterStatus.APPROVED),
        (3, "applied", FilterStatus.APPLIED),
        (24 * 6, "reblocked", FilterStatus.REBLOCKED),
    ):
        when = at + timedelta(hours=hours)
        approval = Approval(TECHNICIAN.id, TECHNICIAN.name, when)
        request = replace(request.step(TECHNICIAN, when, action), status=status)
        if action == "approved":
            request = replace(request, change_approval=approval)
        elif action == "applied":
            request = replace(request, applied=approval)
        else:
            request = replace(request, reblocked=approval)
        events.append(AuditEvent(TECHNICIAN.id, f"filter.{action}", subject, "ok", when))
    return request, events


def _kept(subject: str, channel: str, render: str, n: int) -> Record:
    return Record(
        CHANNEL_MESSAGE,
        channel_message_id(subject, channel, render),
        1,
        {"message_id": f"prefilled-{n}", "conversation": channel},
    )


def _write_kinds(folder: Path, records: list[Record], sequences: dict[str, int]) -> None:
    """Each kind's TinyDB file in one atomic write, in the layout ``TinyDbStore`` keeps."""
    folder.mkdir(mode=DIR_MODE, parents=True)
    (folder / "records").mkdir(mode=DIR_MODE)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        doc = {"id": r.id, "version": r.version, "schema": r.schema, "data": r.data}
        by_kind.setdefault(r.kind, []).append(doc)
    for kind, docs in by_kind.items():
        db = TinyDB(str(folder / "records" / f"{kind}.json"), storage=AtomicJSONStorage)
        db.insert_multiple(docs)
        db.close()
    system = TinyDB(str(folder / "system.json"), storage=AtomicJSONStorage)
    system.table("sequences").insert_multiple(
        {"name": name, "value": value} for name, value in sequences.items() if value
    )
    system.close()


async def prefill(folder: Path, concerns: int, *, now: datetime, new_count: int) -> Prefilled:
    """Write ``concerns`` concerns (and the rest, see the module doc) into a new ``folder``."""
    began = time.perf_counter()
    records: list[Record] = []
    events: list[AuditEvent] = []
    first_year = now.year - YEARS + 1
    ack_refs: list[str] = []
    this_year: dict[str, int] = {f"OSC-{now.year}": 0, f"FLT-{now.year}": 0}

    def place(i: int, total: int) -> tuple[int, int, int]:
        """(year, number in that year, items in that year) of item ``i`` of ``total``."""
        year_index = i * YEARS // total
        first = -(-year_index * total // YEARS)
        following = -(-(year_index + 1) * total // YEARS)
        return first_year + year_index, i - first + 1, following - first

    for i in range(concerns):
        year, number, per_year = place(i, concerns)
        ref = reference(concern_kind.PREFIX, year, number)
        is_new = i >= concerns - new_count
        concern, lived = _concern(i, ref, _at(year, number, per_year, now), is_new)
        records.append(Record("concern", ref, 1, concern_kind.encode(concern)))
        if CATEGORIES[concern.category].route is not Route.HEADTEACHER:
            render = "pupil.channel" if concern.source is Source.PUPIL else "concern.channel"
            records.append(_kept(concern_kind.subject_of(ref), DSL_CHANNEL, render, i))
        events.extend(lived)
        if is_new:
            ack_refs.append(ref)
        if year == now.year:
            this_year[f"OSC-{now.year}"] += 1
    requests = concerns // 10
    for i in range(requests):
        year, number, per_year = place(i, requests)
        ref = f"FLT-{year}-{number:04d}"
        request, lived = _filter_request(i, ref, _at(year, number, per_year, now))
        records.append(Record("filter_request", ref, 1, filter_kind.encode(request)))
        records.append(_kept(filter_kind.subject_of(ref), IT_CHANNEL, "filter.request", i))
        events.extend(lived)
        if year == now.year:
            this_year[f"FLT-{now.year}"] += 1
    await asyncio.to_thread(_write_kinds, folder, records, this_year)
    store = await TinyDbStore.open(folder)  # checks every document it was given
    try:
        for start in range(0, len(events), BATCH):
            await store.commit(Change(audit=events[start : start + BATCH]))
    finally:
        await store.close()
    size = sum((await asyncio.to_thread(file_sizes, folder)).values())
    return Prefilled(
        folder=folder,
        concerns=concerns,
        filter_requests=requests,
        audit_entries=len(events),
        ack_refs=ack_refs,
        seconds=time.perf_counter() - began,
        bytes_on_disk=size,
    )


def file_sizes(folder: Path) -> dict[str, int]:
    """Bytes of each store file (for the report)."""
    return {
        str(p.relative_to(folder)): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "LOCK"
    }
