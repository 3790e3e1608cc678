"""The one call from the service into model selection: `select(problem) -> Plan`.

The service needs the optimal assignment and its totals, not the per-candidate reasons and
binding re-solves `planner solve` shows; when the installed `planner.solve` offers the lean
path (``explain=False``), it is used, else the plain call (whose default does no binding
re-solves either).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

from planner.plan import Plan
from planner.problem import Problem
from planner.solve import solve

#: Whether `planner.solve` takes ``explain`` (the lean hot path).
LEAN = "explain" in inspect.signature(solve).parameters
#: Solver time limit per selection, seconds (a plan is never worth a hung request).
TIME_LIMIT_S = 2.0


def select(problem: Problem, time_limit_s: float = TIME_LIMIT_S) -> Plan:
    """The optimal plan of ``problem`` (status ``infeasible`` when nothing fits)."""
    extra: dict[str, Any] = {"explain": False} if LEAN else {}
    return solve(problem, time_limit_s=time_limit_s, **extra)


#: Relative accuracy gap at which `select_accurate` stops probing (1%).
ACCURACY_TOL = 0.01
#: Most feasibility probes `select_accurate` makes after the first two solves.
MAX_PROBES = 6
#: Time limit of one probe, s: near the feasibility frontier proving that no plan reaches a
#: floor can take the MILP backend hundreds of ms; a probe that runs out counts as "no plan".
PROBE_TIME_LIMIT_S = 0.05


def select_accurate(
    problem: Problem,
    time_limit_s: float = TIME_LIMIT_S,
    rel_tol: float = ACCURACY_TOL,
    max_probes: int = MAX_PROBES,
    probe_time_limit_s: float = PROBE_TIME_LIMIT_S,
) -> tuple[Plan, int]:
    """The most accurate plan within ``problem``'s budgets (the slot's energy among them),
    and how many solves it took: GUIDE's behaviour, where plans move to cheaper models as
    the slot's energy runs out.

    The objective has no accuracy term, so accuracy is pushed up through the floor: first
    the best accuracy the graph allows (one solve: the common case when energy is
    plentiful), else a geometric bisection between the accuracy of the plan the request's
    own objective picks and that upper bound, each probe solving for the request's objective
    under a higher ``min_accuracy``, until the gap is under ``rel_tol`` (or ``max_probes``;
    a probe gets ``probe_time_limit_s`` and one that finds no plan in it lowers the upper
    bound, so the answer may then be up to that probe's floor below the true best). Among
    plans of the accuracy found, the request's objective decides: the plan returned is the
    optimum of its own problem (the request's, with the floor found)."""
    floor = problem.budgets.min_accuracy or 0.0
    best_possible = math.prod(
        max(m.accuracy for m in problem.candidates_for(node.task)) for node in problem.graph.nodes
    )
    solves = 1
    top = select(_with_floor(problem, max(floor, best_possible * (1 - 1e-9))), time_limit_s)
    if top.has_plan or best_possible <= floor:
        return top, solves
    base = select(problem, time_limit_s)
    solves += 1
    if not base.has_plan or base.totals is None:
        return base, solves
    best, lo, hi = base, base.totals.accuracy, best_possible
    for _ in range(max_probes):
        if hi <= lo * (1 + rel_tol):
            break
        mid = math.sqrt(lo * hi)
        probe = select(_with_floor(problem, max(floor, mid)), min(time_limit_s, probe_time_limit_s))
        solves += 1
        if probe.has_plan and probe.totals is not None:
            best, lo = probe, max(mid, probe.totals.accuracy)
        else:
            hi = mid
    return best, solves


def _with_floor(problem: Problem, floor: float) -> Problem:
    budgets = problem.budgets.model_copy(update={"min_accuracy": min(1.0, floor)})
    return problem.model_copy(update={"budgets": budgets})
