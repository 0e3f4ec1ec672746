"""The soak at a size that fits CI (the full 20 000 turns: ``python -m tests.reliability.soak``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.soak import run_soak


@pytest.mark.slow
async def test_mixed_turns_keep_memory_and_file_descriptors_flat(tmp_path: Path) -> None:
    turns = int(os.environ.get("SOAK_TURNS", "2000"))

    result = await run_soak(tmp_path, turns=turns, warmup=min(500, turns // 4))

    print("\n" + "\n".join(result.lines()))
    assert result.failures == []
    assert result.errors == 0
    assert result.rss_growth_mib < 20
    assert abs(result.fd_drift) <= 5
    assert result.idle_fd_excess <= 5
    assert result.leak_lines == []
    assert result.exit_status == 0
