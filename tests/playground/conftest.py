"""The Playground journeys' fixtures: installation (script/e2e-setup), the bot in local mode as
a real process with its own data folder and port, and a summary of each journey's timings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

E2E = ROOT / "e2e"
SHOTS = ROOT / "build" / "e2e"
MISSING = 3  # script/e2e-setup's exit status when something cannot be installed here

#: Each journey's result line (E2E-RESULT), for the summary at the end of the run.
RESULTS: list[dict[str, Any]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "playground: end-to-end journeys in the Microsoft 365 Agents Playground, driven in "
        "headless Chromium (installed by script/e2e-setup)",
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    terminalreporter.section("Playground journeys")
    for result in RESULTS:
        state = "passed" if result["ok"] else "FAILED"
        terminalreporter.write_line(f"{result['journey']}: {state} in {result['seconds']:.1f} s")
        for step in result["steps"]:
            terminalreporter.write_line(f"    {step['seconds']:5.1f} s  {step['step']}")
        if axe := result.get("axe"):
            terminalreporter.write_line(
                f"    axe-core: {axe['cards_checked']} cards checked, "
                f"{axe['card_serious_or_critical']} serious or critical findings in them "
                f"({axe['card_findings']} in all); the Playground's own page and card renderer: "
                f"{', '.join(axe['playground_findings']) or 'none'}"
            )
    terminalreporter.write_line(f"screenshots: {SHOTS.relative_to(ROOT)}/")


@pytest.fixture(scope="session")
def playground_installed() -> Path:
    """Install Chromium and e2e/node_modules when missing; skip, saying what is missing, only
    when they cannot be installed on this machine."""
    try:
        setup = subprocess.run(
            [str(ROOT / "script" / "e2e-setup")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:  # no bash
        pytest.skip(f"script/e2e-setup could not run: {exc}")
    said = (setup.stdout + setup.stderr).strip()
    if setup.returncode == MISSING:
        pytest.skip(said.splitlines()[-1] if said else "script/e2e-setup: something is missing")
    if setup.returncode != 0:
        pytest.fail(f"script/e2e-setup failed ({setup.returncode}):\n{said}")
    return E2E


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture
def local_bot(tmp_path: Path) -> Iterator[str]:
    """``python -m bot`` in local mode (as script/server runs it) with an empty data folder and
    a free port; yields its messaging endpoint. Stopped at the end, also on failure."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("Microsoft") and k not in {"BOT_MODE", "HOST", "PORT", "BOT_DATA_DIR"}
    }
    env.update(BOT_DATA_DIR=str(tmp_path / "data"), PORT=str(port))
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the bot did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/api/messages"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
