"""``python -m bench [--quick] [--out PATH]``: run the benchmark, print the table, write JSON.

The full run takes under 10 minutes on 2 cores; ``--quick`` (or ``BENCH_QUICK=1``) is the smoke
version (a few hundred turns, small stores) in well under a minute. A missed target is
reported, never an error: the exit status is 0 whenever the run completes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from bench.plan import FULL, QUICK
from bench.report import table
from bench.run import run

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small smoke run")
    parser.add_argument(
        "--out", type=Path, default=None, help=f"JSON results (default {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    plan = QUICK if quick else FULL
    out = args.out or (DEFAULT_OUT.with_name("results-quick.json") if quick else DEFAULT_OUT)
    # The bot's warnings (local mode, no encryption key) would repeat for every cell.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    results = asyncio.run(run(plan, out))
    sys.stdout.write(table(results) + "\n")
    sys.stdout.write(f"Results: {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
