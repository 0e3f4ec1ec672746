"""How much the benchmark does: the full run (under 10 minutes on 2 cores) and the smoke run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Plan:
    """Turn counts, store sizes and time budgets of one run."""

    name: str
    #: Concerns pre-filled in the store (small, big): the product's turns run on each.
    sizes: tuple[int, int]
    #: Turns asked for per product cell, by concurrency.
    turns: dict[int, int]
    #: A product cell stops starting new turns after this many seconds (once it has
    #: ``min_turns``); the counts actually run are printed and kept.
    cell_budget: float
    min_turns: dict[int, int]
    #: Turns per anchor/floor cell, by concurrency (and their own time budget).
    anchor_turns: dict[int, int]
    anchor_budget: float
    #: Unrecorded turns at the start of every cell.
    warmup: int
    #: New (unacknowledged) concerns in each pre-fill, for the DSL-acknowledge turns.
    max_new: int
    #: Mixed turns driven into the real ``python -m bot`` process before reading its peak RSS.
    rss_turns: int
    rss_concurrency: int
    rss_budget: float
    #: Cold starts measured on the empty store and on the big store (the best is checked).
    cold_repeats: tuple[int, int]
    #: Records already in the kind -> repetitions, for TinyDB vs sqlite3.
    store_sizes: dict[int, int]
    #: Profiled concern submits per store size (sizes[0], sizes[1]).
    profile_turns: tuple[int, int]
    concurrencies: tuple[int, ...] = (1, 20)
    notes: list[str] = field(default_factory=list)
    #: The PostgreSQL column (``bench.postgres_three_instances.column``): concern submits into
    #: this many ``python -m bot`` processes on one database, this many at a time (a quarter as
    #: many at concurrency 1 first), after the unrecorded warm-up.
    postgres_instances: int = 3
    postgres_concurrency: int = 20
    postgres_turns: int = 600
    postgres_warmup: int = 40

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Plan(
    name="full",
    sizes=(1000, 20000),
    turns={1: 300, 20: 2000},
    cell_budget=8.0,
    min_turns={1: 20, 20: 20},
    anchor_turns={1: 300, 20: 2000},
    anchor_budget=40.0,
    warmup=2,
    max_new=2000,
    rss_turns=200,
    rss_concurrency=20,
    rss_budget=30.0,
    cold_repeats=(3, 2),
    store_sizes={100: 40, 1000: 30, 5000: 15, 20000: 8},
    profile_turns=(60, 12),
)

QUICK = Plan(
    name="quick",
    sizes=(100, 400),
    turns={1: 6, 20: 20},
    cell_budget=3.0,
    min_turns={1: 3, 20: 20},
    anchor_turns={1: 20, 20: 40},
    anchor_budget=5.0,
    warmup=1,
    max_new=200,
    rss_turns=24,
    rss_concurrency=4,
    rss_budget=10.0,
    cold_repeats=(1, 1),
    store_sizes={100: 5, 1000: 5},
    profile_turns=(5, 5),
    postgres_turns=40,
    postgres_warmup=8,
)
