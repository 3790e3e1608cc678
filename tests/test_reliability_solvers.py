"""Solver faults: time limits, a missing or crashing CBC binary, backends that return garbage."""

from __future__ import annotations

import importlib
import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest

import solvers.api as solvers_api
import solvers.cbc as solvers_cbc
from benchmarks.instances import instance
from planner import SolveError, problem_from_data, solve
from planner.cli import main
from solvers import SelectionProblem, SolveResult, Status, solve_selection, violations
from tests.conftest import random_problem_data

planner_solve = importlib.import_module("planner.solve")  # the module, not the function

# A 100-node x 10-candidate instance: CBC or HiGHS alone need several seconds to prove it
# optimal (docs/speed.md: 6 s median at 100 x 10), so a 1.5 s limit stops them with a plan
# (measured: CBC ~1.7 s wall with a 0.08% gap, HiGHS 1.53 s, 0.08%, on the loaded 2-core VM).
# The default path proves it in ~0.3 s. (With the latency budget binding harder, tight_lat=0.1,
# neither found any plan in 1.5 s under load: status time_limit.)
LIMIT_S = 1.5
#: Allowed overrun: 10% of the limit plus a constant for PuLP writing the model, starting the
#: CBC process and reading its answer back on a loaded 2-core machine.
SLACK_S = 0.1 * LIMIT_S + 1.0


@pytest.fixture(scope="module")
def hard() -> SelectionProblem:
    return instance(100, 10, 0)


def check_stopped_in_time(problem: SelectionProblem, backend: str, fast_path: bool) -> Status:
    start = time.perf_counter()
    outcome = solve_selection(problem, backend, time_limit_s=LIMIT_S, fast_path=fast_path)
    wall = time.perf_counter() - start
    result = outcome.result
    assert wall <= LIMIT_S + SLACK_S, f"{backend} took {wall:.2f} s for a {LIMIT_S} s limit"
    if result.status in (Status.FEASIBLE, Status.OPTIMAL):
        assert result.choice is not None and not violations(problem, result.choice)
    else:
        assert result.choice is None and result.objective is None
    if result.status == Status.FEASIBLE:
        # the best plan found comes with its proven gap against the solver's bound
        assert result.gap is not None and 0 <= result.gap < 1
        assert result.bound is not None and result.bound <= result.objective + 1e-9
    return result.status


def test_highs_alone_stops_at_the_limit_with_best_plan_and_gap(hard: SelectionProblem) -> None:
    assert check_stopped_in_time(hard, "highs", fast_path=False) in (
        Status.FEASIBLE,
        Status.OPTIMAL,
    )


def test_cbc_alone_stops_at_the_limit(hard: SelectionProblem) -> None:
    """CBC alone (primal heuristics off, see solvers/cbc.py) finds its first plan here after
    about 1.2-1.5 s on a quiet core; with the suite's other worker on the same 2 cores it once
    found none in 1.5 s. Either way it stops in time, and says ``time_limit`` (no plan)
    rather than inventing one; when it has a plan, the plan is valid with its gap."""
    assert check_stopped_in_time(hard, "cbc", fast_path=False) in (
        Status.FEASIBLE,
        Status.OPTIMAL,
        Status.TIME_LIMIT,
    )


def test_default_path_within_the_limit(hard: SelectionProblem) -> None:
    assert check_stopped_in_time(hard, "cbc", fast_path=True) in (
        Status.FEASIBLE,
        Status.OPTIMAL,
    )


def test_no_plan_found_in_time_is_time_limit_not_a_plan() -> None:
    """When the limit runs out before any plan (hard latency budget, tiny limit), the status
    says so and no plan is invented."""
    tight = instance(200, 10, 1, tight_lat=0.1)
    result = solve_selection(tight, "cbc", time_limit_s=0.2, fast_path=False).result
    assert result.status in (Status.TIME_LIMIT, Status.FEASIBLE, Status.OPTIMAL)
    if result.status == Status.TIME_LIMIT:
        assert result.choice is None and result.objective is None
    else:
        assert result.choice is not None and not violations(tight, result.choice)


def problem_file(tmp_path: Path, seed: int = 3) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(random_problem_data(seed, n_nodes=8, n_cands=5)))
    return path


def fake_cbc(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "cbc"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def use_cbc_binary(monkeypatch: pytest.MonkeyPatch, binary: Path) -> None:
    def command(
        pulp: Any, time_limit_s: float, gap_rel: float | None, log_path: str, threads: int | None
    ) -> Any:
        return pulp.COIN_CMD(path=str(binary), msg=False, timeLimit=time_limit_s)

    monkeypatch.setattr(solvers_cbc, "cbc_command", command)
    # force the MILP backend: the in-process search must not answer first
    monkeypatch.setattr(solvers_api, "FAST_PATH_NODES", 0)
    monkeypatch.setattr(solvers_api, "_separable_optimum", lambda problem: None)


BROKEN_BINARIES = {
    "missing": None,
    "crashing": "echo 'cbc: segmentation fault' >&2; exit 1",
    "silent": "exit 0",
}


@pytest.mark.parametrize("kind", sorted(BROKEN_BINARIES))
def test_broken_cbc_falls_back_to_highs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    body = BROKEN_BINARIES[kind]
    binary = tmp_path / "no-such-dir" / "cbc" if body is None else fake_cbc(tmp_path, body)
    use_cbc_binary(monkeypatch, binary)
    problem = problem_from_data(random_problem_data(3, n_nodes=8, n_cands=5))
    plan = solve(problem, backend="cbc")
    reference = solve(problem, backend="brute")
    assert plan.status == reference.status == "optimal"
    assert plan.objective == pytest.approx(reference.objective, rel=1e-9, abs=1e-12)
    assert plan.solver.backend == "highs"
    assert plan.solver.message.startswith("CBC unavailable (")
    assert "solved with HiGHS" in plan.solver.message


def test_broken_cbc_without_highs_is_a_clear_cli_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_cbc_binary(monkeypatch, fake_cbc(tmp_path, "exit 1"))
    monkeypatch.setattr(planner_solve, "highs_available", lambda: False)
    code = main(["solve", str(problem_file(tmp_path))])
    err = capsys.readouterr().err
    assert code == 2
    assert "CBC is unavailable" in err and "pip install highspy" in err
    assert "Traceback" not in err


def test_missing_highs_backend_is_a_clear_cli_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_highspy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "highspy":
            raise ImportError("No module named 'highspy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_highspy)
    monkeypatch.setattr(solvers_api, "FAST_PATH_NODES", 0)
    monkeypatch.setattr(solvers_api, "_separable_optimum", lambda problem: None)
    code = main(["solve", str(problem_file(tmp_path)), "--backend", "highs"])
    err = capsys.readouterr().err
    assert code == 2 and "pip install highspy" in err and "Traceback" not in err


def test_a_working_cbc_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solvers_api, "FAST_PATH_NODES", 0)
    monkeypatch.setattr(solvers_api, "_separable_optimum", lambda problem: None)
    plan = solve(problem_from_data(random_problem_data(3, n_nodes=8, n_cands=5)), backend="cbc")
    assert plan.status == "optimal" and plan.solver.backend == "cbc"
    assert "CBC unavailable" not in plan.solver.message


def test_other_backend_failures_are_not_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a CBC that cannot run falls back; a HiGHS failure stays an error."""
    from solvers import BackendUnavailable

    def broken(*args: Any, **kwargs: Any) -> SolveResult:
        raise BackendUnavailable("highs exploded")

    monkeypatch.setattr(importlib.import_module("solvers.highs"), "solve_milp_highs", broken)
    monkeypatch.setattr(solvers_api, "FAST_PATH_NODES", 0)
    monkeypatch.setattr(solvers_api, "_separable_optimum", lambda problem: None)
    with pytest.raises(SolveError, match="highs exploded"):
        solve(problem_from_data(random_problem_data(3, n_nodes=8, n_cands=5)), backend="highs")


# --------------------------------------------------------------- backends returning garbage


def garbage(n_nodes: int, n_cands: int) -> dict[str, tuple[int, ...]]:
    return {
        "index past the end": (n_cands,) + (0,) * (n_nodes - 1),
        "negative index": (-1,) + (0,) * (n_nodes - 1),
        "too few choices": (0,) * (n_nodes - 1),
        "too many choices": (0,) * (n_nodes + 1),
    }


@pytest.mark.parametrize("backend", ["cbc", "highs"])
@pytest.mark.parametrize("kind", sorted(garbage(2, 2)))
def test_garbage_choice_is_an_error_not_a_plan(
    monkeypatch: pytest.MonkeyPatch, backend: str, kind: str
) -> None:
    problem = problem_from_data(random_problem_data(5, n_nodes=6, n_cands=4))
    n = len(problem.graph.nodes)
    lying = SolveResult(Status.OPTIMAL, backend, garbage(n, 4)[kind], 0.0, 0.0, 0.0)
    monkeypatch.setattr(
        importlib.import_module(f"solvers.{backend}"),
        f"solve_milp_{backend}",
        lambda *a, **k: lying,
    )
    monkeypatch.setattr(solvers_api, "FAST_PATH_NODES", 0)
    monkeypatch.setattr(solvers_api, "_separable_optimum", lambda problem: None)
    plan = solve(problem, backend=backend, presolve=False)
    assert plan.status == "error" and not plan.has_plan
    assert "malformed plan" in plan.message and "misbehaved" in plan.message
    assert plan.assignment == {}


@pytest.mark.parametrize("backend", ["cbc", "highs"])
def test_budget_breaking_plan_labelled_optimal_is_an_error(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    data = random_problem_data(5, n_nodes=6, n_cands=4, tightness=0.3)
    problem = problem_from_data(data)
    # the most accurate model everywhere breaks the (tight) energy/latency budgets
    compiled = planner_solve.Compiled(problem)
    greedy = tuple(
        max(range(len(c)), key=lambda i: c[i].energy_j) for c in compiled.selection.candidates
    )
    assert violations(compiled.selection, greedy), "the fixture must make this plan infeasible"
    lying = SolveResult(Status.OPTIMAL, backend, greedy, 0.0, 0.0, 0.0)
    monkeypatch.setattr(
        importlib.import_module(f"solvers.{backend}"),
        f"solve_milp_{backend}",
        lambda *a, **k: lying,
    )
    monkeypatch.setattr(solvers_api, "FAST_PATH_NODES", 0)
    monkeypatch.setattr(solvers_api, "_separable_optimum", lambda problem: None)
    plan = solve(problem, backend=backend, presolve=False)
    assert plan.status == "error" and "breaks" in plan.message and plan.assignment == {}


def test_cli_shows_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_cbc_binary(monkeypatch, fake_cbc(tmp_path, "exit 1"))
    code = main(["solve", str(problem_file(tmp_path)), "--json"])
    plan = json.loads(capsys.readouterr().out)
    assert code == 0 and plan["status"] == "optimal"
    assert plan["solver"]["backend"] == "highs" and "CBC unavailable" in plan["solver"]["message"]
    code = main(["solve", str(problem_file(tmp_path))])
    out = capsys.readouterr().out
    assert code == 0 and "warning: CBC unavailable" in " ".join(out.split())


# ------------------------------------------------------------------ --time-limit end to end


@pytest.fixture(scope="module")
def big_problem_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 nodes x 10 candidates with a latency budget the machine's bound cannot meet."""
    from benchmarks.instances import problem_data
    from solvers import Weights

    problem = instance(500, 10, 0, tight_lat=0.35, weights=Weights(energy=0.5, latency=0.5))
    path = tmp_path_factory.mktemp("big") / "big.json"
    path.write_text(json.dumps(problem_data(problem)))
    return path


def test_solve_time_limit_bounds_the_whole_command(
    big_problem_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18: ``--time-limit 1`` took 10.7 s (printing 500 candidate tables took 4 s
    after the solve); now a plan this large prints one row per node."""
    start = time.perf_counter()
    code = main(["solve", str(big_problem_file), "--time-limit", "1"])
    wall = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert "internal error" not in err
    # 0 plan, 3 infeasible; 1 with TIME_LIMIT when a loaded machine finds no plan in 1 s
    assert code in (0, 3) or (code == 1 and "TIME_LIMIT" in out + err), (code, err[:200])
    assert wall <= 1.0 + 2.0, f"took {wall:.1f} s for --time-limit 1"
    assert len(out.splitlines()) < 600


def test_whatif_time_out_keeps_the_analysis_and_is_no_user_error(
    big_problem_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    start = time.perf_counter()
    code = main(["whatif", str(big_problem_file), "--time-limit", "1", "--json"])
    wall = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert code in (0, 3), err  # not exit 2: a time-out is not bad input
    report = json.loads(out)
    statuses = {p["status"] for b in report["budgets"] for p in b["sweep"]}
    assert report["budgets"] and "time_limit" in statuses | {report["status"]}
    assert wall <= 1.0 + 2.0, f"took {wall:.1f} s for --time-limit 1"
