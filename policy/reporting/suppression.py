"""Small-count suppression: count tables that never let a reader work out a small count
(see ``policy.reporting`` for the method)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Hidden(StrEnum):
    """Why a count is not shown."""

    SHOWN = "shown"
    #: A small count (1 to threshold - 1): shown as "fewer than N".
    SMALL = "small"
    #: Hidden so that a small count cannot be worked out from the total (complementary).
    COMPLEMENTARY = "complementary"
    #: The whole breakdown is withheld (its total is small, or it could not be protected).
    WITHHELD = "withheld"


NOT_SHOWN = "not shown"
WITHHELD = "withheld"


def fewer_than(threshold: int) -> str:
    """How a small count is written."""
    return f"fewer than {threshold}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One published figure. A hidden figure carries no number at all, so nothing that
    renders it can leak it."""

    label: str
    value: int | None
    text: str
    hidden: Hidden = Hidden.SHOWN


def count_cell(label: str, count: int, threshold: int) -> Cell:
    """A single published count: 0 and counts of ``threshold`` or more are shown."""
    if count < 0:
        raise ValueError("counts are never negative")
    if 0 < count < threshold:
        return Cell(label, None, fewer_than(threshold), Hidden.SMALL)
    return Cell(label, count, str(count))


@dataclass(frozen=True, slots=True)
class CountTable:
    """A breakdown of a published total, after suppression."""

    key: str
    title: str
    cells: tuple[Cell, ...]
    total: Cell
    #: True when only the total is given (see the module docstring).
    withheld: bool = False

    @property
    def note(self) -> str:
        """A footnote explaining what is hidden, or ``""``."""
        if self.withheld:
            return "The breakdown is withheld: the numbers are too small to show safely."
        if any(c.hidden is Hidden.COMPLEMENTARY for c in self.cells):
            return (
                "Some counts are not shown so that a small count cannot be worked out from the "
                "total."
            )
        return ""


@dataclass(frozen=True, slots=True)
class Cap:
    """What a reader knows from another table: the rows ``rows`` add up to at most ``limit``.

    The urgency table gives one: concerns in an always-urgent category are always urgent, so
    those categories add up to no more than the urgent count a reader can work out.
    """

    rows: frozenset[int]
    limit: float


def _exposed(
    counts: Sequence[int], hidden: Mapping[int, Hidden], threshold: int, cap: Cap | None
) -> bool:
    """Whether a reader could work out more about a small hidden count than "fewer than N".

    The reader knows the total, so the sum ``S`` of the hidden counts. They know each small one
    is from 1 to N - 1, and each complementary one is at least N and (because the smallest
    shown count is hidden first) no more than the smallest count still shown. With one sum and
    such bounds (and at most one ``cap`` on some of the rows), the values a hidden count can
    take are exactly an interval, worked out below; a small count is protected only while that
    interval is still the whole of 1 to N - 1.
    """
    total = sum(counts[i] for i in hidden)
    shown_nonzero = [n for i, n in enumerate(counts) if i not in hidden and n > 0]
    ceiling = min(shown_nonzero) if shown_nonzero else math.inf
    low: dict[int, float] = {}
    high: dict[int, float] = {}
    for i, why in hidden.items():
        low[i], high[i] = (1, threshold - 1) if why is Hidden.SMALL else (threshold, ceiling)
    capped: set[int] = set()
    room = math.inf
    if cap is not None:
        capped = set(hidden) & cap.rows
        room = cap.limit - sum(counts[i] for i in cap.rows if i not in hidden)
    free = set(hidden) - capped
    for x, why in hidden.items():
        if why is not Hidden.SMALL:
            continue
        others = set(hidden) - {x}
        most = min(high[x], total - sum(low[i] for i in others))
        if x in capped:
            most = min(most, room - sum(low[i] for i in capped - {x}))
            least = max(low[x], total - sum(high[i] for i in others))
        else:
            capped_room = min(sum(high[i] for i in capped), room)
            least = max(low[x], total - sum(high[i] for i in free - {x}) - capped_room)
        if least > 1 or most < threshold - 1:
            return True
    return False


def count_table(
    key: str,
    title: str,
    counts: Sequence[tuple[str, int]],
    threshold: int,
) -> CountTable:
    """Suppress a breakdown whose total (the sum of ``counts``) is published.

    Args:
        key: a stable name for the table (charts and JSON use it).
        title: the table's heading.
        counts: (label, count) rows, in display order.
        threshold: the school's ``governors_report_min_count``.

    Returns:
        The table with small counts shown as "fewer than N", complementary counts "not shown"
        and, when the breakdown cannot be protected, every row "withheld".
    """
    values = [n for _, n in counts]
    if any(n < 0 for n in values):
        raise ValueError("counts are never negative")
    total_cell = count_cell("Total", sum(values), threshold)
    if total_cell.hidden is not Hidden.SHOWN:
        return withheld_table(key, title, [label for label, _ in counts], total_cell)
    hidden: dict[int, Hidden] = {i: Hidden.SMALL for i, n in enumerate(values) if 0 < n < threshold}
    while hidden and _exposed(values, hidden, threshold, None):
        candidates = [i for i, n in enumerate(values) if i not in hidden and n > 0]
        if not candidates:
            return withheld_table(key, title, [label for label, _ in counts], total_cell)
        hidden[min(candidates, key=lambda i: (values[i], i))] = Hidden.COMPLEMENTARY
    cells = []
    for i, (label, n) in enumerate(counts):
        why = hidden.get(i, Hidden.SHOWN)
        if why is Hidden.SMALL:
            cells.append(Cell(label, None, fewer_than(threshold), why))
        elif why is Hidden.COMPLEMENTARY:
            cells.append(Cell(label, None, NOT_SHOWN, why))
        else:
            cells.append(Cell(label, n, str(n)))
    return CountTable(key, title, tuple(cells), total_cell)


def exposes(table: CountTable, counts: Sequence[int], threshold: int, cap: Cap) -> bool:
    """Whether publishing what ``cap`` says, next to ``table``, would let a reader work out more
    about one of its small counts than "fewer than N" (``counts`` are its true counts)."""
    if table.withheld:
        return False
    hidden = {i: c.hidden for i, c in enumerate(table.cells) if c.hidden is not Hidden.SHOWN}
    return bool(hidden) and _exposed(counts, hidden, threshold, cap)


def withheld_table(key: str, title: str, labels: Sequence[str], total: Cell) -> CountTable:
    """A breakdown given as its total only."""
    cells = tuple(Cell(label, None, WITHHELD, Hidden.WITHHELD) for label in labels)
    return CountTable(key, title, cells, total, withheld=True)


def _bounds(cell: Cell, threshold: int, ceiling: float, total: int) -> tuple[float, float]:
    """What a reader knows about one published cell: the lowest and highest it can be."""
    if cell.value is not None:
        return cell.value, cell.value
    if cell.hidden is Hidden.SMALL:
        return 1, threshold - 1
    if cell.hidden is Hidden.COMPLEMENTARY:
        return threshold, ceiling
    return 0, total


def _reader_bounds(table: CountTable, threshold: int) -> list[tuple[float, float]]:
    shown = [c.value for c in table.cells if c.value]
    ceiling = min(shown) if shown else math.inf
    total = table.total.value if table.total.value is not None else threshold - 1
    return [_bounds(c, threshold, ceiling, total) for c in table.cells]


def sub_table(
    key: str,
    title: str,
    counts: Sequence[tuple[str, int]],
    threshold: int,
    parent: Cell,
) -> CountTable:
    """A breakdown of a group that another table counts (``parent``): it is published only
    when the group's own count is shown exactly, so that nothing is learnt by comparing the
    two tables."""
    if parent.value is None:
        total = Cell("Total", None, WITHHELD, Hidden.WITHHELD)
        return withheld_table(key, title, [label for label, _ in counts], total)
    return count_table(key, title, counts, threshold)
