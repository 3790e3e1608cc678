r"""The integer linear program, built as plain arrays any MILP backend can load.

For node :math:`v` with candidates :math:`m \in C(v)` (binary :math:`x_{v,m}`):

.. math::

    \sum_{m} x_{v,m} = 1 \qquad \forall v                                   \\
    E = \sum_{v,m} x_{v,m}\, e_m \le B_E                                     \\
    \textstyle \sum_{v,m} x_{v,m} \log a_m \ge \log A_{min}
        \quad (\text{end-to-end accuracy } \prod a \ge A_{min},\ \text{exact}) \\
    y_k \ge x_{v,m} \ \ (\text{model key } k = \mathrm{key}(m)), \quad
        \sum_k y_k\, \mathrm{mem}_k \le B_M \quad (\text{shared models load once}) \\
    C = \sum_{v,m} x_{v,m}\, c_m \le B_C

Latency, parallel execution (the makespan of the DAG): continuous finish times
:math:`f_v \ge f_u + \sum_m x_{v,m} l_m` on every edge :math:`(u, v)`,
:math:`f_v \ge \sum_m x_{v,m} l_m`, :math:`T \ge f_v` for sinks, :math:`T \le B_L`.
Sequential execution: :math:`T = \sum_{v,m} x_{v,m} l_m \le B_L`.

Objective (unit-free, weights :math:`w` non-negative and summing to 1):

.. math::

    \min\ w_E \frac{E}{E_{ref}} + w_L \frac{T}{T_{ref}} + w_C \frac{C}{C_{ref}}

where the reference values are the worst plan's energy, latency and cost
(`solvers.model.reference_scales`). Finish-time variables are created only when latency
is budgeted or weighted; :math:`y` only when memory is budgeted. Bounds on :math:`f_v`
(earliest finish with the fastest candidates; latest finish that still leaves room for
the fastest successors) are valid for every feasible plan, so they tighten without
cutting off any.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from solvers.model import BUDGET_ATOL, BUDGET_RTOL, SelectionProblem

INF = math.inf


@dataclass
class Milp:
    """min c.x  s.t.  lo <= A x <= hi,  lb <= x <= ub,  x_j integer where integer[j]."""

    names: list[str] = field(default_factory=list)
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    c: list[float] = field(default_factory=list)
    rows: list[tuple[dict[int, float], float, float, str]] = field(default_factory=list)
    #: x_index[v][i] is the column of x_{v,i}
    x_index: list[list[int]] = field(default_factory=list)
    objective_offset: float = 0.0
    #: column of y_k per model key (memory budget only)
    y_index: dict[str, int] = field(default_factory=dict)
    #: columns of f_v and of the makespan T (parallel latency only)
    f_index: list[int] = field(default_factory=list)
    t_index: int | None = None

    def add_var(self, name: str, lb: float, ub: float, integer: bool, cost: float = 0.0) -> int:
        self.names.append(name)
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(integer)
        self.c.append(cost)
        return len(self.names) - 1

    def add_row(self, coeffs: dict[int, float], lo: float, hi: float, name: str) -> None:
        self.rows.append((coeffs, lo, hi, name))


def _slack(limit: float) -> float:
    return limit + BUDGET_ATOL + BUDGET_RTOL * abs(limit)


def build_milp(problem: SelectionProblem) -> Milp:
    """Build the ILP of the module docstring for ``problem`` (pure; no solver involved)."""
    milp = Milp()
    w = problem.weights
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    budgets = problem.budgets
    need_time = budgets.latency_ms is not None or w.latency > 0

    for v, cands in enumerate(problem.candidates):
        cols = []
        for i, cand in enumerate(cands):
            cost = w.energy * cand.energy_j / e_ref + w.cost * cand.cost_usd / c_ref
            if not problem.parallel:
                cost += w.latency * cand.latency_ms / l_ref
            cols.append(milp.add_var(f"x_{v}_{i}", 0.0, 1.0, True, cost))
        milp.x_index.append(cols)
        milp.add_row({j: 1.0 for j in cols}, 1.0, 1.0, f"one_{v}")
        floor = problem.node_min_accuracy[v] if problem.node_min_accuracy else None
        if floor is not None:
            for i, cand in enumerate(cands):
                if cand.accuracy < floor:
                    milp.ub[cols[i]] = 0.0

    def total_row(attr: str) -> dict[int, float]:
        row: dict[int, float] = {}
        for v, cands in enumerate(problem.candidates):
            for i, cand in enumerate(cands):
                value = float(getattr(cand, attr))
                if value != 0.0:
                    row[milp.x_index[v][i]] = value
        return row

    if budgets.energy_j is not None:
        milp.add_row(total_row("energy_j"), -INF, _slack(budgets.energy_j), "energy")
    if budgets.cost_usd is not None:
        milp.add_row(total_row("cost_usd"), -INF, _slack(budgets.cost_usd), "cost")
    if budgets.min_accuracy is not None:
        row = {
            milp.x_index[v][i]: math.log(c.accuracy)
            for v, cands in enumerate(problem.candidates)
            for i, c in enumerate(cands)
            if c.accuracy < 1.0
        }
        milp.add_row(row, math.log(budgets.min_accuracy) - BUDGET_ATOL, INF, "accuracy")
    if budgets.memory_mb is not None:
        mem = problem.memory_by_key
        y: dict[str, int] = {}
        for key in sorted(mem):
            y[key] = milp.add_var(f"y_{len(y)}", 0.0, 1.0, True, 0.0)
        milp.y_index = dict(y)
        for v, cands in enumerate(problem.candidates):
            for i, cand in enumerate(cands):
                milp.add_row(
                    {y[cand.key]: 1.0, milp.x_index[v][i]: -1.0}, 0.0, INF, f"load_{v}_{i}"
                )
        milp.add_row(
            {y[k]: mem[k] for k in y if mem[k] != 0.0}, -INF, _slack(budgets.memory_mb), "memory"
        )

    if need_time and not problem.parallel:
        if budgets.latency_ms is not None:
            milp.add_row(total_row("latency_ms"), -INF, _slack(budgets.latency_ms), "latency")
    elif need_time:
        _add_makespan(milp, problem, w.latency / l_ref)
    return milp


def _add_makespan(milp: Milp, problem: SelectionProblem, weight: float) -> None:
    n = problem.n_nodes
    preds = problem.predecessors()
    succs = problem.successors()
    fastest = [min(c.latency_ms for c in cands) for cands in problem.candidates]
    slowest = [max(c.latency_ms for c in cands) for cands in problem.candidates]
    earliest = [0.0] * n
    for v in range(n):
        earliest[v] = fastest[v] + max((earliest[u] for u in preds[v]), default=0.0)
    worst = [0.0] * n
    for v in range(n):
        worst[v] = slowest[v] + max((worst[u] for u in preds[v]), default=0.0)
    tail = [0.0] * n  # longest fastest path strictly after v
    for v in reversed(range(n)):
        tail[v] = max((fastest[s] + tail[s] for s in succs[v]), default=0.0)
    limit = problem.budgets.latency_ms
    t_ub = min(max(worst, default=0.0), _slack(limit)) if limit is not None else max(worst)
    f = []
    for v in range(n):
        ub = worst[v] if limit is None else min(worst[v], _slack(limit) - tail[v])
        # The rows below enforce f_v >= its true finish time; the lower bound is only a
        # tightening, so it is clamped to ub where the budget is already impossible.
        f.append(milp.add_var(f"f_{v}", min(earliest[v], ub), ub, False, 0.0))
    t = milp.add_var("makespan", min(max(earliest), t_ub), t_ub, False, weight)
    milp.f_index = f
    milp.t_index = t
    for v in range(n):
        lat = {
            milp.x_index[v][i]: -c.latency_ms
            for i, c in enumerate(problem.candidates[v])
            if c.latency_ms != 0.0
        }
        if preds[v]:
            for u in preds[v]:
                row = dict(lat)
                row[f[v]] = 1.0
                row[f[u]] = -1.0
                milp.add_row(row, 0.0, INF, f"edge_{u}_{v}")
        else:
            row = dict(lat)
            row[f[v]] = 1.0
            milp.add_row(row, 0.0, INF, f"start_{v}")
        if not succs[v]:
            milp.add_row({t: 1.0, f[v]: -1.0}, 0.0, INF, f"sink_{v}")


def start_values(milp: Milp, problem: SelectionProblem, choice: tuple[int, ...]) -> list[float]:
    """Values of every column for the plan ``choice`` (a MIP start for the backends)."""
    values = [0.0] * len(milp.names)
    for v, i in enumerate(choice):
        values[milp.x_index[v][i]] = 1.0
        key = problem.candidates[v][i].key
        if key in milp.y_index:
            values[milp.y_index[key]] = 1.0
    if milp.f_index:
        preds = problem.predecessors()
        finish = [0.0] * problem.n_nodes
        for v, i in enumerate(choice):
            start = max((finish[u] for u in preds[v]), default=0.0)
            finish[v] = problem.candidates[v][i].latency_ms + start
            col = milp.f_index[v]
            values[col] = min(max(finish[v], milp.lb[col]), milp.ub[col])
        if milp.t_index is not None:
            col = milp.t_index
            values[col] = min(max(max(finish, default=0.0), milp.lb[col]), milp.ub[col])
    return values
