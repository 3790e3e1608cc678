"""How well the shipped zoo profiles predict the built-in demo's node latencies.

Runs ``planner run --json --no-history`` (the built-in demo) ``--runs`` times, each in a fresh
process as a user would, and counts node measurements within ``--tolerance`` of the
prediction (issue #4: at least 80% within 25%). Writes a Markdown table (machine, pool,
per-node ratios measured/predicted, share within tolerance, wall time per run).

    python -m benchmarks.demo_agreement [--runs 10] [--tolerance 0.25] [-o FILE]
        [--versus "FLAGS"] [-- RUN FLAGS]

Flags after ``--`` go to ``planner run`` (e.g. ``-- --sequential`` or ``-- --pool thread``).
``--versus "FLAGS"`` runs a second series with those flags instead, **interleaved** with the
first (A, B, A, B, ...), so a drift of the machine's speed hits both series alike; e.g.
``--versus=--speed-check`` compares the catalog's numbers with the speed check's.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import describe


def run_once(extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "planner", "run", "--json", "--no-history", "-q", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"planner run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(proc.stdout)
    report["_process_s"] = elapsed
    return report


def summarise(reports: list[dict[str, Any]], tolerance: float, extra: list[str]) -> str:
    ratios: dict[str, list[float]] = {}
    models: dict[str, str] = {}
    predicted: dict[str, float] = {}
    per_run = []
    for r in reports:
        within = 0
        for n in r["nodes"]:
            ratio = n["measured"]["latency_ms"] / n["predicted"]["latency_ms"]
            ratios.setdefault(n["id"], []).append(ratio)
            models[n["id"]] = n["model"]
            predicted[n["id"]] = n["predicted"]["latency_ms"]
            within += abs(ratio - 1) <= tolerance
        per_run.append(within / len(r["nodes"]))
    total = sum(len(v) for v in ratios.values())
    ok = sum(abs(x - 1) <= tolerance for v in ratios.values() for x in v)
    lines = [
        "# Demo latency agreement (`python -m benchmarks.demo_agreement`)",
        "",
        *[f"- {line}" for line in describe()],
        f"- runs: {len(reports)} x `planner run --json --no-history -q"
        + (" " + " ".join(extra) if extra else "")
        + f"` (pool: {reports[0].get('pool')}, execution: {reports[0]['execution']})",
        f"- tolerance: measured within {tolerance:.0%} of predicted",
        "",
        f"**{ok}/{total} node measurements ({ok / total:.0%}) within {tolerance:.0%}**; runs "
        f"with at least 80% of their nodes within: "
        f"{sum(x >= 0.8 for x in per_run)}/{len(per_run)}; median wall time per run "
        f"{statistics.median(r['_process_s'] for r in reports):.1f} s (whole process).",
        *_speed_lines(reports),
        *_baseline_lines(reports, tolerance),
        "",
        "| node | model | predicted ms | measured / predicted, per run | within |",
        "|---|---|---|---|---|",
    ]
    for node, values in ratios.items():
        inside = sum(abs(x - 1) <= tolerance for x in values)
        lines.append(
            f"| {node} | {models[node]} | {predicted[node]:.4g} | "
            + ", ".join(f"{x:.2f}" for x in values)
            + f" | {inside}/{len(values)} |"
        )
    return "\n".join(lines) + "\n"


def history_baseline(
    reports: list[dict[str, Any]], tolerance: float, k: int = 3
) -> tuple[int, int]:
    """How predictable the machine is, whatever the catalog: each node's measured latency
    against the median of its model's measurements in the previous ``k`` runs (runs without
    ``k`` earlier ones are skipped); (within ``tolerance``, compared)."""
    ok = total = 0
    for i in range(k, len(reports)):
        past: dict[str, list[float]] = {}
        for r in reports[i - k : i]:
            for n in r["nodes"]:
                past.setdefault(n["model"], []).append(n["measured"]["latency_ms"])
        for n in reports[i]["nodes"]:
            pred = statistics.median(past[n["model"]])
            total += 1
            ok += abs(n["measured"]["latency_ms"] - pred) <= tolerance * pred
    return ok, total


def _speed_lines(reports: list[dict[str, Any]]) -> list[str]:
    """The speed check's cost and factors, when the runs made one."""
    checks = [r["speed_check"] for r in reports if r.get("speed_check")]
    if not checks:
        return []
    factors: dict[str, list[float]] = {}
    for check in checks:
        for m in check["models"]:
            factors.setdefault(m["model"], []).append(m["factor"])
    return [
        "",
        f"Speed check ({checks[0]['probed_in']}): median "
        f"{statistics.median(c['seconds'] for c in checks):.1f} s per run; "
        "factors (now / profiled) per run: "
        + "; ".join(f"{k} " + ", ".join(f"{x:.2f}" for x in v) for k, v in factors.items()),
    ]


def _baseline_lines(reports: list[dict[str, Any]], tolerance: float) -> list[str]:
    ok, total = history_baseline(reports, tolerance)
    if not total:
        return []
    return [
        "",
        f"Machine baseline: predicting each node from its model's median in the previous 3 "
        f"runs puts {ok}/{total} ({ok / total:.0%}) within {tolerance:.0%}.",
    ]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--tolerance", type=float, default=0.25)
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument(
        "--versus",
        help="Flags of a second series run interleaved with the first (quote them).",
    )
    args = parser.parse_args(argv)
    if args.versus is None:
        reports = [run_once(extra) for _ in range(args.runs)]
        text = summarise(reports, args.tolerance, extra)
    else:
        other = shlex.split(args.versus)
        pairs = [(run_once(extra), run_once(other)) for _ in range(args.runs)]
        text = (
            summarise([a for a, _ in pairs], args.tolerance, extra)
            + "\n"
            + summarise([b for _, b in pairs], args.tolerance, other)
        )
    if args.output:
        args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
