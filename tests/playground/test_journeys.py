"""End to end in a real Teams-like client: people of the demo school use the bot in the
Microsoft 365 Agents Playground, in headless Chromium, by typing and clicking (e2e/journeys.js).

Each journey gets its own bot (local mode, empty data folder); the Node runner starts one
Playground per person, the router between them and Chromium, checks what each person sees, and
saves screenshots under build/e2e/. With ``E2E_UPDATE_DOCS=1`` it also refreshes the README's
pictures in docs/images/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.playground.conftest import RESULTS, SHOTS
from tests.support import ROOT

pytestmark = pytest.mark.playground

#: journey: what a person does and sees (the steps are in e2e/journeys.js).
JOURNEYS = {
    "concern": "a teacher reports a concern; the DSL channel shows it without the child's name; "
    "the DSL acknowledges it and the card changes for everyone in the channel",
    "worry": "a pupil reports a worry, is not sure they are safe, and sees where to get help",
    "filter": "a teacher asks for a filter exception; IT approves it in the IT channel; "
    "the teacher is told",
    "videocall": "a teacher checks a Saturday lesson and sees 'Not allowed' with the reason",
    "typed": "a pupil types that she does not feel safe: an URGENT pupil report in the DSL channel "
    "and help links for her; 'I am safe now thanks' makes no report; a teacher's typed account "
    "is offered as a prefilled concern",
    "reportmessage": "a teacher uses 'Report this message' on a message: the dialog shows it and "
    "the imagery rule, the concern form comes prefilled, and the concern reaches the DSL channel",
    "closure": "a grooming concern is serious: the DSL proposes closing it, the channel card says "
    "'Closure proposed by', the deputy DSL confirms it and the teacher is told the outcome",
    "pupilmessage": "the DSL sends the pupil who reported a ready-made message and one open "
    "question; the pupil answers in words; the DSL is told, and the answer is not in the channel",
    "overblock": "a teacher reports a blocked site that got in the way of a lesson; IT explains "
    "in the IT channel why it stays blocked; the teacher is told why",
    "fmcheck": "IT records a filtering and monitoring check with one problem; the IT channel "
    "gets the record",
}

TIMEOUT = 240  # seconds for one journey, start to finish (they take 10-30 s here)


def run_journey(e2e: Path, journey: str, bot: str) -> tuple[int, str]:
    node = shutil.which("node")
    assert node, "node is missing (script/e2e-setup checks for it)"
    command = [node, "journeys.js", journey, "--bot", bot, "--shots", str(SHOTS)]
    if os.environ.get("E2E_UPDATE_DOCS") == "1":
        command += ["--docs", str(ROOT / "docs" / "images")]
    # Its own process group: on a time-out the runner, its Playgrounds and Chromium all stop.
    process = subprocess.Popen(
        command,
        cwd=e2e,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)  # the runner stops its Playgrounds and Chromium
        try:
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        return -1, f"timed out after {TIMEOUT} s\n{output}"
    return process.returncode, output


@pytest.mark.parametrize("journey", list(JOURNEYS))
def test_journey_in_the_playground(
    playground_installed: Path, local_bot: str, journey: str
) -> None:
    code, output = run_journey(playground_installed, journey, local_bot)

    lines = [line for line in output.splitlines() if line.startswith("E2E-RESULT ")]
    if lines:
        RESULTS.append(json.loads(lines[-1].removeprefix("E2E-RESULT ")))
    assert code == 0, f"journey {journey!r} ({JOURNEYS[journey]}) failed:\n{output}"
    assert lines, f"journey {journey!r} printed no result:\n{output}"
    # Every card the journey showed was checked with axe-core in the browser (issue 24).
    axe = RESULTS[-1]["axe"]
    assert axe["cards_checked"] >= 1, output
    assert axe["card_serious_or_critical"] == 0, axe["findings"]
