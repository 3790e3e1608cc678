"""Cost-aware model orchestration: exact plans over measured model profiles under budgets.

The names below are imported on first use, so that a module deep inside the package (a run's
worker process importing `planner.run.procpool`) does not pay for the solver stack."""

from typing import TYPE_CHECKING, Any

from planner.errors import PlannerError, ProblemError, SolveError

if TYPE_CHECKING:
    from planner.plan import Plan
    from planner.problem import Problem, load_problem, problem_from_data
    from planner.solve import solve

__all__ = [
    "Plan",
    "PlannerError",
    "Problem",
    "ProblemError",
    "SolveError",
    "load_problem",
    "problem_from_data",
    "solve",
]


def __getattr__(name: str) -> Any:
    if name == "Plan":
        from planner.plan import Plan

        return Plan
    if name in ("Problem", "load_problem", "problem_from_data"):
        from planner import problem

        return getattr(problem, name)
    if name == "solve":
        from planner.solve import solve

        return solve
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
