"""The embedded store: TinyDB files in one folder, a redo journal, bounded partitions, one writer.

Layout of the data folder (created mode 0700, files 0600; formats in ``store.tinydb_layout``)::

    LOCK                     single-writer lock (flock), holds the owner's pid
    records/<kind>.json      the first partition of each kind of record (TinyDB)
    records/<kind>.<n>.json  its later partitions, each bounded in records and bytes
    system.json              TinyDB: sequences, recent dedupe keys, the last checkpoint's manifest
    audit.jsonl              the audit log, one sealed entry per line, append-only
    journal.json             every change committed since the last checkpoint (absent when none)
    .journal.json.spare.<n>  empty files prepared for the next journal writes

**A commit** is durable once the journal holding it is on disk, and only then applied in memory
and the caller told. The journal is one whole JSON document, replaced at each write (never
changed in place: ``ops.backup``'s consistent copy, which reads the files after checking that
none changed, takes it with the rest, and a reader never sees half a change). A write costs
ONE fsync: it goes into a spare file whose name was made durable beforehand, then renamed
(``store.files.prepare_spares``; recovery looks at the spares too). Changes waiting while a
write is under way go together in the next one (group commit). A sequence number costs no
write of its own: it goes to disk with the next journal write, which comes before the change
using it is acknowledged. If the write fails (disk full, I/O error) nothing changed, in memory
or on disk, and ``StoreUnavailable`` is raised.

**A checkpoint** (in a background thread: once the journal passes ``JOURNAL_SOFT`` bytes and
the store has been quiet for ``IDLE_SECONDS``, at once past ``JOURNAL_HARD``, and on close)
rewrites each partition changed since the last one (atomically; a partition takes new records
until it holds ``SHARD_MAX_RECORDS`` records or ``SHARD_MAX_BYTES`` bytes, so no checkpoint
rewrites the school's history), appends the new audit entries to ``audit.jsonl``, then writes
``system.json`` with the manifest; the next journal write leaves out what it covered. Each
partition records the last change it reflects (its ``lsn``), so recovery after a crash at any
point (**open** = check every partition against the manifest, replay the journal onto those
that do not reflect it yet, then checkpoint) is exact. Since each journal write needs room for
the whole journal, after a full disk the store checkpoints after every commit for a while.

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
import contextlib
import errno
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from tinydb.storages import Storage

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
from store.crypto import MARK, KeyDoesNotOpen, RecordCipher
from store.files import (
    DIR_MODE,
    RESTORE,
    DirectoryLock,
    append_durably,
    atomic_write_json,
    forget_spares,
    fsync_dir,
    open_append,
    prepare_spares,
    read_json,
    spares,
    spares_ready,
)
from store.text import clean_change
from store.tinydb_layout import (
    MANIFEST,
    SHARD_MAX_BYTES,
    SHARD_MAX_RECORDS,
    ParsedShard,
    build_journal,
    build_shard,
    build_system,
    crc,
    dumps,
    encode_change,
    encode_doc,
    journal_changes,
    parse_shard,
    parse_shard_file,
    read_header,
    shard_file,
    table,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Dedupe keys are kept this long (Teams retries within seconds to minutes).
DEDUPE_KEEP = timedelta(days=2)
#: Keyed sequence draws remembered (``next_sequence(name, key=...)``): copies of one form
#: arrive within seconds of each other; later copies meet the change's dedupe key instead.
KEYED_DRAWS_KEPT = 10_000
#: Checkpoint once the journal holds this much and the store has been quiet for a moment...
JOURNAL_SOFT = 32 * 1024
IDLE_SECONDS = 0.1
#: ...or at once past this (each commit rewrites the journal: it is kept small).
JOURNAL_HARD = 128 * 1024
#: How many reads must find damage before a read-only open (reports while
#: the bot runs) says the store is damaged: a commit landing mid-read is not damage.
READ_ONLY_DOUBTS = 5
#: A journal holding anything is checkpointed after this long without a write.
IDLE_LONG_SECONDS = 30.0
#: Records of unchanged partitions kept in memory (most recently used first).
CACHE_BYTES = 8 * 1024 * 1024
#: Spare files prepared for the journal at a time (each commit uses one: ``store.files``).
SPARES = 16
#: A failed checkpoint (disk full) is tried again after this long, doubling up to a minute
#: (or at once after a commit succeeds: there was room for that).
RETRY_SECONDS = 1.0
#: After the disk was found full, checkpoint right after every commit for this long (instead
#: of in the background): a commit rewrites the journal, so the smaller it is, the less room
#: a commit needs.
LOW_SPACE_SECONDS = 600.0


class AtomicJSONStorage(Storage):
    """A TinyDB storage that reads a file once and replaces it atomically on every write.

    The parsed file is kept in memory (this process is the only writer). If a write fails,
    the in-memory copy is dropped, so the next read comes from the intact file on disk. (The
    store writes its own files; this is for tools that write a folder for it, e.g. bench.)
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


@dataclass(eq=False, slots=True)
class _Shard:
    """One partition of one kind: its index always, its records when loaded."""

    kind: str
    number: int
    versions: dict[str, int] = field(default_factory=dict)
    #: id -> the record encoded as stored; None when not in memory (read it from the file).
    docs: dict[str, bytes] | None = None
    #: The last change the file on disk reflects (0: before partitions, or no file yet).
    file_lsn: int = 0
    #: The last change applied to it in memory.
    changed_lsn: int = 0
    #: Its file exists and the manifest lists it (or will, at the next checkpoint).
    listed: bool = False
    #: Changed in memory since its file was written (it is then always loaded).
    dirty: bool = False
    #: Size, CRC-32 and record count of its file as last written or read.
    size: int = 0
    crc: int = 0
    count: int = 0
    #: Bytes of its records (the file's size while not loaded).
    nbytes: int = 0
    pins: int = 0
    used: int = 0

    @property
    def name(self) -> str:
        return shard_file(self.kind, self.number)


@dataclass(slots=True)
class _Plan:
    """A change checked and placed: what the journal will say and memory will become."""

    lsn: int
    puts: list[tuple[_Shard, str, int, bytes]]
    deletes: list[tuple[_Shard, str]]
    entries: list[AuditEntry]
    lines: list[bytes]
    dedupe: dict[str, Any] | None
    sequences: dict[str, int]


@dataclass(eq=False, slots=True)
class _Op:
    """A change waiting for the next journal write, and its caller."""

    change: Change
    task: asyncio.Task[Any] | None
    future: asyncio.Future[tuple[AuditEntry, ...]]
    sealed: list[tuple[Record, bytes]] = field(default_factory=list)
    result: tuple[AuditEntry, ...] | None = None
    error: BaseException | None = None


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


@dataclass(frozen=True, slots=True)
class KeySurvey:
    """What seals the records looked at (``TinyDbStore.key_survey``)."""

    #: The ids of the keys (``store.crypto.key_id``) that seal the records looked at.
    sealed_by: frozenset[str]
    #: How many of the records looked at are plain (not sealed).
    plain: int
    #: How many records were looked at.
    looked: int


class _Overtaken(StoreCorrupted):
    """A read-only open met a partition newer than the manifest it read (a checkpoint is
    under way); it reads again."""


class TinyDbStore:
    """The ``Store`` port on TinyDB files in one folder: ``await TinyDbStore.open(dir)``."""

    def __init__(
        self,
        folder: Path,
        *,
        read_only: bool = False,
        cipher: RecordCipher | None = None,
        check_keys: bool = True,
    ) -> None:
        self._folder = folder
        self._read_only = read_only
        self._cipher = cipher
        self._open_checks_keys = check_keys
        self._writer = asyncio.Lock()
        self._state = threading.RLock()
        self._wake = threading.Condition(self._state)
        self._journal_io = threading.Lock()
        self._checkpoint_io = threading.Lock()
        self._dir_lock = DirectoryLock(folder)
        self._thread: threading.Thread | None = None
        self._queue: list[_Op] = []
        self._flusher: asyncio.Task[None] | None = None
        self._reset()
        self.audit_check: ChainCheck | None = None

    def _reset(self) -> None:
        self._kinds: dict[str, list[_Shard]] = {}
        self._sequences: dict[str, int] = {}
        #: Numbers handed out and not yet in a journal write: name -> (value, drawn by).
        self._reserved: dict[str, tuple[int, asyncio.Task[Any] | None]] = {}
        #: Keyed draws, oldest first: (name, key) -> the number every draw with it gets.
        self._keyed: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._dedupe: dict[str, tuple[list[str], str]] = {}
        self._dedupe_cache: dict[str, bytes] = {}
        self._lsn = 0
        self._checkpoint_lsn = 0
        self._journal: list[tuple[int, bytes]] = []
        self._journal_size = 0
        self._audit_seq = 0
        self._audit_hash = GENESIS
        self._audit_pending: list[tuple[int, bytes]] = []
        self._audit_file_bytes = 0
        self._audit_file_seq = 0
        self._audit_file_hash = GENESIS
        self._audit_sha: Any = None
        self._audit_file: IO[bytes] | None = None
        self._open = False
        self._stopping = False
        self._must_checkpoint = False
        self._last_write = time.monotonic()
        self._retry_at = 0.0
        self._retry_delay = RETRY_SECONDS
        self._low_space_until = 0.0
        self._journal_from: Path | None = None
        self._repairs: list[Callable[[], None]] = []
        self._tick = 0

    # ----- opening and recovery --------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        folder: Path,
        *,
        read_only: bool = False,
        cipher: RecordCipher | None = None,
        check_keys: bool = True,
    ) -> TinyDbStore:
        """Open (creating if new) the store in ``folder``.

        ``read_only`` opens it for reports while the bot runs: no lock is taken, nothing is
        repaired or written, every write raises ``StoreUnavailable``, and everything committed
        (the journal too) is read at once. ``cipher`` seals every record's data at rest
        (AES-GCM), in the journal too. Opening checks that a record of each kind opens with it
        (``KeyDoesNotOpen`` if not); ``check_keys=False`` leaves that out, for checking a
        backup's files without its key (reading a sealed record then raises).

        Raises:
            StoreLocked: another process holds the folder.
            StoreCorrupted: a file is damaged, missing, cut, older than the rest or from newer
                code; nothing is started.
        """
        store = cls(folder, read_only=read_only, cipher=cipher, check_keys=check_keys)
        await asyncio.to_thread(store._open_read_only if read_only else store._open_sync)
        return store

    @property
    def _journal_path(self) -> Path:
        return self._folder / "journal.json"

    @property
    def _audit_path(self) -> Path:
        return self._folder / "audit.jsonl"

    @property
    def _system_path(self) -> Path:
        return self._folder / "system.json"

    def _shard_path(self, shard: _Shard) -> Path:
        return self._folder / "records" / shard.name

    def _open_read_only(self) -> None:
        if not self._folder.is_dir():
            raise StoreCorrupted(f"{self._folder} is not a bot data folder")
        # The bot may finish a checkpoint while this reads: then read again (a checkpoint
        # ends by replacing system.json, and the journal keeps all since the one before).
        doubts = 0
        for attempt in range(50):
            before = self._stamp()
            try:
                self._reset()
                self._load(repair=False)
                # A reader sees one moment: every partition is read now, inside this check,
                # not later (the bot may have checkpointed a newer version of it by then).
                for shards in self._kinds.values():
                    for shard in shards:
                        self._ensure_loaded(shard)
            except _Overtaken:
                # A partition is newer than the manifest that was read: the bot is part-way
                # through a checkpoint, and replaces system.json when it ends.
                time.sleep(0.01)
                continue
            except (StoreCorrupted, FileNotFoundError):
                # A commit between reading the journal and the audit log looks like an entry
                # the journal does not explain: read again. Real damage stays on every read.
                doubts += 1
                if (self._stamp() == before and doubts >= READ_ONLY_DOUBTS) or attempt == 49:
                    raise
                time.sleep(0.01)
                continue
            if self._stamp() == before:
                self._open = True
                return
            time.sleep(0.01)
        raise StoreUnavailable("the store kept changing while it was read; try again")

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            found = self._system_path.stat()
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_size, found.st_mtime_ns

    def _open_sync(self) -> None:
        self._folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        (self._folder / "records").mkdir(mode=DIR_MODE, exist_ok=True)
        self._dir_lock.acquire()
        try:
            for stale in self._folder.glob("**/.*.tmp"):
                stale.unlink()  # a write that never completed: its target is still intact
            self._load(repair=True)
            self._audit_file = open_append(self._audit_path)
            try:
                prepare_spares(self._journal_path, SPARES)
            except OSError as exc:  # commits then write a temp file instead (two fsyncs)
                log.warning("could not prepare the journal's spare files: %s", exc)
            self._open = True
            if self._must_checkpoint:  # the journal replayed, or a folder from before partitions
                try:
                    self._checkpoint_sync()
                except OSError as exc:  # the journal keeps it all; the background tries again
                    log.warning("could not write the files at start (disk full?): %s", exc)
            self._remove_empty_journal()
            self._thread = threading.Thread(
                target=self._checkpointer, name=f"checkpoint {self._folder.name}", daemon=True
            )
            self._thread.start()
        except BaseException:
            self._close_sync(checkpoint=False)
            raise

    def _load(self, *, repair: bool) -> None:
        """Read the folder into memory (``repair``: the writer, which may fix what a crash
        left: a torn journal write or audit append, files of an interrupted checkpoint)."""
        system_raw = read_json(self._system_path, None)
        if system_raw is not None and not isinstance(system_raw, dict):
            raise StoreCorrupted(f"{self._system_path} does not hold a TinyDB document. {RESTORE}")
        system: dict[str, Any] = system_raw or {}
        manifest = self._manifest_of(system)
        try:
            for doc in table(self._system_path, system, "sequences"):
                self._sequences[str(doc["name"])] = int(doc["value"])
            for doc in table(self._system_path, system, "dedupe"):
                self._dedupe[str(doc["key"])] = ([str(r) for r in doc["refs"]], str(doc["at"]))
        except (KeyError, TypeError, ValueError):
            raise StoreCorrupted(
                f"{self._system_path} has a damaged sequence or dedupe key. {RESTORE}"
            ) from None
        changes = self._read_journal(repair=repair)
        files = self._shard_files()
        if manifest is not None:
            self._load_partitions(manifest, files, repair=repair)
        else:
            self._load_first_time(files, system_raw is None, changes, repair=repair)
        journal_audit = {
            int(e["seq"]): str(e["hash"])
            for change in changes
            if not change.get("legacy") and change["lsn"] > self._checkpoint_lsn
            for e in change.get("audit", ())
        }
        legacy_journal = any(change.get("legacy") for change in changes)
        self._open_audit(
            None if manifest is None else manifest.get("audit"),
            journal_audit,
            legacy_journal=legacy_journal,
            repair=repair,
        )
        replayed = self._replay(changes)
        if replayed:
            log.warning("replaying a change interrupted by a crash (%d in the journal)", replayed)
            self._must_checkpoint = True
        if self._read_only:
            for shards in self._kinds.values():
                for shard in shards:
                    self._ensure_loaded(shard)
        if self._open_checks_keys:
            self._check_keys()
        self._prune_dedupe()
        self._journal_size = sum(len(raw) for _lsn, raw in self._journal)
        if repair:  # every check passed: now put right what a crash left
            for fix in self._repairs:
                fix()
            self._settle_journal()

    def _read_journal(self, *, repair: bool) -> list[dict[str, Any]]:
        """The journal's changes. A crash just after a commit may have left the journal under
        a spare's name (``store.files.prepare_spares``): the newest whole journal of them all
        is the journal. A spare that is not a whole journal was never acknowledged (its fsync
        did not return), and one that is older was a journal before.
        """
        raw = read_json(self._journal_path, None)
        changes = [] if raw is None else journal_changes(self._journal_path, raw)
        newest, newest_path = changes, None
        for spare in spares(self._journal_path):
            try:
                data = spare.read_bytes()
                found = journal_changes(self._journal_path, json.loads(data)) if data else []
            except (OSError, ValueError, StoreCorrupted):
                continue
            last = newest[-1].get("lsn", 0) if newest else 0
            if found and not found[-1].get("legacy") and found[-1]["lsn"] > last:
                newest, newest_path = found, spare
        if repair:  # once the folder has passed every check (see _load)
            self._journal_from = newest_path
        return newest

    def _settle_journal(self) -> None:
        """Put the newest journal under its name and clear the spares (they are remade)."""
        forget_spares(self._journal_path)
        if self._journal_from is not None:
            os.replace(self._journal_from, self._journal_path)
            self._journal_from = None
        found = spares(self._journal_path)
        for spare in found:
            spare.unlink()
        if found:
            fsync_dir(self._folder)

    def _manifest_of(self, system: Mapping[str, Any]) -> dict[str, Any] | None:
        docs = table(self._system_path, system, MANIFEST)
        if not docs:
            return None
        manifest = docs[0]
        if manifest.get("format") != 2:
            raise StoreCorrupted(
                f"{self._system_path} was written by another version of the bot. {RESTORE}"
            )
        return manifest

    def _shard_files(self) -> dict[tuple[str, int], Path]:
        found = {}
        folder = self._folder / "records"
        if not folder.is_dir():
            return {}
        for path in sorted(folder.glob("*.json")):
            if path.name.startswith("."):
                continue
            key = parse_shard_file(path.name)
            if key is None:
                raise StoreCorrupted(
                    f"{path} is not a file this store writes (records/<kind>.json or "
                    f"records/<kind>.<n>.json): move it out of the data folder"
                )
            found[key] = path
        return found

    def _load_partitions(
        self, manifest: Mapping[str, Any], files: dict[tuple[str, int], Path], *, repair: bool
    ) -> None:
        """Every partition the manifest lists must be there, whole and at least as new."""
        try:
            lsn = int(manifest["lsn"])
            listed = {
                (str(kind), int(row[0])): (int(row[1]), int(row[2]), int(row[3]), int(row[4]))
                for kind, rows in manifest["shards"].items()
                for row in rows
            }
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise StoreCorrupted(f"{self._system_path} has a damaged manifest. {RESTORE}") from None
        self._lsn = self._checkpoint_lsn = lsn
        for (kind, number), (file_lsn, count, size, checksum) in sorted(listed.items()):
            path = files.pop((kind, number), None)
            if path is None:
                raise StoreCorrupted(
                    f"{self._folder / 'records' / shard_file(kind, number)} is missing: "
                    f"system.json lists it with {count} {kind} records. {RESTORE}"
                )
            data = path.read_bytes()
            shard = _Shard(kind, number, listed=True, size=len(data), nbytes=len(data))
            header = None
            if len(data) == size and crc(data) == checksum:
                header = read_header(path, data)
            if header is not None and (header.kind, header.number, header.lsn) == (
                kind,
                number,
                file_lsn,
            ):
                shard.versions = header.versions
                shard.file_lsn = file_lsn
                shard.crc = checksum
                shard.count = len(header.versions)
            else:
                parsed = parse_shard(path, data)
                found_lsn = parsed.header.lsn if parsed.header else 0
                if found_lsn < file_lsn:
                    raise StoreCorrupted(
                        f"{path} is older than the rest of the data folder (it reflects change "
                        f"{found_lsn}, system.json says {file_lsn}): a file from another "
                        f"moment was put back. {RESTORE}"
                    )
                if found_lsn == file_lsn and len(parsed.versions) != count:
                    raise StoreCorrupted(
                        f"{path} holds {len(parsed.versions)} records where system.json "
                        f"says {count}: it was cut or replaced. {RESTORE}"
                    )
                if found_lsn == file_lsn:
                    log.warning("%s changed since the bot wrote it; reading it as it is", path)
                    self._must_checkpoint = True
                self._install(shard, parsed)
                shard.file_lsn = found_lsn
                shard.crc = crc(data)
                shard.count = len(parsed.versions)
            self._kinds.setdefault(kind, []).append(shard)
        for _key, path in sorted(files.items()):
            parsed = parse_shard(path, path.read_bytes())
            if parsed.header is not None and parsed.header.lsn > lsn:
                # Written by a checkpoint that did not finish: rebuilt from the journal.
                if repair:
                    self._repairs.append(path.unlink)
                continue
            raise StoreCorrupted(
                f"{path} is not part of this data folder (system.json does not list it). {RESTORE}"
            )
        for shards in self._kinds.values():
            shards.sort(key=lambda s: s.number)

    def _load_first_time(
        self,
        files: dict[tuple[str, int], Path],
        no_system: bool,
        changes: list[dict[str, Any]],
        *,
        repair: bool,
    ) -> None:
        """A new folder, or one written before partitions (one file per kind): read it all,
        split big kinds into partitions (written by the checkpoint that ends opening)."""
        parsed = {key: parse_shard(path, path.read_bytes()) for key, path in files.items()}
        headed = [p.header for p in parsed.values() if p.header is not None]
        new_journal = any(not change.get("legacy") for change in changes)
        audit_size = self._audit_path.stat().st_size if self._audit_path.exists() else 0
        if any(h.lsn > 0 for h in headed) or new_journal or (no_system and audit_size):
            raise StoreCorrupted(
                f"{self._system_path} is missing or has lost its manifest, while the other "
                f"files hold records. {RESTORE}"
            )
        for (kind, number), found in sorted(parsed.items()):
            base = parsed.get((kind, 1))
            if number > 1 and found.header is None:
                raise StoreCorrupted(f"{files[(kind, number)]} has no index. {RESTORE}")
            if number > 1 and base is not None and base.header is None:
                # Left by a split of ``base`` that did not finish: ``base`` still has them all.
                if repair:
                    self._repairs.append(files[(kind, number)].unlink)
                continue
            shard = _Shard(kind, number, listed=False, dirty=found.header is None)
            self._install(shard, found)
            self._kinds.setdefault(kind, []).append(shard)
        for kind, shards in self._kinds.items():
            shards.sort(key=lambda s: s.number)
            if repair and len(shards) == 1 and shards[0].dirty:
                self._split(kind, shards[0])
        self._must_checkpoint = True

    def _split(self, kind: str, base: _Shard) -> None:
        """Move the records of an oversized kind file into new partitions (in memory; the
        checkpoint writes the new partitions before the smaller first one)."""
        assert base.docs is not None
        chunks: list[list[str]] = [[]]
        size = 0
        for item_id, raw in base.docs.items():
            full = len(chunks[-1]) >= SHARD_MAX_RECORDS or size + len(raw) > SHARD_MAX_BYTES
            if full and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(item_id)
            size += len(raw)
        if len(chunks) == 1:
            return
        log.info("splitting records/%s.json into %d partitions", kind, len(chunks))
        shards = self._kinds[kind]
        for number, ids in enumerate(chunks[1:], start=2):
            shard = _Shard(kind, number, docs={}, dirty=True)
            for item_id in ids:
                raw = base.docs.pop(item_id)
                shard.docs[item_id] = raw  # type: ignore[index]
                shard.versions[item_id] = base.versions.pop(item_id)
                shard.nbytes += len(raw)
            shards.append(shard)
        base.nbytes = sum(len(raw) for raw in base.docs.values())

    def _install(self, shard: _Shard, parsed: ParsedShard) -> None:
        shard.docs = parsed.docs
        shard.versions = parsed.versions
        shard.nbytes = sum(len(raw) for raw in parsed.docs.values())
        if parsed.header is not None:
            shard.file_lsn = parsed.header.lsn

    # ----- the audit log at opening -----------------------------------------------------------

    def _open_audit(
        self,
        recorded: Mapping[str, Any] | None,
        journal_audit: Mapping[int, str],
        *,
        legacy_journal: bool,
        repair: bool,
    ) -> None:
        """Check the audit log against what the last checkpoint recorded (its length, SHA-256
        and last entry): a cut, replaced or edited log is found without parsing every entry.
        A log from before the manifest, or one that no longer matches its digest, is verified
        entry by entry (an edited entry then shows in ``audit_check``, as it always did).
        """
        path = self._audit_path
        size = path.stat().st_size if path.exists() else 0
        sha = hashlib.sha256()
        if recorded is None:
            scan = _AuditScan(path, sha)
            check = verify_chain(scan.entries(0, size))
            scan.finish()
            torn_ok = legacy_journal
        else:
            try:
                prefix = int(recorded["bytes"])
                recorded_seq, recorded_hash = int(recorded["seq"]), str(recorded["hash"])
                digest = recorded.get("sha256")
            except (KeyError, TypeError, ValueError):
                raise StoreCorrupted(
                    f"{self._system_path} has a damaged manifest. {RESTORE}"
                ) from None
            if size < prefix:
                raise StoreCorrupted(
                    f"{path} is shorter than when the bot last wrote it ({size} bytes where "
                    f"system.json records {prefix}, up to entry {recorded_seq}): it was cut "
                    f"or replaced. {RESTORE}"
                )
            if digest is not None and _digest_of(path, prefix, sha) == digest:
                # Byte for byte what this store wrote (and verified, or sealed itself).
                scan = _AuditScan(
                    path, sha, seq=recorded_seq, last=recorded_hash, after=recorded_seq
                )
                for _entry in scan.entries(prefix, size, chained=True):
                    pass
                check = ChainCheck(True, scan.seq)
            else:
                sha = hashlib.sha256()
                scan = _AuditScan(path, sha, after=recorded_seq)
                check = verify_chain(scan.entries(0, size))
                scan.finish()
                if scan.seq < recorded_seq:
                    raise StoreCorrupted(
                        f"{path} ends at entry {scan.seq} where system.json records "
                        f"{recorded_seq}: it was cut or replaced. {RESTORE}"
                    )
                if check.ok and scan.hash_at_after != recorded_hash:
                    raise StoreCorrupted(
                        f"{path} is not the audit log this store wrote (entry {recorded_seq} "
                        f"differs from the one system.json records). {RESTORE}"
                    )
            if check.ok:
                for number, digest_of in scan.extra:
                    if journal_audit.get(number) != digest_of:
                        raise StoreCorrupted(
                            f"{path} holds entry {number}, which the journal does not "
                            f"explain. {RESTORE}"
                        )
            torn_ok = (scan.seq + 1) in journal_audit
        if scan.good < size:
            if not torn_ok:
                raise StoreCorrupted(
                    f"{path} ends in a partial entry and no interrupted change explains it. "
                    f"{RESTORE}"
                )
            if repair:  # the interrupted append: its entries are in the journal
                self._repairs.append(lambda: _truncate(path, scan.good))
        if not check.ok:
            log.error("audit chain broken at entry %s: %s", check.first_bad_seq, check.problem)
        self.audit_check = check
        self._audit_file_bytes = scan.good
        self._audit_file_seq = self._audit_seq = scan.seq
        self._audit_file_hash = self._audit_hash = scan.last
        self._audit_sha = sha if check.ok else None

    # ----- replaying the journal --------------------------------------------------------------

    def _replay(self, changes: list[dict[str, Any]]) -> int:
        """Apply the journal's changes that the files do not reflect yet; returns how many."""
        replayed = 0
        for change in changes:
            if change.get("legacy"):
                self._replay_legacy(change)
                replayed += 1
                continue
            lsn = int(change["lsn"])
            if lsn <= self._checkpoint_lsn:
                continue  # the files hold it already
            if lsn != self._lsn + 1:
                raise StoreCorrupted(
                    f"{self._journal_path} does not continue from system.json (change {lsn} "
                    f"after {self._lsn}). {RESTORE}"
                )
            try:
                plan = self._plan_from_journal(change)
            except (KeyError, TypeError, ValueError, IndexError):
                raise StoreCorrupted(
                    f"{self._journal_path} holds a damaged change ({lsn}). {RESTORE}"
                ) from None
            self._apply(plan)
            self._journal.append((lsn, dumps(change)))
            replayed += 1
        return replayed

    def _plan_from_journal(self, change: Mapping[str, Any]) -> _Plan:
        lsn = int(change["lsn"])
        puts: list[tuple[_Shard, str, int, bytes]] = []
        for kind, number, doc in change.get("put", ()):
            shard = self._shard_for_replay(str(kind), int(number))
            raw = encode_doc(doc["id"], int(doc["version"]), int(doc["schema"]), doc["data"])
            if lsn > shard.file_lsn:
                puts.append((shard, str(doc["id"]), int(doc["version"]), raw))
        deletes = []
        for kind, number, item_id in change.get("del", ()):
            shard = self._shard_for_replay(str(kind), int(number))
            if lsn > shard.file_lsn and item_id in shard.versions:
                deletes.append((shard, str(item_id)))
        entries: list[AuditEntry] = []
        lines: list[bytes] = []
        for raw_entry in change.get("audit", ()):
            entry = AuditEntry.from_dict(raw_entry)
            if entry.seq <= self._audit_seq:
                continue
            if entry.seq != self._audit_seq + 1 + len(entries) or entry.prev_hash != (
                entries[-1].hash if entries else self._audit_hash
            ):
                raise StoreCorrupted(
                    f"{self._journal_path}: its audit entries do not continue audit.jsonl "
                    f"(entry {entry.seq}). {RESTORE}"
                )
            entries.append(entry)
            lines.append(_audit_line(entry))
        sequences = {str(k): int(v) for k, v in (change.get("seq") or {}).items()}
        return _Plan(lsn, puts, deletes, entries, lines, change.get("dedupe"), sequences)

    def _shard_for_replay(self, kind: str, number: int) -> _Shard:
        shard = self._find_shard(kind, number)
        if shard is None:
            shard = _Shard(kind, number, docs={})
            self._kinds.setdefault(kind, []).append(shard)
            self._kinds[kind].sort(key=lambda s: s.number)
        self._ensure_loaded(shard)
        return shard

    def _replay_legacy(self, journal: Mapping[str, Any]) -> None:
        """A change journalled by the store before partitions: applied as it did, idempotently."""
        for raw in journal.get("records", []):
            kind, item_id, version = raw["kind"], raw["id"], int(raw["version"])
            doc = encode_doc(item_id, version, raw.get("schema", RECORD_SCHEMA), raw["data"])
            shard = self._locate(kind, item_id)
            if shard is None:
                shard = self._place(kind, {}, {})
                if shard not in self._kinds.setdefault(kind, []):
                    self._kinds[kind].append(shard)
            elif shard.versions[item_id] >= version:
                continue
            self._ensure_loaded(shard)
            self._put(shard, item_id, version, doc, 0)
        for kind, item_id, _version in journal.get("deletes", []):
            shard = self._locate(kind, item_id)
            if shard is not None:
                self._ensure_loaded(shard)
                self._delete(shard, item_id, 0)
        dedupe = journal.get("dedupe")
        if dedupe and dedupe["key"] not in self._dedupe:
            self._dedupe[dedupe["key"]] = (list(dedupe["refs"]), dedupe["at"])
        for raw_entry in journal.get("audit", []):
            entry = AuditEntry.from_dict(raw_entry)
            if entry.seq == self._audit_seq + 1 and entry.prev_hash == self._audit_hash:
                self._audit_pending.append((entry.seq, _audit_line(entry)))
                self._audit_seq, self._audit_hash = entry.seq, entry.hash

    def _check_keys(self) -> None:
        """Open one record of each kind now, so a missing or wrong key stops start-up."""
        for kind, shards in self._kinds.items():
            for shard in reversed(shards):
                if shard.versions:
                    self._ensure_loaded(shard)
                    assert shard.docs is not None
                    self._record(kind, next(iter(shard.docs.values())))
                    break

    # ----- partitions in memory ---------------------------------------------------------------

    def _find_shard(self, kind: str, number: int) -> _Shard | None:
        for shard in self._kinds.get(kind, ()):
            if shard.number == number:
                return shard
        return None

    def _locate(self, kind: str, item_id: str) -> _Shard | None:
        for shard in reversed(self._kinds.get(kind, ())):
            if item_id in shard.versions:
                return shard
        return None

    def _place(
        self, kind: str, added: dict[int, tuple[int, int]], fresh: dict[str, _Shard]
    ) -> _Shard:
        """The partition a new record of ``kind`` goes into: the newest, unless it is full.

        ``added`` counts what this change already puts in each partition (records, bytes, by
        ``id``), ``fresh`` the partitions this change starts (not in memory until it is done).
        """
        shards = self._kinds.get(kind, [])
        last = fresh.get(kind) or (shards[-1] if shards else None)
        if last is not None:
            records, size = added.get(id(last), (0, 0))
            if (
                len(last.versions) + records < SHARD_MAX_RECORDS
                and last.nbytes + size < SHARD_MAX_BYTES
            ):
                return last
            number = last.number + 1
        else:
            number = 1
        fresh[kind] = _Shard(kind, number, docs={})
        return fresh[kind]

    def _ensure_loaded(self, shard: _Shard) -> None:
        """Read a partition's records from its file if they are not in memory."""
        with self._state:
            self._tick += 1
            shard.used = self._tick
            if shard.docs is not None:
                return
            path = self._shard_path(shard)
            expected = shard.file_lsn
        parsed = parse_shard(path, path.read_bytes())
        found = parsed.header.lsn if parsed.header else 0
        with self._state:
            if shard.docs is None:
                if found != expected or parsed.versions != shard.versions:
                    if self._read_only and found > expected:
                        raise _Overtaken(str(path))  # the bot is checkpointing: read again
                    raise StoreCorrupted(f"{path} changed while the bot was using it. {RESTORE}")
                shard.docs = parsed.docs
                shard.nbytes = sum(len(raw) for raw in parsed.docs.values())
                self._trim_cache()

    def _trim_cache(self) -> None:
        """Forget the records of the least recently used unchanged partitions over budget."""
        if self._read_only:
            return
        loaded = [
            s
            for shards in self._kinds.values()
            for s in shards
            if s.docs is not None and not s.dirty and not s.pins and s.listed
        ]
        total = sum(s.nbytes for s in loaded)
        if total <= CACHE_BYTES:
            return
        for shard in sorted(loaded, key=lambda s: s.used):
            if total <= CACHE_BYTES:
                break
            total -= shard.nbytes
            shard.docs = None

    def _put(self, shard: _Shard, item_id: str, version: int, raw: bytes, lsn: int) -> None:
        assert shard.docs is not None
        old = shard.docs.get(item_id)
        shard.docs[item_id] = raw
        shard.versions[item_id] = version
        shard.nbytes += len(raw) - (len(old) if old is not None else 0)
        shard.dirty = True
        shard.changed_lsn = max(shard.changed_lsn, lsn)

    def _delete(self, shard: _Shard, item_id: str, lsn: int) -> None:
        assert shard.docs is not None
        old = shard.docs.pop(item_id, None)
        shard.versions.pop(item_id, None)
        shard.nbytes -= len(old) if old is not None else 0
        shard.dirty = True
        shard.changed_lsn = max(shard.changed_lsn, lsn)

    def _apply(self, plan: _Plan) -> None:
        """Make a journalled change true in memory (the caller holds the state lock)."""
        for shard, item_id, version, raw in plan.puts:
            shards = self._kinds.setdefault(shard.kind, [])
            if shard not in shards:  # a partition this change started
                shards.append(shard)
            self._put(shard, item_id, version, raw, plan.lsn)
        for shard, item_id in plan.deletes:
            self._delete(shard, item_id, plan.lsn)
        if plan.dedupe:
            self._dedupe[str(plan.dedupe["key"])] = (
                [str(r) for r in plan.dedupe["refs"]],
                str(plan.dedupe["at"]),
            )
        for name, value in plan.sequences.items():
            self._sequences[name] = max(self._sequences.get(name, 0), value)
        for entry, line in zip(plan.entries, plan.lines, strict=True):
            self._audit_pending.append((entry.seq, line))
            self._audit_seq, self._audit_hash = entry.seq, entry.hash
        self._lsn = plan.lsn

    # ----- the port ----------------------------------------------------------------------------

    async def _run(self, func: Callable[..., T], *args: Any) -> T:
        """Run a write in a worker thread, one at a time."""
        async with self._writer:
            work = asyncio.ensure_future(asyncio.to_thread(func, *args))
            try:
                return await asyncio.shield(work)
            except asyncio.CancelledError:
                # The thread cannot be stopped: keep the lock until it has finished, so no
                # other write (or close) can run alongside it.
                await asyncio.wait([work])
                raise

    def _usable(self, *, write: bool = False) -> None:
        if not self._open:
            raise StoreUnavailable("the store is closed")
        if write and self._read_only:
            raise StoreUnavailable("the store was opened read-only")

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
        with self._state:
            self._usable()
            shards = list(self._kinds.get(kind, ()))
            loaded = [list(s.docs.values()) if s.docs is not None else None for s in shards]
        if all(docs is not None and len(docs) <= 64 for docs in loaded) and len(shards) <= 2:
            return self._find_in(kind, shards, loaded, equals)
        return await asyncio.to_thread(self._find_in, kind, shards, loaded, equals)

    def _find_in(
        self,
        kind: str,
        shards: list[_Shard],
        loaded: list[list[bytes] | None],
        equals: Mapping[str, object],
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
                if needles and not all(n in raw for n in needles):
                    continue
                record = self._record(kind, raw)
                if all(record.data.get(k) == v for k, v in equals.items()):
                    found.append(record)
        return found

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        """Journal ``change`` (with every change waiting alongside it: one write for all),
        then apply it in memory; see ``Store.commit``."""
        change = clean_change(change)
        with self._state:
            self._usable(write=True)
        loop = asyncio.get_running_loop()
        op = _Op(change, asyncio.current_task(), loop.create_future())
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
                data = build_journal([raw for _lsn, raw in self._journal] + entries)
            try:
                self._write_journal(data)
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
                # The disk was found full lately: each commit needs room for the whole
                # journal, so keep it empty. (Done or not, these changes are durable.)
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

    def _encode(self, plan: _Plan) -> bytes:
        """The change as the journal holds it."""
        return encode_change(
            plan.lsn,
            puts=[(s.kind, s.number, raw) for s, _item_id, _version, raw in plan.puts],
            deletes=[(s.kind, s.number, item_id) for s, item_id in plan.deletes],
            audit=plan.lines,
            sequences=plan.sequences,
            dedupe=plan.dedupe,
        )

    def _journalled(self, lsn: int, entry: bytes) -> None:
        was = self._journal_size
        self._journal.append((lsn, entry))
        self._journal_size += len(entry)
        self._last_write = time.monotonic()
        if self._journal_size >= JOURNAL_HARD:
            self._retry_at = 0.0  # a write just succeeded: there is room to try again
        # Wake the checkpointer only when its plan changes (it times the quiet spell itself).
        if (
            not was
            or self._journal_size >= JOURNAL_HARD
            or was < JOURNAL_SOFT <= self._journal_size
        ):
            self._wake.notify_all()

    def _write_journal(self, data: bytes) -> None:
        """Make the journal ``data`` durably, or raise ``StoreUnavailable``, nothing changed."""
        with self._journal_io:
            try:
                atomic_write_json(self._journal_path, data)
            except OSError as exc:
                self._undo_journal(data)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    with self._state:
                        self._low_space_until = time.monotonic() + LOW_SPACE_SECONDS
                raise StoreUnavailable(f"the store cannot write ({exc.strerror})") from None

    def _undo_journal(self, data: bytes) -> None:
        # The write failed after the new file took the journal's name (the folder could not be
        # synced): put the previous journal back, so a change reported as failed stays undone.
        try:
            if self._journal_path.read_bytes() != data:
                return
        except OSError:
            return
        with self._state:
            previous = [raw for _lsn, raw in self._journal]
        with contextlib.suppress(OSError):
            if previous:
                atomic_write_json(self._journal_path, build_journal(previous))
            else:
                self._journal_path.unlink()
                fsync_dir(self._folder)

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

    def _refill_spares(self) -> None:
        with self._journal_io:
            if not self._open or spares_ready(self._journal_path) >= SPARES // 4:
                return
            try:
                prepare_spares(self._journal_path, SPARES)
            except OSError as exc:  # commits write a temp file instead (two fsyncs)
                log.warning("could not prepare the journal's spare files: %s", exc)

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

    def _audit_iter(self) -> Iterator[AuditEntry]:
        """Every audit entry, oldest first: the file as far as checkpointed, then the rest."""
        with self._state:
            end = self._audit_file_bytes
            pending = list(self._audit_pending)
        if end:
            with self._audit_path.open("rb") as handle:
                remaining, carry = end, b""
                while remaining:
                    block = handle.read(min(remaining, 1 << 20))
                    if not block:
                        break
                    remaining -= len(block)
                    lines = (carry + block).split(b"\n")
                    carry = lines.pop()
                    for line in lines:
                        yield AuditEntry.from_dict(json.loads(line))
        last = None
        for seq, line in pending:
            if last is None or seq > last:
                yield AuditEntry.from_dict(json.loads(line))
                last = seq

    # ----- records in and out ------------------------------------------------------------------

    def _seal(self, kind: str, item_id: str, data: Mapping[str, Any]) -> Any:
        if self._cipher is None:
            return data
        return self._cipher.seal(kind, item_id, data)

    def _record(self, kind: str, raw: bytes) -> Record:
        # Always parsed afresh: callers can never change the store's records in memory.
        doc = json.loads(raw)
        stored = doc["data"]
        if self._cipher is not None:
            data = self._cipher.open(kind, doc["id"], stored)
        elif isinstance(stored, dict) and MARK in stored:
            raise KeyDoesNotOpen(
                f"record {kind}:{doc['id']} is encrypted and no key is configured "
                "(set BOT_ENCRYPTION_KEY)"
            )
        else:
            data = stored
        return Record(
            kind=kind,
            id=doc["id"],
            version=doc["version"],
            data=data,
            schema=doc.get("schema", RECORD_SCHEMA),
        )

    async def key_survey(self, *, every: bool = False) -> KeySurvey:
        """Which keys seal the records, and whether any are plain (checks at start-up).

        By default only the first record of each kind's first partition is looked at (cheap:
        one file per kind); ``every`` looks at every record. With a cipher, each sealed record
        looked at is also opened.

        Raises:
            KeyDoesNotOpen: a sealed record looked at does not open with the configured keys.
            StoreCorrupted: a partition is damaged.
        """
        with self._state:
            self._usable()
        return await asyncio.to_thread(self._key_survey_sync, every)

    def _key_survey_sync(self, every: bool) -> KeySurvey:
        sealed_by: set[str] = set()
        plain = looked = 0
        with self._state:
            shards = [
                s
                for shards in self._kinds.values()
                for s in (shards if every else [x for x in shards if x.versions][:1])
            ]
        for shard in shards:
            with self._state:
                shard.pins += 1
            try:
                self._ensure_loaded(shard)
                with self._state:
                    assert shard.docs is not None
                    raws = list(shard.docs.values()) if every else list(shard.docs.values())[:1]
                for raw in raws:
                    looked += 1
                    stored = json.loads(raw)["data"]
                    if isinstance(stored, dict) and MARK in stored:
                        sealed_by.add(str(stored.get("kid")))
                        if self._cipher is not None:
                            self._record(shard.kind, raw)  # raises if it does not open
                    else:
                        plain += 1
            finally:
                with self._state:
                    shard.pins -= 1
        return KeySurvey(frozenset(sealed_by), plain, looked)

    async def reseal(self) -> int:
        """Re-encrypt every record with the current key (after adding a new key, or when
        encryption is switched on for an existing store). Safe to re-run after a crash."""
        with self._state:
            self._usable(write=True)
        return await self._run(self._reseal_sync)

    def _reseal_sync(self) -> int:
        """Rewrite every record sealed with the current key; returns how many changed.

        Versions stay as they are, so nothing goes through the journal: each partition is
        rewritten by a checkpoint (all or nothing per partition; a crash leaves some sealed
        with the old key, which still opens them, and re-running finishes the job)."""
        if self._cipher is None:
            raise StoreUnavailable("no encryption key is configured")
        changed = 0
        with self._state:
            shards = [s for shards in self._kinds.values() for s in shards]
        pending = 0
        for shard in shards:
            with self._state:
                shard.pins += 1
            try:
                self._ensure_loaded(shard)
                with self._state:
                    assert shard.docs is not None
                    for item_id, raw in list(shard.docs.items()):
                        doc = json.loads(raw)
                        if self._cipher.needs_reseal(doc["data"]):
                            data = self._cipher.open(shard.kind, item_id, doc["data"])
                            sealed = self._cipher.seal(shard.kind, item_id, data)
                            doc_raw = encode_doc(item_id, doc["version"], doc["schema"], sealed)
                            self._put(shard, item_id, doc["version"], doc_raw, self._lsn)
                            changed += 1
                            pending += 1
            finally:
                with self._state:
                    shard.pins -= 1
            if pending >= SHARD_MAX_RECORDS:
                self._checkpoint_or_fail()
                pending = 0
        self._checkpoint_or_fail()
        self._remove_empty_journal()  # no older (maybe plain) copy of a record is left there
        return changed

    def _checkpoint_or_fail(self) -> None:
        try:
            self._checkpoint_sync()
        except OSError as exc:
            raise StoreUnavailable(f"the store cannot write ({exc.strerror})") from None

    # ----- checkpoints -------------------------------------------------------------------------

    async def checkpoint(self) -> None:
        """Write every committed change into the partition files now (and empty the journal).

        The store does this by itself in the background; this is for tools and tests.

        Raises:
            StoreUnavailable: the files cannot be written (the journal still holds it all).
        """
        with self._state:
            self._usable(write=True)
        await self._run(self._checkpoint_sync_and_clear)

    def _checkpoint_sync_and_clear(self) -> None:
        self._checkpoint_or_fail()
        self._remove_empty_journal()

    def _checkpointer(self) -> None:
        """The background thread: checkpoint when the journal is big enough, or idle."""
        while True:
            with self._state:
                while not self._stopping and not self._checkpoint_due():
                    self._wake.wait(timeout=self._wait_time())
                if self._stopping:
                    return
            try:
                self._checkpoint_sync()
                self._remove_empty_journal()
            except Exception as exc:  # the journal keeps every change: try again later
                with self._state:
                    self._retry_at = time.monotonic() + self._retry_delay
                    self._retry_delay = min(self._retry_delay * 2, 60.0)
                if isinstance(exc, OSError | StoreCorrupted):
                    log.warning("checkpoint failed (the journal keeps every change): %s", exc)
                else:
                    log.exception("checkpoint failed (the journal keeps every change)")
            else:
                with self._state:
                    self._retry_delay = RETRY_SECONDS

    def _checkpoint_due(self) -> bool:
        now = time.monotonic()
        if not self._journal or now < self._retry_at or now < self._low_space_until:
            return False  # (on a nearly full disk each commit checkpoints: see _commit_batch)
        idle = now - self._last_write
        return (
            self._journal_size >= JOURNAL_HARD
            or (self._journal_size >= JOURNAL_SOFT and idle >= IDLE_SECONDS)
            or idle >= IDLE_LONG_SECONDS
        )

    def _wait_time(self) -> float | None:
        if not self._journal:
            return None
        now = time.monotonic()
        if now < max(self._retry_at, self._low_space_until):
            return max(self._retry_at, self._low_space_until) - now
        idle = now - self._last_write
        if self._journal_size >= JOURNAL_SOFT:
            return max(IDLE_SECONDS - idle, 0.01)
        return max(IDLE_LONG_SECONDS - idle, 0.01)

    def _checkpoint_sync(self) -> None:
        """Write the audit entries, the changed partitions and the manifest up to now."""
        with self._checkpoint_io:
            with self._state:
                if not self._open or self._read_only:
                    return
                lsn = self._lsn
                jobs = []
                # The manifest's rows, in order: a file written now, or one left as it is.
                rows: list[tuple[str, _Shard | list[int]]] = []
                for kind, shards in sorted(self._kinds.items()):
                    for shard in shards:
                        if shard.dirty or not shard.listed:
                            assert shard.docs is not None, shard.name
                            jobs.append((shard, dict(shard.docs), dict(shard.versions)))
                            rows.append((kind, shard))
                        else:
                            file_row = [
                                shard.number,
                                shard.file_lsn,
                                shard.count,
                                shard.size,
                                shard.crc,
                            ]
                            rows.append((kind, file_row))
                lines = [line for _seq, line in self._audit_pending]
                last = (self._audit_seq, self._audit_hash) if self._audit_pending else None
                if (
                    not jobs
                    and not lines
                    and lsn == self._checkpoint_lsn
                    and not self._must_checkpoint
                ):
                    return
                self._prune_dedupe()
                sequences = dict(self._sequences)
                dedupe = [self._dedupe_raw(key) for key in self._dedupe]
            written: dict[int, list[int]] = {}
            for shard, docs, versions in sorted(jobs, key=lambda j: (j[0].kind, -j[0].number)):
                data = build_shard(shard.kind, shard.number, lsn, docs, versions)
                atomic_write_json(self._shard_path(shard), data)
                written[id(shard)] = [shard.number, lsn, len(versions), len(data), crc(data)]
            undo = self._append_audit(lines, last) if lines and last is not None else None
            try:
                manifest = self._manifest(lsn, rows, written)
                atomic_write_json(self._system_path, build_system(sequences, dedupe, manifest))
            except BaseException:
                if undo is not None:
                    undo()
                raise
            with self._state:
                for shard, _docs, _versions in jobs:
                    _number, _lsn, shard.count, shard.size, shard.crc = written[id(shard)]
                    shard.file_lsn = lsn
                    shard.listed = True
                    if shard.changed_lsn <= lsn:
                        shard.dirty = False
                self._checkpoint_lsn = lsn
                self._must_checkpoint = False
                self._journal = [(n, raw) for n, raw in self._journal if n > lsn]
                self._journal_size = sum(len(raw) for _n, raw in self._journal)
                self._trim_cache()

    def _manifest(
        self,
        lsn: int,
        rows: list[tuple[str, _Shard | list[int]]],
        written: Mapping[int, list[int]],
    ) -> dict[str, Any]:
        """The manifest of a checkpoint at ``lsn``: every partition file as it is on disk now,
        and the audit log (this checkpoint appended to it, and nothing else does)."""
        shards: dict[str, list[list[int]]] = {}
        for kind, row in rows:
            shards.setdefault(kind, []).append(row if isinstance(row, list) else written[id(row)])
        with self._state:
            audit = {
                "seq": self._audit_file_seq,
                "hash": self._audit_file_hash,
                "bytes": self._audit_file_bytes,
                "sha256": None if self._audit_sha is None else self._audit_sha.hexdigest(),
            }
        return {"format": 2, "lsn": lsn, "audit": audit, "shards": shards}

    def _append_audit(self, lines: list[bytes], last: tuple[int, str]) -> Callable[[], None]:
        """Append sealed entries to ``audit.jsonl``; returns how to take them back out (for a
        checkpoint that fails after this: the journal still holds them)."""
        handle = self._audit_file
        assert handle is not None
        with self._state:
            size = self._audit_file_bytes
            before = (self._audit_file_seq, self._audit_file_hash, self._audit_sha)
            pending = list(self._audit_pending)
        try:
            append_durably(handle, lines)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(handle.fileno(), size)  # never leave half an entry
                os.fsync(handle.fileno())
            raise
        data = b"".join(lines)
        with self._state:
            self._audit_file_bytes = size + len(data)
            self._audit_file_seq, self._audit_file_hash = last
            if self._audit_sha is not None:
                self._audit_sha = self._audit_sha.copy()
                self._audit_sha.update(data)
            self._audit_pending = [(s, line) for s, line in self._audit_pending if s > last[0]]

        def undo() -> None:
            with contextlib.suppress(OSError):
                os.ftruncate(handle.fileno(), size)
                os.fsync(handle.fileno())
            with self._state:
                self._audit_file_bytes = size
                self._audit_file_seq, self._audit_file_hash, self._audit_sha = before
                later = [(s, line) for s, line in self._audit_pending if s > last[0]]
                self._audit_pending = [p for p in pending if p[0] <= last[0]] + later

        return undo

    def _remove_empty_journal(self) -> None:
        """Delete the journal once the files hold everything it did."""
        with self._journal_io, self._state:
            if self._journal or self._read_only:
                return
            with contextlib.suppress(FileNotFoundError):
                self._journal_path.unlink()
                fsync_dir(self._folder)

    def _prune_dedupe(self) -> None:
        cutoff = (datetime.now(UTC) - DEDUPE_KEEP).isoformat()
        self._dedupe = {k: v for k, v in self._dedupe.items() if v[1] >= cutoff}
        self._dedupe_cache = {k: v for k, v in self._dedupe_cache.items() if k in self._dedupe}

    def _dedupe_raw(self, key: str) -> bytes:
        """A dedupe key as ``system.json`` holds it (encoded once)."""
        raw = self._dedupe_cache.get(key)
        if raw is None:
            refs, at = self._dedupe[key]
            raw = self._dedupe_cache[key] = dumps({"key": key, "refs": refs, "at": at})
        return raw

    # ----- closing -----------------------------------------------------------------------------

    async def close(self) -> None:
        """Finish the writes under way, checkpoint, and release the files and the lock."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait([self._flusher])
        async with self._writer:
            await asyncio.to_thread(self._close_sync)

    def _close_sync(self, *, checkpoint: bool = True) -> None:
        with self._state:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if checkpoint and self._open and not self._read_only:
            try:
                self._checkpoint_sync()
                self._remove_empty_journal()
            except (OSError, StoreCorrupted) as exc:
                log.warning("could not write the files at close (the journal keeps it): %s", exc)
        if not self._read_only:
            forget_spares(self._journal_path)
        if self._open and not self._read_only:
            with contextlib.suppress(OSError):
                for spare in spares(self._journal_path):
                    if spare.stat().st_size == 0:
                        spare.unlink()
        with self._state:
            self._open = False
            if self._audit_file is not None:
                self._audit_file.close()
                self._audit_file = None
            self._kinds.clear()
        if not self._read_only:
            self._dir_lock.release()


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(size)
        os.fsync(handle.fileno())


def _audit_line(entry: AuditEntry) -> bytes:
    return dumps(entry.to_dict()) + b"\n"


def _digest_of(path: Path, length: int, sha: Any) -> str:
    """The SHA-256 of the first ``length`` bytes of ``path`` (``sha`` is updated with them)."""
    if length:
        with path.open("rb") as handle:
            remaining = length
            while remaining:
                block = handle.read(min(remaining, 1 << 20))
                if not block:
                    break
                sha.update(block)
                remaining -= len(block)
    return str(sha.hexdigest())


class _AuditScan:
    """Reads audit entries from the log in blocks, keeping what opening needs to know: the
    last whole line (``good``), the last entry (``seq``, ``last``), the SHA-256 of what was
    read, the hash of entry ``after`` and the entries after it (``extra``)."""

    def __init__(
        self, path: Path, sha: Any, *, seq: int = 0, last: str = GENESIS, after: int | None = None
    ) -> None:
        self.path = path
        self.sha = sha
        self.seq = seq
        self.last = last
        self.good = 0
        self.after = after
        self.hash_at_after = GENESIS if after == 0 else ""
        self.extra: list[tuple[int, str]] = []
        self._pending: Iterator[AuditEntry] | None = None

    def entries(self, start: int, end: int, *, chained: bool = False) -> Iterator[AuditEntry]:
        """The entries of ``[start, end)`` (whole lines only). ``chained``: each must follow
        the one before (else ``StoreCorrupted``)."""
        self.good = start
        self._pending = self._read(start, end, chained)
        return self._pending

    def finish(self) -> None:
        """Read on to the end (``verify_chain`` stops at the first broken entry)."""
        if self._pending is not None:
            for _entry in self._pending:
                pass

    def _read(self, start: int, end: int, chained: bool) -> Iterator[AuditEntry]:
        if end <= start:
            return
        number = 0
        with self.path.open("rb") as handle:
            handle.seek(start)
            remaining, carry = end - start, b""
            while remaining:
                block = handle.read(min(remaining, 1 << 20))
                if not block:
                    break
                remaining -= len(block)
                lines = (carry + block).split(b"\n")
                carry = lines.pop()
                for line in lines:
                    number += 1
                    try:
                        entry = AuditEntry.from_dict(json.loads(line))
                    except (ValueError, TypeError) as exc:
                        raise StoreCorrupted(
                            f"{self.path} line {number} is damaged: {exc}. {RESTORE}"
                        ) from None
                    if chained and (entry.seq != self.seq + 1 or entry.prev_hash != self.last):
                        raise StoreCorrupted(
                            f"{self.path} entry {entry.seq} does not continue the log. {RESTORE}"
                        )
                    self.sha.update(line + b"\n")
                    self.good += len(line) + 1
                    self.seq, self.last = entry.seq, entry.hash
                    if self.after is not None:
                        if entry.seq == self.after:
                            self.hash_at_after = entry.hash
                        elif entry.seq > self.after:
                            self.extra.append((entry.seq, entry.hash))
                    yield entry


__all__ = ["AtomicJSONStorage", "TinyDbStore"]
