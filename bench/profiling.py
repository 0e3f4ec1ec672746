"""Where a concern submit's time goes: cProfile over the event loop thread and every thread the
store runs its writes in (``asyncio.to_thread``), merged, plus the garbage collector's pauses.

cProfile profiles only the thread that enables it, so while profiling, the loop's default
executor is swapped for one whose threads each enable their own profiler when they start.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import pstats
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: Time spent waiting, not working: the loop's poll, idle pool threads, and pool threads
#: blocked on a socket (msrest sends the bot's replies with ``requests`` in the loop's executor).
WAITING = (
    "<method 'poll' of 'select.epoll' objects>",
    "<method 'get' of '_queue.SimpleQueue' objects>",
    "<method 'acquire' of '_thread.lock' objects>",
    "<method 'recv_into' of '_socket.socket' objects>",
)
PRODUCT = ("/bot/", "/dialogs/", "/store/", "/cards/", "/policy/", "/graph/", "/tinydb/")


@dataclass
class GcPauses:
    """Collections and their total pause, by generation, while ``watch`` is active."""

    count: list[int] = field(default_factory=lambda: [0, 0, 0])
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    _began: float = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            generation = int(info["generation"])
            self.count[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._began

    @contextmanager
    def watch(self) -> Iterator[GcPauses]:
        gc.callbacks.append(self._callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._callback)

    def as_dict(self) -> dict[str, Any]:
        return {
            "collections": list(self.count),
            "pause_ms": [round(s * 1000, 1) for s in self.seconds],
        }


class _ProfilingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._guard = threading.Lock()
        super().__init__(max_workers=4, initializer=self._start)

    def _start(self) -> None:
        profile = cProfile.Profile()
        with self._guard:
            self.profiles.append(profile)
        profile.enable()


@contextmanager
def profiled(loop: asyncio.AbstractEventLoop) -> Iterator[list[pstats.Stats]]:
    """Profile the loop thread and the store's threads; the merged stats land in the list."""
    result: list[pstats.Stats] = []
    executor = _ProfilingExecutor()
    loop.set_default_executor(executor)
    main = cProfile.Profile()
    main.enable()
    try:
        yield result
    finally:
        main.disable()
        loop.set_default_executor(ThreadPoolExecutor())
        executor.shutdown(wait=True)
        stats = pstats.Stats(main)
        for profile in executor.profiles:
            stats.add(profile)
        result.append(stats)


def _label(key: tuple[str, int, str]) -> str:
    path, line, name = key
    if path == "~":
        return name
    for marker in PRODUCT:
        if marker in path:
            path = marker.strip("/") + "/" + path.rsplit(marker, 1)[1]
            break
    else:
        path = path.rsplit("/", 1)[-1]
    return f"{path}:{line}({name})"


def hot_spots(stats: pstats.Stats, wall: float, turns: int, top: int = 12) -> dict[str, Any]:
    """The top functions by own time and, in product code, by cumulative time.

    Times are summed over the profiled threads; shares are of the run's wall time. Waiting
    (see ``WAITING``) is left out of the list and summed separately.
    """
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    waiting = 0.0
    for key, (_cc, calls, own, cumulative, _callers) in raw.items():
        label = _label(key)
        if label in WAITING:
            waiting += own
            continue
        rows.append((label, calls, own, cumulative, key[0]))

    def entry(row: tuple[str, int, float, float, str]) -> dict[str, Any]:
        label, calls, own, cumulative, _path = row
        return {
            "function": label,
            "calls_per_turn": round(calls / turns, 1),
            "own_ms_per_turn": round(own / turns * 1000, 2),
            "cum_ms_per_turn": round(cumulative / turns * 1000, 2),
            "own_share": round(own / wall, 3),
            "cum_share": round(cumulative / wall, 3),
        }

    by_own = sorted(rows, key=lambda r: r[2], reverse=True)[:top]
    product = [r for r in rows if any(m in r[4] for m in PRODUCT)]
    by_cum = sorted(product, key=lambda r: r[3], reverse=True)[:top]
    return {
        "wall_s": round(wall, 3),
        "turns": turns,
        #: Summed over the loop thread and the pool threads (so it can exceed the wall time).
        "waiting_s_all_threads": round(waiting, 3),
        "by_own_time": [entry(r) for r in by_own],
        "product_by_cumulative_time": [entry(r) for r in by_cum],
    }
