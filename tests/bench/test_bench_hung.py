"""``python -m bench.hung`` runs end to end and prints both p99s (no timing asserted: timings
are the machine's; the p99 of other users' turns beside a hung endpoint is the figure)."""

from __future__ import annotations

import logging

import pytest

from bench.hung import main


@pytest.mark.slow
def test_the_hung_endpoint_benchmark_prints_both_p99s_with_no_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = logging.getLogger("bot").level
    assert main(["--turns", "40", "--concurrency", "4", "--hung", "4"]) == 0

    out = capsys.readouterr().out
    assert "normal:" in out and "beside 4 users on a hung service URL:" in out
    assert out.count("p99") >= 3
    assert "errors 0" in out
    # It leaves the bot's logging as it found it (later tests read warnings from it).
    assert logging.getLogger("bot").level == before
