"""The TinyDB store's state: what every piece of it (``store.tinydb_*``) reads and changes, under
one lock, and the folder's paths."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from dialogs.ports import (
    Change,
    Record,
    StoreUnavailable,
)
from policy.audit import GENESIS, AuditEntry, ChainCheck
from store.crypto import RecordCipher
from store.files import (
    DirectoryLock,
)
from store.tinydb_layout import (
    shard_file,
)

T = TypeVar("T")
#: A failed checkpoint (disk full) is tried again after this long, doubling up to a minute
#: (or at once after a commit succeeds: there was room for that).
RETRY_SECONDS = 1.0


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


@dataclass(eq=False, slots=True)
class _FieldIndex:
    """Which records of one kind hold which value in one data field (``find``'s narrowing:
    a superset of the matches, each checked in full). Built by one scan when first asked."""

    kind: str
    name: str
    #: The field's value (``UNHASHABLE`` for a list or object) -> the ids holding it.
    buckets: dict[Any, set[str]] = field(default_factory=dict)
    value_of: dict[str, Any] = field(default_factory=dict)
    #: Ids written or deleted since ``buckets`` last saw them (read again before a search).
    touched: set[str] = field(default_factory=set)
    ready: bool = False


#: The bucket of a field value that cannot be a dict key: always a candidate.
UNHASHABLE = object()


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
    #: Each record as stored, encoded when it was committed (None: encoded with the batch).
    docs: list[bytes] | None = None
    result: tuple[AuditEntry, ...] | None = None
    error: BaseException | None = None


class StoreState:
    """The state the pieces of ``TinyDbStore`` share, and the folder's paths."""

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
        #: kind -> its field indexes (``store.tinydb_store``'s ``find``), made when first asked.
        self._indexes: dict[str, dict[str, _FieldIndex]] = {}
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
        #: Where the journal read at opening stops being valid (a torn last write), if it does.
        self._journal_cut: int | None = None
        #: The journal file open for appending (None: the next write replaces it whole), and
        #: its length.
        self._journal_fd: int | None = None
        self._journal_end = 0
        self._repairs: list[Callable[[], None]] = []
        self._tick = 0

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
