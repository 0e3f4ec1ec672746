"""A few product cells on their own, for working on one turn (issue 25):

    .venv/bin/python -m bench.focus --turns pupil_submit,concern_submit --concurrency 20
    .venv/bin/python -m bench.focus --turns welcome --concurrency 1 --profile

The same cells as ``python -m bench`` (``bench.run.product_cells``: a fresh copy of a pre-filled
store and a freshly built app per cell, the same turns and checks), on one store size, without
the references, the PostgreSQL column or the real process. ``--profile`` adds, per turn at c=1,
the top costs of its cProfile (``bench.run.profile_turns``). Compare cells within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from bench import report
from bench.connector import LeanConnector
from bench.plan import FULL, QUICK
from bench.prefill import prefill
from bench.run import NOW, _say, product_cells, profile_turns
from bench.school import TURNS, write_directory


async def focus(
    turns: list[str], concurrencies: tuple[int, ...], size: int, count: int | None, profile: int
) -> None:
    plan = replace(FULL, sizes=(size, size), concurrencies=concurrencies)
    if count:
        plan = replace(plan, turns={c: count for c in concurrencies})
    work = Path(tempfile.mkdtemp(prefix="bench-focus-"))
    connector = LeanConnector()
    await connector.start()
    try:
        directory = write_directory(work / "directory.json")
        filled = await prefill(
            work / "template", size, now=NOW, new_count=min(size // 2, plan.max_new)
        )
        await product_cells(
            plan, connector, {size: filled}, directory, work, _say, only=tuple(turns)
        )
        if profile:
            found = await profile_turns(
                connector, filled, directory, work, _say, tuple(turns), profile, plan.warmup
            )
            sys.stdout.write("\n".join(report.profile_lines(found)) + "\n")
    finally:
        await connector.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.focus", description=__doc__)
    parser.add_argument("--turns", default="", help=f"comma-separated, of {', '.join(TURNS)}")
    parser.add_argument("--concurrency", default="1,20", help="comma-separated (default 1,20)")
    parser.add_argument("--size", type=int, default=1000, help="concerns pre-filled")
    parser.add_argument("--count", type=int, default=None, help="turns per cell")
    parser.add_argument("--quick", action="store_true", help="the smoke plan's sizes")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile N turns of each at c=1"
    )
    args = parser.parse_args(argv)
    turns = [t for t in args.turns.split(",") if t] or list(TURNS)
    unknown = set(turns) - set(TURNS)
    if unknown:
        parser.error(f"unknown turns: {', '.join(sorted(unknown))}")
    concurrencies = tuple(int(c) for c in args.concurrency.split(",") if c)
    size = QUICK.sizes[0] if args.quick else args.size
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(focus(turns, concurrencies, size, args.count, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
