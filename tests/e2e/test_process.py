"""The real process, as ``script/server`` runs it: starts, binds loopback only in local mode,
and refuses to start (exit status 2, a clear message) when it must not run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support import ROOT, TEACHER, FakeConnector, card_buttons, message

APP_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("Microsoft") and k not in {"BOT_MODE", "HOST", "PORT"}
    }
    env["BOT_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_bot(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def running_bot(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=bot_env(tmp_path / "data", PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read() if process.stdout else "exited")  # noqa: B904
            time.sleep(0.05)
    yield port, process
    process.terminate()
    process.communicate(timeout=10)  # also closes the output pipe


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


async def test_local_mode_serves_health_and_messages_on_loopback_only(
    running_bot: tuple[int, subprocess.Popen[str]], connector: FakeConnector
) -> None:
    port, _ = running_bot
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            assert (await response.json())["mode"] == "local"
        async with session.post(
            f"http://127.0.0.1:{port}/api/messages", json=message(TEACHER, "hi", connector.url)
        ) as response:
            assert response.status in (200, 201)

    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
    card = connector.cards()[0]
    assert ("Report a concern", "concern.start") in card_buttons(card)


def test_production_mode_without_an_app_id_exits_with_a_clear_message(tmp_path: Path) -> None:
    result = run_bot(bot_env(tmp_path, BOT_MODE="production"))

    assert result.returncode == 2
    assert "MicrosoftAppId: required outside local mode" in result.stderr
    assert "MicrosoftAppTenantId: required" in result.stderr


def test_an_app_id_that_is_not_a_guid_exits(tmp_path: Path) -> None:
    result = run_bot(bot_env(tmp_path, MicrosoftAppId="online-safety-bot"))

    assert result.returncode == 2
    assert "MicrosoftAppId: 'online-safety-bot' is not a GUID" in result.stderr


def test_local_mode_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    result = run_bot(bot_env(tmp_path, HOST="0.0.0.0"))

    assert result.returncode == 2
    assert "HOST: local mode has no authentication" in result.stderr


def test_a_second_process_on_the_same_data_folder_refuses_to_start(
    running_bot: tuple[int, subprocess.Popen[str]], tmp_path: Path
) -> None:
    result = run_bot(bot_env(tmp_path / "data", PORT=str(free_port())))

    assert result.returncode == 2
    assert "another bot process" in result.stderr and "is already using" in result.stderr


def test_a_damaged_store_refuses_to_start_and_says_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "records").mkdir(parents=True)
    (data / "records" / "concern.json").write_text('{"_default": {"1": {"id": "OSC-2026-')

    result = run_bot(bot_env(data, PORT=str(free_port())))

    assert result.returncode == 2
    assert "concern.json is damaged" in result.stderr
    assert "restore this file from the last backup" in result.stderr
