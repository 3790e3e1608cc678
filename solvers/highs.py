"""HiGHS in-process through highspy (optional extra ``highs``)."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

from solvers.cbc import _choice_from_values, _rel_gap
from solvers.formulation import Milp
from solvers.status import SolverError, SolveResult, Status

_SILENCED = False


def _new_highs(highspy: Any) -> Any:
    """A `Highs` object; its one-off copyright banner (C++ stdout) never reaches stdout."""
    global _SILENCED
    if _SILENCED:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    _SILENCED = True
    return h


def highs_available() -> bool:
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def solve_milp_highs(
    milp: Milp,
    time_limit_s: float,
    gap_rel: float | None,
    threads: int | None = None,
    mip_start: list[float] | None = None,
) -> SolveResult:
    """Solve ``milp`` with HiGHS; ``mip_start`` (one value per column) is a MIP start."""
    try:
        import highspy
        import numpy as np
    except ImportError as exc:
        raise SolverError("HiGHS is not installed: pip install highspy (or '.[highs]')") from exc
    start = time.perf_counter()
    h = _new_highs(highspy)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(gap_rel) if gap_rel is not None else 1e-9)
    h.setOptionValue("mip_abs_gap", 1e-9)
    h.setOptionValue("random_seed", 0)
    # Measured on 10-node problems: probing lifting and restarts cost more than they save;
    # both only change the search path, never the optimum.
    h.setOptionValue("mip_lifting_for_probing", 0)
    h.setOptionValue("mip_allow_restart", False)
    _ = threads  # HiGHS fixes its thread pool per process; left to its default
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    ncol = len(milp.names)
    lp.num_col_ = ncol
    lp.num_row_ = len(milp.rows)
    lp.col_cost_ = np.array(milp.c, dtype=float)
    lp.col_lower_ = np.array([lb if math.isfinite(lb) else -inf for lb in milp.lb])
    lp.col_upper_ = np.array([ub if math.isfinite(ub) else inf for ub in milp.ub])
    lp.row_lower_ = np.array([lo if math.isfinite(lo) else -inf for _, lo, _, _ in milp.rows])
    lp.row_upper_ = np.array([hi if math.isfinite(hi) else inf for _, _, hi, _ in milp.rows])
    starts, index, value = [0], [], []
    for coeffs, _, _, _ in milp.rows:
        for j in sorted(coeffs):
            index.append(j)
            value.append(coeffs[j])
        starts.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(value, dtype=float)
    lp.a_matrix_.num_col_ = ncol
    lp.a_matrix_.num_row_ = len(milp.rows)
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        for integer in milp.integer
    ]
    h.passModel(lp)
    if mip_start is not None:
        _set_start(highspy, h, mip_start)
    h.run()
    ms = highspy.HighsModelStatus
    if h.getModelStatus() == ms.kSolveError:
        # HiGHS 1.16's presolve fails ("Solve error") on some small feasible models (found by
        # the insight oracle tests); the same model solves with presolve off.
        h.clearSolver()
        h.setOptionValue("presolve", "off")
        h.run()
    elapsed = time.perf_counter() - start
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if model_status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return SolveResult(Status.INFEASIBLE, "highs", solve_time_s=elapsed)
    if model_status == ms.kOptimal or (
        has_solution
        and model_status in (ms.kTimeLimit, ms.kIterationLimit, ms.kSolutionLimit, ms.kInterrupt)
    ):
        values = list(h.getSolution().col_value)
        choice = _choice_from_values(milp, values)
        objective = math.fsum(c * values[j] for j, c in enumerate(milp.c) if c)
        bound = float(info.mip_dual_bound)
        gap = _rel_gap(objective, bound)
        status = Status.OPTIMAL if model_status == ms.kOptimal else Status.FEASIBLE
        return SolveResult(
            status,
            "highs",
            choice,
            objective,
            bound,
            gap,
            elapsed,
            "" if status == Status.OPTIMAL else "time limit reached",
        )
    if model_status == ms.kTimeLimit:
        return SolveResult(
            Status.TIME_LIMIT,
            "highs",
            solve_time_s=elapsed,
            message="HiGHS stopped before finding any plan",
        )
    return SolveResult(
        Status.ERROR,
        "highs",
        solve_time_s=elapsed,
        message=f"HiGHS returned {h.modelStatusToString(model_status)}",
    )


def _set_start(highspy: Any, h: Any, values: list[float]) -> None:
    """Hand HiGHS a known plan (all columns) as its first incumbent."""
    sol = highspy.HighsSolution()
    sol.col_value = list(values)
    sol.value_valid = True
    h.setSolution(sol)
