"""The real ``python -m bot`` process: cold start (spawn -> first ``/healthz`` 200) and peak
memory (VmHWM from /proc) after mixed turns on a pre-filled store."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.load import read_status
from bench.product import local_env

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free loopback port (closed again at once; the bot binds it next)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningBot:
    """A spawned bot: its pid, URL and how long it took to answer ``/healthz``."""

    pid: int
    url: str
    started_seconds: float
    log: Path


def _env(data_dir: Path, directory: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("Microsoft", "BOT_", "TEAMS_", "GRAPH_"))
        and k not in {"PORT", "HOST", "SCHOOL_CONFIG", "LOCAL_DIRECTORY", "DIRECTORY"}
    }
    env.update(local_env(data_dir, directory, PORT=str(port), HOST="127.0.0.1"))
    env["LOG_FORMAT"] = "text"
    # As a deployed install: Python keeps the compiled bytecode of our modules after the first
    # start (a shell that forbids it would time compiling ~200 modules on every start).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@contextlib.asynccontextmanager
async def spawn_bot(
    data_dir: Path, directory: Path, log: Path, limit_s: float = 120.0
) -> AsyncIterator[RunningBot]:
    """Start ``python -m bot`` on ``data_dir`` and wait for ``/healthz`` to answer 200."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        began = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=ROOT,
            env=_env(data_dir, directory, port),
            stdout=sink,
            stderr=sink,
        )
        try:
            async with aiohttp.ClientSession() as session:
                while True:
                    if process.returncode is not None:
                        raise RuntimeError(f"the bot exited with {process.returncode}; see {log}")
                    if time.perf_counter() - began > limit_s:
                        raise TimeoutError(f"no /healthz 200 within {limit_s:.0f} s; see {log}")
                    with contextlib.suppress(aiohttp.ClientError):
                        async with session.get(f"{base}/healthz") as response:
                            if response.status == 200:
                                break
                    await asyncio.sleep(0.005)
            started = time.perf_counter() - began
            yield RunningBot(process.pid, f"{base}/api/messages", started, log)
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of ``pid`` in MB."""
    status = read_status(pid)
    return {"rss_mb": status["VmRSS"] / 1024, "peak_mb": status["VmHWM"] / 1024}
