"""Median in-process selection time of `planner.solve` per problem size and backend.

    python -m benchmarks.bench_solve [--sizes 5,10,20,100,500] [--candidates 10]
        [--seeds 5] [--repeats 3] [--backends cbc,highs,brute] [--time-limit 10]
        [--out benchmarks/results/bench_solve.md]

Each size runs ``--seeds`` instances of `benchmarks.instances.instance` (seeded sparse
random DAGs, 1-3 predecessors, correlated accuracy/latency/energy, minimise energy under
energy, latency and accuracy budgets), each ``--repeats`` times (sizes above 20 nodes: once),
and reports the median and worst wall time of the whole `planner.solve` call (building the
numeric problem, presolve, solving, building the Plan), the median CPU time of
this process (robust to other jobs on a shared machine; it excludes the CBC subprocess, so
it is meaningful for in-process answers only), the proven relative gap, and which path
answered: ``B&B`` (the exact in-process branch-and-bound proved optimality and
the backend was not called), ``MILP`` (the backend solved it), ``shortcut`` (another exact
shortcut) or ``oracle`` (brute force). The brute-force backend runs only where it can
enumerate every plan. Building the `Problem` is not timed.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import time
from collections import Counter
from pathlib import Path

from benchmarks.instances import instance, problem_data
from benchmarks.machine import describe
from planner import Plan, problem_from_data, solve
from solvers.brute import MAX_ASSIGNMENTS


def path_of(plan: Plan) -> str:
    if plan.solver.backend == "brute":
        return "oracle"
    if plan.solver.shortcut == "branch-and-bound":
        return "B&B"
    if plan.solver.shortcut:
        return "shortcut"
    return "MILP"


def run(
    sizes: list[int],
    candidates: int,
    seeds: int,
    repeats: int,
    backends: list[str],
    time_limit_s: float,
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for n in sizes:
        problems = [
            problem_from_data(problem_data(instance(n, candidates, seed), f"bench-{n}-{seed}"))
            for seed in range(seeds)
        ]
        for backend in backends:
            if backend == "brute" and candidates**n > MAX_ASSIGNMENTS:
                continue
            times: list[float] = []
            cpu: list[float] = []
            statuses: Counter[str] = Counter()
            paths: Counter[str] = Counter()
            gaps: list[float] = []
            reps = repeats if n <= 20 else 1
            for problem in problems:
                for _ in range(reps):
                    gc.collect()
                    start = time.perf_counter()
                    cpu_start = time.process_time()
                    plan = solve(problem, backend, time_limit_s=time_limit_s)
                    times.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - cpu_start)
                    statuses[plan.status] += 1
                    paths[path_of(plan)] += 1
                    if plan.solver.gap is not None:
                        gaps.append(plan.solver.gap)
            row = {
                "nodes": n,
                "candidates": candidates,
                "backend": backend,
                "runs": len(times),
                "median_ms": statistics.median(times) * 1000,
                "worst_ms": max(times) * 1000,
                "cpu_ms": statistics.median(cpu) * 1000,
                "status": ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
                "path": ", ".join(f"{k} {v}" for k, v in sorted(paths.items())),
                "gap": max(gaps) if gaps else math.nan,
            }
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


HEADER = (
    "| nodes | cands | backend | runs | median ms | worst ms | median CPU ms | max proven gap "
    "| answered by | status |\n|---:|---:|---|---:|---:|---:|---:|---:|---|---|"
)


def format_row(row: dict[str, object]) -> str:
    gap = row["gap"]
    gap_text = "n/a" if isinstance(gap, float) and math.isnan(gap) else f"{gap:.2%}"
    return (
        f"| {row['nodes']} | {row['candidates']} | {row['backend']} | {row['runs']} "
        f"| {row['median_ms']:.2f} | {row['worst_ms']:.1f} | {row['cpu_ms']:.2f} | {gap_text} "
        f"| {row['path']} "
        f"| {row['status']} |"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5,10,20,100,500")
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="cbc,highs,brute")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--out", default="benchmarks/results/bench_solve.md")
    args = parser.parse_args(argv)
    machine = describe()
    print("\n".join(machine))
    print(HEADER)
    rows = run(
        [int(s) for s in args.sizes.split(",")],
        args.candidates,
        args.seeds,
        args.repeats,
        args.backends.split(","),
        args.time_limit,
    )
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = [
            "# planner.solve selection time",
            "",
            "Command: `python -m benchmarks.bench_solve "
            + " ".join(argv if argv is not None else __import__("sys").argv[1:])
            + "`",
            "",
            *[f"- {line}" for line in machine],
            f"- time limit per solve: {args.time_limit:g} s; seeds per size: {args.seeds}; "
            f"repeats per instance: {args.repeats} (1 above 20 nodes)",
            "",
            HEADER,
            *[format_row(r) for r in rows],
            "",
        ]
        out.write_text("\n".join(text), encoding="utf-8")
        print(f"written to {out}")


if __name__ == "__main__":
    main()
