"""Durable file primitives: atomic replace, durable append, and the single-writer lock.

A write is on disk before it returns: temp file in the same folder, fsync, ``os.replace``, fsync
of the folder (TinyDB's own in-place rewrite left 4% of files unreadable after ``kill -9`` in the
quality note's test; this pattern left none). Every file is created mode 0600. A file written at
every commit (the store's journal) can have a spare prepared beforehand, which saves the temp
file's creation and the folder fsync on the commit's path (``prepare_spares``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import IO, Any

from dialogs.ports import StoreCorrupted, StoreLocked

FILE_MODE = 0o600
DIR_MODE = 0o700

#: What to do about a damaged or missing store file (every such refusal ends with this). The
#: files of a data folder only make sense together (each refers to the others' state), so a
#: single file from an older backup would be a different moment of the school's records.
RESTORE = (
    "The bot will not start on a damaged store, and it never starts empty instead. Do not "
    "restore this file from the last backup on its own: stop the bot, move the data folder "
    "aside and restore the WHOLE data folder from the latest backup "
    "(docs/backup-and-restore.md), then start again."
)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Spares prepared by this process and not used yet, by the file they stand in for.
_ready: dict[Path, list[Path]] = {}
_ready_lock = threading.Lock()


def spares(path: Path) -> list[Path]:
    """The spare files beside ``path`` on disk (see ``prepare_spares``), oldest name first."""
    prefix = f".{path.name}.spare."
    try:
        names = [entry.name for entry in os.scandir(path.parent) if entry.name.startswith(prefix)]
    except FileNotFoundError:
        return []
    return [path.with_name(name) for name in sorted(names)]


def prepare_spares(path: Path, count: int) -> None:
    """Create ``count`` empty spare files beside ``path``, their names made durable by ONE fsync
    of the folder.

    ``atomic_write_bytes(path, ...)`` then writes into a spare and renames it over ``path``
    with ONE fsync (of the spare): no file to create, no folder to sync. Until the folder is
    synced again, a crash may leave that content under the spare's name rather than
    ``path``'s, so a reader of such a file must look at the spares too (``spares``) and take
    the newest. Used for the store's journal, which is written at every commit. Spares are
    used only by the process that prepared them (it knows their names are durable).
    """
    taken = {p.name for p in spares(path)}
    made: list[Path] = []
    number = 0
    while len(made) < count:
        number += 1
        name = f".{path.name}.spare.{number}"
        if name in taken:
            continue
        fd = os.open(path.with_name(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        os.close(fd)
        made.append(path.with_name(name))
    fsync_dir(path.parent)
    with _ready_lock:
        _ready.setdefault(path, []).extend(made)


def spares_ready(path: Path) -> int:
    """How many prepared spares ``path`` has left."""
    with _ready_lock:
        return len(_ready.get(path, ()))


def forget_spares(path: Path) -> None:
    """Stop using ``path``'s spares (they are left on disk: delete them with ``spares``)."""
    with _ready_lock:
        _ready.pop(path, None)


def _take_spare(path: Path) -> Path | None:
    with _ready_lock:
        ready = _ready.get(path)
        return ready.pop() if ready else None


def _give_spare(path: Path, spare: Path) -> None:
    with _ready_lock:
        _ready.setdefault(path, []).append(spare)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, whole."""
    spare = _take_spare(path)
    while spare is not None:
        try:
            fd = os.open(spare, os.O_WRONLY)
        except FileNotFoundError:  # removed behind our back: try the next one
            spare = _take_spare(path)
            continue
        try:
            _write_via_spare(fd, spare, path, data)
        except BaseException:
            _give_spare(path, spare)  # emptied again: still a spare
            raise
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _write_via_spare(fd: int, spare: Path, path: Path, data: bytes) -> None:
    try:
        if os.fstat(fd).st_size:  # (a spare is empty: this is only a guard)
            os.ftruncate(fd, 0)
        write_all(fd, data)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(spare, path)  # the spare's name is durable: no folder fsync needed here
    except BaseException:
        # Leave no new content anywhere (not even under the spare's name), then report it.
        with contextlib.suppress(OSError):
            if fd < 0:
                fd = os.open(spare, os.O_WRONLY)
            os.ftruncate(fd, 0)
            os.fsync(fd)
        if fd >= 0:
            os.close(fd)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    """``atomic_write_bytes`` of compact JSON; ``value`` may be JSON already encoded (``bytes``).

    The embedded store writes every file through this one function (its disk-fault tests
    replace it to make the disk fail at each write in turn).
    """
    if isinstance(value, bytes):
        data = value
    else:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    atomic_write_bytes(path, data)


def read_json(path: Path, default: Any) -> Any:
    """The JSON in ``path`` (``default`` when it does not exist).

    Raises:
        StoreCorrupted: the file exists but is empty, truncated or not JSON.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return default
    return parse_json(path, raw)


def parse_json(path: Path, data: bytes) -> Any:
    """The JSON in ``data``, read from ``path``.

    Raises:
        StoreCorrupted: empty, truncated or not JSON.
    """
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreCorrupted(
            f"{path} is damaged ({exc.__class__.__name__}: {exc}). {RESTORE}"
        ) from None


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (a short write is continued; a full disk raises)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def append_synced(fd: int, data: bytes) -> None:
    """Append ``data`` to ``fd`` (opened ``O_APPEND``) and ``fdatasync`` it before returning.

    The store's journal is appended through this one function (its disk-fault tests replace
    it, as they do ``atomic_write_json``). On failure the file may hold part of ``data``: the
    caller cuts it back.
    """
    write_all(fd, data)
    os.fdatasync(fd)


def append_durably(handle: IO[bytes], lines: list[bytes]) -> None:
    """Append whole lines to an append-mode file and fsync before returning.

    On failure the file may hold part of them: the caller truncates it back.
    """
    handle.flush()
    write_all(handle.fileno(), b"".join(lines))
    os.fsync(handle.fileno())


def open_append(path: Path) -> IO[bytes]:
    """Open ``path`` for durable appending, creating it mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    return os.fdopen(fd, "ab", buffering=0)


class DirectoryLock:
    """An exclusive lock on a data folder, held for the life of the process.

    A second process on the same folder gets ``StoreLocked`` at once (``flock`` is released by
    the kernel when the holder dies, so a crash never leaves a stale lock behind).
    """

    def __init__(self, folder: Path) -> None:
        self._path = folder / "LOCK"
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``StoreLocked``."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreLocked(
                f"another bot process (pid {holder}) is already using {self._path.parent}; "
                "stop it first, or set BOT_DATA_DIR to another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
