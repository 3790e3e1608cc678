"""Backends for the plan ILP (CBC via PuLP, HiGHS, brute force) and one status vocabulary."""

from solvers.api import BACKENDS, SolveOutcome, available_backends, solve_selection
from solvers.formulation import Milp, build_milp
from solvers.model import (
    Budgets,
    Candidate,
    SelectionProblem,
    Totals,
    Weights,
    evaluate,
    objective_value,
    violations,
)
from solvers.presolve import PresolveResult, presolve
from solvers.status import BackendUnavailable, SolverError, SolveResult, Status

__all__ = [
    "BACKENDS",
    "BackendUnavailable",
    "Budgets",
    "Candidate",
    "Milp",
    "PresolveResult",
    "SelectionProblem",
    "SolveOutcome",
    "SolveResult",
    "SolverError",
    "Status",
    "Totals",
    "Weights",
    "available_backends",
    "build_milp",
    "evaluate",
    "objective_value",
    "presolve",
    "solve_selection",
    "violations",
]
