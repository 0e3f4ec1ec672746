"""R1: ``kill -9`` the real server at random moments, again and again, and lose nothing.

The harness starts ``python -m bot`` (local mode, a fresh data folder) against a local fake Bot
Connector, drives concurrent concern reports, filter requests, DSL acknowledgements and IT
approvals over HTTP, and kills the process with SIGKILL at random moments (mid-burst, and some
while the store is being opened or a crashed change replayed), restarting it each time.

It keeps a ledger: an item counts as acknowledged only when the server answered 200 with its
"Received: OSC-…" / "Sent: FLT-…" card, a decision only when the answer showed the new status.
A request cut off by a kill is in doubt; like Teams, the harness sends the very same activity
again after the restart. At the end it waits for the outbox to drain, stops the bot, opens the
store read-only and compares: every acknowledged item and decision is there exactly once, no
file is unreadable, the audit chain verifies, and every card was delivered exactly once.

    python -m tests.reliability.crash_harness --kills 200          (the full run)
    CRASH_KILLS=200 python -m pytest tests/reliability/test_crash_safety.py -s

Duplicate deliveries are measured, not assumed away: a kill after Teams accepted a post but
before the store recorded its message id makes the outbox post again after the restart. Each
extra copy is reported with the time between the first copy and the kill that followed it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.reliability.common import (
    ACKNOWLEDGED,
    APPROVED,
    CONCERN_KINDS,
    BotProcess,
    DeliveryCount,
    ProcessExited,
    RecordingConnector,
    StoreView,
    acknowledge,
    approve,
    concern_expected,
    concern_start,
    concern_submit,
    count_lines,
    filter_start,
    filter_submit,
    healthz,
    holds_file,
    outbound_conversations,
    post_activity,
    read_store,
    received_ref,
    scan_files,
    shows_status,
)
from tests.support import DSL_CHANNEL, IT_CHANNEL, TEACHER, dm

#: How much later than the kill signal this process may read a post the bot sent before it.
LATE_READ = 0.5
#: Seconds after a restart (serving) in which answered submissions are counted.
EARLY = 0.6


@dataclass
class Item:
    """One thing a user asked for, and what the bot has told them so far."""

    kind: str  # "concern" or "filter"
    token: str
    category: str
    urgent: bool
    submit: dict[str, Any]
    ref: str | None = None
    decision: dict[str, Any] | None = None
    decided: bool = False


@dataclass
class Result:
    """The harness's figures."""

    kills: int = 0
    startup_kills: int = 0
    seconds: float = 0.0
    seed: int = 0
    workers: int = 0
    items: int = 0
    acknowledged_concerns: int = 0
    acknowledged_filters: int = 0
    acknowledged_decisions: int = 0
    resent: int = 0
    replays: int = 0
    unexpected_answers: list[str] = field(default_factory=list)
    start_seconds: list[float] = field(default_factory=list)
    drain_seconds: float = 0.0
    lost: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    refused_starts: int = 0
    audit_ok: bool = False
    audit_entries: int = 0
    audit_problem: str = ""
    outbox_left: int = -1
    undelivered: list[str] = field(default_factory=list)
    deliveries: int = 0
    updates: int = 0
    duplicates: list[str] = field(default_factory=list)
    unexplained_duplicates: list[str] = field(default_factory=list)
    window_ms: list[float] = field(default_factory=list)
    #: Whether the bot read channels back (``LOCAL_GRAPH_URL``) before posting a card again.
    read_back: bool = True
    #: Channel cards posted (every copy), and how many of them were a second copy.
    channel_cards: int = 0
    channel_duplicates: int = 0
    #: For each restart that served: submissions answered "Received"/"Sent" in its first
    #: ``EARLY`` seconds.
    early_answers: list[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return self.acknowledged_concerns + self.acknowledged_filters + self.acknowledged_decisions

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and not self.twice
            and not self.corrupt
            and self.refused_starts == 0
            and self.audit_ok
            and self.outbox_left == 0
            and not self.undelivered
            and not self.unexplained_duplicates
        )

    def channel_line(self) -> str:
        """Channel cards posted a second time after a kill (issue 22 item 11)."""
        share = self.channel_duplicates / self.channel_cards if self.channel_cards else 0.0
        how = "with the read-back" if self.read_back else "WITHOUT the read-back"
        return (
            f"channel cards {how}: {self.channel_duplicates} posted twice of "
            f"{self.channel_cards} ({share:.1%})"
        )

    def early_line(self) -> str:
        """Submissions answered just after each restart (the stall after restarts)."""
        counts = self.early_answers
        half = len(counts) // 2
        first, last = counts[:half], counts[half:]
        return (
            f"submissions answered in the first {EARLY} s after a restart: median "
            f"{_median([float(c) for c in counts]):.0f} (first half of the restarts "
            f"{_median([float(c) for c in first]):.0f}, second half "
            f"{_median([float(c) for c in last]):.0f})"
        )

    def lines(self) -> list[str]:
        duplicates = len(self.duplicates)
        explained = duplicates - len(self.unexplained_duplicates)
        if not self.read_back:  # channel cards with a kill between are explained too
            explained -= self.channel_duplicates
        return [
            f"crash harness: {self.kills} kills -9 ({self.startup_kills} while the store was "
            f"opening), seed {self.seed}, {self.workers} concurrent clients, "
            f"{self.seconds:.0f} s",
            f"acknowledged items: {self.acknowledged} ({self.acknowledged_concerns} concern "
            f"reports, {self.acknowledged_filters} filter requests, "
            f"{self.acknowledged_decisions} acknowledgements/approvals)",
            f"requests cut off by a kill and re-sent like Teams: {self.resent}; "
            f"journal replays at start-up: {self.replays}",
            f"start-up to serving: median {_median(self.start_seconds):.2f} s, longest "
            f"{max(self.start_seconds, default=0):.2f} s; final drain {self.drain_seconds:.1f} s",
            f"lost items: {len(self.lost)}",
            f"items stored twice: {len(self.twice)}",
            f"corrupt files: {len(self.corrupt)} (starts refused: {self.refused_starts})",
            f"audit chain: {'verifies' if self.audit_ok else 'BROKEN ' + self.audit_problem}"
            f" ({self.audit_entries} entries)",
            f"outbox left: {self.outbox_left}; undelivered: {len(self.undelivered)}; "
            f"cards posted: {self.deliveries}, card updates: {self.updates}",
            f"duplicate deliveries: {duplicates} (channel cards: {self.channel_duplicates}; "
            f"{explained} 1:1 messages with a kill between the copies: Teams took the message, "
            f"the bot died before recording it; first copy taken {_spread(self.window_ms)} "
            "before the kill)",
            self.channel_line(),
            self.early_line(),
            *(f"  UNEXPLAINED duplicate: {d}" for d in self.unexplained_duplicates),
            *(f"  duplicate: {d}" for d in self.duplicates[:5]),
            *(f"  LOST: {x}" for x in self.lost[:10]),
            *(f"  TWICE: {x}" for x in self.twice[:10]),
            *(f"  CORRUPT: {x}" for x in self.corrupt[:10]),
            *(f"  UNDELIVERED: {x}" for x in self.undelivered[:10]),
            *(f"  unexpected answer: {x}" for x in self.unexpected_answers[:5]),
        ]


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2] if values else 0.0


def _spread(ms: list[float]) -> str:
    if not ms:
        return "-"
    return f"{min(ms):.0f} to {max(ms):.0f} ms (median {_median(ms):.0f} ms)"


class CrashHarness:
    """One run: see the module docstring."""

    def __init__(
        self,
        workdir: Path,
        *,
        kills: int,
        seed: int,
        workers: int = 4,
        longest_life: float = 1.5,
        startup_kill_share: float = 0.1,
        think: float = 0.4,
        read_back: bool = True,
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.kills = kills
        self.rng = random.Random(seed)
        self.result = Result(seed=seed, workers=workers, read_back=read_back)
        self.read_back = read_back
        #: When each start began serving, and when each submission was answered.
        self.ready_at: list[float] = []
        self.answered_at: list[float] = []
        self.workers = workers
        self.longest_life = longest_life
        self.startup_kill_share = startup_kill_share
        self.think = think
        self.connector = RecordingConnector()
        self.process: BotProcess | None = None
        self.items: list[Item] = []
        self.resend: list[tuple[Item, str]] = []
        self.kill_times: list[float] = []
        self._up = asyncio.Event()
        self._closing = False
        self._stopped = False
        self._busy = 0
        self._serial = 0

    # ----- the run ------------------------------------------------------------------------------

    async def run(self) -> Result:
        started = time.monotonic()
        await self.connector.start()
        # The bot reads channels back through the connector's stand-in for Graph (as it does
        # through Graph in production), so a post cut off by a kill is not made twice; without
        # it (the Agents Playground has no Graph) the repeats are measured.
        extra = {"LOCAL_GRAPH_URL": self.connector.url + "v1.0"} if self.read_back else {}
        self.process = BotProcess(self.data_dir, self.workdir / "bot.log", **extra)
        workers = [asyncio.create_task(self._worker()) for _ in range(self.workers)]
        try:
            if await self._kill_repeatedly():
                await self._finish()
        finally:
            self._stopped = True
            self._up.set()
            await asyncio.gather(*workers, return_exceptions=True)
            if self.process.process is not None and self.process.process.poll() is None:
                await self.process.astop()
            await self.connector.stop()
        self.result.replays = count_lines(
            self.process.log_text(), "replaying a change interrupted by a crash"
        )
        self.result.seconds = time.monotonic() - started
        return self.result

    async def _kill_repeatedly(self) -> bool:
        assert self.process is not None
        process = self.process
        for number in range(self.kills):
            process.start()
            if self.rng.random() < self.startup_kill_share and await self._store_opening():
                await asyncio.sleep(self.rng.uniform(0.0, 0.05))
                self.result.startup_kills += 1
            else:
                if not await self._serving():
                    return False
                self._up.set()
                await asyncio.sleep(self.rng.uniform(0.05, self.longest_life))
            self._up.clear()
            self.kill_times.append(time.monotonic())
            process.kill9()
            self.result.kills += 1
            for problem in scan_files(self.data_dir):
                self.result.corrupt.append(f"after kill {number + 1}: {problem}")
        process.start()
        return await self._serving()

    async def _store_opening(self) -> bool:
        """Wait until the process holds the store's lock (it is opening or replaying)."""
        assert self.process is not None
        lock = self.data_dir / "LOCK"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.process is not None and self.process.process.poll() is not None:
                return False
            if holds_file(self.process.pid, lock):
                return True
            await asyncio.sleep(0.002)
        return False

    async def _serving(self) -> bool:
        assert self.process is not None
        began = time.monotonic()
        try:
            await self.process.wait_ready()
            self.result.start_seconds.append(time.monotonic() - began)
            self.ready_at.append(time.monotonic())
        except ProcessExited as exc:
            self.result.refused_starts += 1
            self.result.corrupt.append(f"the bot refused to start: {exc.output[-400:]}")
            return False
        return True

    async def _finish(self) -> None:
        """No new work; settle every request in doubt; let the outbox drain; then compare."""
        assert self.process is not None
        self._up.set()
        await asyncio.sleep(0.5)
        self._closing = True
        deadline = time.monotonic() + 180
        while (self.resend or self._busy) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        began = time.monotonic()
        await self._drain()
        self.result.drain_seconds = time.monotonic() - began
        status = await self.process.astop()
        if status != 0:
            self.result.corrupt.append(f"the bot exited with status {status} on SIGTERM")
        for problem in scan_files(self.data_dir):
            self.result.corrupt.append(f"at the end: {problem}")
        try:
            view = await read_store(self.data_dir)
        except Exception as exc:  # the store itself says it cannot be read
            self.result.corrupt.append(f"read-only open failed: {exc.__class__.__name__}: {exc}")
            return
        self._compare(view)

    async def _drain(self) -> None:
        """Wait until every expected card is posted and the outbox reports nothing pending
        (for as long as the outbox keeps making progress: a minute without any gives up)."""
        assert self.process is not None
        quiet_since: float | None = None
        progress_at = time.monotonic()
        seen = -1
        async with aiohttp.ClientSession() as session:
            while time.monotonic() - progress_at < 60:
                posted = len(self.connector.posted) + len(self.connector.updated)
                body = await healthz(session, self.process.base)
                pending = body["outbox"]["pending"]
                if posted != seen:
                    progress_at = time.monotonic()
                if pending == 0 and posted == seen and not self._missing_now():
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since >= 2.5:
                        return
                else:
                    quiet_since = None
                seen = posted
                await asyncio.sleep(0.5)

    def _missing_now(self) -> bool:
        counts = DeliveryCount.of(self.connector.deliveries(outbound_conversations()))
        for item in self.items:
            if item.ref is None:
                continue
            for conversation, wanted in self._expected(item, approved=item.decided).items():
                if counts.to(conversation, item.ref) < wanted:
                    return True
        return False

    @staticmethod
    def _expected(item: Item, *, approved: bool) -> dict[str, int]:
        """Distinct cards about the item each conversation must get."""
        if item.kind == "concern":
            return dict.fromkeys(concern_expected(item.category, item.urgent), 1)
        if approved:  # the request card, then IT's task; the teacher is told
            return {IT_CHANNEL: 2, dm(TEACHER): 1}
        return {IT_CHANNEL: 1}

    # ----- load ---------------------------------------------------------------------------------

    def _token(self) -> str:
        self._serial += 1
        return f"H{self._serial:06d}"

    def _next_job(self) -> tuple[Item | None, str, dict[str, Any]] | None:
        url = self.connector.url
        if self.resend:
            item, which = self.resend.pop(0)
            activity = item.submit if which == "submit" else item.decision
            assert activity is not None
            return item, which, activity
        if self._closing:
            return None
        roll = self.rng.random()
        if roll < 0.15:
            return self._decision_job("concern", url) or self._new_concern(url)
        if roll < 0.27:
            return self._decision_job("filter", url) or self._new_filter(url)
        if roll < 0.65:
            return self._new_concern(url)
        return self._new_filter(url)

    def _new_concern(self, url: str) -> tuple[Item | None, str, dict[str, Any]]:
        category = self.rng.choice(sorted(CONCERN_KINDS))
        urgent = CONCERN_KINDS[category]
        token = self._token()
        item = Item(
            "concern", token, category, urgent, concern_submit(url, token, category, urgent=urgent)
        )
        self.items.append(item)
        return item, "submit", item.submit

    def _new_filter(self, url: str) -> tuple[Item | None, str, dict[str, Any]]:
        token = self._token()
        item = Item("filter", token, "games", False, filter_submit(url, token))
        self.items.append(item)
        return item, "submit", item.submit

    def _decision_job(self, kind: str, url: str) -> tuple[Item | None, str, dict[str, Any]] | None:
        waiting = [i for i in self.items if i.kind == kind and i.ref and i.decision is None]
        if not waiting:
            return None
        item = self.rng.choice(waiting)
        assert item.ref is not None
        item.decision = acknowledge(url, item.ref) if kind == "concern" else approve(url, item.ref)
        return item, "decide", item.decision

    async def _worker(self) -> None:
        connector = aiohttp.TCPConnector(force_close=True)  # a killed server leaves no stale pool
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while not self._stopped:
                await self._up.wait()
                if self._stopped:
                    return
                job = self._next_job()
                if job is None:
                    await asyncio.sleep(0.02)
                    continue
                self._busy += 1
                try:
                    await self._do(session, *job)
                finally:
                    self._busy -= 1
                await asyncio.sleep(self.rng.uniform(0.0, self.think))

    async def _do(
        self,
        session: aiohttp.ClientSession,
        item: Item | None,
        which: str,
        activity: dict[str, Any],
    ) -> None:
        assert self.process is not None and item is not None
        base = self.process.base
        try:
            if which == "submit" and item.ref is None and self.rng.random() < 0.5:
                # the form's first step, as a person would open it (its answer changes nothing)
                opening = (
                    concern_start(self.connector.url, item.category)
                    if item.kind == "concern"
                    else filter_start(self.connector.url)
                )
                await post_activity(session, base, opening)
            status, body = await post_activity(session, base, activity)
        except (aiohttp.ClientError, TimeoutError):
            self.result.resent += 1
            self.resend.append((item, which))
            return
        if which == "submit":
            ref = received_ref(status, body)
            if ref is None:
                self._unexpected(item, status, body)
                return
            self.answered_at.append(time.monotonic())
            if item.ref is not None and item.ref != ref:
                self.result.twice.append(f"{item.token}: answered {item.ref}, then {ref}")
            if item.ref is None:
                item.ref = ref
                if item.kind == "concern":
                    self.result.acknowledged_concerns += 1
                else:
                    self.result.acknowledged_filters += 1
            return
        assert item.ref is not None
        words = ACKNOWLEDGED if item.kind == "concern" else APPROVED
        if not shows_status(status, body, item.ref, words):
            self._unexpected(item, status, body)
            return
        if not item.decided:
            item.decided = True
            self.result.acknowledged_decisions += 1

    def _unexpected(self, item: Item, status: int, body: Any) -> None:
        self.result.unexpected_answers.append(f"{item.token}: HTTP {status} {str(body)[:160]}")
        self.resend.append((item, "submit" if item.decision is None else "decide"))

    # ----- the comparison -----------------------------------------------------------------------

    def _compare(self, view: StoreView) -> None:
        result = self.result
        result.items = len(self.items)
        result.audit_ok = view.chain_ok
        result.audit_problem = view.chain_problem
        result.audit_entries = len(view.audit)
        result.outbox_left = view.outbox
        approved: dict[str, bool] = {}
        for item in self.items:
            found = view.by_token(item.token, item.kind)
            if item.ref is None:
                if len(found) > 1:
                    result.twice.append(f"{item.token}: {len(found)} records, none acknowledged")
                continue
            if not found:
                result.lost.append(f"{item.ref} ({item.token})")
                continue
            if len(found) > 1 or found[0]["id"] != item.ref:
                ids = ", ".join(f["id"] for f in found)
                result.twice.append(f"{item.token}: told {item.ref}, stored as {ids}")
            subject = f"{'concern' if item.kind == 'concern' else 'filter_request'}:{item.ref}"
            reported = "concern.report" if item.kind == "concern" else "filter.request"
            if view.audit_count(subject, reported) != 1:
                result.twice.append(
                    f"{item.ref}: {view.audit_count(subject, reported)} {reported} audit entries"
                )
            status = found[0]["data"].get("status")
            approved[item.token] = status == "approved"
            decided_action = "concern.acknowledge" if item.kind == "concern" else "filter.approve"
            decisions = view.audit_count(subject, decided_action)
            if decisions > 1:
                result.twice.append(f"{item.ref}: {decisions} {decided_action} entries")
            if item.decided:
                wanted = "acknowledged" if item.kind == "concern" else "approved"
                if status != wanted or decisions != 1:
                    result.lost.append(f"{item.ref}: decision lost (status {status})")
        posts = self.connector.deliveries(outbound_conversations())
        counts = DeliveryCount.of(posts)
        result.channel_cards = sum(
            1 for p in self.connector.posted if p["_conversation"] in {DSL_CHANNEL, IT_CHANNEL}
        )
        result.early_answers = [
            sum(1 for at in self.answered_at if ready <= at < ready + EARLY)
            for ready in self.ready_at[:-1]  # the last start is the final drain: no new work
        ]
        result.deliveries = len(posts)
        result.updates = self.connector.update_count
        for item in self.items:
            if item.ref is None:
                continue
            wanted_cards = self._expected(item, approved=approved.get(item.token, False))
            for conversation, wanted in wanted_cards.items():
                got = counts.to(conversation, item.ref)
                if got < wanted:
                    result.undelivered.append(f"{item.ref} to {conversation}: {got}/{wanted}")
        for (conversation, ref, kind), times in sorted(counts.duplicates().items()):
            for earlier, later in itertools.pairwise(times):
                # A second copy is explained when a kill came between the two: the outbox record
                # outlived the process that posted it, i.e. Teams took the post and the bot died
                # before its store recorded it. (The first copy may be read here a moment after
                # the kill signal: the bot had sent it, then died waiting for the answer.)
                kills = [k for k in self.kill_times if earlier - LATE_READ <= k <= later]
                if conversation in {DSL_CHANNEL, IT_CHANNEL}:
                    result.channel_duplicates += 1
                line = (
                    f"{kind!r} about {ref} in {conversation}: again {later - earlier:.2f} s later"
                )
                if conversation in {DSL_CHANNEL, IT_CHANNEL} and (self.read_back or not kills):
                    # A channel post cut off by a kill is found by reading the channel back,
                    # never made again: any second channel card is a failure (without the
                    # read-back, one with a kill between the copies is measured instead).
                    result.duplicates.append(line + "; a CHANNEL card")
                    result.unexplained_duplicates.append(line + "; a channel card")
                elif kills:
                    gap = kills[0] - earlier
                    when = "before" if gap >= 0 else "after"
                    line += f"; Teams took the first copy {abs(gap) * 1000:.0f} ms {when} a kill"
                    result.window_ms.append(gap * 1000)
                    result.duplicates.append(line)
                else:
                    result.duplicates.append(line + "; NO kill came between the copies")
                    result.unexplained_duplicates.append(line)


async def run_harness(
    workdir: Path,
    *,
    kills: int,
    seed: int | None = None,
    workers: int = 4,
    read_back: bool = True,
) -> Result:
    """Run the harness in ``workdir`` (its data folder and the bot's log stay there)."""
    seed = seed if seed is not None else random.SystemRandom().randrange(1_000_000)
    return await CrashHarness(
        workdir, kills=kills, seed=seed, workers=workers, read_back=read_back
    ).run()


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    folder = Path(tempfile.mkdtemp(prefix="crash-harness-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.reliability.crash_harness --kills 200``; exit status 0 when all held."""
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.crash_harness")
    parser.add_argument("--kills", type=int, default=int(os.environ.get("CRASH_KILLS", "200")))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keep", type=Path, default=None, help="keep the data folder and log here")
    parser.add_argument(
        "--no-read-back",
        action="store_true",
        help="run the bot without the channel read-back (as in the Agents Playground, which has "
        "no Graph) and measure the channel cards posted twice",
    )
    args = parser.parse_args(argv)
    # The bot dying mid-request makes the fake connector's server log "Connection lost": expected.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    with _workdir(args.keep) as folder:
        result = asyncio.run(
            run_harness(
                folder,
                kills=args.kills,
                seed=args.seed,
                workers=args.workers,
                read_back=not args.no_read_back,
            )
        )
        for line in result.lines():
            print(line)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
