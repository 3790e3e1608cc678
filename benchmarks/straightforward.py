"""The straightforward formulation, for side-by-side timing (issue 7, part 2).

One binary ``x[v,m]`` per node and candidate, one continuous finish time ``f[v] >= 0``
per node (no bounds), ``f[v] >= f[u] + sum_m x[v,m] l_m`` per edge and
``f[v] >= sum_m x[v,m] l_m`` per node, makespan ``T >= f[v]``, ``T <= L``;
``sum x e <= E``, ``sum x log a >= log A``; minimise ``sum x e / E_ref`` (the same
normalised objective as ours, so values compare). Built directly with PuLP and solved
by PuLP's bundled CBC (or HiGHS through PuLP), on the original candidates (no presolve, no
fast path).
Sequential execution uses ``sum x l <= L`` instead of finish times.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pulp

from solvers import SelectionProblem


@dataclass(frozen=True)
class PlainResult:
    optimal: bool
    objective: float | None
    seconds: float
    status: str


def solve_straightforward(
    problem: SelectionProblem, time_limit_s: float, solver: str = "cbc"
) -> PlainResult:
    """Solve the straightforward model with PuLP's bundled CBC (``solver="cbc"``) or HiGHS
    through PuLP (``"highs"``). It models the latency as the critical path, so it is the
    same problem as ours only for unlimited workers (``problem.workers`` None) or
    sequential execution, no dispatch, start-up or cold loads; the benchmarks use those."""
    start = time.perf_counter()
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    w = problem.weights
    prob = pulp.LpProblem("straightforward", pulp.LpMinimize)
    x = {
        (v, i): pulp.LpVariable(f"x_{v}_{i}", cat=pulp.LpBinary)
        for v, cs in enumerate(problem.candidates)
        for i in range(len(cs))
    }
    cands = problem.candidates

    def lat(v: int) -> pulp.LpAffineExpression:
        return pulp.lpSum(c.latency_ms * x[v, i] for i, c in enumerate(cands[v]))

    objective = pulp.lpSum(
        (w.energy * c.energy_j / e_ref + w.cost * c.cost_usd / c_ref) * x[v, i]
        for v, cs in enumerate(cands)
        for i, c in enumerate(cs)
    )
    b = problem.budgets
    need_time = b.latency_ms is not None or w.latency > 0
    if problem.parallel and need_time:
        f = [pulp.LpVariable(f"f_{v}", lowBound=0) for v in range(problem.n_nodes)]
        t = pulp.LpVariable("T", lowBound=0)
        for v in range(problem.n_nodes):
            prob += f[v] >= lat(v)
            prob += t >= f[v]
        for u, v in problem.edges:
            prob += f[v] >= f[u] + lat(v)
        if b.latency_ms is not None:
            prob += t <= b.latency_ms
        objective = objective + (w.latency / l_ref) * t
    elif need_time:
        total = pulp.lpSum(lat(v) for v in range(problem.n_nodes))
        if b.latency_ms is not None:
            prob += total <= b.latency_ms
        objective = objective + (w.latency / l_ref) * total
    prob += objective
    for v, cs in enumerate(cands):
        prob += pulp.lpSum(x[v, i] for i in range(len(cs))) == 1
    if b.energy_j is not None:
        prob += (
            pulp.lpSum(c.energy_j * x[v, i] for v, cs in enumerate(cands) for i, c in enumerate(cs))
            <= b.energy_j
        )
    if b.min_accuracy is not None:
        prob += pulp.lpSum(
            math.log(c.accuracy) * x[v, i] for v, cs in enumerate(cands) for i, c in enumerate(cs)
        ) >= math.log(b.min_accuracy)
    if b.memory_mb is not None or b.cost_usd is not None:
        raise ValueError("the straightforward baseline covers energy/latency/accuracy budgets")
    if solver == "highs":
        prob.solve(pulp.HiGHS(msg=False, timeLimit=time_limit_s))
    else:
        prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    seconds = time.perf_counter() - start
    optimal = prob.sol_status == pulp.LpSolutionOptimal
    value = (
        pulp.value(prob.objective)
        if prob.sol_status
        in (
            pulp.LpSolutionOptimal,
            pulp.LpSolutionIntegerFeasible,
        )
        else None
    )
    return PlainResult(optimal, value, seconds, pulp.LpStatus.get(prob.status, "?"))
