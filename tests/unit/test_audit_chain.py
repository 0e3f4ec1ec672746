"""The audit chain notices any edit, removal or reordering."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from policy.audit import GENESIS, AuditEntry, AuditEvent, seal, verify_chain

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        event = AuditEvent(
            f"actor-{i}", f"action-{i}", "concern:A", "ok", T0 + timedelta(minutes=i)
        )
        entries.append(seal(event, seq=i, prev_hash=prev))
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
