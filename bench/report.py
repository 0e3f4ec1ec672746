"""Ratios, target checks and the printed table."""

from __future__ import annotations

import math
from typing import Any

#: Issue 11's targets. Each names the measured figure, what it is compared with, and the limit.
COLD_START_LIMIT_S = 2.0
PEAK_RSS_LIMIT_MB = 150.0


def _find(
    results: dict[str, Any], turn: str, concurrency: int, store: int | None = None
) -> dict[str, Any] | None:
    for cell in results["cells"]:
        if (
            cell["turn"] == turn
            and cell["concurrency"] == concurrency
            and cell["store_concerns"] == store
        ):
            return dict(cell)
    return None


def _ratio(a: float, b: float) -> float | None:
    if not b or math.isnan(a) or math.isnan(b):
        return None
    return round(a / b, 2)


def add_ratios(results: dict[str, Any]) -> None:
    """Each cell's p50 against the echo anchor's and the floor's (same concurrency), and its
    throughput against the anchor's."""
    for cell in results["cells"]:
        echo = _find(results, "echo_anchor", cell["concurrency"])
        floor = _find(results, "floor", cell["concurrency"])
        cell["p50_x_echo"] = _ratio(cell["p50_ms"], echo["p50_ms"]) if echo else None
        cell["p99_x_echo"] = _ratio(cell["p99_ms"], echo["p99_ms"]) if echo else None
        cell["p50_x_floor"] = _ratio(cell["p50_ms"], floor["p50_ms"]) if floor else None
        cell["throughput_x_echo"] = _ratio(cell["throughput"], echo["throughput"]) if echo else None


def _check(
    name: str, value: float | None, limit: float, *, at_most: bool, unit: str, why: str
) -> dict[str, Any]:
    if value is None or math.isnan(value):
        passed = False
    else:
        passed = value <= limit if at_most else value >= limit
    return {
        "target": name,
        "value": value,
        "limit": limit,
        "comparison": "<=" if at_most else ">=",
        "unit": unit,
        "pass": passed,
        "by": None if value is None else round(value / limit, 2),
        "measured": why,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 11's targets, checked against this run's own anchor (pass/fail with the ratio)."""
    small, big = results["plan"]["sizes"]
    echo_p50 = (_find(results, "echo_anchor", 1) or {}).get("p50_ms")
    checks = []
    for store in (small, big):
        submit = _find(results, "concern_submit", 1, store) or {}
        welcome = _find(results, "welcome", 1, store) or {}
        busy = _find(results, "concern_submit", 20, store) or {}
        for what, cell, limit in (("concern submit", submit, 0.5), ("welcome", welcome, 0.3)):
            checks.append(
                _check(
                    f"{what} p50 <= {limit:g} x echo p50 ({store} concerns, c=1)",
                    cell.get("p50_x_echo"),
                    limit,
                    at_most=True,
                    unit="x echo",
                    why=f"{cell.get('p50_ms')} ms vs echo {echo_p50} ms",
                )
            )
        checks.append(
            _check(
                f"concern submit throughput >= 4 x echo ({store} concerns, c=20)",
                busy.get("throughput_x_echo"),
                4.0,
                at_most=False,
                unit="x echo",
                why=f"{busy.get('throughput')} turns/s vs echo "
                f"{(_find(results, 'echo_anchor', 20) or {}).get('throughput')} turns/s",
            )
        )
    for concurrency in (1, 20):
        a = _find(results, "concern_submit", concurrency, small)
        b = _find(results, "concern_submit", concurrency, big)
        checks.append(
            _check(
                f"concern submit p99 at {big} <= 1.5 x p99 at {small} concerns (c={concurrency})",
                _ratio(b["p99_ms"], a["p99_ms"]) if a and b else None,
                1.5,
                at_most=True,
                unit="x",
                why=f"{b and b['p99_ms']} ms vs {a and a['p99_ms']} ms",
            )
        )
    for store, times in results["cold_start_s"].items():
        best = min(times) if times else None
        checks.append(
            _check(
                f"cold start <= {COLD_START_LIMIT_S:g} s ({store} store)",
                best,
                COLD_START_LIMIT_S,
                at_most=True,
                unit="s",
                why=f"python -m bot spawn -> /healthz 200, best of {times}",
            )
        )
    rss = results["peak_rss"]
    checks.append(
        _check(
            f"peak RSS <= {PEAK_RSS_LIMIT_MB:g} MB ({rss.get('store_concerns')} concerns)",
            rss.get("peak_rss_mb"),
            PEAK_RSS_LIMIT_MB,
            at_most=True,
            unit="MB",
            why=f"VmHWM of python -m bot after {rss.get('mixed_turns')} mixed turns",
        )
    )
    return checks


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "-"
    return format(value, spec)


def _calls(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:g}"


def progress(cell: dict[str, Any]) -> str:
    """One line as a cell finishes."""
    store = cell["store_concerns"]
    return (
        f"{cell['turn']:<15} store={_fmt(store):>6} c={cell['concurrency']:<3} "
        f"n={cell['turns']:<5} p50={cell['p50_ms']:8.1f} ms p99={cell['p99_ms']:8.1f} ms "
        f"{cell['throughput']:7.1f}/s err={cell['errors']}"
        + (f" ({cell['first_error'][:120]})" if cell.get("first_error") else "")
    )


def postgres_progress(column: dict[str, Any]) -> str:
    """One line as the PostgreSQL column finishes."""
    if not column.get("measured"):
        return f"postgres x{column['instances']}: {column['reason']}"
    return (
        f"postgres x{column['instances']} concern_submit c={column['concurrency']} "
        f"n={column['turns']} p50={_fmt(column['p50_ms'], '.1f')} ms "
        f"p99={_fmt(column['p99_ms'], '.1f')} ms {column['throughput']:.1f}/s "
        f"err={column['errors']} ({column['cell_s']} s)"
        + (f" ({column['first_error'][:120]})" if column.get("first_error") else "")
    )


def postgres_table(results: dict[str, Any]) -> list[str]:
    """Concern submit at the PostgreSQL column's concurrency: each TinyDB store size beside
    PostgreSQL with several instances (or why PostgreSQL was not measured)."""
    pg = results.get("postgres") or {}
    if not pg:
        return []
    concurrency = pg["concurrency"]
    sizes = results["plan"]["sizes"]
    tiny = [_find(results, "concern_submit", concurrency, size) or {} for size in sizes]
    heads = [f"TinyDB {size}" for size in sizes] + [f"PostgreSQL x{pg['instances']}"]
    lines = [
        f"Concern submit at c={concurrency}, by store (TinyDB: one app in this process, on each "
        f"pre-filled store; PostgreSQL: {pg['instances']} python -m bot processes on one fresh "
        "database, the client spreading turns round robin as a load balancer would):"
    ]
    lines.append(f"{'':<12}" + "".join(f"{h:>17}" for h in heads))
    if pg.get("measured"):
        pg_values = [pg["p50_ms"], pg["p99_ms"], pg["throughput"], pg["turns"], pg["errors"]]
    else:
        pg_values = [None] * 5
    names = ("p50 ms", "p99 ms", "turns/s", "n", "err")
    keys = ("p50_ms", "p99_ms", "throughput", "turns", "errors")
    specs = (".1f", ".1f", ".1f", "", "")
    for row, (name, key, spec) in enumerate(zip(names, keys, specs, strict=True)):
        values = [cell.get(key) for cell in tiny] + [pg_values[row]]
        lines.append(f"{name:<12}" + "".join(f"{_fmt(v, spec):>17}" for v in values))
    if pg.get("measured"):
        lines.append(
            f"PostgreSQL x{pg['instances']}: at c=1 p50 {_fmt(pg['c1_p50_ms'], '.1f')} ms, "
            f"p99 {_fmt(pg['c1_p99_ms'], '.1f')} ms ({pg['c1_turns']} turns); every channel card "
            f"delivered {pg['backlog_s']} s after the last answer ({pg['delivered_per_s']} "
            f"concerns/s end to end). Not like for like with the TinyDB columns: real processes, "
            "and the client, connector, bots and database share this machine's cores."
        )
        if pg.get("first_error"):
            lines.append(f"  first error: {pg['first_error']}")
    else:
        lines.append(f"PostgreSQL x{pg['instances']}: {pg['reason']}")
    return lines


def _profile_block(spots: dict[str, Any], title: str, per: str) -> list[str]:
    gcs = spots["gc"]
    lines = [title]
    lines.append(
        f"  GC: {gcs['collections']} collections (gen 0/1/2), pauses {gcs['pause_ms']} ms; "
        f"waiting, summed over threads: {spots['waiting_s_all_threads']} s; "
        f"times in {per}, share of wall time:"
    )
    lines.append(f"  {'own ms':>9} {'share':>6} {'calls':>7}  function (by own time)")
    for row in spots["by_own_time"][:10]:
        lines.append(
            f"  {row['own_ms_per_turn']:>9.2f} {row['own_share']:>6.1%} "
            f"{_calls(row['calls_per_turn']):>7}  {row['function']}"
        )
    lines.append(f"  {'cum ms':>9} {'share':>6} {'calls':>7}  product function (cumulative)")
    for row in spots["product_by_cumulative_time"][:10]:
        lines.append(
            f"  {row['cum_ms_per_turn']:>9.2f} {row['cum_share']:>6.1%} "
            f"{_calls(row['calls_per_turn']):>7}  {row['function']}"
        )
    lines.append("")
    return lines


def profile_lines(turn_profiles: dict[str, Any]) -> list[str]:
    """The top costs of each profiled turn (c=1), as printed."""
    lines = []
    for turn, spots in turn_profiles.items():
        title = (
            f"Profile: {spots['turns']} {turn} turns on {spots.get('store_concerns')} concerns, "
            f"c=1, {spots['wall_s']} s wall (p50 {spots['p50_ms_profiled']} ms under the "
            "profiler)"
        )
        lines += _profile_block(spots, title, "ms per turn")
    return lines


def table(results: dict[str, Any]) -> str:
    """The whole report as text."""
    lines = []
    meta = results["meta"]
    plan = results["plan"]
    lines.append(
        f"Benchmark ({meta['plan']}), {meta['started_at']}, {meta['cpus']} CPUs, load "
        f"{meta['load_average_before']} -> {meta['load_average_after']}, "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    )
    asked = ", ".join(f"c={c} {n}" for c, n in plan["turns"].items())
    lines.append(
        f"Turns asked per product cell: {asked} (a cell starts no new turn after "
        f"{plan['cell_budget']:g} s; n = turns run); references: "
        + ", ".join(f"c={c} {n}" for c, n in plan["anchor_turns"].items())
        + ". Latency: client-observed (request sent -> response received) over loopback, "
        "client, bot and connector in one process."
    )
    head = (
        f"{'turn':<15} {'store':>6} {'c':>3} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'turns/s':>8} "
        f"{'peak MB':>8} {'p50/echo':>8} {'p50/floor':>9} {'tput/echo':>9} {'err':>4}"
    )
    lines.append(head)
    lines.append("-" * len(head))
    for cell in results["cells"]:
        lines.append(
            f"{cell['turn']:<15} {_fmt(cell['store_concerns']):>6} {cell['concurrency']:>3} "
            f"{cell['turns']:>5} {_fmt(cell['p50_ms'], '.1f'):>8} {_fmt(cell['p99_ms'], '.1f'):>8} "
            f"{_fmt(cell['throughput'], '.1f'):>8} {_fmt(cell.get('peak_rss_mb'), '.0f'):>8} "
            f"{_fmt(cell['p50_x_echo'], '.2f'):>8} {_fmt(cell['p50_x_floor'], '.1f'):>9} "
            f"{_fmt(cell['throughput_x_echo'], '.2f'):>9} {cell['errors']:>4}"
        )
    lines.append("(peak MB: this whole process - client, bot and connector - during the cell)")
    for store in results["plan"]["sizes"]:
        shares = [
            f"{c['turn']} c={c['concurrency']} {sum(c['gc']['pause_ms']) / 10 / c['wall_s']:.0f}%"
            for c in results["cells"]
            if c["store_concerns"] == store and c.get("gc") and c["wall_s"]
        ]
        lines.append(
            f"GC pauses, share of each cell's time, {store} concerns: " + ", ".join(shares)
        )
    lines.append("")
    pg = postgres_table(results)
    if pg:
        lines += [*pg, ""]
    lines.append(
        "Pre-fill: "
        + "; ".join(
            f"{k}: {v['concerns']} concerns ({v['new_concerns']} new), "
            f"{v['filter_requests']} filter requests, {v['audit_entries']} audit entries, "
            f"{v['bytes_on_disk'] / 1e6:.1f} MB "
            f"(concern.json {v['files'].get('records/concern.json', 0) / 1e6:.1f} MB)"
            for k, v in results["prefill"].items()
        )
    )
    lines.append("")
    lines.append(
        "Cold start (python -m bot spawn -> /healthz 200), s: "
        + "; ".join(f"{store} store: {times}" for store, times in results["cold_start_s"].items())
    )
    rss = results["peak_rss"]
    lines.append(
        f"Real process on {rss.get('store_concerns')} concerns: RSS after start "
        f"{rss.get('rss_after_start_mb')} MB; after {rss.get('mixed_turns')} mixed turns "
        f"(c={rss.get('mixed_concurrency')}, {rss.get('mixed_errors')} errors) RSS "
        f"{rss.get('rss_after_turns_mb')} MB, peak (VmHWM) {rss.get('peak_rss_mb')} MB"
    )
    lines.append("")
    lines.append("Durable write of one record into a kind holding N records (p50 ms):")
    lines.append(
        f"{'N':>7} {'TinyDbStore':>12} {'file MB':>8} {'sqlite3 WAL FULL':>17} {'file MB':>8} "
        f"{'reps':>5}"
    )
    for row in results["store_writes"]:
        lines.append(
            f"{row['records']:>7} {row['tinydb_p50_ms']:>12.2f} "
            f"{row['tinydb_file_bytes'] / 1e6:>8.2f} {row['sqlite_p50_ms']:>17.2f} "
            f"{row['sqlite_file_bytes'] / 1e6:>8.2f} {row['reps']:>5}"
        )
    lines.append("")
    for name, spots in results["profile"].items():
        if name.startswith("open_"):
            title = (
                f"Profile: opening the store of {name.removeprefix('open_')} concerns "
                f"(TinyDbStore.open), {spots['wall_s']} s wall"
            )
        else:
            title = (
                f"Profile: {spots['turns']} concern submits on {name} concerns, c=1, "
                f"{spots['wall_s']} s wall (p50 {spots['p50_ms_profiled']} ms under the profiler)"
            )
        per = "ms (the one open)" if name.startswith("open_") else "ms per turn"
        lines += _profile_block(spots, title, per)
    lines += profile_lines(results.get("turn_profiles") or {})
    lines.append("Targets (ratios from this run):")
    for check in results["targets"]:
        lines.append(
            f"  {'PASS' if check['pass'] else 'MISS'}  {check['target']}: {_fmt(check['value'])} "
            f"{check['unit']} (limit {check['comparison']} {check['limit']:g}; "
            f"{_fmt(check['by'])} x the limit) - {check['measured']}"
        )
    lines.append("")
    lines.append(f"Run took {meta['duration_s']:.0f} s.")
    return "\n".join(lines)
