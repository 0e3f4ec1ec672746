"""The embedded store: TinyDB files in one folder, a redo journal, bounded partitions, one writer.

Layout of the data folder (created mode 0700, files 0600; formats in ``store.tinydb_layout``)::

    LOCK                     single-writer lock (flock), holds the owner's pid
    records/<kind>.json      the first partition of each kind of record (TinyDB)
    records/<kind>.<n>.json  its later partitions, each bounded in records and bytes
    system.json              TinyDB: sequences, recent dedupe keys, the last checkpoint's manifest
    audit.jsonl              the audit log, one sealed entry per line, append-only
    journal.json             every change committed since the last checkpoint (absent when none)
    .journal.json.spare.<n>  empty files prepared for the next journals

**A commit** is durable once the journal holding it is on disk, and only then applied in memory
and the caller told. A write appends ONE length-prefixed, CRC-checked entry holding only its
own changes to the journal and syncs it (one ``fdatasync``); opening replays every whole entry
and leaves out a torn LAST one (an append whose sync never returned: never acknowledged),
while damage before the end stops start-up. ``ops.backup``'s consistent copy reads the files
after checking that none changed in size or identity, so it takes the journal whole with the
rest. The first write after a checkpoint starts the journal anew: written whole into a spare
file whose name was made durable beforehand, then renamed (one fsync,
``store.files.prepare_spares``; recovery looks at the spares too). A journal of the older
format (one JSON document) is read, and replaced at the next write. Changes waiting while a
write is under way go together in the next one (group commit). A sequence number costs no
write of its own: it goes to disk with the next journal write, which comes before the change
using it is acknowledged. If the write fails (disk full, I/O error) nothing changed, in memory
or on disk (a partial append is cut back), and ``StoreUnavailable`` is raised.

**A checkpoint** (in a background thread: once the journal passes ``JOURNAL_SOFT`` bytes and
the store has been quiet for ``IDLE_SECONDS``, at once past ``JOURNAL_HARD``, and on close)
rewrites each partition changed since the last one (atomically; a partition takes new records
until it holds ``SHARD_MAX_RECORDS`` records or ``SHARD_MAX_BYTES`` bytes, so no checkpoint
rewrites the school's history), appends the new audit entries to ``audit.jsonl``, then writes
``system.json`` with the manifest; the journal is then deleted, or started anew (atomically)
with only the changes committed meanwhile. Each
partition records the last change it reflects (its ``lsn``), so recovery after a crash at any
point (**open** = check every partition against the manifest, replay the journal onto those
that do not reflect it yet, then checkpoint) is exact. After a full disk the store checkpoints
after every commit for a while, so the journal takes no room of its own.

**Opening** checks each partition file against the manifest (present, same size, same CRC-32)
and reads only its index, and the audit log against the SHA-256, length and last entry
recorded at the last checkpoint: a missing, cut, replaced or older file stops start-up with
``StoreCorrupted`` (never an empty start), telling the operator to restore the whole data
folder. Records are read from a partition when first needed and kept in a small cache
(``CACHE_BYTES``); changed partitions stay in memory until checkpointed. ``verify_audit``
verifies the whole chain on demand. ``read_only`` opens (reports while the bot runs) read
everything once, including what is only in the journal, without the lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dialogs.ports import (
    Change,
    DuplicateRequest,
    Record,
    StoreCorrupted,
    StoreUnavailable,
    VersionConflict,
    count_and_oldest,
    due_of,
    is_due,
)
from policy.audit import AuditEntry, ChainCheck, seal, verify_chain
from store.files import (
    spares_ready,
)
from store.text import clean_change
from store.tinydb_audit import _audit_line
from store.tinydb_journal import SPARES
from store.tinydb_keys import KeySurvey
from store.tinydb_layout import (
    dumps,
    encode_doc,
    parse_shard,
)
from store.tinydb_opening import Opening
from store.tinydb_state import UNHASHABLE, _FieldIndex, _Op, _Plan, _Shard

log = logging.getLogger(__name__)

#: Keyed sequence draws remembered (``next_sequence(name, key=...)``): copies of one form
#: arrive within seconds of each other; later copies meet the change's dedupe key instead.
KEYED_DRAWS_KEPT = 10_000


@dataclass(slots=True)
class _Staged:
    """The store as a batch's earlier changes leave it (they are applied only once written)."""

    lsn: int
    audit_seq: int
    audit_hash: str
    versions: dict[tuple[str, str], tuple[_Shard | None, int]] = field(default_factory=dict)
    dedupe: dict[str, list[str]] = field(default_factory=dict)
    added: dict[int, tuple[int, int]] = field(default_factory=dict)
    fresh: dict[str, _Shard] = field(default_factory=dict)


def _clean_docs(change: Change) -> list[bytes] | None:
    """Each record of ``change`` as stored (unencrypted), or None if any has a character
    ``clean_change`` would replace, or cannot be encoded as it stands.

    The bytes are ``encode_doc`` of the record's data, exactly as after ``clean_change`` (it
    only replaces those characters), found by the JSON encoder instead of a walk over the data
    in Python: a NUL is written as the escape ``\\u0000``, a lone surrogate cannot be UTF-8
    (a false alarm, such as a literal backslash before "u0000", only takes the usual path).
    Encoded now, on the caller's turn, the bytes also keep what the caller's objects held.
    """
    docs = []
    for r in change.records:
        try:
            doc = encode_doc(r.id, r.version, r.schema, r.data)
        except (TypeError, ValueError):  # (UnicodeEncodeError is a ValueError)
            return None
        if b"\\u0000" in doc:
            return None
        docs.append(doc)
    return docs


def _index_one(index: _FieldIndex, item_id: str, data: Mapping[str, Any] | None) -> None:
    """Put a record's value of ``index``'s field in its bucket (``data`` None: it is gone)."""
    old = index.value_of.pop(item_id, None)
    if item_id in index.buckets.get(old, ()):
        index.buckets[old].discard(item_id)
    if data is None:
        return
    value = data.get(index.name)
    key = value if value is None or isinstance(value, str | int | float) else UNHASHABLE
    index.value_of[item_id] = key
    index.buckets.setdefault(key, set()).add(item_id)


def _small(loaded: Sequence[Sized | None]) -> bool:
    """Whether a kind (its partitions' records, None where not in memory) is small enough to
    search by reading it all, without an index."""
    return len(loaded) <= 2 and all(d is not None and len(d) <= 64 for d in loaded)


class TinyDbStore(Opening):
    """The ``Store`` port on TinyDB files in one folder: ``await TinyDbStore.open(dir)``.

    Built in layers, one job each: ``store.tinydb_state`` (the shared state), ``_audit`` (the
    audit log), ``_partitions`` (the record files and their cache), ``_journal``,
    ``_checkpoint``, ``_keys`` (keys at rest), ``_opening``; here, the port itself.
    """

    async def get(self, kind: str, item_id: str) -> Record | None:
        while True:
            with self._state:
                self._usable()
                shard = self._locate(kind, item_id)
                if shard is None:
                    return None
                if shard.docs is not None:
                    self._tick += 1
                    shard.used = self._tick
                    raw = shard.docs[item_id]
                    break
            await asyncio.to_thread(self._ensure_loaded, shard)
        return self._record(kind, raw)

    async def find(self, kind: str, **equals: str | int | bool | None) -> list[Record]:
        missing: list[_FieldIndex] = []
        indexed = False
        with self._state:
            self._usable()
            shards = list(self._kinds.get(kind, ()))
            loaded = [list(s.docs.values()) if s.docs is not None else None for s in shards]
            small = _small(loaded)
            if not small and equals and not self._read_only:
                # A big kind is searched through an index of each field asked for, built by
                # the first search (a scan); until built, another search scans.
                indexes = self._indexes.get(kind, {})
                indexed = all(f in indexes and indexes[f].ready for f in equals)
                if not indexed:
                    missing = [self._new_index(kind, f) for f in equals if f not in indexes]
        if small:
            return self._find_in(kind, shards, loaded, equals)
        if not indexed:
            try:
                return await asyncio.to_thread(self._find_in, kind, shards, loaded, equals, missing)
            except BaseException:
                with self._state:  # not built: the next search builds them afresh
                    for index in missing:
                        self._indexes.get(kind, {}).pop(index.name, None)
                raise
        return await asyncio.to_thread(self._find_indexed, kind, equals)

    def _new_index(self, kind: str, name: str) -> _FieldIndex:
        """An index of ``name`` to be built by the scan that follows; changes made meanwhile
        are noted in it as they are applied (the caller holds the state lock)."""
        index = _FieldIndex(kind, name)
        self._indexes.setdefault(kind, {})[name] = index
        return index

    async def due(self, kind: str, time_field: str, at: datetime) -> list[Record]:
        # A big kind is picked through its index of ``time_field`` (built, like find's, by the
        # first call's scan): only the due records are read; a small one is simply read.
        with self._state:
            self._usable()
            index = self._indexes.get(kind, {}).get(time_field)
            ready = index is not None and index.ready
            small = _small([s.docs for s in self._kinds.get(kind, ())])
        if not ready and not small and not self._read_only:
            await self.find(kind, **{time_field: None})  # builds the index on a big kind
            with self._state:
                index = self._indexes.get(kind, {}).get(time_field)
                ready = index is not None and index.ready
        if not ready:
            return due_of(await self.find(kind), time_field, at)
        found = await asyncio.to_thread(self._find_indexed, kind, {time_field: at}, due=True)
        return due_of(found, time_field, at)

    def _find_indexed(
        self, kind: str, equals: Mapping[str, object], *, due: bool = False
    ) -> list[Record]:
        """``find`` through the kind's field indexes: only the records they name are read,
        each checked against every field (in the order a full scan finds them). With ``due``
        (one field, a time): the records whose field ``is_due`` at that time instead."""
        with self._state:
            indexes = [self._indexes[kind][name] for name in equals]
            touched = [(index, index.touched) for index in indexes]
            for index in indexes:
                index.touched = set()
        try:
            for index, ids in touched:
                for item_id in ids:
                    raw = self._raw(kind, item_id)
                    data = None if raw is None else self._record(kind, raw).data
                    with self._state:
                        _index_one(index, item_id, data)
        except BaseException:
            with self._state:  # half refreshed: forget them (the next search builds again)
                for index in indexes:
                    self._indexes.get(kind, {}).pop(index.name, None)
            raise
        with self._state:
            wanted: set[str] | None = None
            for index, value in ((i, equals[i.name]) for i in indexes):
                if due:
                    assert isinstance(value, datetime)
                    keys = [k for k in index.buckets if not isinstance(k, str) or is_due(k, value)]
                    ids = set().union(*(index.buckets[k] for k in keys))
                else:
                    ids = index.buckets.get(value, set()) | index.buckets.get(UNHASHABLE, set())
                wanted = ids if wanted is None else wanted & ids
            ordered: list[str] = []
            for shard in self._kinds.get(kind, ()):
                hits = [item_id for item_id in wanted or () if item_id in shard.versions]
                if len(hits) > 1:
                    chosen = set(hits)
                    hits = [item_id for item_id in shard.versions if item_id in chosen]
                ordered.extend(hits)
        found = []
        for item_id in ordered:
            raw = self._raw(kind, item_id)
            if raw is None:
                continue  # deleted meanwhile
            record = self._record(kind, raw)
            if due or all(record.data.get(k) == v for k, v in equals.items()):
                found.append(record)  # (due: ``due_of`` checks each record's own field)
        return found

    def _raw(self, kind: str, item_id: str) -> bytes | None:
        """A record as stored (its partition read into the cache if need be), None if absent."""
        while True:
            with self._state:
                shard = self._locate(kind, item_id)
                if shard is None:
                    return None
                if shard.docs is not None:
                    return shard.docs[item_id]
            self._ensure_loaded(shard)

    async def count_oldest(self, kind: str, time_field: str) -> tuple[int, datetime | None]:
        # The records are in this process (and often sealed): counting them is reading them.
        return count_and_oldest(await self.find(kind), time_field)

    def _find_in(
        self,
        kind: str,
        shards: list[_Shard],
        loaded: list[list[bytes] | None],
        equals: Mapping[str, object],
        building: list[_FieldIndex] = (),  # type: ignore[assignment]
    ) -> list[Record]:
        # Without a cipher a record can only match if its bytes hold each wanted string field
        # as stored (compact JSON): test that before parsing it.
        needles = (
            []
            if self._cipher is not None
            else [dumps(k) + b":" + dumps(v) for k, v in equals.items() if isinstance(v, str)]
        )
        found = []
        for shard, docs in zip(shards, loaded, strict=True):
            if docs is None:
                with self._state:
                    docs = list(shard.docs.values()) if shard.docs is not None else None
                if docs is None:  # read it for this search only: a search does not fill the cache
                    path = self._shard_path(shard)
                    docs = list(parse_shard(path, path.read_bytes()).docs.values())
            for raw in docs:
                if building:
                    record = self._record(kind, raw)
                    with self._state:
                        for index in building:
                            if record.id not in index.touched:  # else: read again later
                                _index_one(index, record.id, record.data)
                elif needles and not all(n in raw for n in needles):
                    continue
                else:
                    record = self._record(kind, raw)
                if all(record.data.get(k) == v for k, v in equals.items()):
                    found.append(record)
        if building:
            with self._state:
                for index in building:
                    index.ready = True
        return found

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        """Journal ``change`` (with every change waiting alongside it: one write for all),
        then apply it in memory; see ``Store.commit``."""
        docs = _clean_docs(change) if self._cipher is None else None
        change = clean_change(change, records=docs is None)
        with self._state:
            self._usable(write=True)
        loop = asyncio.get_running_loop()
        op = _Op(change, asyncio.current_task(), loop.create_future(), docs=docs)
        # A caller cancelled while its change is written never reads the outcome: not an error.
        op.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queue.append(op)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        # The write goes ahead even if the caller is cancelled (it may already be on disk).
        return await asyncio.shield(op.future)

    async def _flush(self) -> None:
        """Write what is queued, a batch at a time, until the queue is empty."""
        while self._queue:
            batch, self._queue = self._queue, []
            async with self._writer:
                try:
                    await asyncio.to_thread(self._commit_batch, batch)
                except BaseException as exc:  # noqa: BLE001 (handed to every caller)
                    for op in batch:
                        if op.error is None and op.result is None:
                            op.error = exc
            for op in batch:
                if op.error is not None:
                    self._give_back(op.task)
                    if not op.future.done():
                        op.future.set_exception(op.error)
                elif not op.future.done():
                    op.future.set_result(op.result or ())
            # The callers go on now; the next journal writes get spares meanwhile.
            if self._open and spares_ready(self._journal_path) < SPARES // 4:
                async with self._writer:
                    try:
                        await asyncio.to_thread(self._refill_spares)
                    except Exception:  # commits then use a temp file (two fsyncs)
                        log.exception("could not prepare the journal's spare files")

    def _commit_batch(self, ops: list[_Op]) -> None:
        """Check and place each change, journal them all in one write, apply them in memory.

        A change that fails its checks (version, dedupe) fails alone; if the write fails,
        every change of the batch fails with ``StoreUnavailable`` and nothing changed.
        """
        for op in ops:
            if op.docs is not None:
                op.sealed = list(zip(op.change.records, op.docs, strict=True))
                continue
            op.sealed = [
                (r, encode_doc(r.id, r.version, r.schema, self._seal(r.kind, r.id, r.data)))
                for r in op.change.records
            ]
        with self._state:
            self._usable(write=True)
            targets: dict[int, _Shard] = {}
            for op in ops:
                for record in op.change.records:
                    shard = self._locate(record.kind, record.id)
                    if shard is None and self._kinds.get(record.kind):
                        shard = self._kinds[record.kind][-1]  # where a new record may go
                    if shard is not None:
                        targets[id(shard)] = shard
                for kind, item_id, _version in op.change.deletes:
                    shard = self._locate(kind, item_id)
                    if shard is not None:
                        targets[id(shard)] = shard
            pinned = list(targets.values())
            for shard in pinned:
                shard.pins += 1
        try:
            for shard in pinned:
                self._ensure_loaded(shard)
            with self._state:
                staged = _Staged(self._lsn, self._audit_seq, self._audit_hash)
                plans: list[tuple[_Op, _Plan]] = []
                for op in ops:
                    try:
                        plans.append((op, self._plan(op.change, op.sealed, staged)))
                    except (VersionConflict, DuplicateRequest) as exc:
                        op.error = exc
                if not plans:
                    return
                sequences = {name: value for name, (value, _task) in self._reserved.items()}
                plans[-1][1].sequences.update(sequences)
                entries = [self._encode(plan) for _op, plan in plans]
            # (Held until the changes are in memory too: a checkpoint ending meanwhile must not
            # start the journal anew without them.)
            with self._journal_io:
                try:
                    self._write_journal(entries)
                except StoreUnavailable as exc:
                    for op, _plan in plans:
                        op.error = exc
                    return
                with self._state:
                    for (op, plan), entry in zip(plans, entries, strict=True):
                        self._apply(plan)
                        self._journalled(plan.lsn, entry)
                        op.result = tuple(plan.entries)
                    for name, value in sequences.items():
                        if self._reserved.get(name, (0, None))[0] == value:
                            del self._reserved[name]  # durable now: no longer given back
                    low_space = time.monotonic() < self._low_space_until
            if low_space:
                # The disk was found full lately: keep the journal empty, so that it takes
                # no room the files do not need anyway. (Done or not, these changes are durable.)
                try:
                    self._checkpoint_sync()
                    self._remove_empty_journal()
                except (OSError, StoreCorrupted) as exc:
                    log.warning("checkpoint failed (the journal keeps every change): %s", exc)
        finally:
            with self._state:
                for shard in pinned:
                    shard.pins -= 1

    def _plan(self, change: Change, sealed: list[tuple[Record, bytes]], staged: _Staged) -> _Plan:
        """Check ``change`` against the store as the changes before it in the batch leave it,
        place each new record in a partition and seal the audit entries.

        Raises:
            DuplicateRequest, VersionConflict: as ``Store.commit`` says (nothing is staged).
        """
        key = change.dedupe_key
        if key is not None:
            if key in self._dedupe:
                raise DuplicateRequest(key, self._dedupe[key][0])
            if key in staged.dedupe:
                raise DuplicateRequest(key, staged.dedupe[key])
        places: list[_Shard | None] = []
        for record in change.records:
            shard, found = self._staged_lookup(staged, record.kind, record.id)
            if found != record.version - 1:
                raise VersionConflict(record.ref, record.version - 1, found)
            places.append(shard)
        removing: list[_Shard] = []
        for kind, item_id, version in change.deletes:
            shard, found = self._staged_lookup(staged, kind, item_id)
            if shard is None or found != version:
                raise VersionConflict(f"{kind}:{item_id}", version, found)
            removing.append(shard)
        puts: list[tuple[_Shard, str, int, bytes]] = []
        for (record, raw), shard in zip(sealed, places, strict=True):
            if shard is None:
                shard = self._place(record.kind, staged.added, staged.fresh)
                records, size = staged.added.get(id(shard), (0, 0))
                staged.added[id(shard)] = (records + 1, size + len(raw))
            puts.append((shard, record.id, record.version, raw))
            staged.versions[(record.kind, record.id)] = (shard, record.version)
        deletes = []
        for (kind, item_id, _version), shard in zip(change.deletes, removing, strict=True):
            deletes.append((shard, item_id))
            staged.versions[(kind, item_id)] = (None, 0)
        entries: list[AuditEntry] = []
        for event in change.audit:
            entry = seal(event, seq=staged.audit_seq + 1, prev_hash=staged.audit_hash)
            entries.append(entry)
            staged.audit_seq, staged.audit_hash = entry.seq, entry.hash
        dedupe = None
        if key is not None:
            refs = [r.ref for r in change.records]
            dedupe = {"key": key, "refs": refs, "at": datetime.now(UTC).isoformat()}
            staged.dedupe[key] = refs
        staged.lsn += 1
        lines = [_audit_line(e) for e in entries]
        return _Plan(staged.lsn, puts, deletes, entries, lines, dedupe, {})

    def _staged_lookup(self, staged: _Staged, kind: str, item_id: str) -> tuple[_Shard | None, int]:
        """Where a record is and its version, counting the batch's earlier changes."""
        if (kind, item_id) in staged.versions:
            return staged.versions[(kind, item_id)]
        shard = self._locate(kind, item_id)
        return shard, shard.versions[item_id] if shard is not None else 0

    async def next_sequence(self, name: str, *, key: str | None = None) -> int:
        """The next number of ``name``. It is made durable by the store's next write, which
        comes before the change using it can be acknowledged (so a number in a saved record
        is never handed out again). If the caller's own commit fails, a number nobody else
        has drawn since is given back, so a report refused for a full disk keeps its
        reference when it is sent again. A draw with ``key`` gets the number drawn before
        with the same key (kept in memory: after a restart a key draws afresh)."""
        with self._state:
            self._usable(write=True)
            if key is not None and (drawn := self._keyed.get((name, key))) is not None:
                if self._reserved.get(name, (0, None))[0] == drawn:
                    # Shared by two copies now: one copy's failure no longer gives it back.
                    self._reserved[name] = (drawn, None)
                return drawn
            value = self._sequences.get(name, 0) + 1
            self._sequences[name] = value
            self._reserved[name] = (value, asyncio.current_task())
            if key is not None:
                self._keyed[(name, key)] = value
                while len(self._keyed) > KEYED_DRAWS_KEPT:
                    self._keyed.popitem(last=False)
        return value

    def _give_back(self, task: asyncio.Task[Any] | None) -> None:
        """Undo the numbers ``task`` drew if its change failed and nobody drew one since."""
        if task is None:
            return
        with self._state:
            for name, (value, owner) in list(self._reserved.items()):
                if owner is task and self._sequences.get(name) == value:
                    self._sequences[name] = value - 1
                    del self._reserved[name]
                    for drawn in [k for k, v in self._keyed.items() if k[0] == name and v == value]:
                        del self._keyed[drawn]  # the number will be drawn again: not the key's

    async def deduped(self, key: str) -> tuple[str, ...] | None:
        with self._state:
            self._usable()
            found = self._dedupe.get(key)
        return None if found is None else tuple(found[0])

    async def audit_log(self) -> list[AuditEntry]:
        with self._state:
            self._usable()
        return await asyncio.to_thread(lambda: list(self._audit_iter()))

    async def verify_audit(self) -> ChainCheck:
        with self._state:
            self._usable()
        return await asyncio.to_thread(lambda: verify_chain(self._audit_iter()))


__all__ = ["KeySurvey", "TinyDbStore"]
