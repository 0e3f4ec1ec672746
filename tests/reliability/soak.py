"""Soak: many mixed turns against the real server process; memory and file descriptors stay flat.

    python -m tests.reliability.soak --turns 20000          (the full soak, a few minutes)
    python -m pytest tests/reliability/test_soak.py -s        (the CI-sized soak)

The mix is a school day's: mostly menus (a message gets the welcome card), Help and "My
reports" clicks, and some concern reports, DSL acknowledgements, filter requests and IT
approvals (each report also makes the outbox post to the channels through the fake Bot
Connector). RSS (``VmRSS`` in /proc/<pid>/status) and open file descriptors (/proc/<pid>/fd)
are sampled after the warm-up and every 1 000 turns; the bot's own output is searched for
aiohttp's "Unclosed client session" / "Unclosed connector" and any ResourceWarning (the process
runs with ``PYTHONWARNINGS=default``, and is stopped with SIGTERM so its clean-up runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.reliability.common import (
    BotProcess,
    acknowledge,
    approve,
    concern_submit,
    count_lines,
    filter_submit,
    help_click,
    open_fds,
    percentile,
    post_activity,
    received_ref,
    rss_kib,
)
from tests.support import (
    DEPUTY_DSL,
    DSL,
    HEADTEACHER,
    IT,
    PUPIL,
    TEACHER,
    FakeConnector,
    card_action,
    message,
)

#: Kind of turn -> weight (%): a school's use is mostly looking, a little reporting (5.5%).
MIX = {
    "welcome": 42.0,
    "help": 25.0,
    "my-reports": 27.5,
    "concern": 2.0,
    "ack": 1.0,
    "filter": 1.5,
    "approve": 1.0,
}
READS = {"welcome", "help", "my-reports"}
LEAK_WORDS = ("Unclosed client session", "Unclosed connector", "ResourceWarning")


class CountingConnector(FakeConnector):
    """A Bot Connector that answers like Teams but keeps only counts (a soak posts a lot)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    async def _reply(self, request: web.Request) -> web.Response:
        await request.read()
        self.counts["posted"] += 1
        return web.json_response({"id": f"posted-{self.counts['posted']}"})

    async def _update(self, request: web.Request) -> web.Response:
        await request.read()
        self.counts["updated"] += 1
        return web.json_response({"id": request.match_info["aid"]})

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.counts["created"] += 1
        return web.json_response({"id": f"a:dm-{body['members'][0]['id']}"})


@dataclass
class Sample:
    turns: int
    rss_kib: int
    fds: int
    data_kib: int  # the record files and system.json on disk (the store holds them in memory)


@dataclass
class SoakResult:
    turns: int = 0
    warmup: int = 0
    seconds: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)  # under load: warm-up, every 1000, end
    idle: Sample | None = None  # once the outbox has finished, nothing in flight
    start_rss_kib: int = 0
    start_fds: int = 0
    leak_lines: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    posted: int = 0
    exit_status: int | None = None
    errors: int = 0

    @property
    def after_warmup(self) -> Sample:
        return self.samples[0]

    @property
    def end(self) -> Sample:
        return self.samples[-1]

    @property
    def rss_growth_mib(self) -> float:
        last = max(self.end.rss_kib, self.idle.rss_kib if self.idle else 0)
        return (last - self.after_warmup.rss_kib) / 1024

    @property
    def fd_drift(self) -> int:
        """Open fds at the end of the turns less after the warm-up (both under load)."""
        return self.end.fds - self.after_warmup.fds

    @property
    def idle_fd_excess(self) -> int:
        """Open fds once idle, beyond the count under load after the warm-up."""
        return (self.idle.fds if self.idle else 0) - self.after_warmup.fds

    def lines(self) -> list[str]:
        rss = ", ".join(f"{s.rss_kib / 1024:.1f}" for s in self.samples)
        fds = ", ".join(str(s.fds) for s in self.samples)
        return [
            f"soak: {self.turns} turns in {self.seconds:.0f} s ({self.turns / self.seconds:.0f}/s)"
            f", warm-up {self.warmup}: {dict(sorted(self.kinds.items()))}",
            f"turn latency p50 {percentile(self.latencies, 0.5) * 1000:.0f} ms, p99 "
            f"{percentile(self.latencies, 0.99) * 1000:.0f} ms, max "
            f"{max(self.latencies, default=0) * 1000:.0f} ms; failed turns: "
            f"{len(self.failures)}; cards/messages posted to the connector: {self.posted}",
            f"RSS: {self.start_rss_kib / 1024:.1f} MiB at start, "
            f"{self.after_warmup.rss_kib / 1024:.1f} MiB after warm-up, "
            f"{self.end.rss_kib / 1024:.1f} MiB at the end of the turns, "
            f"{self.idle.rss_kib / 1024 if self.idle else 0:.1f} MiB idle: growth after warm-up "
            f"{self.rss_growth_mib:+.1f} MiB (limit 20)",
            f"  RSS samples (MiB, every 1000 turns): {rss}",
            f"  the store's files (held in memory by the store) meanwhile grew from "
            f"{self.after_warmup.data_kib} KiB to {self.end.data_kib} KiB",
            f"open fds: {self.start_fds} at start, {self.after_warmup.fds} after warm-up, "
            f"{self.end.fds} at the end of the turns (drift {self.fd_drift:+d}; limit ±5), "
            f"{self.idle.fds if self.idle else '-'} idle; samples: {fds}",
            f"'Unclosed client session' / 'Unclosed connector' / ResourceWarning lines in the "
            f"bot's output: {len(self.leak_lines)}; ERROR lines: {self.errors}; exit status on "
            f"SIGTERM: {self.exit_status}",
            *(f"  {line}" for line in self.leak_lines[:5]),
            *(f"  failed: {f}" for f in self.failures[:5]),
        ]


class Soak:
    def __init__(
        self,
        workdir: Path,
        *,
        turns: int,
        warmup: int,
        clients: int,
        seed: int,
        mix: dict[str, float] | None = None,
    ):
        self.workdir = workdir
        self.turns = turns
        self.warmup = warmup
        self.clients = clients
        self.rng = random.Random(seed)
        self.mix = mix or MIX
        self.result = SoakResult(turns=turns, warmup=warmup)
        self.connector = CountingConnector()
        self.process = BotProcess(workdir / "data", workdir / "bot.log", LOG_LEVEL="WARNING")
        self.done = 0
        self.next_sample = warmup
        self.concerns: list[str] = []
        self.filters: list[str] = []
        self._serial = 0

    async def run(self) -> SoakResult:
        started = time.monotonic()
        await self.connector.start()
        try:
            self.process.start()
            await self.process.wait_ready()
            self.result.start_rss_kib = rss_kib(self.process.pid)
            self.result.start_fds = open_fds(self.process.pid)
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await asyncio.gather(*(self._client(session) for _ in range(self.clients)))
                self._sample()
                await self._wait_for_outbox(session)
            self._sample()
            self.result.idle = self.result.samples.pop()
            self.result.exit_status = await self.process.astop()
        finally:
            if self.process.process is not None and self.process.process.poll() is None:
                await self.process.astop()
            await self.connector.stop()
        self.result.seconds = time.monotonic() - started
        self.result.posted = self.connector.counts["posted"]
        log = self.process.log_text()
        self.result.leak_lines = [
            line for line in log.splitlines() if any(w in line for w in LEAK_WORDS)
        ]
        self.result.errors = count_lines(log, '"level": "ERROR"')
        return self.result

    def _sample(self) -> None:
        pid = self.process.pid
        data = self.process.data_dir
        files = [data / "system.json", *data.glob("records/*.json")]
        size = sum(f.stat().st_size for f in files if f.exists()) // 1024
        self.result.samples.append(Sample(self.done, rss_kib(pid), open_fds(pid), size))

    async def _wait_for_outbox(self, session: aiohttp.ClientSession) -> None:
        """Let the outbox finish, so the last sample is not taken mid-delivery."""
        deadline = time.monotonic() + 120
        quiet = 0
        while time.monotonic() < deadline and quiet < 3:
            async with session.get(f"{self.process.base}/healthz") as response:
                pending = (await response.json())["outbox"]["pending"]
            quiet = quiet + 1 if pending == 0 else 0
            await asyncio.sleep(0.5)

    def _activity(self) -> tuple[str, dict[str, Any]]:
        url = self.connector.url
        kind = self.rng.choices(list(self.mix), weights=list(self.mix.values()))[0]
        if kind == "ack" and not self.concerns:
            kind = "concern"
        if kind == "approve" and not self.filters:
            kind = "filter"
        self._serial += 1
        token = f"S{self._serial:06d}"
        if kind == "welcome":
            who = self.rng.choice([TEACHER, DSL, DEPUTY_DSL, IT, HEADTEACHER, PUPIL])
            return kind, message(who, "hello", url)
        if kind == "help":
            return kind, help_click(url, self.rng.choice([TEACHER, DSL, IT]))
        if kind == "my-reports":
            return kind, card_action(TEACHER, "reports.mine", url)
        if kind == "concern":
            category = self.rng.choice(["cyberbullying", "cyberbullying", "grooming"])
            return kind, concern_submit(url, token, category, urgent=category == "grooming")
        if kind == "filter":
            return kind, filter_submit(url, token)
        if kind == "ack":
            return kind, acknowledge(url, self.concerns.pop(self.rng.randrange(len(self.concerns))))
        return kind, approve(url, self.filters.pop(self.rng.randrange(len(self.filters))))

    async def _client(self, session: aiohttp.ClientSession) -> None:
        while self.done < self.turns:
            self.done += 1
            kind, activity = self._activity()
            self.result.kinds[kind] += 1
            started = time.monotonic()
            try:
                status, body = await post_activity(session, self.process.base, activity)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.result.failures.append(f"{kind}: {exc.__class__.__name__}")
                continue
            self.result.latencies.append(time.monotonic() - started)
            if status not in (200, 201):
                self.result.failures.append(f"{kind}: HTTP {status} {str(body)[:120]}")
            elif kind in {"concern", "filter"}:
                ref = received_ref(status, body)
                if ref is None:
                    self.result.failures.append(f"{kind}: not received: {str(body)[:120]}")
                else:
                    (self.concerns if kind == "concern" else self.filters).append(ref)
            if self.done >= self.next_sample:
                self.next_sample += 1000
                self._sample()


async def run_soak(
    workdir: Path,
    *,
    turns: int,
    warmup: int | None = None,
    clients: int = 4,
    seed: int = 1,
    reads_only: bool = False,
) -> SoakResult:
    """Run the soak in ``workdir`` (data folder and the bot's log stay there). ``reads_only``
    leaves out every turn that saves something (to tell a leak from the store's data growing)."""
    warmup = warmup if warmup is not None else max(500, turns // 10)
    mix = {k: v for k, v in MIX.items() if k in READS} if reads_only else MIX
    soak = Soak(workdir, turns=turns, warmup=warmup, clients=clients, seed=seed, mix=mix)
    return await soak.run()


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.reliability.soak --turns 20000``; exit status 0 when the limits held."""
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak")
    parser.add_argument("--turns", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="keep the data folder and log here")
    parser.add_argument("--reads-only", action="store_true", help="no turn saves anything")
    args = parser.parse_args(argv)
    with _workdir(args.keep) as folder:
        result = asyncio.run(
            run_soak(
                folder,
                turns=args.turns,
                warmup=args.warmup,
                clients=args.clients,
                seed=args.seed,
                reads_only=args.reads_only,
            )
        )
    for line in result.lines():
        print(line)
    ok = (
        not result.failures
        and result.rss_growth_mib < 20
        and abs(result.fd_drift) <= 5
        and result.idle_fd_excess <= 5
        and not result.leak_lines
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
