"""The TinyDB store's checkpoints: the changed partitions, the new audit entries and the manifest
written (in a background thread when the journal is big enough or the store quiet, and on
close), after which the journal leaves out what they cover."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dialogs.ports import (
    StoreCorrupted,
    StoreUnavailable,
)
from store import files, tinydb_journal
from store.tinydb_journal import Journal
from store.tinydb_layout import (
    build_shard,
    build_system,
    crc,
    dumps,
)
from store.tinydb_state import RETRY_SECONDS, _Shard

log = logging.getLogger("store.tinydb_store")  # one logger for the store, as before the split

#: Dedupe keys are kept this long (Teams retries within seconds to minutes).
DEDUPE_KEEP = timedelta(days=2)
IDLE_SECONDS = 0.1
#: A journal holding anything is checkpointed after this long without a write.
IDLE_LONG_SECONDS = 30.0


class Checkpoints(Journal):
    """Checkpoints, and the dedupe keys they keep."""

    async def checkpoint(self) -> None:
        """Write every committed change into the partition files now (and empty the journal).

        The store does this by itself in the background; this is for tools and tests.

        Raises:
            StoreUnavailable: the files cannot be written (the journal still holds it all).
        """
        with self._state:
            self._usable(write=True)
        await self._run(self._checkpoint_sync_and_clear)

    def _checkpoint_or_fail(self) -> None:
        try:
            self._checkpoint_sync()
        except OSError as exc:
            raise StoreUnavailable(f"the store cannot write ({exc.strerror})") from None

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
            self._journal_size >= tinydb_journal.JOURNAL_HARD
            or (self._journal_size >= tinydb_journal.JOURNAL_SOFT and idle >= IDLE_SECONDS)
            or idle >= IDLE_LONG_SECONDS
        )

    def _wait_time(self) -> float | None:
        if not self._journal:
            return None
        now = time.monotonic()
        if now < max(self._retry_at, self._low_space_until):
            return max(self._retry_at, self._low_space_until) - now
        idle = now - self._last_write
        if self._journal_size >= tinydb_journal.JOURNAL_SOFT:
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
                files.atomic_write_json(self._shard_path(shard), data)
                written[id(shard)] = [shard.number, lsn, len(versions), len(data), crc(data)]
            undo = self._append_audit(lines, last) if lines and last is not None else None
            try:
                manifest = self._manifest(lsn, rows, written)
                system = build_system(sequences, dedupe, manifest)
                files.atomic_write_json(self._system_path, system)
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
