"""Brute-force oracle: enumerate every assignment (small problems only; vectorised)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from solvers.model import SelectionProblem, accuracy_floor, budget_limit
from solvers.status import SolverError, SolveResult, Status

#: Largest number of assignments the oracle will enumerate.
MAX_ASSIGNMENTS = 2_000_000


def _ok(total: np.ndarray, limit: float) -> np.ndarray:
    return total <= budget_limit(limit)


def solve_brute(problem: SelectionProblem) -> SolveResult:
    """Exact by enumeration (latency: the bound of `solvers.model.evaluate`); ties go to
    the lexicographically smallest assignment."""
    import numpy as np

    start = time.perf_counter()
    sizes = [len(c) for c in problem.candidates]
    count = math.prod(sizes)
    if count > MAX_ASSIGNMENTS:
        raise SolverError(
            f"the brute-force oracle enumerates every assignment; this problem has {count:,} "
            f"(limit {MAX_ASSIGNMENTS:,}); use --backend cbc or highs"
        )
    # grid[v] = candidate index of node v in each assignment, lexicographic order
    grid = np.indices(sizes).reshape(len(sizes), -1)
    n = problem.n_nodes

    def attr(v: int, name: str) -> np.ndarray:
        import numpy as np

        values = np.array([getattr(c, name) for c in problem.candidates[v]], dtype=float)
        return values[grid[v]]

    energy = sum((attr(v, "energy_j") for v in range(n)), np.zeros(count))
    cost = sum((attr(v, "cost_usd") for v in range(n)), np.zeros(count))
    log_acc = sum((np.log(attr(v, "accuracy")) for v in range(n)), np.zeros(count))
    dur = [attr(v, "latency_ms") + problem.dispatch_ms for v in range(n)]
    shape = problem.shape
    latency = np.full(count, problem.startup_ms)
    if shape.work:
        latency = latency + shape.work * sum(dur, np.zeros(count))
    if shape.path:
        preds = problem.predecessors()
        finish: list[np.ndarray] = []
        for v in range(n):
            start_v = np.zeros(count)
            for u in preds[v]:
                start_v = np.maximum(start_v, finish[u])
            finish.append(start_v + dur[v])
        latency = latency + shape.path * np.max(np.vstack(finish), axis=0)
    mem_by_key = problem.memory_by_key
    loads = problem.load_by_key
    memory = np.zeros(count)
    for key, mem in sorted(mem_by_key.items()):
        loaded = np.zeros(count, dtype=bool)
        for v in range(n):
            has = np.array([c.key == key for c in problem.candidates[v]])
            loaded |= has[grid[v]]
        memory += loaded * mem
        latency = latency + loaded * loads[key][0]
        energy = energy + loaded * loads[key][1]

    feasible = np.ones(count, dtype=bool)
    b = problem.budgets
    if b.energy_j is not None:
        feasible &= _ok(energy, b.energy_j)
    if b.cost_usd is not None:
        feasible &= _ok(cost, b.cost_usd)
    if b.latency_ms is not None:
        feasible &= _ok(latency, b.latency_ms)
    if b.memory_mb is not None:
        feasible &= _ok(memory, b.memory_mb)
    if b.min_accuracy is not None:
        feasible &= log_acc >= accuracy_floor(b.min_accuracy)
    if problem.node_min_accuracy is not None:
        for v, floor in enumerate(problem.node_min_accuracy):
            if floor is not None:
                feasible &= attr(v, "accuracy") >= floor
    elapsed = time.perf_counter() - start
    if not feasible.any():
        return SolveResult(Status.INFEASIBLE, "brute", solve_time_s=elapsed)
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    w = problem.weights
    obj = w.energy * energy / e_ref + w.latency * latency / l_ref + w.cost * cost / c_ref
    obj = np.where(feasible, obj, np.inf)
    best = float(obj.min())
    winners = np.nonzero(obj <= best + 1e-12)[0]
    k = int(winners[0])
    choice = tuple(int(grid[v][k]) for v in range(n))
    return SolveResult(
        Status.OPTIMAL, "brute", choice, best, best, 0.0, time.perf_counter() - start
    )
