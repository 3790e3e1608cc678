"""CBC through PuLP (the default backend). Status is read from ``sol_status``."""

from __future__ import annotations

import math
import os
import re
import tempfile
import time
import warnings
from dataclasses import replace
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


#: CBC's options. The objective is normalised to about [0, 1], so its objective increment
#: is set tiny. Its primal heuristics are off: with them on, CBC 2.10 returned a worse plan
#: labelled optimal on small epsilon-constraint MILPs (tests/test_insight_oracle.py, seed
#: 30), which no check of the answer can catch. Every answer is checked against the MILP's
#: rows and bounds (`Milp.broken`); one that breaks them is solved again with SAFE_OPTIONS.
OPTIONS = ("increment 1e-10", "heuristics off")
#: CBC 2.10 returned a plan above a bound of the latency-bound column on a small model
#: (tests/test_insight_oracle.py, seed 22); with its preprocessing off it did not.
SAFE_OPTIONS = (*OPTIONS, "preprocess off")


def cbc_command(
    pulp: Any,
    time_limit_s: float,
    gap_rel: float | None,
    log_path: str,
    threads: int | None,
    options: tuple[str, ...] = OPTIONS,
) -> Any:
    """CBC from the ``cbcbox`` package (``pulp[cbc]``, the PuLP 4 way) when installed, else
    the binary bundled with PuLP 3."""
    # The objective is normalised to about [0, 1]; CBC's default objective "increment"
    # would prune plans that differ by ~1e-4 and still report "optimal".
    kwargs = dict(
        msg=False,
        timeLimit=time_limit_s,
        gapRel=gap_rel,
        logPath=log_path,
        threads=threads,
        options=list(options),
    )
    try:
        import cbcbox
    except ImportError:
        # PuLP 3's bundled CBC 2.10.3 returned a worse plan labelled optimal on a small
        # epsilon-constraint MILP unless its preprocessing was off (tests/test_insight_oracle.py,
        # the energy/latency front of seed 38); cbcbox's CBC solved it right
        kwargs["options"] = list(dict.fromkeys([*options, "preprocess off"]))
        with warnings.catch_warnings():  # PuLP 3.3 warns that PULP_CBC_CMD goes in PuLP 4
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(**kwargs)
    return pulp.COIN_CMD(path=cbcbox.cbc_bin_path(), **kwargs)


def solve_milp_cbc(
    milp: Milp, time_limit_s: float, gap_rel: float | None, threads: int | None = None
) -> SolveResult:
    """Solve ``milp`` with CBC; an answer that breaks the MILP is solved again with
    SAFE_OPTIONS (in what is left of the time), and an error if it still does."""
    start = time.perf_counter()
    result, values = _solve(milp, time_limit_s, gap_rel, threads, OPTIONS)
    broken = milp.broken(values) if values is not None else None
    if broken is None:
        return result
    left = max(time_limit_s - (time.perf_counter() - start), 0.1 * time_limit_s)
    again, values = _solve(milp, left, gap_rel, threads, SAFE_OPTIONS)
    broken2 = milp.broken(values) if values is not None else None
    elapsed = time.perf_counter() - start
    if broken2 is not None:
        return SolveResult(
            Status.ERROR,
            "cbc",
            solve_time_s=elapsed,
            message=f"CBC returned a plan that breaks its model ({broken2})",
        )
    note = f"CBC's first answer broke its model ({broken}); solved again without preprocessing"
    return replace(
        again, solve_time_s=elapsed, message=f"{again.message}; {note}" if again.message else note
    )


def _solve(
    milp: Milp,
    time_limit_s: float,
    gap_rel: float | None,
    threads: int | None,
    options: tuple[str, ...],
) -> tuple[SolveResult, list[float] | None]:
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
        solver = (
            cbc_command(pulp, time_limit_s, gap_rel, log_path, threads)
            if options == OPTIONS
            else cbc_command(pulp, time_limit_s, gap_rel, log_path, threads, options)
        )
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
        return SolveResult(Status.INFEASIBLE, "cbc", solve_time_s=elapsed), None
    if sol == pulp.LpSolutionNoSolutionFound:
        timed_out = "time" in log.lower() or elapsed >= 0.95 * time_limit_s
        status = Status.TIME_LIMIT if timed_out else Status.ERROR
        return SolveResult(
            status,
            "cbc",
            bound=_parse_bound(log) if timed_out else None,
            solve_time_s=elapsed,
            message="CBC stopped before finding any plan",
        ), None
    if sol not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return SolveResult(
            Status.ERROR,
            "cbc",
            solve_time_s=elapsed,
            message=f"CBC returned status {pulp.LpStatus.get(prob.status)}",
        ), None
    values = [x.value() for x in xs]
    if any(v is None for v in values):
        return SolveResult(
            Status.ERROR, "cbc", solve_time_s=elapsed, message="CBC returned no values"
        ), None
    floats = [float(v) for v in values if v is not None]
    choice = _choice_from_values(milp, floats)
    objective = math.fsum(c * float(values[j] or 0.0) for j, c in enumerate(milp.c) if c)
    if sol == pulp.LpSolutionOptimal:
        stopped_on_gap = gap_rel is not None and "gap" in log.lower()
        bound = _parse_bound(log) if stopped_on_gap else objective
        gap = _rel_gap(objective, bound)
        return SolveResult(Status.OPTIMAL, "cbc", choice, objective, bound, gap, elapsed), floats
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
    ), floats


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
