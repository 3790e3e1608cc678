"""Benchmark plan insight on seeded random problems: median wall time of several runs.

    python benchmarks/bench_insight.py [--nodes 20] [--cands 5] [--runs 5] [--backend highs]

Times: explain_infeasible (every budget), complete Pareto front energy/accuracy,
alternatives (K=5) and what_if (default sweep). Numbers are synthetic (seeded uniform
draws), so this measures solver work, not any real model.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from planner.insight import alternatives, explain_infeasible, pareto_front, what_if
from planner.problem import Problem, problem_from_data


def make_problem(seed: int, n: int, k: int) -> Problem:
    rng = random.Random(seed)
    tasks = [f"t{i}" for i in range(max(1, n // 2))]
    models = [
        {
            "id": f"{t}-m{j}",
            "task": t,
            "accuracy": round(rng.uniform(0.7, 0.99), 3),
            "latency_ms": round(rng.uniform(5, 200), 1),
            "energy_j": round(rng.uniform(0.5, 60), 1),
            "memory_mb": float(rng.randint(50, 4000)),
        }
        for t in tasks
        for j in range(k)
    ]
    nodes = [{"id": f"n{v}", "task": tasks[v % len(tasks)]} for v in range(n)]
    edges = [
        [f"n{u}", f"n{v}"]
        for u in range(n)
        for v in range(u + 1, min(n, u + 4))
        if rng.random() < 0.5
    ]
    return problem_from_data(
        {
            "name": f"bench-{n}x{k}",
            "graph": {"nodes": nodes, "edges": edges},
            "models": models,
            "budgets": {
                "min_accuracy": 0.9 ** (n / 2),
                "energy_j": 15.0 * n,
                "latency_ms": 60.0 * n,
                "memory_mb": 1500.0 * n,
            },
        }
    )


T = TypeVar("T")


def median_ms(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--cands", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--backend", default=None)
    ap.add_argument("--points", type=int, default=None, help="Sample the front (default: all).")
    args = ap.parse_args()
    p = make_problem(0, args.nodes, args.cands)
    print(
        f"machine: {platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}; problem {args.nodes} nodes x {args.cands} "
        f"candidates; median of {args.runs} runs"
    )
    t, exp = median_ms(lambda: explain_infeasible(p, backend=args.backend), args.runs)
    print(f"explain_infeasible ({len(exp.min_budgets)} budgets): {t:.1f} ms")
    t, front = median_ms(
        lambda: pareto_front(p, "energy_j", "accuracy", args.points, args.backend), args.runs
    )
    print(f"pareto energy/accuracy: {t:.1f} ms, {len(front.points)} points, {front.solves} MILPs")
    t, _ = median_ms(lambda: alternatives(p, 5, backend=args.backend), args.runs)
    print(f"alternatives K=5: {t:.1f} ms")
    t, _ = median_ms(lambda: what_if(p, backend=args.backend), args.runs)
    print(f"what_if (6 factors x 4 budgets + runner-ups): {t:.1f} ms")


if __name__ == "__main__":
    main()
