"""From `Problem` to `Plan`: build the numeric problem, call a backend, explain the answer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any, TypeVar

from planner.errors import SolveError
from planner.machine import Machine
from planner.plan import (
    BudgetCheck,
    CandidateView,
    Metrics,
    NodePlan,
    Plan,
    ScheduleInfo,
    SolverInfo,
)
from planner.problem import BUDGET_KEYS, Budgets, Problem
from profiles import ModelProfile
from solvers import (
    BackendUnavailable,
    Candidate,
    SelectionProblem,
    SolverError,
    Status,
    evaluate,
    objective_value,
    solve_selection,
    violations,
)
from solvers import Budgets as SolverBudgets
from solvers import Weights as SolverWeights
from solvers.api import DEFAULT_TIME_LIMIT_S, SolveOutcome
from solvers.backends import get_backend
from solvers.schedule import Schedule, adjacency, bottom_levels, list_schedule

T = TypeVar("T")


def load_cost(machine: Machine, model: ModelProfile) -> tuple[float, float]:
    """(load_ms, load_energy_j) the plan counts for ``model``, once per distinct model: the
    profile's values (None = not measured = 0) when the machine loads it cold, else 0.

    The one place that decides what a cold start costs (for example, a pool whose every
    worker process loads the model would multiply the energy here)."""
    if not machine.is_cold(model.id):
        return 0.0, 0.0
    return model.load_ms or 0.0, model.load_energy_j or 0.0


def selection_budgets(budgets: Budgets) -> SolverBudgets:
    """The solver's view of the problem's budgets (node floors go by index separately)."""
    return SolverBudgets(
        budgets.energy_j,
        budgets.latency_ms,
        budgets.min_accuracy,
        budgets.memory_mb,
        budgets.cost_usd,
    )


class Compiled:
    """A problem compiled to the solvers' numeric form, with the way back.

    The machine (`Problem.machine`) becomes: ``workers`` = the worker slots the executor
    will use for parallel execution (sequential execution is one worker), the dispatch and
    start-up overheads, and per candidate the cold-load cost of `load_cost`."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        graph = problem.graph
        dependencies = graph.dependency_edges()
        self.order: list[str] = graph.topological_order(dependencies)
        index = {node_id: i for i, node_id in enumerate(self.order)}
        task_of = {node.id: node.task for node in graph.nodes}
        #: the task of each node, by index
        self.tasks: list[str] = [task_of[node_id] for node_id in self.order]
        by_task: dict[str, list[ModelProfile]] = {task: [] for task in self.tasks}
        for m in problem.candidates:
            if m.task in by_task:
                by_task[m.task].append(m)
        for rows in by_task.values():  # `Problem.candidates_for`'s order
            rows.sort(key=lambda m: m.id)
        self.rows: list[list[ModelProfile]] = [by_task[task] for task in self.tasks]
        edges = tuple(sorted((index[u], index[v]) for u, v in dependencies))
        b = problem.budgets
        machine = problem.machine
        parallel = problem.execution == "parallel"
        self.workers = machine.resolved_workers() if parallel else 1
        floors = tuple(b.node_min_accuracy.get(node_id) for node_id in self.order)

        # one Candidate per profile row, shared by the nodes of its task
        made = {
            task: tuple(_candidate(m, *load_cost(machine, m)) for m in rows)
            for task, rows in by_task.items()
        }

        self.selection = SelectionProblem(
            n_nodes=len(self.order),
            edges=edges,
            candidates=tuple(made[task] for task in self.tasks),
            budgets=selection_budgets(b),
            weights=SolverWeights(
                problem.weights.energy, problem.weights.latency, problem.weights.cost
            ),
            parallel=parallel,
            node_min_accuracy=floors if any(f is not None for f in floors) else None,
            workers=self.workers,
            dispatch_ms=machine.dispatch_ms,
            # the shared cold base is paid once whatever the plan: a constant, like start-up
            startup_ms=machine.startup_ms + machine.base_load_ms(),
        )


#: Immutable objects built from one profile row (its solver `Candidate`, its predicted
#: `Metrics`, its `CandidateView` per reason) are kept per row object: a service solves
#: request after request over the same catalog rows. Keyed by the row's id plus what else
#: the object depends on; the entry holds the row itself, so the id cannot be reused while
#: it is kept. At most ROW_CACHE entries (then it starts over).
ROW_CACHE = 8192
_by_row: dict[tuple[Any, ...], tuple[ModelProfile, Any]] = {}


def _row_object(m: ModelProfile, key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """``build()`` for row ``m`` and ``key``, made once per row object (see ROW_CACHE)."""
    full = (id(m), *key)
    hit = _by_row.get(full)
    if hit is not None and hit[0] is m:
        made: T = hit[1]
        return made
    made = build()
    if len(_by_row) >= ROW_CACHE:
        _by_row.clear()
    _by_row[full] = (m, made)
    return made


def _candidate(m: ModelProfile, load_ms: float, load_j: float) -> Candidate:
    """The solver's `Candidate` of profile row ``m`` with these cold-load costs."""
    return _row_object(
        m,
        ("candidate", load_ms, load_j),
        lambda: Candidate(
            m.id, m.accuracy, m.latency_ms, m.energy_j, m.memory_mb, m.cost_usd, load_ms, load_j
        ),
    )


def _view(m: ModelProfile, chosen: bool, reason: str) -> CandidateView:
    """The `CandidateView` of row ``m`` (chosen or not, with ``reason``)."""
    return _row_object(
        m,
        ("view", chosen, reason),
        lambda: CandidateView(
            model=m.id,
            accuracy=m.accuracy,
            latency_ms=m.latency_ms,
            energy_j=m.energy_j,
            memory_mb=m.memory_mb,
            cost_usd=m.cost_usd,
            chosen=chosen,
            reason=reason,
        ),
    )


def _schedule(
    compiled: Compiled, choice: tuple[int, ...]
) -> tuple[ScheduleInfo, Schedule, list[float], list[str]]:
    """The executor's list schedule of ``choice`` (simulated), its priorities, and the
    critical path of the predicted durations."""
    sel = compiled.selection
    chosen = [sel.candidates[v][i] for v, i in enumerate(choice)]
    durations = [sel.duration(c) for c in chosen]
    adj = adjacency(sel.n_nodes, sel.edges)
    prio = bottom_levels(durations, sel.edges, adj)
    sim = list_schedule(durations, sel.edges, compiled.workers, prio, adj)
    loads = sel.load_by_key
    cold = sorted({c.key for c in chosen if loads[c.key] != (0.0, 0.0)})
    base = compiled.problem.machine.base_load_ms()  # counted in sel.startup_ms, shown here
    load_ms = base + math.fsum(loads[k][0] for k in cold)
    load_j = math.fsum(loads[k][1] for k in cold)
    shape = sel.shape
    if shape.path == 0:
        bound = "sum of the node durations (one worker)"
    elif shape.work == 0:
        bound = "critical path (workers >= the graph's width)"
    else:
        bound = f"Graham: work / {shape.workers} + (1 - 1/{shape.workers}) x critical path"
    info = ScheduleInfo(
        workers=compiled.workers,
        dispatch_ms=sel.dispatch_ms,
        startup_ms=sel.startup_ms - base,
        load_ms=load_ms,
        load_energy_j=load_j,
        cold_models=cold,
        index=list(compiled.order),
        order=[compiled.order[v] for v in sim.order],
        makespan_ms=sim.makespan,
        bound=bound,
    )
    # critical path: from the node with the largest bottom level among the sources, follow
    # the successor with the largest bottom level (ties to the lower index: deterministic)
    crit: list[str] = []
    if sel.n_nodes:
        preds, succs = adj
        v = max((u for u in range(sel.n_nodes) if not preds[u]), key=lambda u: (prio[u], -u))
        crit.append(compiled.order[v])
        while succs[v]:
            v = max(succs[v], key=lambda u: (prio[u], -u))
            crit.append(compiled.order[v])
    return info, sim, prio, crit


def solve(
    problem: Problem,
    backend: str = "cbc",
    time_limit_s: float | None = None,
    gap_rel: float | None = None,
    explain: bool = False,
    presolve: bool = True,
) -> Plan:
    """Solve ``problem`` exactly and return a `Plan` (status ``infeasible`` is not an error).

    ``explain=False`` (the lean path, for services): the optimal assignment, its totals and
    schedule, presolve's reasons, nothing else. ``explain=True`` (what `planner solve`
    shows) also finds which budgets bind (one re-solve per budget) and, for every candidate
    the optimum did not pick, what swapping it in alone would do: the same as calling
    `explain_plan` on the lean plan later. ``time_limit_s`` bounds the whole call, analysis
    included.
    """
    start = time.perf_counter()
    limit = DEFAULT_TIME_LIMIT_S if time_limit_s is None else float(time_limit_s)
    if gap_rel is not None and not 0 <= gap_rel < 1:
        raise SolveError(f"gap must be in [0, 1), got {gap_rel}")
    if not limit > 0:
        raise SolveError(f"the time limit must be positive, got {limit:g} s")
    compiled = Compiled(problem)
    outcome, backend, note = _solve_with_fallback(
        compiled.selection, backend, limit, gap_rel, presolve
    )
    plan = _plan(compiled, outcome, backend, limit, gap_rel, note)
    if explain:
        plan = explain_plan(
            plan, time_limit_s=limit - (time.perf_counter() - start), compiled=compiled
        )
    return plan


def highs_available() -> bool:
    """Whether the fallback backend can run (a name tests can replace)."""
    return get_backend("highs").available()


def _solve_with_fallback(
    sel: SelectionProblem, backend: str, limit: float, gap_rel: float | None, presolve: bool
) -> tuple[SolveOutcome, str, str]:
    """`solve_selection`, falling back from an unavailable CBC to HiGHS (said in the note)."""
    try:
        return solve_selection(sel, backend, limit, gap_rel, use_presolve=presolve), backend, ""
    except BackendUnavailable as exc:
        fallback = get_backend(backend).fallback
        if fallback is None:
            raise SolveError(str(exc)) from exc
        if not highs_available():
            raise SolveError(
                f"CBC is unavailable ({exc}) and HiGHS, the fallback, is not installed: "
                "pip install highspy (or reinstall PuLP for CBC)"
            ) from exc
        try:
            outcome = solve_selection(sel, fallback, limit, gap_rel, use_presolve=presolve)
        except SolverError as exc2:
            raise SolveError(f"CBC is unavailable ({exc}); HiGHS failed too: {exc2}") from exc2
        return outcome, fallback, f"CBC unavailable ({exc}); solved with HiGHS"
    except SolverError as exc:
        raise SolveError(str(exc)) from exc


NOT_ANALYSED = "not chosen (reasons not analysed: solve with explain=True)"


def _plan(
    compiled: Compiled,
    outcome: SolveOutcome,
    backend: str,
    limit: float,
    gap_rel: float | None,
    note: str,
) -> Plan:
    problem = compiled.problem
    result = outcome.result
    if note:
        result = replace(result, message=f"{note}; {result.message}" if result.message else note)
    pre = outcome.presolve
    sel = compiled.selection
    choice = result.choice
    removed = sum(len(r) for r in pre.reasons) if pre is not None else 0

    totals: Metrics | None = None
    crit: list[str] = []
    info: ScheduleInfo | None = None
    sim: Schedule | None = None
    prio: list[float] = []
    offset = 0.0
    if choice is not None:
        info, sim, prio, crit = _schedule(compiled, choice)
        totals = Metrics.of(evaluate(sel, choice, makespan=sim.makespan))
        offset = info.startup_ms + info.load_ms

    # views and predicted metrics are immutable: a row in the same state (same reason)
    # shares one instance across nodes and solves (`_row_object`)
    nodes: list[NodePlan] = []
    for v, node_id in enumerate(compiled.order):
        rows = compiled.rows[v]
        dropped = pre.reasons[v] if pre is not None else {}
        pick = choice[v] if choice is not None else -1
        views = []
        for i, m in enumerate(rows):
            chosen = i == pick
            if chosen:
                reason = "chosen"
            elif i in dropped:
                reason = dropped[i]
            elif choice is None:
                reason = "no feasible plan"
            else:
                reason = NOT_ANALYSED
            views.append(_view(m, chosen, reason))
        model = rows[pick] if choice is not None else None
        predicted = None
        if model is not None:
            predicted = _row_object(model, ("metrics",), partial(Metrics.of, model))
        nodes.append(
            NodePlan(
                id=node_id,
                task=compiled.tasks[v],
                model=model.id if model else None,
                predicted=predicted,
                start_ms=offset + sim.start[v] if sim is not None else None,
                finish_ms=offset + sim.finish[v] if sim is not None else None,
                worker=sim.worker[v] if sim is not None else None,
                priority_ms=prio[v] if sim is not None else None,
                candidates=views,
            )
        )

    given = problem.budgets.given()
    checks = []
    for name in BUDGET_KEYS:
        if name not in given:
            continue
        value = totals.for_budget(name) if totals else None
        slack = None
        if value is not None:
            slack = value - given[name] if name == "min_accuracy" else given[name] - value
        checks.append(BudgetCheck(name=name, limit=given[name], value=value, slack=slack))

    assert sel.scales is not None
    w = sel.weights
    return Plan(
        status=result.status.value,
        message=_message(result.status, result.message, totals, problem),
        objective=result.objective,
        assignment={n.id: n.model for n in nodes if n.model is not None},
        nodes=nodes,
        totals=totals,
        budgets=checks,
        critical_path=crit,
        schedule=info,
        execution=problem.execution,
        weights={"energy": w.energy, "latency": w.latency, "cost": w.cost},
        scales={"energy_j": sel.scales[0], "latency_ms": sel.scales[1], "cost_usd": sel.scales[2]},
        solver=SolverInfo(
            backend=backend,
            time_limit_s=limit,
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


def explain_plan(
    plan: Plan, time_limit_s: float | None = None, compiled: Compiled | None = None
) -> Plan:
    """``plan`` with its analysis: for every candidate not chosen (and not removed by
    presolve), what swapping it in alone would do, and for every budget whether it binds
    (dropping it alone gives a strictly better optimum; one re-solve each, together within
    ``time_limit_s``; None where that could not be proven in time). Pure: a new `Plan`."""
    if plan.objective is None or not plan.has_plan:
        return plan
    compiled = compiled or Compiled(plan.problem)
    sel = compiled.selection
    index = {node_id: v for v, node_id in enumerate(compiled.order)}
    choice = tuple(
        [m.id for m in compiled.rows[index[n.id]]].index(plan.assignment[n.id])
        for n in sorted(plan.nodes, key=lambda n: index[n.id])
    )
    nodes = []
    for node in plan.nodes:
        v = index[node.id]
        views = [
            c.model_copy(update={"reason": _swap_reason(sel, choice, v, i, plan.objective)})
            if c.reason == NOT_ANALYSED
            else c
            for i, c in enumerate(node.candidates)
        ]
        nodes.append(node.model_copy(update={"candidates": views}))
    start = time.perf_counter()
    budget_s = plan.solver.time_limit_s if time_limit_s is None else time_limit_s
    checks = []
    for check in plan.budgets:
        left = budget_s - (time.perf_counter() - start)
        binding = (
            _binds(sel, check.name, plan.solver.backend, left, plan.objective)
            if left > 0 and plan.status == "optimal"
            else None
        )
        checks.append(check.model_copy(update={"binding": binding}))
    return plan.model_copy(update={"nodes": nodes, "budgets": checks})


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
    sel: SelectionProblem, name: str, backend: str, time_limit_s: float, objective: float
) -> bool | None:
    """Whether dropping budget ``name`` alone gives a strictly better optimum: True when a
    better plan is found, False when the relaxed problem's proven bound is no better, None
    when neither is known within the time."""
    try:
        outcome = solve_selection(sel.without_budgets(name), backend, time_limit_s)
    except SolverError:
        return None
    r = outcome.result
    tol = 1e-9 * max(1.0, abs(objective))
    if r.objective is not None and r.objective < objective - tol:
        return True
    if r.status == Status.OPTIMAL or (r.bound is not None and r.bound >= objective - tol):
        return False
    return None
