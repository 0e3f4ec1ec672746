"""Records at rest are sealed (AES-GCM): no plain text in any store file, tampering and wrong
keys are caught, and keys rotate without losing a record (quality note P2)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.ports import Change, Record, StoreCorrupted
from policy.audit import AuditEvent
from store.crypto import RecordCipher, new_key, parse_key
from store.tinydb_store import TinyDbStore
from tests.support import ROOT

CANARY = "CANARY-4471 Ava Thompson said the man asked for photos"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def cipher(*keys: str) -> RecordCipher:
    return RecordCipher([parse_key(k) for k in keys])


async def write(folder: Path, sealer: RecordCipher | None, item: str = "OSC-2026-0001") -> None:
    store = await TinyDbStore.open(folder, cipher=sealer)
    await store.commit(
        Change(
            records=[Record("concern", item, 1, {"what_happened": CANARY, "status": "new"})],
            audit=[AuditEvent("staff-1", "concern.report", f"concern:{item}", "ok", AT)],
        )
    )
    await store.close()


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


async def test_with_a_key_no_store_file_holds_the_text_and_it_reads_back(tmp_path: Path) -> None:
    key = new_key()
    await write(tmp_path, cipher(key))

    assert b"CANARY" not in all_bytes(tmp_path)
    assert b"Ava" not in all_bytes(tmp_path)
    store = await TinyDbStore.open(tmp_path, cipher=cipher(key))
    found = await store.get("concern", "OSC-2026-0001")
    mine = await store.find("concern", status="new")
    await store.close()
    assert found is not None and found.data["what_happened"] == CANARY
    assert [r.id for r in mine] == ["OSC-2026-0001"]


async def test_without_a_key_the_text_is_plain_which_is_what_the_check_above_would_catch(
    tmp_path: Path,
) -> None:
    await write(tmp_path, None)
    assert b"CANARY" in all_bytes(tmp_path)


async def test_the_wrong_key_refuses_to_start(tmp_path: Path) -> None:
    await write(tmp_path, cipher(new_key()))

    with pytest.raises(StoreCorrupted, match="not configured"):
        await TinyDbStore.open(tmp_path, cipher=cipher(new_key()))
    with pytest.raises(StoreCorrupted, match="no key is configured"):
        await TinyDbStore.open(tmp_path)


async def test_a_tampered_record_is_detected(tmp_path: Path) -> None:
    key = new_key()
    await write(tmp_path, cipher(key))
    path = tmp_path / "records" / "concern.json"
    text = path.read_text()
    start = text.index('"ct":"') + 6
    flipped = "A" if text[start + 10] != "A" else "B"
    path.write_text(text[: start + 10] + flipped + text[start + 11 :])

    with pytest.raises(StoreCorrupted, match="altered or is damaged"):
        await TinyDbStore.open(tmp_path, cipher=cipher(key))


async def test_a_sealed_record_cannot_be_moved_onto_another_record(tmp_path: Path) -> None:
    key = new_key()
    sealer = cipher(key)
    sealed = sealer.seal("concern", "OSC-2026-0001", {"what_happened": CANARY})

    with pytest.raises(StoreCorrupted):
        sealer.open("concern", "OSC-2026-0002", sealed)


def run_rotate(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Microsoft", "BOT_"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "ops", "rotate-key"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_rotation_reseals_every_record_with_the_new_key(tmp_path: Path) -> None:
    old, new = new_key(), new_key()
    for n in range(1, 6):
        await write(tmp_path, cipher(old), item=f"OSC-2026-{n:04d}")

    result = run_rotate(
        {"BOT_DATA_DIR": str(tmp_path), "BOT_ENCRYPTION_KEY": new, "BOT_ENCRYPTION_OLD_KEYS": old}
    )

    assert result.returncode == 0, result.stderr
    assert "re-sealed 5 records" in result.stderr
    store = await TinyDbStore.open(tmp_path, cipher=cipher(new))  # the old key is gone
    records = await store.find("concern")
    log = await store.audit_log()
    await store.close()
    assert sorted(r.data["what_happened"] for r in records) == [CANARY] * 5
    assert log[-1].action == "encryption.rotate"


async def test_a_store_made_without_a_key_can_be_encrypted_afterwards(tmp_path: Path) -> None:
    await write(tmp_path, None)
    key = new_key()

    result = run_rotate({"BOT_DATA_DIR": str(tmp_path), "BOT_ENCRYPTION_KEY": key})

    assert result.returncode == 0, result.stderr
    assert b"CANARY" not in b"".join(p.read_bytes() for p in (tmp_path / "records").iterdir())
    store = await TinyDbStore.open(tmp_path, cipher=cipher(key))
    found = await store.get("concern", "OSC-2026-0001")
    await store.close()
    assert found is not None and found.data["what_happened"] == CANARY


def test_new_key_prints_a_usable_key() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ops", "rotate-key", "--new-key"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert len(parse_key(result.stdout.strip())) == 32
