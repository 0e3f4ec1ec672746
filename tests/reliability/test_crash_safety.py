"""R1 in the default suite: the crash harness at a size that fits CI.

The full run (200 kills) is ``python -m tests.reliability.crash_harness --kills 200``, or this
test with ``CRASH_KILLS=200``; ``CRASH_SEED`` repeats a run's random choices.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.crash_harness import run_harness

CI_KILLS = 25


@pytest.mark.slow
async def test_kill_9_at_random_moments_loses_nothing_and_corrupts_nothing(
    tmp_path: Path,
) -> None:
    kills = int(os.environ.get("CRASH_KILLS", str(CI_KILLS)))
    seed = int(os.environ["CRASH_SEED"]) if os.environ.get("CRASH_SEED") else None

    result = await run_harness(tmp_path, kills=kills, seed=seed)

    print("\n" + "\n".join(result.lines()))
    assert result.kills == kills
    assert result.acknowledged > 0 and result.resent >= 0
    assert result.lost == []
    assert result.twice == []
    assert result.corrupt == [] and result.refused_starts == 0
    assert result.audit_ok, result.audit_problem
    assert result.outbox_left == 0
    assert result.undelivered == []
    # No channel card twice: a post cut off by a kill is found by reading the channel back. A
    # repeated 1:1 message is only acceptable as the known window (Teams took it and the bot
    # was killed before recording it, so a kill came between the two copies): 1:1 chats are not
    # read back.
    assert result.channel_duplicates == 0
    assert result.unexplained_duplicates == []
