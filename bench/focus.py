"""A few product cells on their own, for working on one turn (issue 25):

    .venv/bin/python -m bench.focus --turns pupil_submit,concern_submit --concurrency 20
    .venv/bin/python -m bench.focus --turns welcome --concurrency 1 --profile
    .venv/bin/python -m bench.focus --turns concern_submit --concurrency 1 --references

The same cells as ``python -m bench`` (``bench.run.product_cells``: a fresh copy of a pre-filled
store and a freshly built app per cell, the same turns and checks), on one store size, without
the references, the PostgreSQL column or the real process. ``--profile`` adds, per turn at c=1,
the top costs of its cProfile (``bench.run.profile_turns``). ``--references`` first runs the
echo anchor and the two floors (``bench.run.references``) at the same concurrencies, and then
prints each product cell's p50 against the echo's and the fsync floor's, as issue 25's targets
are put. Compare cells within one run.
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
from typing import Any

from bench import report
from bench.connector import LeanConnector
from bench.plan import FULL, QUICK
from bench.prefill import prefill
from bench.run import NOW, _say, product_cells, profile_turns, references
from bench.school import TURNS, write_directory


def ratio_lines(refs: list[dict[str, Any]], cells: list[dict[str, Any]]) -> list[str]:
    """Each product cell's p50 against the echo anchor's and the fsync floor's, at its own
    concurrency (issue 25: at most 0.3 and 4 at c=1)."""
    by = {(r["turn"], r["concurrency"]): r["p50_ms"] for r in refs}
    lines = []
    for cell in cells:
        echo = by.get(("echo_anchor", cell["concurrency"]))
        fsync = by.get(("floor_fsync", cell["concurrency"]))
        if not echo or not fsync:
            continue
        lines.append(
            f"{cell['turn']:<15} c={cell['concurrency']:<3} p50 {cell['p50_ms']:.1f} ms = "
            f"{cell['p50_ms'] / echo:.2f} x echo ({echo:.1f} ms), "
            f"{cell['p50_ms'] / fsync:.1f} x fsync floor ({fsync:.1f} ms)"
        )
    return lines


async def focus(
    turns: list[str],
    concurrencies: tuple[int, ...],
    size: int,
    count: int | None,
    profile: int,
    with_references: bool = False,
) -> None:
    plan = replace(FULL, sizes=(size, size), concurrencies=concurrencies)
    if count:
        plan = replace(
            plan,
            turns={c: count for c in concurrencies},
            anchor_turns={c: count for c in concurrencies},
        )
    work = Path(tempfile.mkdtemp(prefix="bench-focus-"))
    connector = LeanConnector()
    await connector.start()
    try:
        refs = await references(plan, connector, work, _say) if with_references else []
        directory = write_directory(work / "directory.json")
        filled = await prefill(
            work / "template", size, now=NOW, new_count=min(size // 2, plan.max_new)
        )
        cells = await product_cells(
            plan, connector, {size: filled}, directory, work, _say, only=tuple(turns)
        )
        if refs:
            sys.stdout.write("\n".join(ratio_lines(refs, cells)) + "\n")
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
        "--references",
        action="store_true",
        help="run the echo anchor and the floors first, and print each cell's ratios",
    )
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
    asyncio.run(focus(turns, concurrencies, size, args.count, args.profile, args.references))
    return 0


if __name__ == "__main__":
    sys.exit(main())
