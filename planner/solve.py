"""From `Problem` to `Plan`: build the numeric problem, call a backend, explain the answer."""

from __future__ import annotations

import math
from dataclasses import replace

from planner.errors import SolveError
from planner.plan import (
    BudgetCheck,
    CandidateView,
    Metrics,
    NodePlan,
    Plan,
    SolverInfo,
)
from planner.problem import BUDGET_KEYS, Problem
from profiles import ModelProfile
from solvers import (
    BackendUnavailable,
    Budgets,
    Candidate,
    SelectionProblem,
    SolverError,
    Status,
    Weights,
    evaluate,
    objective_value,
    solve_selection,
    violations,
)
from solvers.api import DEFAULT_TIME_LIMIT_S
from solvers.highs import highs_available


class Compiled:
    """A problem compiled to the solvers' numeric form, with the way back."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.order: list[str] = problem.graph.topological_order()
        index = {node_id: i for i, node_id in enumerate(self.order)}
        self.rows: list[list[ModelProfile]] = [
            problem.candidates_for(problem.graph.node(node_id).task) for node_id in self.order
        ]
        edges = tuple(sorted((index[u], index[v]) for u, v in problem.graph.dependency_edges()))
        b = problem.budgets
        floors = tuple(b.node_min_accuracy.get(node_id) for node_id in self.order)
        self.selection = SelectionProblem(
            n_nodes=len(self.order),
            edges=edges,
            candidates=tuple(
                tuple(
                    Candidate(m.id, m.accuracy, m.latency_ms, m.energy_j, m.memory_mb, m.cost_usd)
                    for m in rows
                )
                for rows in self.rows
            ),
            budgets=Budgets(b.energy_j, b.latency_ms, b.min_accuracy, b.memory_mb, b.cost_usd),
            weights=Weights(problem.weights.energy, problem.weights.latency, problem.weights.cost),
            parallel=problem.execution == "parallel",
            node_min_accuracy=floors if any(f is not None for f in floors) else None,
        )


def _schedule(
    compiled: Compiled, choice: tuple[int, ...]
) -> tuple[list[float], list[float], list[str]]:
    sel = compiled.selection
    lat = [sel.candidates[v][i].latency_ms for v, i in enumerate(choice)]
    start = [0.0] * sel.n_nodes
    finish = [0.0] * sel.n_nodes
    preds = sel.predecessors()
    if sel.parallel:
        for v in range(sel.n_nodes):
            start[v] = max((finish[u] for u in preds[v]), default=0.0)
            finish[v] = start[v] + lat[v]
        # critical path: walk back from the latest finish through the predecessor that
        # determined each start (ties to the smallest node id: deterministic)
        v = max(range(sel.n_nodes), key=lambda k: (finish[k], -k))
        path = [v]
        while preds[v]:
            best = max(preds[v], key=lambda u: (finish[u], -u))
            if not math.isclose(finish[best], start[v], rel_tol=0, abs_tol=1e-9):
                break
            v = best
            path.append(v)
        crit = [compiled.order[k] for k in reversed(path)]
    else:
        t = 0.0
        for v in range(sel.n_nodes):
            start[v], t = t, t + lat[v]
            finish[v] = t
        crit = list(compiled.order)
    return start, finish, crit


def solve(
    problem: Problem,
    backend: str = "cbc",
    time_limit_s: float | None = None,
    gap_rel: float | None = None,
    analyze: bool = False,
    presolve: bool = True,
) -> Plan:
    """Solve ``problem`` exactly and return a `Plan` (status ``infeasible`` is not an error).

    ``analyze=True`` also finds which budgets bind (one re-solve per budget) and, for every
    candidate the optimum did not pick, what swapping it in alone would do.
    """
    if gap_rel is not None and not 0 <= gap_rel < 1:
        raise SolveError(f"gap must be in [0, 1), got {gap_rel}")
    compiled = Compiled(problem)
    fallback_note = ""
    try:
        outcome = solve_selection(
            compiled.selection, backend, time_limit_s, gap_rel, use_presolve=presolve
        )
    except BackendUnavailable as exc:
        if backend != "cbc":
            raise SolveError(str(exc)) from exc
        if not highs_available():
            raise SolveError(
                f"CBC is unavailable ({exc}) and HiGHS, the fallback, is not installed: "
                "pip install highspy (or reinstall PuLP for CBC)"
            ) from exc
        try:
            outcome = solve_selection(
                compiled.selection, "highs", time_limit_s, gap_rel, use_presolve=presolve
            )
        except SolverError as exc2:
            raise SolveError(f"CBC is unavailable ({exc}); HiGHS failed too: {exc2}") from exc2
        backend = "highs"
        fallback_note = f"CBC unavailable ({exc}); solved with HiGHS"
    except SolverError as exc:
        raise SolveError(str(exc)) from exc
    result = outcome.result
    if fallback_note:
        result = replace(
            result,
            message=f"{fallback_note}; {result.message}" if result.message else fallback_note,
        )
    pre = outcome.presolve
    sel = compiled.selection
    choice = result.choice
    removed = sum(len(r) for r in pre.reasons) if pre is not None else 0

    totals: Metrics | None = None
    start: list[float] = []
    finish: list[float] = []
    crit: list[str] = []
    if choice is not None:
        t = evaluate(sel, choice)
        totals = Metrics.of(t)
        start, finish, crit = _schedule(compiled, choice)

    nodes: list[NodePlan] = []
    for v, node_id in enumerate(compiled.order):
        node = problem.graph.node(node_id)
        views = []
        for i, m in enumerate(compiled.rows[v]):
            chosen = choice is not None and choice[v] == i
            if chosen:
                reason = "chosen"
            elif pre is not None and i in pre.reasons[v]:
                reason = pre.reasons[v][i]
            elif choice is None:
                reason = "no feasible plan"
            elif analyze:
                reason = _swap_reason(sel, choice, v, i, result.objective)
            else:
                reason = "not chosen: the optimum is better with another model"
            views.append(
                CandidateView(
                    model=m.id,
                    accuracy=m.accuracy,
                    latency_ms=m.latency_ms,
                    energy_j=m.energy_j,
                    memory_mb=m.memory_mb,
                    cost_usd=m.cost_usd,
                    chosen=chosen,
                    reason=reason,
                )
            )
        model = compiled.rows[v][choice[v]] if choice is not None else None
        nodes.append(
            NodePlan(
                id=node_id,
                task=node.task,
                model=model.id if model else None,
                predicted=Metrics.of(model) if model else None,
                start_ms=start[v] if choice is not None else None,
                finish_ms=finish[v] if choice is not None else None,
                candidates=views,
            )
        )

    given = problem.budgets.given()
    checks = []
    for name in BUDGET_KEYS:
        if name not in given:
            continue
        limit = given[name]
        value = totals.for_budget(name) if totals else None
        slack = None
        if value is not None:
            slack = value - limit if name == "min_accuracy" else limit - value
        binding = None
        if analyze and choice is not None and result.objective is not None:
            binding = _binds(sel, name, backend, time_limit_s, result.objective)
        checks.append(
            BudgetCheck(name=name, limit=limit, value=value, slack=slack, binding=binding)
        )

    assert sel.scales is not None
    w = sel.weights
    status = result.status.value
    message = _message(result.status, result.message, totals, problem)
    return Plan(
        status=status,
        message=message,
        objective=result.objective,
        assignment={n.id: n.model for n in nodes if n.model is not None},
        nodes=nodes,
        totals=totals,
        budgets=checks,
        critical_path=crit,
        execution=problem.execution,
        weights={"energy": w.energy, "latency": w.latency, "cost": w.cost},
        scales={"energy_j": sel.scales[0], "latency_ms": sel.scales[1], "cost_usd": sel.scales[2]},
        solver=SolverInfo(
            backend=backend,
            time_limit_s=DEFAULT_TIME_LIMIT_S if time_limit_s is None else time_limit_s,
            gap_rel=gap_rel,
            gap=result.gap,
            bound=result.bound,
            solve_time_ms=result.solve_time_s * 1000.0,
            presolve_removed=removed,
            shortcut=outcome.shortcut,
            message=result.message,
        ),
        problem=problem,
    )


def _message(status: Status, detail: str, totals: Metrics | None, problem: Problem) -> str:
    if status == Status.OPTIMAL:
        return "optimal plan found"
    if status == Status.FEASIBLE:
        return f"plan found, not proven optimal ({detail or 'stopped early'})"
    if status == Status.INFEASIBLE:
        budgets = ", ".join(f"{k}={v:g}" for k, v in problem.budgets.given().items())
        return (
            f"no plan meets every budget ({budgets or 'none given'}); relax a budget or "
            "add candidates"
        )
    if status == Status.TIME_LIMIT:
        return "the time limit ran out before any plan was found; raise --time-limit"
    return f"the solver failed: {detail}"


def _swap_reason(
    sel: SelectionProblem, choice: tuple[int, ...], v: int, i: int, best: float | None
) -> str:
    alt = list(choice)
    alt[v] = i
    broken = violations(sel, alt)
    if broken:
        names = ", ".join(b.replace("node_min_accuracy", "node accuracy floor") for b in broken)
        return f"swapping it in would break {names}"
    obj = objective_value(sel, evaluate(sel, alt))
    delta = obj - (best or 0.0)
    if delta <= 1e-12:
        return "ties the optimum (not picked by tie-break)"
    return f"worse objective (+{delta:.4g} if swapped in alone)"


def _binds(
    sel: SelectionProblem, name: str, backend: str, time_limit_s: float | None, objective: float
) -> bool | None:
    """Whether dropping budget ``name`` alone gives a strictly better optimum."""
    try:
        outcome = solve_selection(sel.without_budgets(name), backend, time_limit_s)
    except SolverError:
        return None
    if outcome.result.objective is None:
        return None
    return outcome.result.objective < objective - 1e-9 * max(1.0, abs(objective))
