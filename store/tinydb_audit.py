"""The TinyDB store's audit log: ``audit.jsonl`` checked at opening, read, and appended to by a
checkpoint (one reader of its lines: ``_AuditScan``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dialogs.ports import (
    StoreCorrupted,
)
from policy.audit import GENESIS, AuditEntry, ChainCheck, verify_chain
from store import files
from store.files import (
    RESTORE,
)
from store.tinydb_layout import (
    dumps,
)
from store.tinydb_state import StoreState

log = logging.getLogger("store.tinydb_store")  # one logger for the store, as before the split


class AuditLog(StoreState):
    """The audit log: checked at opening, read back, appended to at a checkpoint."""

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

    def _audit_iter(self) -> Iterator[AuditEntry]:
        """Every audit entry, oldest first: the file as far as checkpointed, then the rest."""
        with self._state:
            end = self._audit_file_bytes
            pending = list(self._audit_pending)
        yield from _AuditScan(self._audit_path, None).entries(0, end)
        last = None
        for seq, line in pending:
            if last is None or seq > last:
                yield AuditEntry.from_dict(json.loads(line))
                last = seq

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
            files.append_durably(handle, lines)
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
    """Reads audit entries from the log in blocks (the one reader of its lines: at opening and
    for ``audit_log``), keeping what opening needs to know: the
    last whole line (``good``), the last entry (``seq``, ``last``), the SHA-256 of what was
    read, the hash of entry ``after`` and the entries after it (``extra``)."""

    def __init__(
        self,
        path: Path,
        sha: Any | None,
        *,
        seq: int = 0,
        last: str = GENESIS,
        after: int | None = None,
    ) -> None:
        """``sha``: a SHA-256 to update with what is read (None: no digest wanted)."""
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
                    if self.sha is not None:
                        self.sha.update(line + b"\n")
                    self.good += len(line) + 1
                    self.seq, self.last = entry.seq, entry.hash
                    if self.after is not None:
                        if entry.seq == self.after:
                            self.hash_at_after = entry.hash
                        elif entry.seq > self.after:
                            self.extra.append((entry.seq, entry.hash))
                    yield entry
