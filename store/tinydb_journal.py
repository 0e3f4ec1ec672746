"""The TinyDB store's redo journal: read and replayed at opening, appended (one entry, one
fdatasync) before a change is acknowledged, cut back if a write fails, started anew (whole, into
a spare: one fsync) after a checkpoint, removed once checkpointed."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from dialogs.ports import (
    RECORD_SCHEMA,
    StoreCorrupted,
    StoreUnavailable,
)
from policy.audit import AuditEntry
from store import files
from store.files import (
    RESTORE,
    forget_spares,
    fsync_dir,
    prepare_spares,
    spares,
    spares_ready,
)
from store.tinydb_audit import _audit_line
from store.tinydb_layout import (
    JOURNAL_MAGIC,
    build_journal,
    dumps,
    encode_change,
    encode_doc,
    encode_entry,
    parse_journal,
)
from store.tinydb_partitions import Partitions
from store.tinydb_state import _Plan, _Shard

log = logging.getLogger("store.tinydb_store")  # one logger for the store, as before the split

#: Checkpoint once the journal holds this much and the store has been quiet for a moment...
JOURNAL_SOFT = 32 * 1024
#: ...or at once past this (replay at opening reads it all: it is kept small).
JOURNAL_HARD = 128 * 1024
#: Spare files prepared for the journal at a time (each commit uses one: ``store.files``).
SPARES = 16
#: After the disk was found full, checkpoint right after every commit for this long (instead
#: of in the background): the journal then starts anew after each commit, so it takes no
#: more room than the changes not in the files yet.
LOW_SPACE_SECONDS = 600.0


class Journal(Partitions):
    """The journal: every change since the last checkpoint."""

    def _read_journal(self, *, repair: bool) -> list[dict[str, Any]]:
        """The journal's changes. A crash just after a journal was started anew may have left it
        under a spare's name (``store.files.prepare_spares``): the journal holding the newest
        change of them all is the journal. A spare that holds none was never acknowledged (its
        fsync did not return), and one whose changes are older was a journal before. A torn
        last entry (an append whose sync never returned) is left out, and cut off by ``repair``.
        """
        try:
            data = self._journal_path.read_bytes()
        except FileNotFoundError:
            changes: list[dict[str, Any]] = []
            valid = length = 0
        else:
            changes, valid = parse_journal(self._journal_path, data)
            length = len(data)
        newest, newest_path, cut = changes, None, (valid if valid < length else None)
        for spare in spares(self._journal_path):
            try:
                data = spare.read_bytes()
                found, valid = parse_journal(self._journal_path, data) if data else ([], 0)
            except OSError:
                continue
            except StoreCorrupted:
                if data.startswith(JOURNAL_MAGIC):
                    raise  # appended to after it took the journal's name: damage, not a spare
                continue
            last = newest[-1].get("lsn", 0) if newest else 0
            if found and not found[-1].get("legacy") and found[-1]["lsn"] > last:
                newest, newest_path = found, spare
                cut = valid if valid < len(data) else None
        if repair:  # once the folder has passed every check (see _load)
            self._journal_from, self._journal_cut = newest_path, cut
        return newest

    def _settle_journal(self) -> None:
        """Cut off a torn last entry, put the newest journal under its name and clear the
        spares (they are remade)."""
        forget_spares(self._journal_path)
        if self._journal_cut is not None:
            fd = os.open(self._journal_from or self._journal_path, os.O_WRONLY)
            try:
                os.ftruncate(fd, self._journal_cut)
                os.fsync(fd)
            finally:
                os.close(fd)
            log.warning("the journal's last write was cut short by a crash: left out")
            self._journal_cut = None
        if self._journal_from is not None:
            os.replace(self._journal_from, self._journal_path)
            self._journal_from = None
        found = spares(self._journal_path)
        for spare in found:
            spare.unlink()
        if found:
            fsync_dir(self._folder)

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

    def _write_journal(self, entries: list[bytes]) -> None:
        """Put the changes ``entries`` in the journal durably, or raise ``StoreUnavailable``,
        nothing changed. The caller holds ``_journal_io``.

        Appends one entry and syncs it (one ``fdatasync``); a journal not open for appending
        (none yet, or just checkpointed, or one of the older format) is written whole instead,
        into a spare (one ``fsync``), and appended to from then on.
        """
        try:
            if self._journal_fd is None:
                self._start_journal(entries)
            else:
                self._append_journal(self._journal_fd, encode_entry(entries))
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                with self._state:
                    self._low_space_until = time.monotonic() + LOW_SPACE_SECONDS
            raise StoreUnavailable(f"the store cannot write ({exc.strerror})") from None

    def _start_journal(self, entries: list[bytes]) -> None:
        """Replace the journal with one holding what it must plus ``entries``."""
        with self._state:
            previous = [raw for _lsn, raw in self._journal]
        data = build_journal(previous + entries)
        try:
            files.atomic_write_json(self._journal_path, data)
        except OSError:
            self._undo_journal(data, previous)
            raise
        self._open_journal(len(data))

    def _open_journal(self, length: int) -> None:
        with contextlib.suppress(OSError):  # not open: the next write replaces it whole
            self._journal_fd = os.open(self._journal_path, os.O_WRONLY | os.O_APPEND)
            self._journal_end = length

    def _append_journal(self, fd: int, entry: bytes) -> None:
        try:
            files.append_synced(fd, entry)
        except OSError:
            # Cut off what part of it was written, so a change reported as failed stays undone
            # (if even that fails, the next write replaces the journal whole, without it).
            try:
                os.ftruncate(fd, self._journal_end)
                os.fdatasync(fd)
            except OSError:
                self._close_journal()
            raise
        self._journal_end += len(entry)

    def _close_journal(self) -> None:
        if self._journal_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._journal_fd)
            self._journal_fd = None

    def _undo_journal(self, data: bytes, previous: list[bytes]) -> None:
        # The write failed after the new file took the journal's name (the folder could not be
        # synced): put the previous journal back, so a change reported as failed stays undone.
        try:
            if self._journal_path.read_bytes() != data:
                return
        except OSError:
            return
        with contextlib.suppress(OSError):
            if previous:
                files.atomic_write_json(self._journal_path, build_journal(previous))
            else:
                self._journal_path.unlink()
                fsync_dir(self._folder)

    def _refill_spares(self) -> None:
        with self._journal_io:
            if not self._open or spares_ready(self._journal_path) >= SPARES // 4:
                return
            try:
                prepare_spares(self._journal_path, SPARES)
            except OSError as exc:  # commits write a temp file instead (two fsyncs)
                log.warning("could not prepare the journal's spare files: %s", exc)

    def _remove_empty_journal(self) -> None:
        """After a checkpoint: delete the journal once the files hold everything it did, or
        start it anew with only what they do not hold yet (changes committed meanwhile)."""
        with self._journal_io:
            with self._state:
                if self._read_only:
                    return
                remaining = [raw for _lsn, raw in self._journal]
                if remaining and self._journal_end <= 2 * self._journal_size + 4096:
                    return  # mostly changes still needed: not worth a rewrite yet
            self._close_journal()
            if not remaining:
                with contextlib.suppress(FileNotFoundError):
                    self._journal_path.unlink()
                    fsync_dir(self._folder)
                return
            data = build_journal(remaining)
            try:
                files.atomic_write_json(self._journal_path, data)
            except OSError as exc:  # the journal as it was still holds it all
                log.warning("could not start the journal anew: %s", exc)
                return
            self._open_journal(len(data))
