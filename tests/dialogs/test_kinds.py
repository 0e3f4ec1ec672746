"""The stored kinds' leaf (``dialogs/kinds``): one way to number a reference, and the kinds
other features read stay where every reader finds them (issue 23)."""

from __future__ import annotations

from dialogs import concern, filter_request, monitoring, overblocking
from dialogs.kinds import concern as concern_kind
from dialogs.kinds import filter_request as filter_kind
from dialogs.kinds import monitoring as monitoring_kind
from dialogs.kinds import next_reference, reference
from dialogs.kinds import overblocking as overblocking_kind
from store.memory import InMemoryStore


def test_a_reference_is_prefix_year_and_four_digits() -> None:
    assert reference("OSC", 2026, 7) == "OSC-2026-0007"
    assert reference("FLT", 2027, 12345) == "FLT-2027-12345"


async def test_references_count_per_prefix_and_year_and_a_retry_draws_the_same() -> None:
    store = InMemoryStore()
    assert await next_reference(store, "OSC", 2026, "form:a") == "OSC-2026-0001"
    assert await next_reference(store, "OSC", 2026, "form:a") == "OSC-2026-0001"  # a retry
    assert await next_reference(store, "OSC", 2026, "form:b") == "OSC-2026-0002"
    assert await next_reference(store, "OSC", 2027) == "OSC-2027-0001"
    assert await next_reference(store, "FLT", 2026) == "FLT-2026-0001"


def test_each_feature_saves_its_kind_under_the_name_its_readers_use() -> None:
    # Records saved before the kinds moved to the leaf must still be found by the same name.
    assert concern.KIND == concern_kind.KIND == "concern"
    assert filter_request.KIND == filter_kind.KIND == "filter_request"
    assert overblocking.KIND == overblocking_kind.KIND == "overblock_report"
    assert monitoring.KIND == monitoring_kind.KIND == "monitoring_alert"
    assert concern_kind.PREFIX == "OSC" and filter_kind.PREFIX == "FLT"
