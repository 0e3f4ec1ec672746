"""Opening the TinyDB store: the writer (lock, checks, repairs, replay, first checkpoint) or a
read-only reader (everything read at one moment, while the bot may be checkpointing)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Any, Self

from dialogs.ports import (
    StoreCorrupted,
    StoreUnavailable,
)
from store.crypto import RecordCipher
from store.files import (
    DIR_MODE,
    RESTORE,
    forget_spares,
    open_append,
    prepare_spares,
    read_json,
    spares,
)
from store.tinydb_journal import SPARES
from store.tinydb_keys import Keys
from store.tinydb_layout import (
    table,
)
from store.tinydb_partitions import _Overtaken

log = logging.getLogger("store.tinydb_store")  # one logger for the store, as before the split

#: How many reads must find damage before a read-only open (reports while
#: the bot runs) says the store is damaged: a commit landing mid-read is not damage.
READ_ONLY_DOUBTS = 5


class Opening(Keys):
    """Opening and recovery, and closing."""

    @classmethod
    async def open(
        cls,
        folder: Path,
        *,
        read_only: bool = False,
        cipher: RecordCipher | None = None,
        check_keys: bool = True,
    ) -> Self:
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
            with self._journal_io:
                self._close_journal()
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
