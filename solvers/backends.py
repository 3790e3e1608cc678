"""The solver backend protocol and its one registry (in the spirit of CVXPY's ``Solver``).

A backend has a ``name``, says whether it can run here (``available``), and solves one
selection problem given as its MILP (`solvers.formulation.Milp`) within a time limit and
gap, returning a `SolveResult` in the one status vocabulary of `solvers.status`. Each
backend maps its own statuses onto that vocabulary (``STATUS_MAP`` in its module).

Registered: ``cbc`` (the default: CBC through PuLP), ``highs`` (in-process, optional
extra), ``brute`` (the enumeration oracle, small problems only; it reads the problem,
not the MILP). Every caller that needs a backend asks `get_backend`, so a name is
resolved in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from solvers.formulation import Milp
from solvers.model import SelectionProblem
from solvers.status import SolverError, SolveResult

DEFAULT_BACKEND = "cbc"


class Backend(Protocol):
    """What every backend offers."""

    @property
    def name(self) -> str: ...

    #: solves a `Milp` (any objective and extra rows: insight needs that); False for
    #: backends that read the `SelectionProblem` itself (brute force)
    @property
    def solves_milp(self) -> bool: ...

    #: the backend to try when this one cannot run here (None: no fallback)
    @property
    def fallback(self) -> str | None: ...

    def available(self) -> bool: ...

    def solve(
        self,
        problem: SelectionProblem | None,
        milp: Milp | None,
        time_limit_s: float,
        gap_rel: float | None,
        mip_start: list[float] | None = None,
        threads: int | None = None,
    ) -> SolveResult:
        """Solve ``milp`` (built from ``problem``); ``mip_start`` is a known plan's column
        values (a backend may ignore it)."""
        ...


@dataclass(frozen=True)
class CbcBackend:
    name: str = "cbc"
    solves_milp: bool = True
    fallback: str | None = "highs"

    def available(self) -> bool:
        return True  # PuLP is a hard dependency; a broken binary raises BackendUnavailable

    def solve(
        self,
        problem: SelectionProblem | None,
        milp: Milp | None,
        time_limit_s: float,
        gap_rel: float | None,
        mip_start: list[float] | None = None,
        threads: int | None = None,
    ) -> SolveResult:
        from solvers.cbc import solve_milp_cbc

        # No MIP start for CBC: with PuLP 3.3's warmStart, CBC reported solutions whose
        # values did not match (wrong objective, broken budgets) on 4 of 6 instances tried.
        assert milp is not None
        return solve_milp_cbc(milp, time_limit_s, gap_rel, threads)


@dataclass(frozen=True)
class HighsBackend:
    name: str = "highs"
    solves_milp: bool = True
    fallback: str | None = None

    def available(self) -> bool:
        from solvers.highs import highs_available

        return highs_available()

    def solve(
        self,
        problem: SelectionProblem | None,
        milp: Milp | None,
        time_limit_s: float,
        gap_rel: float | None,
        mip_start: list[float] | None = None,
        threads: int | None = None,
    ) -> SolveResult:
        from solvers.highs import solve_milp_highs

        assert milp is not None
        return solve_milp_highs(milp, time_limit_s, gap_rel, threads, mip_start)


@dataclass(frozen=True)
class BruteBackend:
    name: str = "brute"
    solves_milp: bool = False
    fallback: str | None = None

    def available(self) -> bool:
        return True

    def solve(
        self,
        problem: SelectionProblem | None,
        milp: Milp | None,
        time_limit_s: float,
        gap_rel: float | None,
        mip_start: list[float] | None = None,
        threads: int | None = None,
    ) -> SolveResult:
        from solvers.brute import solve_brute

        if problem is None:
            raise SolverError("the brute-force oracle reads the problem, not a MILP")
        return solve_brute(problem)


REGISTRY: dict[str, Backend] = {b.name: b for b in (CbcBackend(), HighsBackend(), BruteBackend())}


def get_backend(name: str, need_milp: bool = False) -> Backend:
    """The registered backend ``name``; `SolverError` naming the choices otherwise."""
    backend = REGISTRY.get(name)
    if backend is None:
        raise SolverError(f"unknown backend {name!r}; choose one of {', '.join(REGISTRY)}")
    if need_milp and not backend.solves_milp:
        milp_names = [b.name for b in REGISTRY.values() if b.solves_milp]
        raise SolverError(f"this needs a MILP backend ({' or '.join(milp_names)}), not {name!r}")
    return backend


def available_backends() -> list[str]:
    return [name for name, b in REGISTRY.items() if b.available()]
