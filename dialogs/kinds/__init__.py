"""The stored kinds: each kind's name, record codec and reference numbering, in one leaf each.

A feature saves and reads its own kinds; another feature (reports, pupil feedback, handoff,
"My reports"), ``ops/``, ``bot/`` and ``bench/`` read them through these modules, never
through the feature that writes them. Nothing here imports a feature (``pyproject.toml``).
"""

from __future__ import annotations

from dialogs.ports import Store


def reference(prefix: str, year: int, number: int) -> str:
    """How every numbered kind's reference is written: ``OSC-2026-0001``."""
    return f"{prefix}-{year}-{number:04d}"


async def next_reference(store: Store, prefix: str, year: int, key: str | None = None) -> str:
    """The next reference of a numbered kind, ``PREFIX-YEAR-0001`` and on (one sequence per
    prefix and year; with ``key``, a retried change draws the same number: ``Store``)."""
    number = await store.next_sequence(f"{prefix}-{year}", key=key)
    return reference(prefix, year, number)
