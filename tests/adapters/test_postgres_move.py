"""Moving a school from TinyDB to PostgreSQL (``python -m ops move-to-postgres``) on a store
with 20 000 concerns: every record (with its version), the audit chain (same numbers and
hashes), sequences and dedupe keys are copied and verified; re-running changes nothing; a
database holding different data for the school is refused.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialogs.outbox import CLAIM_RULES, OUTBOX, Delivery, message, timer
from dialogs.ports import Change, Record
from policy.audit import GENESIS, AuditEntry, AuditEvent, seal
from store.crypto import RecordCipher, new_key, parse_key
from store.postgres_store import PostgresStore
from store.tinydb_store import TinyDbStore
from tests.scale.postgres import fresh_database
from tests.support import ROOT, TENANT

CONCERNS = 20_000
BATCH = 500
AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
CATEGORIES = ["cyberbullying", "grooming", "fraud", "online_hate", "harassment", "other"]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def concern(n: int, rng: random.Random) -> Record:
    when = AT + timedelta(minutes=7 * n)
    ref = f"OSC-2026-{n:05d}"
    return Record(
        "concern",
        ref,
        1,
        {
            "ref": ref,
            "source": "staff",
            "category": rng.choice(CATEGORIES),
            "urgent": rng.random() < 0.1,
            "status": rng.choice(["new", "acknowledged", "closed"]),
            "reporter_id": f"5c400000-0000-4000-8000-{rng.randrange(2, 9):012d}",
            "reporter_name": "Daniel Okafor",
            "created_at": when.isoformat(),
            "year_group": f"Year {rng.randrange(1, 14)}",
            "involved": f"Pupil {n} (8B)",
            "what_happened": f"Messages at night asking to meet, number {n}. " * 4,
            "where": "Snapchat",
            "url": None,
            "happened_on": when.date().isoformat(),
            "immediate_risk": "no",
            "actions_taken": "Phone kept in the office",
            "events": [{"at": when.isoformat(), "what": "Reported", "by": "Daniel Okafor"}],
        },
    )


def write_concerns(folder: Path, cipher: RecordCipher) -> list[AuditEntry]:
    """The bulk of the school's history, written straight into the TinyDB layout.

    Through the Store port each insert rewrites the whole ``records/concern.json`` (TinyDB's
    cost grows with the file: about 68 ms per insert at 5 MB), so 20 000 concerns would take
    hours; the files are written as the store writes them instead (sealed data, one JSON
    document per kind, the chained ``audit.jsonl``) and then opened, checked and added to
    through the port. A quarter of the concerns were acknowledged: version 2, two entries.
    """
    rng = random.Random(2026)
    (folder / "records").mkdir(parents=True, mode=0o700)
    docs: dict[str, dict[str, object]] = {}
    events: list[AuditEvent] = []
    for n in range(1, CONCERNS + 1):
        record = concern(n, rng)
        version = 2 if n % 4 == 0 else 1
        data = {**record.data, "status": "acknowledged"} if version == 2 else record.data
        docs[str(n)] = {
            "id": record.id,
            "version": version,
            "schema": 1,
            "data": cipher.seal("concern", record.id, data),
        }
        events.append(AuditEvent(str(data["reporter_id"]), "concern.report", record.ref, "ok", AT))
        if version == 2:
            events.append(AuditEvent("dsl", "concern.acknowledge", record.ref, "ok", AT))
    (folder / "records" / "concern.json").write_text(json.dumps({"_default": docs}))
    entries: list[AuditEntry] = []
    prev = GENESIS
    for seq, event in enumerate(events, start=1):
        entries.append(seal(event, seq=seq, prev_hash=prev))
        prev = entries[-1].hash
    with (folder / "audit.jsonl").open("w") as handle:
        for entry in entries:
            handle.write(json.dumps(entry.to_dict(), separators=(",", ":")) + "\n")
    sequences = {"1": {"name": "OSC-2026", "value": CONCERNS}}
    (folder / "system.json").write_text(json.dumps({"sequences": sequences}))
    return entries


async def build_source(folder: Path, key: str) -> tuple[int, int]:
    """A TinyDB store with 20 000 concerns and their audit entries, then outbox messages,
    timers, a dedupe key, a sequence step and an audit entry added through the Store port.
    Returns (records, audit entries)."""
    cipher = RecordCipher([parse_key(key)])
    write_concerns(folder, cipher)
    store = await TinyDbStore.open(folder, cipher=cipher)  # checks the key and the chain
    try:
        assert store.audit_check is not None and store.audit_check.ok
        extras = [
            message(Delivery.CHANNEL_POST, "19:dsl", f"concern:OSC-2026-{n:05d}", "c", AT)
            for n in range(1, 101)
        ] + [timer("unacknowledged", f"concern:OSC-2026-{n:05d}", AT) for n in range(1, 51)]
        await store.commit(
            Change(
                records=extras,
                audit=[AuditEvent("system", "outbox.queued", "", "ok", AT)],
                dedupe_key="concern.form:last",
            )
        )
        assert await store.next_sequence("OSC-2026") == CONCERNS + 1
        return CONCERNS + len(extras), len(await store.audit_log())
    finally:
        await store.close()


def move(folder: Path, env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ops", "move-to-postgres", "--data-dir", str(folder)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.mark.slow
async def test_a_school_with_20000_concerns_moves_verifies_and_can_be_moved_again(
    postgres_url: str, tmp_path: Path
) -> None:
    key = new_key()
    folder = tmp_path / "data"
    started = time.monotonic()
    records, entries = await build_source(folder, key)
    built = time.monotonic() - started
    env = {"DATABASE_URL": postgres_url, "BOT_ENCRYPTION_KEY": key}

    status, output, first = move(folder, env)
    assert status == 0, output
    assert f"copied {records} records (0 already there), {entries} audit entries" in output
    assert "verified: counts, sequences and the audit chain match" in output
    status, output, again = move(folder, env)  # re-running: everything is there already
    assert status == 0, output
    assert f"copied 0 records ({records} already there), 0 audit entries ({entries} " in output
    print(
        f"\nmove to PostgreSQL: {CONCERNS} concerns, {records} records, {entries} audit "
        f"entries (encrypted): source built in {built:.1f}s, moved and verified in "
        f"{first:.1f}s, re-run (nothing to copy, verified) in {again:.1f}s"
    )

    target = await PostgresStore.open(
        postgres_url,
        tenant=TENANT,
        cipher=RecordCipher([parse_key(key)]),
        claim_rules=CLAIM_RULES,
    )
    try:
        counts = await target.count_records()
        assert counts == {"concern": CONCERNS, "outbox": 100, "timer": 50}
        log = await target.audit_log()
        check = await target.verify_audit()
        assert check.ok and check.entries == entries == CONCERNS + CONCERNS // 4 + 1
        source = await TinyDbStore.open(folder, cipher=RecordCipher([parse_key(key)]))
        try:
            for ref in ("OSC-2026-00001", "OSC-2026-12345", f"OSC-2026-{CONCERNS:05d}"):
                assert await target.get("concern", ref) == await source.get("concern", ref)
            assert log == await source.audit_log()
        finally:
            await source.close()
        assert await target.sequences() == {"OSC-2026": CONCERNS + 1}
        assert await target.deduped("concern.form:last") is not None
        # The chain goes on from the copied head, and the moved outbox can be claimed.
        [after] = await target.commit(
            Change(audit=[AuditEvent("system", "moved", "", "ok", datetime.now(UTC))])
        )
        assert after.seq == entries + 1 and after.prev_hash == log[-1].hash
        due = await target.claim_due(
            OUTBOX, datetime.now(UTC), lease_seconds=5, owner="test", limit=200
        )
        assert len(due) == 100
    finally:
        await target.close()

    # Re-running: the entry added since is "different data" for the school, so it is refused.
    status, output, _ = move(folder, env)
    assert status == 2
    assert "cannot move" in output and "more than the source" in output


@pytest.mark.slow
async def test_re_running_a_move_skips_what_is_there_and_refuses_different_data(
    postgres_url: str, tmp_path: Path
) -> None:
    key = new_key()
    folder = tmp_path / "data"
    store = await TinyDbStore.open(folder, cipher=RecordCipher([parse_key(key)]))
    rng = random.Random(1)
    await store.commit(
        Change(
            records=[concern(n, rng) for n in range(1, 201)],
            audit=[AuditEvent("t", "concern.report", f"concern:{n}", "ok", AT) for n in range(5)],
        )
    )
    await store.close()
    tenant = "5c400000-0000-4000-8000-00000000000c"
    env = {"DATABASE_URL": postgres_url, "BOT_ENCRYPTION_KEY": key}

    def run() -> tuple[int, str]:
        done = subprocess.run(
            # A school of a trust, by its tenant id:
            [
                sys.executable,
                "-m",
                "ops",
                "move-to-postgres",
                "--data-dir",
                str(folder),
                "--tenant",
                tenant,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr

    assert run()[0] == 0
    status, output = run()
    assert status == 0, output
    assert "copied 0 records (200 already there), 0 audit entries (5 already there)" in output

    target = await PostgresStore.open(
        postgres_url, tenant=tenant, cipher=RecordCipher([parse_key(key)])
    )
    changed = await target.get("concern", "OSC-2026-00007")
    assert changed is not None
    await target.commit(
        Change(records=[Record("concern", changed.id, changed.version + 1, {"status": "x"})])
    )
    await target.close()

    status, output = run()
    assert status == 2
    assert "holds a different concern:OSC-2026-00007" in output


def test_moving_needs_a_database_url_and_a_data_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops", "move-to-postgres", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "is not a bot data folder" in done.stderr
