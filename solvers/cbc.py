"""CBC through PuLP (the default backend). Status is read from ``sol_status``."""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
from typing import Any

from solvers.formulation import Milp
from solvers.status import BackendUnavailable, SolverError, SolveResult, Status


def _affine(pulp: Any, coeffs: dict[int, float], xs: list[Any]) -> Any:
    return pulp.LpAffineExpression([(xs[j], c) for j, c in coeffs.items()])


def _parse_bound(log: str) -> float | None:
    for pattern in (r"Lower bound:\s*([-0-9.eE+]+)", r"best possible\s*([-0-9.eE+]+)"):
        found = re.findall(pattern, log)
        if found:
            try:
                return float(found[-1])
            except ValueError:
                return None
    return None


def cbc_command(
    pulp: Any, time_limit_s: float, gap_rel: float | None, log_path: str, threads: int | None
) -> Any:
    """CBC from the ``cbcbox`` package (``pulp[cbc]``, the PuLP 4 way) when installed, else
    the binary bundled with PuLP 3."""
    # - The objective is normalised to about [0, 1]; CBC's default objective "increment"
    #   would prune plans that differ by ~1e-4 and still report "optimal".
    # - With its primal heuristics on, CBC 2.10 returned a worse plan labelled optimal on
    #   small epsilon-constraint MILPs (tests/test_insight_oracle.py, seed 30); the
    #   heuristics only find incumbents early, so turning them off keeps exactness.
    options = dict(
        msg=False,
        timeLimit=time_limit_s,
        gapRel=gap_rel,
        logPath=log_path,
        threads=threads,
        options=["increment 1e-10", "heuristics off"],
    )
    try:
        import cbcbox
    except ImportError:
        return pulp.PULP_CBC_CMD(**options)
    return pulp.COIN_CMD(path=cbcbox.cbc_bin_path(), **options)


def solve_milp_cbc(
    milp: Milp, time_limit_s: float, gap_rel: float | None, threads: int | None = None
) -> SolveResult:
    try:
        import pulp
    except ImportError as exc:  # pragma: no cover - pulp is a hard dependency
        raise SolverError("PuLP is not installed: pip install 'pulp>=3.3,<4'") from exc
    start = time.perf_counter()
    prob = pulp.LpProblem("plan", pulp.LpMinimize)
    xs = [
        prob.add_variable(
            name, lowBound=lb, upBound=ub, cat=pulp.LpInteger if integer else pulp.LpContinuous
        )
        for name, lb, ub, integer in zip(milp.names, milp.lb, milp.ub, milp.integer, strict=True)
    ]
    prob += _affine(pulp, {j: c for j, c in enumerate(milp.c) if c != 0.0}, xs)
    for coeffs, lo, hi, name in milp.rows:
        expr = _affine(pulp, coeffs, xs)
        if lo == hi:
            prob += (expr == lo, name)
            continue
        if math.isfinite(lo):
            prob += (expr >= lo, name + "_lo")
        if math.isfinite(hi):
            prob += (expr <= hi, name + "_hi")
    fd, log_path = tempfile.mkstemp(prefix="planner-cbc-", suffix=".log")
    os.close(fd)
    try:
        solver = cbc_command(pulp, time_limit_s, gap_rel, log_path, threads)
        if not solver.available():
            raise BackendUnavailable(
                f"the CBC binary ({getattr(solver, 'path', None) or 'bundled with PuLP'}) "
                "is missing or not executable; reinstall PuLP "
                "('pip install --force-reinstall \"pulp>=3.3,<4\"') or use --backend highs"
            )
        try:
            prob.solve(solver)
        except pulp.PulpSolverError as exc:
            raise BackendUnavailable(f"the CBC binary failed: {exc}") from exc
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            log = handle.read()
    finally:
        os.unlink(log_path)
    elapsed = time.perf_counter() - start
    sol = prob.sol_status
    if sol == pulp.LpSolutionInfeasible or prob.status == pulp.LpStatusInfeasible:
        return SolveResult(Status.INFEASIBLE, "cbc", solve_time_s=elapsed)
    if sol == pulp.LpSolutionNoSolutionFound:
        status = Status.TIME_LIMIT if "time" in log.lower() else Status.ERROR
        return SolveResult(
            status, "cbc", solve_time_s=elapsed, message="CBC stopped before finding any plan"
        )
    if sol not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return SolveResult(
            Status.ERROR,
            "cbc",
            solve_time_s=elapsed,
            message=f"CBC returned status {pulp.LpStatus.get(prob.status)}",
        )
    values = [x.value() for x in xs]
    if any(v is None for v in values):
        return SolveResult(
            Status.ERROR, "cbc", solve_time_s=elapsed, message="CBC returned no values"
        )
    choice = _choice_from_values(milp, [float(v) for v in values if v is not None])
    objective = math.fsum(c * float(values[j] or 0.0) for j, c in enumerate(milp.c) if c)
    if sol == pulp.LpSolutionOptimal:
        stopped_on_gap = gap_rel is not None and "gap" in log.lower()
        bound = _parse_bound(log) if stopped_on_gap else objective
        gap = _rel_gap(objective, bound)
        return SolveResult(Status.OPTIMAL, "cbc", choice, objective, bound, gap, elapsed)
    bound = _parse_bound(log)
    return SolveResult(
        Status.FEASIBLE,
        "cbc",
        choice,
        objective,
        bound,
        _rel_gap(objective, bound),
        elapsed,
        "time limit reached",
    )


def _rel_gap(objective: float, bound: float | None) -> float | None:
    if bound is None:
        return None
    return max(0.0, objective - bound) / max(abs(objective), 1e-10)


def _choice_from_values(milp: Milp, values: list[float]) -> tuple[int, ...]:
    choice = []
    for v, cols in enumerate(milp.x_index):
        picked = [i for i, j in enumerate(cols) if values[j] > 0.5]
        if len(picked) != 1:
            raise SolverError(f"solver returned {len(picked)} models for node index {v}")
        choice.append(picked[0])
    return tuple(choice)
