"""One status vocabulary for every backend, and the result a backend returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Outcome of a solve.

    - ``optimal``: a plan proven optimal (within the requested relative gap, 0 by default).
    - ``feasible``: a plan that meets every budget, not proven optimal (time limit); see gap.
    - ``infeasible``: proven that no plan meets the budgets.
    - ``time_limit``: the time limit ran out before any plan was found.
    - ``error``: the backend failed (message says why).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class SolveResult:
    """What a backend found: a candidate index per node (when it found a plan)."""

    status: Status
    backend: str
    choice: tuple[int, ...] | None = None
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solve_time_s: float = 0.0
    message: str = ""


class SolverError(RuntimeError):
    """A backend is missing or misbehaved."""


class BackendUnavailable(SolverError):
    """The backend itself cannot run (its binary is missing, not executable, or crashed);
    the problem is not to blame, so another backend may answer it."""
