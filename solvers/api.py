"""`solve_selection`: presolve, exact shortcuts, a backend, then an independent check."""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, replace

from solvers.backends import REGISTRY, get_backend
from solvers.backends import available_backends as available_backends  # re-export
from solvers.bnb import branch_and_bound
from solvers.formulation import build_milp, start_values
from solvers.lagrange import flow_dual
from solvers.model import SelectionProblem, evaluate, objective_value, per_row, violations
from solvers.presolve import PresolveResult, presolve
from solvers.status import SolverError, SolveResult, Status

BACKENDS = tuple(REGISTRY)
DEFAULT_TIME_LIMIT_S = 60.0
#: The in-process branch-and-bound (`solvers.bnb`) runs first, for at most FAST_PATH_NODES
#: valued search nodes; after FAST_PATH_STALL_NODES (scaled down for problems with fewer
#: than 1,000 candidates in all, to a tenth at most) it goes on only while within 2% of its
#: bound. Both are counts, never seconds, so the same input takes the same path on a busy
#: machine as on an idle one; only the caller's time limit stops it by the clock.
FAST_PATH_NODES = 2_000_000
FAST_PATH_STALL_NODES = 400_000
SHORTCUT_BNB = "branch-and-bound"
SHORTCUT_DUAL = "flow dual"
#: Share of the time limit the flow dual may take at most before the MILP (it stops by
#: its iteration count first on every benchmark instance; the clock only caps it).
DUAL_SHARE = 0.3
#: Seconds kept back from the backend's limit for writing its model and reading its answer.
BACKEND_MARGIN_S = 0.3


@dataclass(frozen=True)
class SolveOutcome:
    """The backend's result mapped to the original problem, plus presolve's reasons."""

    result: SolveResult
    presolve: PresolveResult | None
    shortcut: str | None = None


def _separable_optimum(problem: SelectionProblem) -> tuple[int, ...] | None:
    """Per-node best choice when the objective is a sum over nodes (no critical-path term,
    no cold load shared between nodes); None otherwise."""
    w = problem.weights
    shape = problem.shape
    if (shape.path > 0 and w.latency > 0) or problem.has_loads:
        return None
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    rows = per_row(
        problem,
        lambda c: (
            w.energy * c.energy_j / e_ref
            + w.latency * shape.work * problem.duration(c) / l_ref
            + w.cost * c.cost_usd / c_ref
        ),
    )
    best: dict[int, int] = {}  # per shared row: its first least score
    choice = []
    for scores in rows:
        if id(scores) not in best:
            best[id(scores)] = min(range(len(scores)), key=lambda i: (scores[i], i))
        choice.append(best[id(scores)])
    return tuple(choice)


def solve_selection(
    problem: SelectionProblem,
    backend: str = "cbc",
    time_limit_s: float | None = None,
    gap_rel: float | None = None,
    use_presolve: bool = True,
    threads: int | None = None,
    fast_path: bool = True,
) -> SolveOutcome:
    """Solve ``problem`` exactly with ``backend``; the returned choice indexes the original
    candidates. A plan the backend returns is re-evaluated and checked against every budget:
    one that breaks a budget becomes an ``error`` (the solver misbehaved).

    With ``fast_path`` (default) the MILP backends (cbc, highs) are preceded by the exact
    in-process branch-and-bound of `solvers.bnb`: when it *proves* optimality (or
    infeasibility, or the requested gap) within its node budget, the backend is not called
    and ``shortcut`` is ``"branch-and-bound"`` (the result's message says so). Otherwise
    the backend runs in what is left of ``time_limit_s`` (HiGHS gets the search's best
    plan as a MIP start) and its answer is used; a backend stopped by its time limit with
    a worse plan (or none) is replaced by the search's plan. The reported bound is the
    best of the backend's and the search's, so the gap is known whenever either is.
    ``fast_path=False`` runs the backend alone (for comparison)."""
    engine = get_backend(backend)
    limit = DEFAULT_TIME_LIMIT_S if time_limit_s is None else float(time_limit_s)
    if not (math.isfinite(limit) and limit > 0):  # NaN would mean no limit at all
        raise SolverError(f"the time limit must be positive and finite (seconds), got {limit:g}")
    start = time.perf_counter()
    pre = presolve(problem) if use_presolve else None
    work = pre.problem if pre is not None else problem
    if pre is not None and pre.empty_node is not None:
        result = SolveResult(
            Status.INFEASIBLE,
            backend,
            solve_time_s=time.perf_counter() - start,
            message="presolve: a node has no candidate meeting the budgets",
        )
        return SolveOutcome(result, pre, "presolve")

    shortcut: str | None = None
    found: SolveResult | None = None
    incumbent: tuple[int, ...] | None = None
    fast_bound: float | None = None
    if engine.solves_milp:
        quick = _separable_optimum(work)
        totals = evaluate(work, quick, simulate=False) if quick is not None else None
        if quick is not None and not violations(work, quick, totals):
            assert totals is not None
            obj = objective_value(work, totals)
            found = SolveResult(Status.OPTIMAL, backend, quick, obj, obj, 0.0)
            shortcut = "unconstrained optimum meets every budget"
    if found is None and engine.solves_milp and fast_path and not _fast_path_pays(work):
        # critical-path objectives on larger graphs: the flow dual's bound and plan
        # (`solvers.lagrange`); the MILP starts from them
        dual = flow_dual(work, deadline=start + DUAL_SHARE * limit)
        if dual.bound == math.inf:
            found = SolveResult(
                Status.INFEASIBLE,
                backend,
                message="the flow dual proved that a node has no allowed model",
            )
        else:
            if math.isfinite(dual.bound):
                fast_bound = dual.bound
            incumbent = dual.choice
            if dual.objective is not None and math.isfinite(dual.bound):
                dual_gap = max(0.0, dual.objective - dual.bound) / max(abs(dual.objective), 1e-10)
                if dual_gap <= (gap_rel or 0.0) or dual_gap < 1e-9:
                    shortcut = SHORTCUT_DUAL
                    found = SolveResult(
                        Status.OPTIMAL,
                        backend,
                        dual.choice,
                        dual.objective,
                        dual.bound,
                        dual_gap,
                        message=f"answered by the flow dual ({dual.iterations} iterations, "
                        f"proven within {dual_gap:.3%}); {backend} was not called",
                    )
    elif found is None and engine.solves_milp and fast_path:
        bnb = branch_and_bound(
            work,
            node_limit=FAST_PATH_NODES,
            time_limit_s=limit,
            gap_rel=gap_rel or 0.0,
            stall_nodes=_stall_nodes(work),
        )
        if math.isfinite(bnb.root_bound):
            fast_bound = bnb.root_bound
        if bnb.proven:
            shortcut = SHORTCUT_BNB
            note = (
                f"answered by the exact in-process branch-and-bound ({bnb.nodes} search "
                f"nodes, search complete); {backend} was not called"
            )
            found = (
                SolveResult(Status.INFEASIBLE, backend, message=note)
                if bnb.choice is None
                else SolveResult(
                    Status.OPTIMAL,
                    backend,
                    bnb.choice,
                    bnb.objective,
                    bnb.root_bound,
                    None,
                    message=note,
                )
            )
        else:
            incumbent = bnb.choice
    if found is None:
        remaining = limit - (time.perf_counter() - start)
        if remaining <= 0.0 and incumbent is not None:
            found = SolveResult(
                Status.FEASIBLE,
                backend,
                incumbent,
                None,
                fast_bound,
                None,
                message="time limit reached in the branch-and-bound; its best plan",
            )
        else:
            milp = build_milp(work) if engine.solves_milp else None
            mip_start = start_values(milp, work, incumbent) if milp and incumbent else None
            # what is left after building the model; the backend's own start-up and the
            # check of its answer come out of the same limit
            remaining = limit - (time.perf_counter() - start) - BACKEND_MARGIN_S
            found = engine.solve(
                work, milp, max(remaining, 0.05 * limit), gap_rel, mip_start, threads
            )
            if incumbent is not None:
                found = _keep_better(work, found, incumbent, backend)
    result = found
    elapsed = time.perf_counter() - start
    if result.choice is None:
        return SolveOutcome(replace(result, solve_time_s=elapsed), pre, shortcut)
    malformed = _malformed(work, result.choice)
    if malformed:
        bad = SolveResult(
            Status.ERROR,
            backend,
            solve_time_s=elapsed,
            message=f"{backend} returned a malformed plan ({malformed}); "
            "the solver misbehaved (try another --backend)",
        )
        return SolveOutcome(bad, pre, shortcut)
    choice = pre.lift(result.choice) if pre is not None else result.choice
    totals = evaluate(problem, choice, simulate=False)
    broken = violations(problem, choice, totals)
    if broken:
        bad = SolveResult(
            Status.ERROR,
            backend,
            solve_time_s=elapsed,
            message=f"{backend} returned a plan that breaks {', '.join(broken)}; "
            "the solver misbehaved (try another --backend)",
        )
        return SolveOutcome(bad, pre, shortcut)
    objective = objective_value(problem, totals)
    # every proven lower bound counts: the backend's and the fast path's (both are bounds
    # on the same presolved problem, whose optimum equals the original's)
    bounds = [b for b in (result.bound, fast_bound) if b is not None and math.isfinite(b)]
    bound = min(max(bounds), objective) if bounds else None
    gap = result.gap
    if bound is not None:
        gap = max(0.0, objective - bound) / max(abs(objective), 1e-10)
        if gap < 1e-9:
            gap = 0.0
    final = replace(
        result, choice=choice, objective=objective, bound=bound, gap=gap, solve_time_s=elapsed
    )
    return SolveOutcome(final, pre, shortcut)


def _malformed(problem: SelectionProblem, choice: tuple[int, ...]) -> str:
    """Why ``choice`` is not one candidate index per node of ``problem`` ("" when it is).
    A backend's answer is data from outside this process: check it before indexing."""
    if len(choice) != problem.n_nodes:
        return f"{len(choice)} choices for {problem.n_nodes} nodes"
    for v, i in enumerate(choice):
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            return f"node index {v}: candidate {i!r} is not an integer index"
        if not 0 <= i < len(problem.candidates[v]):
            return (
                f"node index {v}: candidate index {i} is out of range "
                f"(it has {len(problem.candidates[v])} candidates)"
            )
    return ""


def _keep_better(
    problem: SelectionProblem, result: SolveResult, incumbent: tuple[int, ...], backend: str
) -> SolveResult:
    """The backend's result, or the fast path's plan when the backend stopped (time limit)
    with a worse plan or none; the backend's bound is kept either way."""
    obj = objective_value(problem, evaluate(problem, incumbent, simulate=False))
    if result.status == Status.ERROR:
        return result
    if result.status in (Status.OPTIMAL, Status.INFEASIBLE):
        claimed = result.objective if result.status == Status.OPTIMAL else None
        if claimed is not None and claimed <= obj + 1e-9 * max(1.0, abs(obj)):
            return result
        # the backend claims optimality (or infeasibility) yet a better plan is known:
        # its claim is wrong, so its bound is not trusted either
        return SolveResult(
            Status.FEASIBLE,
            backend,
            incumbent,
            obj,
            None,
            None,
            result.solve_time_s,
            f"{backend} claimed {result.status.value} but the fast path's plan is better; "
            "kept that plan",
        )
    if result.objective is not None and result.objective <= obj:
        return result
    gap = None
    if result.bound is not None:
        gap = max(0.0, obj - result.bound) / max(abs(obj), 1e-10)
    return SolveResult(
        Status.FEASIBLE,
        backend,
        incumbent,
        obj,
        result.bound,
        gap,
        result.solve_time_s,
        "time limit reached; plan from the fast path (branch-and-bound or flow dual)",
    )


#: Above this many nodes, an objective with a critical-path term goes to the MILP after the
#: search's first dive only (its plan is the MILP's incumbent, its bound counts for the gap):
#: measured on benchmarks.instances at 20 and 100 nodes x 10 candidates (weights 0.5/0.5),
#: the branch-and-bound's bound on the critical path is too weak to close, and the time it
#: spends is the MILP's loss (benchmarks/results/scaling_side_by_side.md).
FAST_PATH_MAX_PATH_NODES = 16


def _fast_path_pays(problem: SelectionProblem) -> bool:
    """Whether the in-process search is worth trying first (a rule on the problem's shape,
    never on the clock)."""
    critical = problem.shape.path > 0 and problem.weights.latency > 0
    return not critical or problem.n_nodes <= FAST_PATH_MAX_PATH_NODES


def _stall_nodes(problem: SelectionProblem) -> int:
    """How many search nodes the fast path may spend without being close to its bound."""
    size = sum(len(c) for c in problem.candidates)
    return int(FAST_PATH_STALL_NODES * min(1.0, max(0.1, size / 1000)))
