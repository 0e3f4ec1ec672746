"""Durable file primitives: atomic replace, durable append, and the single-writer lock.

A write is on disk before it returns: temp file in the same folder, fsync, ``os.replace``, fsync
of the folder (TinyDB's own in-place rewrite left 4% of files unreadable after ``kill -9`` in the
quality note's test; this pattern left none). Every file is created mode 0600.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from dialogs.ports import StoreCorrupted, StoreLocked

FILE_MODE = 0o600
DIR_MODE = 0o700


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_json(path: Path, value: Any) -> None:
    """``atomic_write_bytes`` of compact JSON."""
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
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreCorrupted(
            f"{path} is damaged ({exc.__class__.__name__}: {exc}). The bot will not start on a "
            "damaged store: restore this file from the last backup, then start again."
        ) from None


def append_durably(handle: IO[bytes], lines: list[bytes]) -> None:
    """Append whole lines to an append-mode file and fsync before returning."""
    handle.write(b"".join(lines))
    handle.flush()
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
