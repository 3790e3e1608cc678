r"""Plan insight: why no plan, the Pareto front, the K best plans, what-if and runner-ups.

Everything here is exact: each question is one or more MILPs over the same formulation as
`solvers.formulation.build_milp` (same variables, same budget rows), with the objective
replaced by a single metric:

- energy / cost: :math:`\sum x_{v,m} e_m` (resp. :math:`c_m`);
- latency: the makespan variable :math:`T` (parallel) or :math:`\sum x_{v,m} l_m` (sequential);
- memory: :math:`\sum_k y_k\,\mathrm{mem}_k` (distinct models, each loaded once);
- accuracy: maximise :math:`\sum x_{v,m}\log a_m` (minimise its negation).

**Infeasibility explained.** For each budget given, drop that budget alone and optimise its
metric subject to the others: the optimum is the least value of that budget that makes the
problem feasible (for ``min_accuracy``: the largest floor); an infeasible relaxation means
relaxing that budget alone cannot help.

**Pareto front** of metrics ``x`` and ``y`` (epsilon-constraint, both minimised): with
:math:`\varepsilon = +\infty`, repeat: :math:`x^* = \min x` s.t. :math:`y \le \varepsilon`;
then :math:`y^* = \min y` s.t. :math:`x \le x^*` (so the point is non-dominated); record the
plan; set :math:`\varepsilon = y^* - \delta`. Each round finds the next non-dominated value
pair, so the loop lists the complete front. ``delta`` is a resolution, not a step: it is
:math:`10^{-6}\max(1,|y^*|)`, well above the solvers' feasibility tolerances; value pairs
closer than that are one point.

**Alternatives**: the optimum, then the optimum subject to a no-good cut
:math:`\sum_v x_{v,c_v} \le n-1` for each plan :math:`c` already found, and so on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from planner.errors import SolveError, SolveTimeout
from planner.insight_models import (
    Alternative,
    BudgetWhatIf,
    Explanation,
    NodeChange,
    ParetoFront,
    ParetoPoint,
    RunnerUp,
    SweepPoint,
    WhatIf,
)
from planner.metrics import BUDGET_METRICS, Metrics
from planner.problem import BUDGET_KEYS, Problem
from planner.solve import Compiled
from solvers import (
    Milp,
    PresolveResult,
    SelectionProblem,
    SolverError,
    SolveResult,
    Status,
    Totals,
    build_milp,
    evaluate,
    objective_value,
    presolve,
    solve_selection,
    violations,
)
from solvers.api import DEFAULT_TIME_LIMIT_S
from solvers.backends import Backend, get_backend

#: Which metric each budget limits (one table, `planner.metrics.BUDGET_METRICS`).
BUDGET_METRIC = BUDGET_METRICS
METRIC_BUDGET = {m: b for b, m in BUDGET_METRIC.items()}
METRIC_UNITS = {
    "energy_j": "J",
    "latency_ms": "ms",
    "accuracy": "",
    "memory_mb": "MB",
    "cost_usd": "USD",
}
METRICS = ("energy_j", "latency_ms", "accuracy", "memory_mb", "cost_usd")
#: Relative resolution of the Pareto front (see the module docstring).
FRONT_RESOLUTION = 1e-6


def default_backend() -> str:
    """HiGHS (in-process, no subprocess per solve) when installed, else CBC."""
    return "highs" if get_backend("highs").available() else "cbc"


def _check_backend(backend: str | None) -> Backend:
    name = backend or default_backend()
    try:
        engine = get_backend(name, need_milp=True)
    except SolverError as exc:
        raise SolveError(f"insight: {exc} (--backend)") from exc
    if not engine.available():
        raise SolveError(
            f"the {name} backend is not installed here: pip install highspy (or '.[highs]'), "
            "or use --backend cbc"
        )
    return engine


def metric_value(totals: Totals, metric: str) -> float:
    """The value of ``metric`` in ``totals``, oriented so that smaller is better (latency:
    the bound the budget limits, see `solvers.formulation`)."""
    if metric == "accuracy":
        return -math.log(totals.accuracy)
    if metric == "latency_ms":
        return totals.latency_bound_ms
    return float(getattr(totals, metric))


def metric_total(totals: Totals, metric: str) -> float:
    """The plain value of ``metric`` in ``totals`` (latency: the bound the budget limits)."""
    if metric == "latency_ms":
        return totals.latency_bound_ms
    return float(getattr(totals, metric))


def _delta(a: Totals, base: Totals) -> dict[str, float]:
    return {m: metric_total(a, m) - metric_total(base, m) for m in METRICS}


@dataclass
class MetricMilp:
    """`build_milp`'s formulation with every metric available as a linear expression.

    ``terms[metric]`` maps columns to coefficients so that ``sum(coef * col)`` equals the
    metric (accuracy: minus its log; latency: the latency bound). `build_milp` is asked for
    every metric column (``full=True``); rows and bounds are those of the problem given.
    Columns are addressed by index (`Milp.terms`, `Milp.x_index`), never by name.
    """

    problem: SelectionProblem
    milp: Milp
    terms: dict[str, dict[int, float]]

    def set_objective(self, metric: str | dict[int, float]) -> None:
        coeffs = self.terms[metric] if isinstance(metric, str) else metric
        self.milp.c = [0.0] * len(self.milp.names)
        for j, coef in coeffs.items():
            self.milp.c[j] += coef
        self.milp.objective_offset = 0.0

    def add_limit(self, metric: str, limit: float, name: str) -> None:
        """Row ``metric <= limit`` (in the oriented units of `metric_value`)."""
        self.milp.add_row(dict(self.terms[metric]), -math.inf, limit, name)


def build_metric_milp(
    problem: SelectionProblem, objective: dict[str, float] | None = None
) -> MetricMilp:
    """Formulation of ``problem`` (its budgets as rows) whose objective is ``objective``:
    {metric: weight}, or the problem's own weighted objective when None."""
    milp = build_milp(problem, full=True)
    if problem.node_min_accuracy is not None:  # build_milp leaves node floors to presolve
        for v, floor in enumerate(problem.node_min_accuracy):
            for i, c in enumerate(problem.candidates[v]):
                if floor is not None and c.accuracy < floor:
                    milp.ub[milp.x_index[v][i]] = 0.0
    mm = MetricMilp(problem, milp, milp.terms)
    if objective is None:
        w = problem.weights
        assert problem.scales is not None
        e_ref, l_ref, c_ref = problem.scales
        objective = {
            "energy_j": w.energy / e_ref,
            "latency_ms": w.latency / l_ref,
            "cost_usd": w.cost / c_ref,
        }
    coeffs: dict[int, float] = {}
    for metric, weight in objective.items():
        if weight:
            for j, coef in mm.terms[metric].items():
                coeffs[j] = coeffs.get(j, 0.0) + weight * coef
    mm.set_objective(coeffs)
    return mm


class Solver:
    """Runs MILPs on one backend, counting solves; raises `SolveError` on solver failure.

    ``time_limit_s`` bounds all its solves together (a whole insight command): each solve
    gets what is left, and a solve with nothing left is a `SolveError`."""

    def __init__(self, backend: str | None = None, time_limit_s: float | None = None) -> None:
        self.engine = _check_backend(backend)
        self.backend = self.engine.name
        self.time_limit_s = DEFAULT_TIME_LIMIT_S if time_limit_s is None else time_limit_s
        self.deadline = time.perf_counter() + self.time_limit_s
        self.solves = 0
        self.exact = True

    def left(self) -> float:
        """Seconds left of the time limit; `SolveTimeout` when none are."""
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise SolveTimeout(
                f"the time limit ({self.time_limit_s:g} s) ran out after {self.solves} "
                "solve(s); raise --time-limit"
            )
        return left

    def run(self, milp: Milp) -> SolveResult:
        left = self.left()
        self.solves += 1
        try:
            result = self.engine.solve(None, milp, left, None)
        except SolverError as exc:
            raise SolveError(str(exc)) from exc
        if result.status == Status.TIME_LIMIT:
            raise SolveTimeout(f"{self.backend}: {result.status.value}: {result.message}")
        if result.status == Status.ERROR:
            raise SolveError(f"{self.backend}: {result.status.value}: {result.message}")
        if result.status == Status.FEASIBLE:
            self.exact = False
        return result

    def optimise(self, mm: MetricMilp) -> tuple[int, ...] | None:
        """The chosen candidate per node, or None when infeasible."""
        result = self.run(mm.milp)
        if result.choice is None:
            return None
        broken = violations(mm.problem, result.choice)
        if broken:
            raise SolveError(
                f"{self.backend} returned a plan that breaks {', '.join(broken)}; "
                "the solver misbehaved (try another --backend)"
            )
        return result.choice

    def best(self, problem: SelectionProblem, metric: str) -> tuple[int, ...] | None:
        """A plan of ``problem`` with the least ``metric`` (after exact presolve)."""
        pre = safe_presolve(problem, (metric,))
        if pre.empty_node is not None:
            return None
        choice = self.optimise(build_metric_milp(pre.problem, {metric: 1.0}))
        return pre.lift(choice) if choice is not None else None


def safe_presolve(problem: SelectionProblem, metrics: Iterable[str]) -> PresolveResult:
    """`presolve` that is exact for optimising ``metrics``.

    Its dominance rule keeps shared models only when memory is budgeted; when memory is
    optimised instead, it is run with a memory budget that cannot bind, so a model shared
    by several nodes (loaded once) is never dropped for a cheaper-looking private one.
    """
    if "memory_mb" in metrics and problem.budgets.memory_mb is None:
        loose = 2.0 * math.fsum(problem.memory_by_key.values()) + 1.0
        problem = replace(problem, budgets=replace(problem.budgets, memory_mb=loose))
    return presolve(problem)


# --------------------------------------------------------------------------- explanation


def _fmt_limit(name: str, value: float) -> str:
    if name == "min_accuracy":
        return f"min_accuracy {value:g}"
    unit = METRIC_UNITS[BUDGET_METRIC[name]]
    return f"{name.split('_')[0]} {value:g} {unit}"


def _round_out(value: float, up: bool, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, rounded away from infeasibility."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    exp = math.floor(math.log10(abs(value))) - digits + 1
    scale = 10.0**exp
    q = value / scale
    r = math.ceil(q - 1e-9) if up else math.floor(q + 1e-9)
    return f"{r * scale:.{digits}g}"


def explain_infeasible(
    problem: Problem, backend: str | None = None, time_limit_s: float | None = None
) -> Explanation:
    """For each budget given (and each node floor), the least value of it alone that makes
    ``problem`` feasible with every other budget kept, or None when that cannot help."""
    solver = Solver(backend, time_limit_s)
    compiled = Compiled(problem)
    sel = compiled.selection
    given = problem.budgets.given()
    min_budgets: dict[str, float | None] = {}
    sentences: dict[str, str] = {}
    for name in BUDGET_KEYS:
        if name not in given:
            continue
        limit = given[name]
        metric = BUDGET_METRIC[name]
        relaxed = sel.without_budgets(name)
        choice = solver.best(relaxed, metric)
        others = [_fmt_limit(k, v) for k, v in given.items() if k != name]
        kept = f"with {', '.join(others)}" if others else "with no other budget"
        if problem.budgets.node_min_accuracy:
            kept += " and the node accuracy floors"
        if choice is None:
            min_budgets[name] = None
            sentences[name] = (
                f"relaxing {name} alone cannot help: {kept}, no plan exists whatever its value"
            )
            continue
        value = metric_total(evaluate(relaxed, choice), metric)
        min_budgets[name] = value
        if name == "min_accuracy":
            sentences[name] = (
                f"{kept}, the most accurate plan reaches "
                f"{_round_out(value, up=False)}; you asked for at least "
                f"{limit:g}"
            )
        else:
            unit = METRIC_UNITS[metric]
            word = name.split("_")[0]
            sentences[name] = (
                f"{kept}, a plan needs at least {_round_out(value, up=True)} "
                f"{unit}; your {word} budget is {limit:g} {unit}"
            )
    floors: dict[str, float | None] = {}
    node_floor = sel.node_min_accuracy
    if node_floor is not None:
        for v, node_id in enumerate(compiled.order):
            floor = node_floor[v]
            if floor is None:
                continue
            relaxed = replace(
                sel,
                node_min_accuracy=tuple(None if k == v else f for k, f in enumerate(node_floor)),
            )
            mm = build_metric_milp(relaxed, {})
            mm.set_objective(
                {
                    mm.milp.x_index[v][i]: -math.log(c.accuracy)
                    for i, c in enumerate(sel.candidates[v])
                }
            )
            choice = solver.optimise(mm)
            key = f"node_min_accuracy.{node_id}"
            if choice is None:
                floors[node_id] = None
                sentences[key] = (
                    f"relaxing the accuracy floor of node {node_id!r} alone cannot help"
                )
            else:
                best = sel.candidates[v][choice[v]].accuracy
                floors[node_id] = best
                sentences[key] = (
                    f"node {node_id!r} can reach accuracy at most {best:g} "
                    f"within the budgets; its floor is {floor:g}"
                )
    fixes = []
    for name, least in min_budgets.items():
        if least is None:
            continue
        if name == "min_accuracy":
            fixes.append(f"lower min_accuracy to {_round_out(least, up=False)}")
        else:
            unit = METRIC_UNITS[BUDGET_METRIC[name]]
            fixes.append(f"raise {name} to {_round_out(least, up=True)} {unit}")
    for node_id, top in floors.items():
        if top is not None:
            fixes.append(f"lower the floor of node {node_id!r} to {top:g}")
    if fixes:
        summary = "no plan meets every budget; any one of these is enough: " + "; ".join(fixes)
    elif given or floors:
        summary = (
            "no single budget change is enough: relax two or more budgets together "
            "(`planner pareto` shows the trade-off)"
        )
    else:
        summary = "no plan exists even without budgets"
    return Explanation(
        min_budgets=min_budgets,
        node_floors=floors,
        sentences=sentences,
        summary=summary,
        exact=solver.exact,
    )


# --------------------------------------------------------------------------- Pareto front


def _point(compiled: Compiled, sel: SelectionProblem, choice: tuple[int, ...]) -> ParetoPoint:
    t = evaluate(sel, choice)
    return ParetoPoint(
        energy_j=t.energy_j,
        latency_ms=t.latency_bound_ms,
        accuracy=t.accuracy,
        memory_mb=t.memory_mb,
        cost_usd=t.cost_usd,
        objective=objective_value(compiled.selection, t),
        assignment=_assignment(compiled, choice),
    )


def _assignment(compiled: Compiled, choice: Iterable[int]) -> dict[str, str]:
    return {
        node_id: compiled.rows[v][i].id
        for (v, node_id), i in zip(enumerate(compiled.order), choice, strict=True)
    }


def _tol(value: float) -> float:
    return FRONT_RESOLUTION * max(1.0, abs(value))


def pareto_front(
    problem: Problem,
    x: str = "energy_j",
    y: str = "accuracy",
    points: int | None = None,
    backend: str | None = None,
    time_limit_s: float | None = None,
    max_points: int = 1000,
) -> ParetoFront:
    """The exact front of ``x`` and ``y`` among plans meeting the problem's other budgets
    (the budgets on ``x`` and ``y`` are dropped). ``points=N`` samples N values of ``y``
    evenly between the two ends instead of listing the complete front."""
    for name, metric in (("x", x), ("y", y)):
        if metric not in METRICS:
            raise SolveError(f"--{name} must be one of {', '.join(METRICS)}, got {metric!r}")
    if x == y:
        raise SolveError(f"--x and --y must differ (both are {x!r})")
    if points is not None and points < 2:
        raise SolveError(f"--points must be at least 2, got {points}")
    start = time.perf_counter()
    solver = Solver(backend, time_limit_s)
    compiled = Compiled(problem)
    sel = compiled.selection
    for metric in (x, y):
        sel = sel.without_budgets(METRIC_BUDGET[metric])
    kept = {
        k: v
        for k, v in problem.budgets.given().items()
        if k not in (METRIC_BUDGET[x], METRIC_BUDGET[y])
    }

    # Exact presolve: dominated candidates (no better on any metric) are in no front point's
    # only plan, and candidates that break a kept budget alone are in no feasible plan.
    pre = safe_presolve(sel, (x, y))
    work = pre.problem

    def lexi(first: str, second: str, eps: float | None) -> tuple[int, ...] | None:
        """min first s.t. second <= eps, then min second s.t. first <= that optimum."""
        if pre.empty_node is not None:
            return None
        mm = build_metric_milp(work, {first: 1.0})
        if eps is not None:
            mm.add_limit(second, eps, "epsilon")
        choice = solver.optimise(mm)
        if choice is None:
            return None
        best_first = metric_value(evaluate(work, choice), first)
        mm.set_objective(second)
        mm.add_limit(first, best_first + _tol(best_first) * 1e-3, "lexicographic")
        again = solver.optimise(mm)
        return pre.lift(again if again is not None else choice)

    found: dict[tuple[int, ...], Totals] = {}
    complete = True
    if points is None:
        eps: float | None = None
        last_y = math.inf
        step = 0.0
        while True:
            choice = lexi(x, y, eps)
            if choice is None:
                break
            t = evaluate(sel, choice)
            y_val = metric_value(t, y)
            if y_val >= last_y:  # the solver's tolerance let the same value through
                step *= 10.0
                eps = last_y - step
                continue
            found[choice] = t
            last_y = y_val
            step = _tol(y_val)
            eps = y_val - step
            if len(found) >= max_points:
                complete = lexi(x, y, eps) is None
                break
    else:
        complete = False
        low = lexi(x, y, None)
        if low is not None:
            high = lexi(y, x, None)
            assert high is not None
            found[low] = evaluate(sel, low)
            found[high] = evaluate(sel, high)
            y_hi = found[low]
            y_lo = found[high]
            if y == "accuracy":  # even steps of accuracy, not of its log
                a_lo, a_hi = y_hi.accuracy, y_lo.accuracy
                grid = [
                    -math.log(a_lo + (a_hi - a_lo) * k / (points - 1)) for k in range(1, points - 1)
                ]
            else:
                v_hi, v_lo = metric_value(y_hi, y), metric_value(y_lo, y)
                grid = [v_hi + (v_lo - v_hi) * k / (points - 1) for k in range(1, points - 1)]
            for eps_k in grid:
                choice = lexi(x, y, eps_k + _tol(eps_k) * 1e-3)
                if choice is not None:
                    found[choice] = evaluate(sel, choice)
    front = _non_dominated(found, x, y)
    pts = [_point(compiled, sel, c) for c in front]
    return ParetoFront(
        problem=problem.name,
        x=x,
        y=y,
        complete=complete,
        kept_budgets=kept,
        points=pts,
        solves=solver.solves,
        solve_time_ms=(time.perf_counter() - start) * 1000.0,
    )


def _non_dominated(found: dict[tuple[int, ...], Totals], x: str, y: str) -> list[tuple[int, ...]]:
    """Choices whose (x, y) no other choice beats; one per value pair; sorted by x."""
    items = sorted(
        found.items(), key=lambda kv: (metric_value(kv[1], x), metric_value(kv[1], y), kv[0])
    )
    out: list[tuple[int, ...]] = []
    best_y = math.inf
    for choice, t in items:
        y_val = metric_value(t, y)
        if y_val < best_y - _tol(y_val):
            out.append(choice)
            best_y = y_val
    return out


# --------------------------------------------------------------------------- alternatives


def _changes(
    compiled: Compiled, base: tuple[int, ...] | None, other: tuple[int, ...]
) -> list[NodeChange]:
    out = []
    for v, node_id in enumerate(compiled.order):
        if base is None or base[v] != other[v]:
            out.append(
                NodeChange(
                    node=node_id,
                    before=compiled.rows[v][base[v]].id if base else None,
                    after=compiled.rows[v][other[v]].id,
                )
            )
    return out


def _no_good(mm: MetricMilp, choice: tuple[int, ...], name: str) -> None:
    n = len(choice)
    mm.milp.add_row(
        {mm.milp.x_index[v][i]: 1.0 for v, i in enumerate(choice)}, -math.inf, n - 1.0, name
    )


def alternatives(
    problem: Problem, k: int, backend: str | None = None, time_limit_s: float | None = None
) -> list[Alternative]:
    """The ``k`` best distinct plans after the optimum (ranks 2..k+1), each with how much
    worse it is; fewer when fewer plans meet the budgets."""
    if k < 0:
        raise SolveError(f"--alternatives must be >= 0, got {k}")
    solver = Solver(backend, time_limit_s)
    compiled = Compiled(problem)
    sel = compiled.selection
    mm = build_metric_milp(sel)
    plans: list[tuple[tuple[int, ...], float, Totals]] = []
    while len(plans) < k + 1:
        choice = solver.optimise(mm)
        if choice is None:
            break
        t = evaluate(sel, choice)
        plans.append((choice, objective_value(sel, t), t))
        _no_good(mm, choice, f"no_good_{len(plans)}")
    if not plans:
        return []
    best_choice, best_obj, best_t = plans[0]
    out = []
    for rank, (choice, obj, t) in enumerate(plans[1:], start=2):
        extra = obj - best_obj
        out.append(
            Alternative(
                rank=rank,
                objective=obj,
                extra_objective=extra,
                extra_objective_pct=100.0 * extra / best_obj if best_obj > 0 else None,
                totals=Metrics.of(t),
                delta=_delta(t, best_t),
                assignment=_assignment(compiled, choice),
                changes=_changes(compiled, best_choice, choice),
            )
        )
    return out


# --------------------------------------------------------------------------- what-if

DEFAULT_FACTORS = (0.5, 0.75, 0.9, 1.1, 1.25, 1.5)


def _solve_sel(sel: SelectionProblem, solver: Solver) -> SolveResult:
    """`solve_selection` within what is left of ``solver``'s time limit; a status
    ``time_limit`` (no plan) once none is left, so an analysis keeps what it has."""
    try:
        left = solver.left()
    except SolveTimeout as exc:
        solver.exact = False
        return SolveResult(Status.TIME_LIMIT, solver.backend, message=str(exc))
    solver.solves += 1
    try:
        outcome = solve_selection(sel, solver.backend, left)
    except SolverError as exc:
        raise SolveError(str(exc)) from exc
    if outcome.result.status == Status.FEASIBLE:
        solver.exact = False
    return outcome.result


def what_if(
    problem: Problem,
    factors: Iterable[float] = DEFAULT_FACTORS,
    backend: str | None = None,
    time_limit_s: float | None = None,
) -> WhatIf:
    """How the optimum moves when each budget is scaled by each factor, which budgets bind,
    and for every node the best plan that does not use its chosen model."""
    solver = Solver(backend, time_limit_s)
    compiled = Compiled(problem)
    sel = compiled.selection
    base = _solve_sel(sel, solver)
    base_choice = base.choice
    base_t = evaluate(sel, base_choice) if base_choice is not None else None
    base_obj = objective_value(sel, base_t) if base_t is not None else None
    budgets: list[BudgetWhatIf] = []
    for name, limit in problem.budgets.given().items():
        metric = BUDGET_METRIC[name]
        relaxed = _solve_sel(sel.without_budgets(name), solver)
        rel_obj = relaxed.objective if relaxed.choice is not None else None
        binding = None
        if base_obj is not None and rel_obj is not None:
            binding = rel_obj < base_obj - 1e-9 * max(1.0, abs(base_obj))
        sweep = []
        seen: set[float] = set()
        for factor in sorted(factors):
            new = limit * factor
            if name == "min_accuracy":
                new = min(new, 1.0)
            if new <= 0 or new in seen or math.isclose(new, limit):
                continue
            seen.add(new)
            result = _solve_sel(replace(sel, budgets=replace(sel.budgets, **{name: new})), solver)
            t = evaluate(sel, result.choice) if result.choice is not None else None
            obj = objective_value(sel, t) if t is not None else None
            sweep.append(
                SweepPoint(
                    factor=factor,
                    limit=new,
                    status=result.status.value,
                    objective=obj,
                    extra_objective=(
                        obj - base_obj if obj is not None and base_obj is not None else None
                    ),
                    totals=Metrics.of(t) if t is not None else None,
                    changes=(
                        _changes(compiled, base_choice, result.choice)
                        if result.choice is not None and base_choice is not None
                        else []
                    ),
                )
            )
        budgets.append(
            BudgetWhatIf(
                name=name,
                limit=limit,
                value=metric_total(base_t, metric) if base_t is not None else None,
                binding=binding,
                relaxed_objective=rel_obj,
                sweep=sweep,
            )
        )
    runner_ups: list[RunnerUp] = []
    if base_choice is not None and base_t is not None and base_obj is not None:
        mm = build_metric_milp(sel)
        for v, node_id in enumerate(compiled.order):
            col = mm.milp.x_index[v][base_choice[v]]
            saved = mm.milp.ub[col]
            mm.milp.ub[col] = 0.0
            chosen = compiled.rows[v][base_choice[v]].id
            try:
                choice = solver.optimise(mm)
            except SolveTimeout as exc:  # keep the rest of the analysis
                solver.exact = False
                runner_ups.append(
                    RunnerUp(
                        node=node_id,
                        chosen=chosen,
                        runner_up=None,
                        objective=None,
                        extra_objective=None,
                        delta={},
                        changes=[],
                        note=f"unknown: the solver stopped at its time limit ({exc}); "
                        "raise --time-limit",
                    )
                )
                continue
            finally:
                mm.milp.ub[col] = saved
            if choice is None:
                runner_ups.append(
                    RunnerUp(
                        node=node_id,
                        chosen=chosen,
                        runner_up=None,
                        objective=None,
                        extra_objective=None,
                        delta={},
                        changes=[],
                        note=f"no plan meets the budgets without {chosen} at {node_id}",
                    )
                )
                continue
            t = evaluate(sel, choice)
            obj = objective_value(sel, t)
            changes = _changes(compiled, base_choice, choice)
            others = [c.node for c in changes if c.node != node_id]
            note = (
                f"{compiled.rows[v][choice[v]].id} instead of {chosen}: objective "
                f"+{obj - base_obj:.4g}"
            )
            if others:
                note += f"; also changes {', '.join(others)}"
            runner_ups.append(
                RunnerUp(
                    node=node_id,
                    chosen=chosen,
                    runner_up=compiled.rows[v][choice[v]].id,
                    objective=obj,
                    extra_objective=obj - base_obj,
                    delta=_delta(t, base_t),
                    changes=changes,
                    note=note,
                )
            )
    return WhatIf(
        problem=problem.name,
        status=base.status.value,
        objective=base_obj,
        totals=Metrics.of(base_t) if base_t is not None else None,
        assignment=_assignment(compiled, base_choice) if base_choice else {},
        budgets=budgets,
        runner_ups=runner_ups,
    )


__all__ = [
    "MetricMilp",
    "Solver",
    "alternatives",
    "build_metric_milp",
    "default_backend",
    "explain_infeasible",
    "pareto_front",
    "what_if",
]
