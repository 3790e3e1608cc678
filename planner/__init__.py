"""Cost-aware model orchestration: exact plans over measured model profiles under budgets."""

from planner.errors import PlannerError, ProblemError, SolveError
from planner.plan import Plan
from planner.problem import Problem, load_problem, problem_from_data
from planner.solve import explain_plan, solve

__all__ = [
    "Plan",
    "PlannerError",
    "Problem",
    "ProblemError",
    "SolveError",
    "explain_plan",
    "load_problem",
    "problem_from_data",
    "solve",
]
