"""``python -m ops move-to-postgres --data-dir DIR``: move a school from TinyDB to PostgreSQL.

    1. stop the bot (this takes the data folder's single-writer lock, and refuses if it is held)
    2. script/migrate                                (with DATABASE_URL set)
    3. script/move-to-postgres --data-dir data       (the same BOT_ENCRYPTION_KEY(s) as the bot)
    4. start the bot with DATABASE_URL set

Every record is copied with its version, every audit entry with its number and hashes (so the
chain still verifies), and the named sequences and recent dedupe keys with them, into the
school's tenant. Then the copy is verified: record counts per kind, the audit log's length and
last hash, the whole chain, and the sequences. Safe to re-run: what is already there and equal
is skipped. Refused, changing nothing, when the database already holds different data for the
school (e.g. the bot already ran on it). The TinyDB folder is left as it was.

Exit status: 0 copied and verified; 1 copied but verification failed; 2 refused or failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from bot.storage import cipher_for, open_store, tenant_for
from dialogs.ports import StoreCorrupted, StoreError
from graph.local_directory import DirectoryFileError
from policy.audit import verify_chain
from store.postgres_store import CopyResult, PostgresStore
from store.tinydb_store import TinyDbStore

log = logging.getLogger("ops.move_to_postgres")


@dataclass(frozen=True, slots=True)
class MoveReport:
    """What was copied and what the verification found (``problems`` empty when it passed)."""

    tenant: str
    copied: CopyResult
    counts: Mapping[str, int]
    audit_entries: int
    seconds: float
    problems: Sequence[str] = field(default_factory=tuple)

    @property
    def verified(self) -> bool:
        """True when the database holds exactly what the folder holds."""
        return not self.problems


def _system_tables(data_dir: Path) -> tuple[dict[str, int], dict[str, tuple[list[str], datetime]]]:
    """The named sequences and dedupe keys from the embedded store's ``system.json``.

    The Store port has no way to list them, so they are read from the file as the TinyDB store
    lays it out (``{"sequences": {doc_id: {name, value}}, "dedupe": {doc_id: {key, refs, at}}}``);
    the store is open and locked meanwhile, so the file is complete and nothing changes it.
    """
    path = data_dir / "system.json"
    if not path.exists():
        return {}, {}
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        sequences = {
            str(doc["name"]): int(doc["value"]) for doc in (raw.get("sequences") or {}).values()
        }
        dedupe = {
            str(doc["key"]): (
                [str(ref) for ref in doc["refs"]],
                datetime.fromisoformat(str(doc["at"])),
            )
            for doc in (raw.get("dedupe") or {}).values()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreCorrupted(f"{path} cannot be read ({exc.__class__.__name__})") from None
    return sequences, dedupe


async def move(settings: Settings, data_dir: Path, *, tenant: str | None = None) -> MoveReport:
    """Copy the TinyDB store in ``data_dir`` into ``settings.database_url`` and verify it.

    Raises:
        ConfigError: ``DATABASE_URL`` is not set.
        StoreLocked: the bot is still running on ``data_dir``.
        TargetDiffers: the database already holds different data for the school.
        StoreCorrupted: the folder cannot be read, or its audit chain is broken.
        StoreUnavailable: the database cannot be reached.
    """
    if settings.database_url is None:
        raise ConfigError(["DATABASE_URL: set it to the database to move the school into"])
    started = time.monotonic()
    tenant = (tenant or tenant_for(settings)).lower()
    source = await TinyDbStore.open(data_dir, cipher=cipher_for(settings))
    try:
        target = await open_store(settings, tenant=tenant)
        assert isinstance(target, PostgresStore)
        try:
            # records/<kind>.json, then <kind>.2.json… as a kind grows: one entry per kind.
            kinds = sorted({p.stem.split(".")[0] for p in (data_dir / "records").glob("*.json")})
            records = [r for kind in kinds for r in await source.find(kind)]
            audit = await source.audit_log()
            check = verify_chain(audit)
            if not check.ok:
                raise StoreCorrupted(
                    f"the folder's audit chain is broken at entry {check.first_bad_seq} "
                    f"({check.problem}); restore it before moving"
                )
            sequences, dedupe = _system_tables(data_dir)
            copied = await target.copy_in(records, audit, sequences, dedupe)
            log.info(
                "copied %d records (%d already there), %d audit entries (%d already there)",
                copied.records_copied,
                copied.records_present,
                copied.audit_copied,
                copied.audit_present,
            )
            problems = await _verify(target, records, audit, sequences)
        finally:
            await target.close()
    finally:
        await source.close()
    counts = Counter(r.kind for r in records)
    return MoveReport(
        tenant=tenant,
        copied=copied,
        counts=dict(counts),
        audit_entries=len(audit),
        seconds=time.monotonic() - started,
        problems=tuple(problems),
    )


async def _verify(
    target: PostgresStore,
    records: Sequence[Any],
    audit: Sequence[Any],
    sequences: Mapping[str, int],
) -> list[str]:
    problems = []
    want = Counter(r.kind for r in records)
    have = await target.count_records()
    for kind in sorted(set(want) | set(have)):
        if want.get(kind, 0) != have.get(kind, 0):
            problems.append(f"{kind}: {want.get(kind, 0)} in the folder, {have.get(kind, 0)} here")
    copied = await target.audit_log()
    if len(copied) != len(audit):
        problems.append(f"audit: {len(audit)} entries in the folder, {len(copied)} here")
    elif audit and copied[-1].hash != audit[-1].hash:
        problems.append("audit: the last entry's hash differs")
    chain = verify_chain(copied)
    if not chain.ok:
        problems.append(f"audit: the chain breaks at entry {chain.first_bad_seq} ({chain.problem})")
    here = await target.sequences()
    for name, value in sequences.items():
        if here.get(name) != value:
            problems.append(f"sequence {name}: {value} in the folder, {here.get(name)} here")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m ops move-to-postgres",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="the embedded store's folder (BOT_DATA_DIR)"
    )
    parser.add_argument(
        "--tenant", help="the school's tenant id (default: MicrosoftAppTenantId, or the demo's)"
    )
    args = parser.parse_args(argv)
    if not (args.data_dir / "records").is_dir():
        log.error("cannot move: %s is not a bot data folder", args.data_dir)
        return 2
    try:
        settings = load_settings(os.environ)
        report = asyncio.run(move(settings, args.data_dir, tenant=args.tenant))
    except (ConfigError, StoreError, DirectoryFileError) as exc:
        log.error("cannot move: %s", exc)
        return 2
    at = datetime.now(UTC).isoformat(timespec="seconds")
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(report.counts.items()))
    log.info(
        "tenant %s at %s: %s; audit %d entries; %.1fs",
        report.tenant,
        at,
        summary or "no records",
        report.audit_entries,
        report.seconds,
    )
    if not report.verified:
        for problem in report.problems:
            log.error("verification: %s", problem)
        return 1
    log.info("verified: counts, sequences and the audit chain match")
    return 0
