"""The selection problem, its ILP, and the backends behind one protocol and registry
(CBC via PuLP, HiGHS, brute force) with one status vocabulary."""

from solvers.api import BACKENDS, SolveOutcome, solve_selection
from solvers.backends import REGISTRY, Backend, available_backends, get_backend
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
    "REGISTRY",
    "Backend",
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
    "get_backend",
    "objective_value",
    "presolve",
    "solve_selection",
    "violations",
]
