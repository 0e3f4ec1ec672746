"""Several real bot processes (``python -m bot``, local mode) sharing one PostgreSQL database,
and a client that spreads activities across them the way a load balancer (and Teams' own
re-sending) would: an activity whose instance is gone is sent again, unchanged, to the next.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

from tests.support import ROOT, card_action, message

#: Environment variables of the developer's shell that must not leak into the bots.
_AMBIENT = ("Microsoft", "BOT_", "PORT", "HOST", "DATABASE_URL", "LOG_", "SCHOOL_CONFIG")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Instance:
    """One bot process."""

    index: int
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    killed_at: float | None = None

    @property
    def base(self) -> str:
        """The instance's address."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        """True until the process has exited."""
        return self.process.poll() is None

    def log_text(self) -> str:
        """Everything the instance logged so far."""
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class Cluster:
    """Bot instances and a client for them (use ``async with Cluster.start(...)``)."""

    instances: list[Instance]
    session: aiohttp.ClientSession
    service_url: str
    #: (verb, instance index, seconds) of every answered activity.
    timings: list[tuple[str, int, float]] = field(default_factory=list)
    #: Activities sent again to another instance because theirs was gone.
    resent: int = 0

    @classmethod
    async def start(
        cls,
        count: int,
        database_url: str | None,
        folder: Path,
        service_url: str,
        *,
        env: Mapping[str, str] | None = None,
    ) -> Cluster:
        """Start ``count`` instances against ``database_url`` (None: the embedded store, one
        folder each); returns when all are healthy."""
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(_AMBIENT)}
        instances = []
        for index in range(count):
            port = free_port()
            data_dir = folder / f"instance-{index}"
            log_path = folder / f"instance-{index}.log"
            log = log_path.open("wb")
            process = subprocess.Popen(  # noqa: ASYNC220 (started once, waited on below)
                [sys.executable, "-m", "bot"],
                cwd=ROOT,
                env={
                    **base_env,
                    **({"DATABASE_URL": database_url} if database_url else {}),
                    "PORT": str(port),
                    "BOT_DATA_DIR": str(data_dir),
                    "LOG_FORMAT": "text",
                    **(env or {}),
                },
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            instances.append(Instance(index, port, process, log_path, log))
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        cluster = cls(instances, session, service_url)
        try:
            await asyncio.gather(*(cluster._wait_healthy(i) for i in instances))
        except BaseException:
            await cluster.stop()
            raise
        return cluster

    async def _wait_healthy(self, instance: Instance, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not instance.alive:
                raise RuntimeError(f"instance {instance.index} exited:\n{instance.log_text()}")
            try:
                async with self.session.get(f"{instance.base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise TimeoutError(f"instance {instance.index} did not start:\n{instance.log_text()}")

    def alive(self) -> list[Instance]:
        """The instances still running."""
        return [i for i in self.instances if i.alive]

    def kill(self, index: int) -> None:
        """``kill -9`` one instance (no clean-up of any kind)."""
        instance = self.instances[index]
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait()
        instance.killed_at = time.monotonic()

    async def stop(self) -> None:
        """Stop every instance still running (SIGTERM, then SIGKILL) and close the client."""
        for instance in self.alive():
            instance.process.terminate()
        for instance in self.instances:
            try:
                await asyncio.to_thread(instance.process.wait, 15)
            except subprocess.TimeoutExpired:
                instance.process.kill()
                instance.process.wait()
            instance.log.close()
        await self.session.close()

    async def post(self, activity: dict[str, Any], prefer: int) -> tuple[int, Any, int]:
        """Send ``activity`` to instance ``prefer`` (or the next one alive, if that one is
        gone or dies on the way); returns (status, body, the instance that answered)."""
        count = len(self.instances)
        for step in range(count):
            instance = self.instances[(prefer + step) % count]
            if not instance.alive:
                continue
            started = time.monotonic()
            try:
                async with self.session.post(
                    f"{instance.base}/api/messages", json=activity
                ) as response:
                    body = (
                        await response.json(content_type=None) if response.status != 201 else None
                    )
                    verb = str((activity.get("value") or {}).get("action", {}).get("verb", ""))
                    self.timings.append(
                        (verb or activity["type"], instance.index, time.monotonic() - started)
                    )
                    return response.status, body, instance.index
            except aiohttp.ClientConnectionError:
                self.resent += 1  # the instance died on the way: the next one gets it
        raise RuntimeError("no instance is left to answer")

    async def click(
        self, who: str, verb: str, data: dict[str, Any] | None, prefer: int, **kwargs: Any
    ) -> dict[str, Any]:
        """An ``Action.Execute`` click; returns the card Teams would show."""
        payload = {"verb": verb, "v": 1, **(data or {})}
        activity = card_action(who, verb, self.service_url, data=payload, **kwargs)
        status, body, _ = await self.post(activity, prefer)
        assert status == 200, body
        return dict(body["value"])

    async def say(self, who: str, text: str, prefer: int) -> int:
        """A message from ``who``; returns the HTTP status."""
        status, _, _ = await self.post(message(who, text, self.service_url), prefer)
        return status


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
