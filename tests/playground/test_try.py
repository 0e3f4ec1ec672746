"""A newcomer's first ten minutes (issue 24): ``node e2e/try.js`` talks to the bot on ``PORT``
(as script/server uses it) and leaves no temporary Playground folders behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.playground


def test_try_js_honours_port_and_cleans_up(
    playground_installed: Path, local_bot: str, tmp_path: Path
) -> None:
    node = shutil.which("node")
    assert node, "node is missing (script/e2e-setup checks for it)"
    port = local_bot.split(":")[2].split("/")[0]
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "BOT_ENDPOINT"}
    env.update(PORT=port, TMPDIR=str(temp))
    process = subprocess.Popen(
        [node, str(ROOT / "e2e" / "try.js"), "Daniel Okafor"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    said: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            said.append(line)
            if line.startswith("talking to the bot at"):
                break
        assert said and said[-1].startswith(f"talking to the bot at {local_bot};"), "".join(said)
        [work] = list(temp.iterdir())
        assert work.name.startswith("online-safety-try-")
        assert any(work.glob("playground-*/.m365agentsplayground.yml"))
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, "".join(said)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    for _ in range(50):  # the Playground's own children may take a moment to go
        if not any(temp.iterdir()):
            break
        time.sleep(0.1)
    assert not any(temp.iterdir()), [p.name for p in temp.iterdir()]
