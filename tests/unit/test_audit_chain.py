"""The audit chain notices any edit, removal or reordering."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policy.audit import GENESIS, AuditEntry, AuditEvent, seal, verify_chain

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def chain(n: int, number: int = 0) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        event = AuditEvent(
            f"actor-{i}", f"action-{i}", "concern:A", "ok", T0 + timedelta(minutes=i)
        )
        entries.append(seal(event, seq=i, prev_hash=prev, chain=number))
        prev = entries[-1].hash
    return entries


def test_an_untouched_chain_verifies() -> None:
    check = verify_chain(chain(5))
    assert check.ok and check.entries == 5 and check.first_bad_seq is None


@pytest.mark.parametrize("field", ["actor", "action", "item", "outcome", "at"])
def test_editing_any_field_of_an_entry_is_detected(field: str) -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], **{field: "edited"})

    check = verify_chain(entries)

    assert not check.ok
    assert check.first_bad_seq == 3


def test_re_sealing_an_edited_entry_breaks_the_next_link() -> None:
    entries = chain(5)
    forged = AuditEvent("someone-else", "action-3", "concern:A", "ok", T0)
    entries[2] = seal(forged, seq=3, prev_hash=entries[1].hash)

    check = verify_chain(entries)

    assert not check.ok and check.first_bad_seq == 4


def test_removing_or_reordering_entries_is_detected() -> None:
    removed = chain(5)
    del removed[1]
    reordered = chain(5)
    reordered[1], reordered[2] = reordered[2], reordered[1]

    assert verify_chain(removed).first_bad_seq == 3
    assert not verify_chain(reordered).ok


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AuditEvent("a", "b", "c", "d", datetime(2026, 1, 1))


# ----- several chains side by side (the PostgreSQL store's) ----------------------------------


def interleaved() -> list[AuditEntry]:
    first, second = chain(3), chain(3, number=2)
    return [first[0], second[0], second[1], first[1], first[2], second[2]]


def test_interleaved_chains_each_verify_on_their_own() -> None:
    check = verify_chain(interleaved())
    assert check.ok and check.entries == 6


def test_chain_0_is_sealed_as_before_chains_existed_and_stored_without_its_number() -> None:
    event = AuditEvent("a", "b", "c", "d", T0)
    entry = seal(event, seq=1, prev_hash=GENESIS)
    before = json.dumps([1, GENESIS, "a", "b", "c", "d", T0.isoformat()], separators=(",", ":"))
    assert entry.hash == hashlib.sha256(before.encode()).hexdigest()
    assert "chain" not in entry.to_dict()
    other = seal(event, seq=1, prev_hash=GENESIS, chain=3)
    assert other.hash != entry.hash
    assert AuditEntry.from_dict(other.to_dict()) == other
    assert AuditEntry.from_dict(entry.to_dict()) == entry


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda es: es.__delitem__(2), "expected entry 2 of chain 2"),
        (lambda es: es.__setitem__(1, replace(es[1], outcome="x")), "changed"),
        (lambda es: es.__setitem__(1, replace(es[1], chain=1)), "of chain 1"),
        (lambda es: es.__setitem__(4, replace(es[4], chain=2)), "of chain 2"),
    ],
    ids=["removed", "edited", "moved-to-a-new-chain", "moved-to-another-chain"],
)
def test_removing_editing_or_moving_an_entry_of_any_chain_is_detected(
    tamper: object, problem: str
) -> None:
    entries = interleaved()
    tamper(entries)  # type: ignore[operator]

    check = verify_chain(entries)

    assert not check.ok
    assert problem in check.problem
