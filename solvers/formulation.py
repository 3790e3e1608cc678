r"""The integer linear program, built as plain arrays any MILP backend can load.

For node :math:`v` with candidates :math:`m \in C(v)` (binary :math:`x_{v,m}`), model keys
:math:`k` (binary :math:`y_k`: the plan uses key :math:`k`), durations on the machine
:math:`d_m = l_m + \delta` (latency plus the per-node dispatch overhead :math:`\delta`), and
for cold models a one-off load time :math:`\lambda_k` and load energy :math:`\epsilon_k`
(zero for warm or resident models):

.. math::

    \sum_{m} x_{v,m} = 1 \qquad \forall v                                   \\
    y_k \ge \textstyle\sum_{m \in C(v),\,\mathrm{key}(m) = k} x_{v,m} \quad \forall v, k
        \qquad (\text{a key used anywhere is loaded once})                   \\
    E = \sum_{v,m} x_{v,m}\, e_m + \sum_k y_k\,\epsilon_k \le B_E            \\
    \textstyle \sum_{v,m} x_{v,m} \log a_m \ge \log A_{min}
        \quad (\text{end-to-end accuracy } \prod a \ge A_{min},\ \text{exact}) \\
    \sum_k y_k\, \mathrm{mem}_k \le B_M \qquad C = \sum_{v,m} x_{v,m}\, c_m \le B_C

**Latency** is the bound the executor's list schedule on :math:`k` workers provably meets
(`solvers.schedule`, `solvers.model.LatencyShape`): with work
:math:`W = \sum_{v,m} x_{v,m} d_m` and the critical path :math:`T` (finish times
:math:`f_v \ge f_u + \sum_m x_{v,m} d_m` on every edge :math:`(u, v)`,
:math:`f_v \ge \sum_m x_{v,m} d_m`, :math:`T \ge f_v`),

.. math::

    L = S + \sum_k y_k \lambda_k + \omega W + \pi T \le B_L

with start-up :math:`S` and :math:`(\omega, \pi) = (0, 1)` when the workers are unlimited or
at least the DAG's width (the schedule's makespan is then exactly :math:`T`),
:math:`(1/k, 1 - 1/k)` otherwise (Graham's bound for any greedy list schedule), and
:math:`(1, 0)` for sequential execution (one worker: the sum). It is linear in :math:`x`
and :math:`y` because :math:`k` and the width are fixed. The plan's *predicted* latency (the
simulated schedule) is at most :math:`L`, so a plan may be refused although its simulated
schedule would fit, never the reverse.

Objective (unit-free, weights :math:`w` non-negative and summing to 1):

.. math::

    \min\ w_E \frac{E}{E_{ref}} + w_L \frac{L}{L_{ref}} + w_C \frac{C}{C_{ref}}

where the reference values are fixed per problem (`solvers.model.reference_scales`).
The latency column :math:`L` (and :math:`f`, :math:`T` when :math:`\pi > 0`) exists only
when latency is budgeted or weighted; :math:`y` only when memory is budgeted or a model
loads cold (``full=True`` creates every metric column, for insight). Bounds on
:math:`f_v` (earliest finish with the fastest candidates; latest finish that still leaves
room for the fastest successors under the budget) hold for every feasible plan, so they
tighten without cutting off any. ``Milp.terms`` gives every metric as a linear expression
over the columns, so callers address columns by index, never by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from solvers.model import (
    Candidate,
    SelectionProblem,
    accuracy_floor,
    budget_limit,
    evaluate,
)

INF = math.inf
#: Metrics `Milp.terms` can express: energy_j, cost_usd, latency_ms, memory_mb and
#: accuracy (as ``-sum log a``, so that smaller is better like the others).
METRICS = ("energy_j", "latency_ms", "accuracy", "memory_mb", "cost_usd")


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
    #: column of y_k per model key (memory budget, cold loads, or ``full``)
    y_index: dict[str, int] = field(default_factory=dict)
    #: columns of f_v and of the critical path T (parallel latency with pi > 0 only)
    f_index: list[int] = field(default_factory=list)
    t_index: int | None = None
    #: column of the latency bound L (latency budgeted, weighted, or ``full``)
    latency_index: int | None = None
    #: terms[metric] = {column: coefficient}, sum = the metric (see METRICS)
    terms: dict[str, dict[int, float]] = field(default_factory=dict)

    def add_var(self, name: str, lb: float, ub: float, integer: bool, cost: float = 0.0) -> int:
        self.names.append(name)
        self.lb.append(lb)
        self.ub.append(ub)
        self.integer.append(integer)
        self.c.append(cost)
        return len(self.names) - 1

    def add_row(self, coeffs: dict[int, float], lo: float, hi: float, name: str) -> None:
        self.rows.append((coeffs, lo, hi, name))

    def broken(self, values: list[float], tol: float = 1e-5) -> str | None:
        """The first bound or row that ``values`` break by more than ``tol`` (relative to
        the magnitudes involved), or None: a backend's answer is checked, not trusted."""
        for j, x in enumerate(values):
            slack = tol * max(1.0, abs(x))
            if x < self.lb[j] - slack or x > self.ub[j] + slack:
                return f"column {self.names[j]} = {x:g} outside [{self.lb[j]:g}, {self.ub[j]:g}]"
        for coeffs, lo, hi, name in self.rows:
            total = math.fsum(c * values[j] for j, c in coeffs.items())
            scale = max(1.0, max((abs(c * values[j]) for j, c in coeffs.items()), default=0.0))
            if total < lo - tol * scale or total > hi + tol * scale:
                return f"row {name} = {total:g} outside [{lo:g}, {hi:g}]"
        return None


def build_milp(problem: SelectionProblem, full: bool = False) -> Milp:
    """Build the ILP of the module docstring for ``problem`` (pure; no solver involved).

    ``full``: create the latency and key columns even when no budget or weight needs them,
    so that every metric of `METRICS` is in ``terms``."""
    milp = Milp()
    w = problem.weights
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    budgets = problem.budgets
    need_time = full or budgets.latency_ms is not None or w.latency > 0
    need_keys = full or budgets.memory_mb is not None or problem.has_loads
    cands_all = problem.candidates

    for v, cands in enumerate(cands_all):
        cols = []
        for i, cand in enumerate(cands):
            cost = w.energy * cand.energy_j / e_ref + w.cost * cand.cost_usd / c_ref
            cols.append(milp.add_var(f"x_{v}_{i}", 0.0, 1.0, True, cost))
        milp.x_index.append(cols)
        milp.add_row({j: 1.0 for j in cols}, 1.0, 1.0, f"one_{v}")
        floor = problem.node_min_accuracy[v] if problem.node_min_accuracy else None
        if floor is not None:
            for i, cand in enumerate(cands):
                if cand.accuracy < floor:
                    milp.ub[cols[i]] = 0.0

    def total_row(value: Callable[[Candidate], float]) -> dict[int, float]:
        row: dict[int, float] = {}
        for v, cands in enumerate(cands_all):
            for i, cand in enumerate(cands):
                x = float(value(cand))
                if x != 0.0:
                    row[milp.x_index[v][i]] = x
        return row

    loads = problem.load_by_key
    mem = problem.memory_by_key
    energy = total_row(lambda c: c.energy_j)
    if need_keys:
        present = {c.key for cands in cands_all for c in cands}
        for key in sorted(present):  # keys presolve removed everywhere get no column
            col = milp.add_var(f"y_{len(milp.y_index)}", 0.0, 1.0, True, 0.0)
            milp.y_index[key] = col
            if loads[key][1]:
                energy[col] = loads[key][1]
                milp.c[col] += w.energy * loads[key][1] / e_ref
        for v, cands in enumerate(cands_all):
            by_key: dict[str, dict[int, float]] = {}
            for i, cand in enumerate(cands):
                by_key.setdefault(cand.key, {})[milp.x_index[v][i]] = -1.0
            for key, row in by_key.items():
                milp.add_row({milp.y_index[key]: 1.0, **row}, 0.0, INF, f"load_{v}_{key}")
        milp.terms["memory_mb"] = {col: mem[k] for k, col in milp.y_index.items() if mem[k]}
    milp.terms["energy_j"] = energy
    milp.terms["cost_usd"] = total_row(lambda c: c.cost_usd)
    milp.terms["accuracy"] = total_row(lambda c: -math.log(c.accuracy))

    if budgets.energy_j is not None:
        milp.add_row(dict(energy), -INF, budget_limit(budgets.energy_j), "energy")
    if budgets.cost_usd is not None:
        milp.add_row(dict(milp.terms["cost_usd"]), -INF, budget_limit(budgets.cost_usd), "cost")
    if budgets.min_accuracy is not None:
        neg = {j: -a for j, a in milp.terms["accuracy"].items()}
        milp.add_row(neg, accuracy_floor(budgets.min_accuracy), INF, "accuracy")
    if budgets.memory_mb is not None:
        milp.add_row(dict(milp.terms["memory_mb"]), -INF, budget_limit(budgets.memory_mb), "memory")
    if need_time:
        _add_latency(milp, problem, w.latency / l_ref)
    return milp


def _add_latency(milp: Milp, problem: SelectionProblem, weight: float) -> None:
    """The latency column L = S + sum_k y_k lambda_k + omega W + pi T (module docstring)."""
    shape = problem.shape
    limit = problem.budgets.latency_ms
    cap = budget_limit(limit) if limit is not None else INF
    dur = [[problem.duration(c) for c in cands] for cands in problem.candidates]
    fastest = [min(ds) for ds in dur]
    slowest = [max(ds) for ds in dur]
    loads = problem.load_by_key
    worst_l = (
        problem.startup_ms
        + math.fsum(ms for ms, _ in loads.values())
        + shape.bound(slowest, problem.edges)
    )
    least_l = problem.startup_ms + shape.bound(fastest, problem.edges)
    lat = milp.add_var("latency", min(least_l, worst_l), worst_l, False, weight)
    milp.latency_index = lat
    milp.terms["latency_ms"] = {lat: 1.0}
    row: dict[int, float] = {lat: 1.0}
    for key, (ms, _) in loads.items():
        if ms and key in milp.y_index:
            row[milp.y_index[key]] = -ms
    if shape.work:
        for v, ds in enumerate(dur):
            for i, d in enumerate(ds):
                if d:
                    row[milp.x_index[v][i]] = row.get(milp.x_index[v][i], 0.0) - shape.work * d
    if shape.path:
        # T <= (B_L - S - omega * W_min) / pi: loads and the rest of W are >= 0
        t_cap = (cap - problem.startup_ms - shape.work * math.fsum(fastest)) / shape.path
        t = _add_critical_path(milp, problem, dur, t_cap)
        row[t] = -shape.path
    milp.add_row(row, problem.startup_ms, problem.startup_ms, "latency_def")
    if limit is not None:
        # a row, not the column's bound: CBC 2.10 returned plans above a bound set on the
        # column (tests/test_insight_oracle.py, seed 22)
        milp.add_row({lat: 1.0}, -INF, cap, "latency")


def _add_critical_path(
    milp: Milp, problem: SelectionProblem, dur: list[list[float]], t_cap: float
) -> int:
    n = problem.n_nodes
    preds = problem.predecessors()
    succs = problem.successors()
    fastest = [min(ds) for ds in dur]
    slowest = [max(ds) for ds in dur]
    earliest = [0.0] * n
    worst = [0.0] * n
    for v in range(n):
        earliest[v] = fastest[v] + max((earliest[u] for u in preds[v]), default=0.0)
        worst[v] = slowest[v] + max((worst[u] for u in preds[v]), default=0.0)
    tail = [0.0] * n  # longest fastest path strictly after v
    for v in reversed(range(n)):
        tail[v] = max((fastest[s] + tail[s] for s in succs[v]), default=0.0)
    t_ub = min(max(worst, default=0.0), t_cap)
    f = []
    for v in range(n):
        ub = min(worst[v], t_cap - tail[v])
        # The rows below enforce f_v >= its true finish time; the lower bound is only a
        # tightening, so it is clamped to ub where the budget is already impossible.
        f.append(milp.add_var(f"f_{v}", min(earliest[v], ub), ub, False, 0.0))
    t = milp.add_var("makespan", min(max(earliest, default=0.0), t_ub), t_ub, False, 0.0)
    milp.f_index = f
    milp.t_index = t
    for v in range(n):
        lat = {milp.x_index[v][i]: -d for i, d in enumerate(dur[v]) if d != 0.0}
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
    return t


def start_values(milp: Milp, problem: SelectionProblem, choice: tuple[int, ...]) -> list[float]:
    """Values of every column for the plan ``choice`` (a MIP start for the backends)."""
    values = [0.0] * len(milp.names)
    for v, i in enumerate(choice):
        values[milp.x_index[v][i]] = 1.0
        key = problem.candidates[v][i].key
        if key in milp.y_index:
            values[milp.y_index[key]] = 1.0

    def clamp(col: int, value: float) -> None:
        values[col] = min(max(value, milp.lb[col]), milp.ub[col])

    if milp.f_index:
        preds = problem.predecessors()
        finish = [0.0] * problem.n_nodes
        for v, i in enumerate(choice):
            start = max((finish[u] for u in preds[v]), default=0.0)
            finish[v] = problem.duration(problem.candidates[v][i]) + start
            clamp(milp.f_index[v], finish[v])
        if milp.t_index is not None:
            clamp(milp.t_index, max(finish, default=0.0))
    if milp.latency_index is not None:
        clamp(milp.latency_index, evaluate(problem, choice, simulate=False).latency_bound_ms)
    return values
