"""The embedded store: TinyDB files made durable, one writer, a redo journal, a chained audit log.

Layout of the data folder (created mode 0700, files 0600)::

    LOCK                 single-writer lock (flock), holds the owner's pid
    records/<kind>.json  one TinyDB file per kind of record
    system.json          TinyDB: named sequences and processed dedupe keys
    audit.jsonl          the audit log, one sealed entry per line, append-only
    journal.json         the change being applied (exists only during a commit)

A commit is durable once ``journal.json`` is on disk; the change is then applied file by file.
If the process dies part-way, the next start replays the journal (every step is idempotent),
so a change is either wholly there or wholly absent. TinyDB itself gives no such guarantee and
supports one thread only: all TinyDB calls run in a worker thread under one asyncio lock.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from dialogs.ports import (
    RECORD_SCHEMA,
    Change,
    DuplicateRequest,
    Record,
    StoreCorrupted,
    StoreUnavailable,
    VersionConflict,
)
from policy.audit import GENESIS, AuditEntry, ChainCheck, seal, verify_chain
from store.crypto import MARK, RecordCipher
from store.files import (
    DIR_MODE,
    DirectoryLock,
    append_durably,
    atomic_write_json,
    fsync_dir,
    open_append,
    read_json,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Dedupe keys are kept this long (Teams retries within seconds to minutes).
DEDUPE_KEEP = timedelta(days=2)


class AtomicJSONStorage(Storage):
    """A TinyDB storage that reads a file once and replaces it atomically on every write.

    The parsed file is kept in memory (this process is the only writer). If a write fails,
    the in-memory copy is dropped, so the next read comes from the intact file on disk.
    """

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._cache: dict[str, dict[str, Any]] | None = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._cache is None:
            data = read_json(self._path, None)
            if data is not None and not isinstance(data, dict):
                raise StoreCorrupted(f"{self._path} does not hold a TinyDB document")
            self._cache = data
        return self._cache

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            atomic_write_json(self._path, data)
        except BaseException:
            self._cache = None
            raise
        self._cache = data

    def close(self) -> None:
        self._cache = None


def _open_tinydb(path: Path) -> TinyDB:
    db = TinyDB(str(path), storage=AtomicJSONStorage)
    db.storage.read()  # parse now: a damaged file must stop start-up, not a later turn
    return db


class TinyDbStore:
    """The ``Store`` port on TinyDB files in one folder: ``await TinyDbStore.open(dir)``."""

    def __init__(
        self, folder: Path, *, read_only: bool = False, cipher: RecordCipher | None = None
    ) -> None:
        self._folder = folder
        self._read_only = read_only
        self._cipher = cipher
        self._lock = asyncio.Lock()
        self._dir_lock = DirectoryLock(folder)
        self._records: dict[str, TinyDB] = {}
        self._doc_ids: dict[str, dict[str, int]] = {}
        self._next_doc_id: dict[str, int] = {}
        self._dedupe: dict[str, list[str]] = {}
        self._system: TinyDB | None = None
        self._audit_file: Any = None
        self._audit_seq = 0
        self._audit_hash = GENESIS
        self._needs_replay = False
        self.audit_check: ChainCheck | None = None

    # ----- opening and recovery --------------------------------------------------------------

    @classmethod
    async def open(
        cls, folder: Path, *, read_only: bool = False, cipher: RecordCipher | None = None
    ) -> TinyDbStore:
        """Open (creating if new) the store in ``folder``.

        ``read_only`` opens it for reports while the bot runs: no lock is taken, nothing is
        repaired or written, and every write raises ``StoreUnavailable``. Each file is read
        whole (files are replaced atomically), so a report never sees half a write.
        ``cipher`` seals every record's data at rest (AES-GCM), in the journal too.

        Raises:
            StoreLocked: another process holds the folder.
            StoreCorrupted: a file is damaged or from newer code; nothing is started.
        """
        store = cls(folder, read_only=read_only, cipher=cipher)
        await asyncio.to_thread(store._open_read_only if read_only else store._open_sync)
        return store

    def _open_read_only(self) -> None:
        if not self._folder.is_dir():
            raise StoreCorrupted(f"{self._folder} is not a bot data folder")
        self._system = _open_tinydb(self._folder / "system.json")
        for path in sorted((self._folder / "records").glob("*.json")):
            self._open_kind(path.stem)

    def _open_sync(self) -> None:
        self._folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        (self._folder / "records").mkdir(mode=DIR_MODE, exist_ok=True)
        self._dir_lock.acquire()
        try:
            for stale in self._folder.glob("**/.*.tmp"):
                stale.unlink()  # a write that never completed: its target is still intact
            self._system = _open_tinydb(self._folder / "system.json")
            for path in sorted((self._folder / "records").glob("*.json")):
                self._open_kind(path.stem)
            self._dedupe = {
                doc["key"]: list(doc["refs"]) for doc in self._system.table("dedupe").all()
            }
            self._check_keys()
            journal = read_json(self._journal_path, None)
            self._load_audit(torn_tail_allowed=journal is not None)
            if journal is not None:
                log.warning("replaying a change interrupted by a crash")
                self._apply(journal)
                self._clear_journal()
            self._prune_dedupe()
            self.audit_check = verify_chain(self._read_audit())
            if not self.audit_check.ok:
                log.error(
                    "audit chain broken at entry %s: %s",
                    self.audit_check.first_bad_seq,
                    self.audit_check.problem,
                )
        except BaseException:
            self._close_sync()
            raise

    @property
    def _journal_path(self) -> Path:
        return self._folder / "journal.json"

    @property
    def _audit_path(self) -> Path:
        return self._folder / "audit.jsonl"

    def _open_kind(self, kind: str) -> TinyDB:
        db = self._records.get(kind)
        if db is None:
            db = _open_tinydb(self._folder / "records" / f"{kind}.json")
            index: dict[str, int] = {}
            for doc in db.all():
                if not isinstance(doc.get("id"), str) or not isinstance(doc.get("version"), int):
                    raise StoreCorrupted(f"records/{kind}.json holds a record without id/version")
                if doc.get("schema", 0) > RECORD_SCHEMA:
                    raise StoreCorrupted(
                        f"records/{kind}.json was written by a newer version of the bot "
                        f"(record schema {doc['schema']}, this code knows {RECORD_SCHEMA})"
                    )
                index[doc["id"]] = doc.doc_id
            self._records[kind] = db
            self._doc_ids[kind] = index
            self._next_doc_id[kind] = max(index.values(), default=0) + 1
        return db

    def _load_audit(self, *, torn_tail_allowed: bool) -> None:
        path = self._audit_path
        raw = path.read_bytes() if path.exists() else b""
        if raw and not raw.endswith(b"\n"):
            cut = raw.rfind(b"\n") + 1
            if not torn_tail_allowed:
                raise StoreCorrupted(
                    f"{path} ends in a partial entry and no interrupted change explains it; "
                    "restore it from the last backup"
                )
            with open(path, "r+b") as handle:  # the interrupted append is replayed below
                handle.truncate(cut)
                os.fsync(handle.fileno())
            raw = raw[:cut]
        last: AuditEntry | None = None
        for number, line in enumerate(raw.splitlines(), start=1):
            try:
                last = AuditEntry.from_dict(json.loads(line))
            except (ValueError, TypeError) as exc:
                raise StoreCorrupted(f"{path} line {number} is damaged: {exc}") from None
        if last is not None:
            self._audit_seq, self._audit_hash = last.seq, last.hash
        self._audit_file = open_append(path)

    def _read_audit(self) -> list[AuditEntry]:
        if not self._audit_path.exists():
            return []
        with open(self._audit_path, "rb") as handle:
            return [AuditEntry.from_dict(json.loads(line)) for line in handle if line.strip()]

    # ----- the port ----------------------------------------------------------------------------

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        async with self._lock:
            work = asyncio.ensure_future(asyncio.to_thread(self._guarded, func, *args))
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                # The thread cannot be stopped: keep the lock until it has finished, so no
                # other write (or close) can run alongside it.
                await asyncio.wait([work])
                raise

    def _guarded(self, func: Callable[..., T], *args: Any) -> T:
        if self._system is None:
            raise StoreUnavailable("the store is closed")
        if self._read_only and func in (
            self._commit_sync,
            self._next_sequence_sync,
            self._reseal_sync,
        ):
            raise StoreUnavailable("the store was opened read-only")
        if self._needs_replay:
            try:
                self._apply(read_json(self._journal_path, None) or {})
                self._clear_journal()
            except OSError as exc:
                raise StoreUnavailable(f"the store cannot write ({exc.strerror})") from None
            self._needs_replay = False
        return func(*args)

    async def get(self, kind: str, item_id: str) -> Record | None:
        return await self._run(self._get_sync, kind, item_id)

    def _get_sync(self, kind: str, item_id: str) -> Record | None:
        doc_id = self._doc_ids.get(kind, {}).get(item_id)
        if doc_id is None:
            return None
        doc = self._records[kind].get(doc_id=doc_id)
        return None if doc is None else self._record(kind, doc)

    async def find(self, kind: str, **equals: str | int | bool | None) -> list[Record]:
        return await self._run(self._find_sync, kind, equals)

    def _find_sync(self, kind: str, equals: dict[str, object]) -> list[Record]:
        db = self._records.get(kind)
        if db is None:
            return []

        found = []
        for doc in db.all():
            record = self._record(kind, doc)
            if all(record.data.get(k) == v for k, v in equals.items()):
                found.append(record)
        return found

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        return await self._run(self._commit_sync, change)

    def _commit_sync(self, change: Change) -> tuple[AuditEntry, ...]:
        now = datetime.now(UTC)
        if change.dedupe_key is not None:
            found = self._dedupe_refs(change.dedupe_key)
            if found is not None:
                raise DuplicateRequest(change.dedupe_key, found)
        for record in change.records:
            current = self._get_sync(record.kind, record.id)
            found_version = current.version if current else 0
            if found_version != record.version - 1:
                raise VersionConflict(record.ref, record.version - 1, found_version)
        for kind, item_id, version in change.deletes:
            current = self._get_sync(kind, item_id)
            found_version = current.version if current else 0
            if found_version != version:
                raise VersionConflict(f"{kind}:{item_id}", version, found_version)
        entries: list[AuditEntry] = []
        seq, prev = self._audit_seq, self._audit_hash
        for event in change.audit:
            seq += 1
            entry = seal(event, seq=seq, prev_hash=prev)
            entries.append(entry)
            prev = entry.hash
        journal = {
            "records": [
                {
                    "kind": r.kind,
                    "id": r.id,
                    "version": r.version,
                    "schema": r.schema,
                    "data": self._seal(r.kind, r.id, r.data),
                }
                for r in change.records
            ],
            "deletes": [[k, i, v] for k, i, v in change.deletes],
            "audit": [e.to_dict() for e in entries],
            "dedupe": None
            if change.dedupe_key is None
            else {
                "key": change.dedupe_key,
                "refs": [r.ref for r in change.records],
                "at": now.isoformat(),
            },
        }
        try:
            atomic_write_json(self._journal_path, journal)
        except OSError as exc:
            raise StoreUnavailable(f"the store cannot write ({exc.strerror})") from None
        # From here the change is committed: apply it, or replay it before anything else.
        try:
            self._apply(journal)
            self._clear_journal()
        except OSError as exc:
            self._needs_replay = True
            raise StoreUnavailable(
                f"the change is saved in the journal but not yet applied ({exc.strerror})"
            ) from None
        return tuple(entries)

    def _apply(self, journal: dict[str, Any]) -> None:
        """Apply a journalled change. Idempotent: safe to run again after a crash."""
        for raw in journal.get("records", []):
            kind = raw["kind"]
            db = self._open_kind(kind)
            index = self._doc_ids[kind]
            doc = {k: raw[k] for k in ("id", "version", "schema", "data")}
            doc_id = index.get(raw["id"])
            if doc_id is None:
                doc_id = self._next_doc_id[kind]
                db.insert(Document(doc, doc_id=doc_id))
                index[raw["id"]] = doc_id
                self._next_doc_id[kind] = doc_id + 1
            else:
                stored = db.get(doc_id=doc_id)
                if stored is None or stored["version"] < raw["version"]:
                    db.update(doc, doc_ids=[doc_id])
        for kind, item_id, _version in journal.get("deletes", []):
            doc_id = self._doc_ids.get(kind, {}).get(item_id)
            if doc_id is not None:  # already gone when a crash is replayed: nothing to do
                self._records[kind].remove(doc_ids=[doc_id])
                del self._doc_ids[kind][item_id]
        dedupe = journal.get("dedupe")
        if dedupe and self._dedupe_refs(dedupe["key"]) is None:
            assert self._system is not None
            self._system.table("dedupe").insert(dedupe)
            self._dedupe[dedupe["key"]] = list(dedupe["refs"])
        pending = [e for e in journal.get("audit", []) if e["seq"] > self._audit_seq]
        if pending:
            lines = [
                (json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
                for e in pending
            ]
            size = os.fstat(self._audit_file.fileno()).st_size
            try:
                append_durably(self._audit_file, lines)
            except OSError:
                os.ftruncate(self._audit_file.fileno(), size)  # never leave half an entry
                raise
            self._audit_seq, self._audit_hash = pending[-1]["seq"], pending[-1]["hash"]

    def _clear_journal(self) -> None:
        try:
            self._journal_path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(self._folder)

    def _dedupe_refs(self, key: str) -> list[str] | None:
        found = self._dedupe.get(key)
        return None if found is None else list(found)

    def _prune_dedupe(self) -> None:
        assert self._system is not None
        cutoff = (datetime.now(UTC) - DEDUPE_KEEP).isoformat()
        table = self._system.table("dedupe")
        old = [doc.doc_id for doc in table.all() if doc["at"] < cutoff]
        if old:
            table.remove(doc_ids=old)
        self._dedupe = {doc["key"]: list(doc["refs"]) for doc in table.all()}

    def _check_keys(self) -> None:
        """Open one record of each kind now, so a missing or wrong key stops start-up."""
        for kind, db in self._records.items():
            docs = db.all()
            if docs:
                self._record(kind, docs[0])

    def _seal(self, kind: str, item_id: str, data: Mapping[str, Any]) -> Any:
        if self._cipher is None:
            return data
        return self._cipher.seal(kind, item_id, data)

    def _record(self, kind: str, doc: dict[str, Any]) -> Record:
        # Always a fresh copy: callers must never change the store's in-memory documents.
        stored = doc["data"]
        if self._cipher is not None:
            return _plain_record(kind, doc, self._cipher.open(kind, doc["id"], stored))
        if isinstance(stored, dict) and MARK in stored:
            raise StoreCorrupted(
                f"record {kind}:{doc['id']} is encrypted and no key is configured "
                "(set BOT_ENCRYPTION_KEY)"
            )
        return _plain_record(kind, doc, copy.deepcopy(stored))

    def _reseal_sync(self) -> int:
        """Rewrite every record sealed with the current key; returns how many changed."""
        if self._cipher is None:
            raise StoreUnavailable("no encryption key is configured")
        changed = 0
        for kind, db in self._records.items():
            tables = db.storage.read() or {}
            docs = tables.get(db.default_table_name, {})
            count = 0
            for doc in docs.values():
                if self._cipher.needs_reseal(doc["data"]):
                    data = self._cipher.open(kind, doc["id"], doc["data"])
                    doc["data"] = self._cipher.seal(kind, doc["id"], data)
                    count += 1
            if count:
                db.storage.write(tables)  # one atomic replace per kind: all or nothing
                db.table(db.default_table_name).clear_cache()
                changed += count
        return changed

    async def reseal(self) -> int:
        """Re-encrypt every record with the current key (after adding a new key, or when
        encryption is switched on for an existing store). Safe to re-run after a crash."""
        return await self._run(self._reseal_sync)

    async def next_sequence(self, name: str) -> int:
        return await self._run(self._next_sequence_sync, name)

    def _next_sequence_sync(self, name: str) -> int:
        assert self._system is not None
        table = self._system.table("sequences")
        current = next((doc for doc in table.all() if doc["name"] == name), None)
        try:
            if current is None:
                table.insert({"name": name, "value": 1})
                return 1
            value = int(current["value"]) + 1
            table.update({"value": value}, doc_ids=[current.doc_id])
        except OSError as exc:
            raise StoreUnavailable(f"the store cannot write ({exc.strerror})") from None
        return value

    async def deduped(self, key: str) -> tuple[str, ...] | None:
        found = await self._run(self._dedupe_refs, key)
        return None if found is None else tuple(found)

    async def audit_log(self) -> list[AuditEntry]:
        return await self._run(self._read_audit)

    async def verify_audit(self) -> ChainCheck:
        return await self._run(lambda: verify_chain(self._read_audit()))

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._close_sync)

    def _close_sync(self) -> None:
        for db in self._records.values():
            db.close()
        self._records.clear()
        if self._system is not None:
            self._system.close()
            self._system = None
        if self._audit_file is not None:
            self._audit_file.close()
            self._audit_file = None
        if not self._read_only:
            self._dir_lock.release()


def _plain_record(kind: str, doc: dict[str, Any], data: dict[str, Any]) -> Record:
    return Record(
        kind=kind,
        id=doc["id"],
        version=doc["version"],
        data=data,
        schema=doc.get("schema", RECORD_SCHEMA),
    )


__all__ = ["AtomicJSONStorage", "TinyDbStore"]
