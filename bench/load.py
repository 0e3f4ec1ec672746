"""The load driver: sends turns over loopback HTTP and measures each one as the client sees it
(request sent -> whole HTTP response received), at a fixed concurrency."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

#: ``check(index, status, body)``: whether turn ``index`` got the answer it should.
Check = Callable[[int, int, bytes], bool]


@dataclass
class Sample:
    """What one cell measured."""

    latencies: list[float] = field(default_factory=list)  # seconds, in completion order
    errors: int = 0
    wall: float = 0.0
    first_error: str = ""

    @property
    def turns(self) -> int:
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile in ms (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000

    @property
    def throughput(self) -> float:
        return self.turns / self.wall if self.wall else 0.0


def read_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (kB) of a process, from /proc (psutil is not a dependency)."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0])
    return found


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux 4.0+); False when not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def drive(
    session: aiohttp.ClientSession,
    url: str,
    build: Callable[[int], dict[str, Any]],
    *,
    turns: int,
    concurrency: int,
    check: Check,
    budget: float | None = None,
    min_turns: int = 0,
    offset: int = 0,
) -> Sample:
    """Send ``turns`` activities (``build(offset + i)``) with ``concurrency`` in flight.

    With ``budget`` (seconds), no new turn starts once the budget is spent and at least
    ``min_turns`` are done, so a slow cell stops early; the count actually run is reported.
    """
    sample = Sample()
    next_index = 0
    started = time.perf_counter()
    headers = {"Content-Type": "application/json"}

    async def worker() -> None:
        nonlocal next_index
        while next_index < turns:
            if (
                budget is not None
                and time.perf_counter() - started > budget
                and sample.turns >= min_turns
            ):
                return
            index = next_index
            next_index += 1
            body = json.dumps(build(offset + index)).encode()
            sent = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                payload = await response.read()
                status = response.status
            sample.latencies.append(time.perf_counter() - sent)
            if not check(offset + index, status, payload):
                sample.errors += 1
                if not sample.first_error:
                    sample.first_error = f"{status} {payload[:300]!r}"

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    sample.wall = time.perf_counter() - started
    return sample


def client_session(concurrency: int) -> aiohttp.ClientSession:
    """A keep-alive client session with room for ``concurrency`` connections."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max(concurrency, 1) + 4, force_close=False),
        timeout=aiohttp.ClientTimeout(total=600),
    )
