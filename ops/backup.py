"""``python -m ops backup``: a consistent backup of the bot's data folder while the bot runs, a
check of a backup, and the restore drill's last step.

    script/backup --out backups/2026-11-23                        make a backup (bot running)
    script/backup --out backups/2026-11-23 --with-key             with local mode's key file
    script/backup --verify backups/2026-11-23                     check a backup
    script/backup --restore backups/2026-11-23 --data-dir data    put it in place (bot stopped)

Options: ``--data-dir`` (default ``$BOT_DATA_DIR`` or ``data``). Exit status 0 on success, 1 when
no consistent copy could be made (the bot was writing all the time: try again), 2 when a folder
is wrong or damaged (the message says which and what to do). See docs/backup-and-restore.md.

This is for the embedded store only. With ``DATABASE_URL`` set the records are in PostgreSQL and
the data folder holds none of them, so ``--out`` and ``--restore`` refuse (status 2) rather than
copy an empty folder: PostgreSQL is backed up with the database's own tools (``pg_dump`` and
``pg_restore``, or Azure Database for PostgreSQL's automatic backups and point-in-time restore).

A backup folder holds ``data/`` (a data folder, restorable as it is) and ``backup.json`` (when,
from where, each file's size and SHA-256, records per kind, audit entries). Record data stays
sealed as it is in the store: a backup of an encrypted store is useless without the key, so keep
``BOT_ENCRYPTION_KEY`` (not in the backup, on purpose) in the school's password vault. Local
mode's key file (``data.key`` beside the data folder) is left out too, unless ``--with-key``
asks for it (then ``data.key`` beside ``data/``, put back beside the folder on restore).

Why the copy is consistent without stopping the bot: the store never changes a TinyDB file in
place; it writes a new file and renames it over the old one (``store.files``), and the audit log
and the journal only grow (a journal is started anew the same way, by a rename). So the backup
opens every store file (an open handle keeps that version of the file readable, whatever is
renamed over it), then checks that every name still refers to the file it opened, that no file
appeared or went, and that neither the audit log nor the journal grew. If so, the handles were
exactly the store's state at that instant, and the copy is read from them at leisure (up to the
sizes checked); if a commit landed in between, it tries again. A journal (a change caught half
applied) is copied with the rest: the bot completes it when it starts on the restored folder, as
it does after a crash. Finally the copy is opened read-only by the store's own code and its audit
chain is verified; only then is the backup declared good.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bot.config import local_key_path
from dialogs.ports import StoreCorrupted, StoreError
from policy.audit import AuditEntry, verify_chain
from store.crypto import KeyDoesNotOpen, KeyError_, RecordCipher, parse_key
from store.files import DIR_MODE, FILE_MODE, fsync_dir, write_all
from store.tinydb_layout import parse_journal
from store.tinydb_store import TinyDbStore

log = logging.getLogger("ops.backup")

MANIFEST = "backup.json"
#: Local mode's key, in a backup made ``--with-key`` (beside ``data/``, as beside the folder).
KEY = "data.key"
DATA = "data"
FORMAT = 1
#: The store's files at the top of a data folder (``store.tinydb_store``); the rest are
#: ``records/<kind>.json``. The lock and half-written temp files are not data.
_TOP_FILES = ("system.json", "audit.jsonl", "journal.json")


class BackupError(Exception):
    """A backup cannot be made, checked or restored; the message says why and what to do."""


class Busy(BackupError):
    """Every attempt overlapped a commit: no consistent copy was made."""


@dataclass(slots=True)
class Summary:
    """What a backup (or a data folder) holds."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    audit_entries: int = 0
    audit_last_hash: str = ""
    journal: bool = False

    def describe(self) -> str:
        """One line for people: records per kind, audit entries, and any change to complete."""
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.records.items()))
        extra = "; recent changes in the journal, applied at start" if self.journal else ""
        return f"{kinds or 'no records'}; {self.audit_entries} audit entries{extra}"


# ----- taking the copy -----------------------------------------------------------------------


def _store_files(folder: Path) -> list[str]:
    """The store's files in ``folder``, as paths relative to it (lock and temp files left out)."""
    names = [name for name in _TOP_FILES if (folder / name).is_file()]
    names += [
        f"records/{path.name}"
        for path in folder.glob("records/*.json")
        if path.is_file() and not path.name.startswith(".")
    ]
    return sorted(names)


def _identity(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_dev, stat.st_ino


@contextlib.contextmanager
def _opened(folder: Path) -> Iterator[dict[str, tuple[IO[bytes], int]]]:
    """Open every store file; yields name -> (handle, size at opening)."""
    handles: dict[str, tuple[IO[bytes], int]] = {}
    try:
        for name in _store_files(folder):
            try:
                handle: IO[bytes] = (folder / name).open("rb")
            except FileNotFoundError:
                continue  # replaced or removed just now: the check below sees the difference
            handles[name] = (handle, os.fstat(handle.fileno()).st_size)
        yield handles
    finally:
        for handle, _size in handles.values():
            handle.close()


def _unchanged(folder: Path, handles: dict[str, tuple[IO[bytes], int]]) -> bool:
    """Whether each name still refers to the file opened, none came or went, none grew."""
    if _store_files(folder) != sorted(handles):
        return False
    for name, (handle, size) in handles.items():
        try:
            now = os.stat(folder / name)
        except FileNotFoundError:
            return False
        if _identity(now) != _identity(os.fstat(handle.fileno())) or now.st_size != size:
            return False
    return True


def _snapshot(folder: Path) -> dict[str, bytes] | None:
    """The store's files as one consistent set of contents, or None if a commit got in the way."""
    with _opened(folder) as handles:
        if not _unchanged(folder, handles):
            return None
        contents = {}
        for name, (handle, size) in handles.items():
            handle.seek(0)
            contents[name] = handle.read(size)  # the audit log may grow past ``size``: ignored
        return contents


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_folder(folder: Path, contents: dict[str, bytes]) -> None:
    folder.mkdir(mode=DIR_MODE)
    (folder / "records").mkdir(mode=DIR_MODE)
    for name, data in contents.items():
        _write_private(folder / name, data)
    fsync_dir(folder / "records")
    fsync_dir(folder)


def _fresh_folder(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BackupError(f"{path} already exists and is not empty: {what} goes into a new folder")


def make_backup(
    data_dir: Path, out: Path, *, attempts: int = 200, with_key: bool = False
) -> Summary:
    """Copy ``data_dir`` into ``out`` (a new folder) consistently, verify it, write the manifest.

    ``with_key`` also copies local mode's key file (beside the data folder, ``data.key``) as
    ``out/data.key``: only when asked, as a backup with its key opens for anyone who has it.

    Raises:
        BackupError: ``out`` is not new, or ``data_dir`` is not a data folder, or the copy does
            not verify (the message names the file).
        Busy: no attempt found a moment between commits.
    """
    _fresh_folder(out, "a backup")
    if not (data_dir / "records").is_dir():
        raise BackupError(f"{data_dir} is not a bot data folder (it has no records folder)")
    key: bytes | None = None
    if with_key:
        key_file = local_key_path(data_dir.resolve())
        try:
            key = key_file.read_bytes()
        except FileNotFoundError:
            raise BackupError(
                f"--with-key: there is no local key file {key_file} (outside local mode the key "
                "is BOT_ENCRYPTION_KEY: keep it in the school's password vault)"
            ) from None
    contents = None
    tries = 0
    for tries in range(1, attempts + 1):  # noqa: B007 (reported below)
        contents = _snapshot(data_dir)
        if contents is not None:
            break
        time.sleep(random.uniform(0.005, 0.05))  # noqa: S311 (jitter, not security)
    if contents is None:
        raise Busy(f"the bot was writing during each of {attempts} attempts; try again")
    out.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    partial = out / f".{DATA}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    _write_folder(partial, contents)
    try:
        summary = verify_data(partial, key)
    except BackupError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(out / DATA)
    if key is not None:
        _write_private(out / KEY, key)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(data_dir.resolve()),
        "attempts": tries,
        "files": summary.files,
        "records": summary.records,
        "audit_entries": summary.audit_entries,
        "audit_last_hash": summary.audit_last_hash,
        "journal": summary.journal,
        "key": key is not None,
    }
    _write_private(out / MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
    fsync_dir(out)
    return summary


# ----- checking a copy ------------------------------------------------------------------------


def _read_audit(folder: Path, *, journal: bool) -> list[AuditEntry]:
    path = folder / "audit.jsonl"
    raw = path.read_bytes() if path.exists() else b""
    lines = raw.split(b"\n")
    tail = lines.pop()  # empty when the log ends with a newline, as it should
    if tail and not journal:
        raise BackupError(
            "audit.jsonl ends in a partial entry and no interrupted change explains it"
        )
    entries = []
    for number, line in enumerate(lines, start=1):
        try:
            entries.append(AuditEntry.from_dict(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise BackupError(f"audit.jsonl line {number} is damaged ({exc})") from None
    return entries


async def _opens(folder: Path, key: bytes | None) -> None:
    cipher = None
    if key is not None:
        try:
            cipher = RecordCipher([parse_key(key.decode("ascii"))])
        except (KeyError_, UnicodeDecodeError) as exc:
            raise BackupError(f"the key file is damaged ({exc})") from None
    try:
        # Without the key (kept apart on purpose) every file is still checked, not the sealing.
        store = await TinyDbStore.open(
            folder, read_only=True, cipher=cipher, check_keys=cipher is not None
        )
        try:
            if cipher is not None:
                await store.key_survey()
        finally:
            await store.close()
    except KeyDoesNotOpen:
        raise BackupError("the key file does not open the records in the backup") from None


def verify_data(folder: Path, key: bytes | None = None) -> Summary:
    """Check a data folder as the bot would read it: every file whole, the audit chain intact
    (and, given the key, that it opens the records).

    Synchronous (it runs the store's read-only open in its own event loop): from async code,
    call it in a thread.

    Raises:
        BackupError: naming the first damaged file.
    """
    summary = Summary()
    for name in _store_files(folder):
        data = (folder / name).read_bytes()
        summary.files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if name == "journal.json":
            try:  # (not JSON as a whole since format 3: read as the store reads it)
                parse_journal(folder / name, data)
            except StoreCorrupted as exc:
                raise BackupError(str(exc).split(". ")[0]) from None
        elif name.endswith(".json"):
            try:
                parsed = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise BackupError(f"{name} is damaged ({exc.__class__.__name__})") from None
            if name.startswith("records/") and isinstance(parsed, dict):
                kind = Path(name).stem.split(".")[0]  # records/<kind>.<n>.json: one kind
                summary.records[kind] = summary.records.get(kind, 0) + len(
                    parsed.get("_default", {})
                )
    summary.journal = "journal.json" in summary.files
    try:  # the store's own checks: every TinyDB file, record ids, versions, schema
        asyncio.run(_opens(folder, key))
    except StoreError as exc:
        raise BackupError(str(exc)) from None
    entries = _read_audit(folder, journal=summary.journal)
    check = verify_chain(entries)
    if not check.ok:
        raise BackupError(
            f"the audit chain is broken at entry {check.first_bad_seq}: {check.problem}"
        )
    summary.audit_entries = len(entries)
    summary.audit_last_hash = entries[-1].hash if entries else ""
    return summary


def verify_backup(backup: Path) -> Summary:
    """Check a backup folder: the copy verifies and matches its manifest byte for byte.

    Raises:
        BackupError: the folder is not a backup, or a file is missing, changed or damaged.
    """
    try:
        manifest = json.loads((backup / MANIFEST).read_bytes())
    except (OSError, ValueError):
        raise BackupError(f"{backup} is not a backup made by this tool (no {MANIFEST})") from None
    key = None
    if manifest.get("key"):
        try:
            key = (backup / KEY).read_bytes()
        except FileNotFoundError:
            raise BackupError(f"the backup was made --with-key and {KEY} is missing") from None
    summary = verify_data(backup / DATA, key)
    if summary.files != manifest.get("files"):
        changed = sorted(
            set(summary.files).symmetric_difference(manifest.get("files", {}))
            | {n for n, f in summary.files.items() if manifest.get("files", {}).get(n) != f}
        )
        raise BackupError(f"the backup's files differ from its manifest: {', '.join(changed)}")
    return summary


# ----- restoring ---------------------------------------------------------------------------------


def restore(backup: Path, data_dir: Path) -> Summary:
    """Put a verified backup in place as ``data_dir``, which must be missing or empty (move a
    damaged folder aside first: nothing is ever overwritten). The bot must be stopped.

    Raises:
        BackupError: the backup does not verify, or ``data_dir`` is in use or not empty.
    """
    summary = verify_backup(backup)
    _fresh_folder(data_dir, "a restore")
    key_file = local_key_path(data_dir.resolve())
    key = (backup / KEY).read_bytes() if (backup / KEY).is_file() else None
    if key is not None and key_file.exists() and key_file.read_bytes() != key:
        raise BackupError(
            f"{key_file} already exists with another key: move it aside first (nothing is "
            "ever overwritten)"
        )
    staging = data_dir.with_name(f".{data_dir.name}.restoring")
    staging.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if staging.exists():
        shutil.rmtree(staging)
    source = backup / DATA
    _write_folder(staging, {name: (source / name).read_bytes() for name in _store_files(source)})
    if data_dir.exists():
        data_dir.rmdir()  # empty, checked above
    staging.rename(data_dir)
    if key is not None and not key_file.exists():
        _write_private(key_file, key)
    fsync_dir(data_dir.parent)
    return summary


# ----- the command --------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops backup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--out", type=Path, help="make a backup into this new folder")
    action.add_argument("--verify", type=Path, metavar="BACKUP", help="check a backup")
    action.add_argument(
        "--restore", type=Path, metavar="BACKUP", help="restore a backup as --data-dir"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="the bot's data folder")
    parser.add_argument(
        "--with-key",
        action="store_true",
        help="with --out: also copy local mode's key file (data.key beside the data folder)",
    )
    return parser


#: Why ``--out`` and ``--restore`` refuse when the records are in PostgreSQL.
ON_POSTGRES = (
    "DATABASE_URL is set, so the bot's records are in PostgreSQL, not in a data folder: a copy "
    "of {data_dir} would hold none of them. Back up PostgreSQL with the database's own tools: "
    "pg_dump (and pg_restore to put it back), or, on Azure Database for PostgreSQL, its "
    "automatic backups and point-in-time restore. See docs/backup-and-restore.md"
)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    data_dir = args.data_dir or Path(os.environ.get("BOT_DATA_DIR") or "data")
    if args.verify is None and os.environ.get("DATABASE_URL", "").strip():
        doing = "back up" if args.out else "restore"
        log.error("cannot %s: %s", doing, ON_POSTGRES.format(data_dir=data_dir))
        return 2
    started = time.monotonic()
    try:
        if args.out is not None:
            summary = make_backup(data_dir, args.out, with_key=args.with_key)
            log.info(
                "backup of %s written to %s in %.1f s: %s",
                data_dir,
                args.out,
                time.monotonic() - started,
                summary.describe(),
            )
        elif args.verify is not None:
            summary = verify_backup(args.verify)
            log.info("backup %s verifies: %s", args.verify, summary.describe())
        else:
            summary = restore(args.restore, data_dir)
            log.info(
                "restored %s as %s: %s. Start the bot now.",
                args.restore,
                data_dir,
                summary.describe(),
            )
    except Busy as exc:
        log.error("no backup made: %s", exc)
        return 1
    except (BackupError, OSError) as exc:
        doing = "back up" if args.out else "verify" if args.verify else "restore"
        log.error("cannot %s: %s", doing, exc)
        return 2
    return 0
