"""The fast path in front of the MILP backends: labelling, fallback, MIP starts, the DP."""

from __future__ import annotations

import itertools
import math

import pytest

from benchmarks.instances import instance
from solvers import Budgets, Status, build_milp, presolve, solve_selection, violations
from solvers import api as solvers_api
from solvers.bnb import branch_and_bound
from solvers.brute import solve_brute
from solvers.cbc import solve_milp_cbc
from solvers.formulation import start_values
from solvers.highs import solve_milp_highs
from solvers.pareto import additive_relaxation, solve_relaxation
from tests.test_solvers_oracle import assert_agrees, random_selection


def test_fast_path_answer_is_labelled() -> None:
    problem = instance(10, 10, seed=0)
    outcome = solve_selection(problem, "cbc")
    assert outcome.result.status == Status.OPTIMAL
    assert outcome.shortcut == "branch-and-bound"
    assert "cbc was not called" in outcome.result.message
    assert outcome.result.gap == 0.0
    plain = solve_selection(problem, "cbc", fast_path=False)
    assert plain.shortcut is None and plain.result.message == ""
    assert math.isclose(plain.result.objective or 0, outcome.result.objective or 1, rel_tol=1e-7)


@pytest.mark.parametrize("backend", ["cbc", "highs"])
def test_unfinished_search_falls_back_to_the_backend(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setattr(solvers_api, "FAST_PATH_NODES", 1)
    for seed in range(0, 40, 3):
        problem = random_selection(seed)
        outcome = solve_selection(problem, backend)
        assert outcome.shortcut != "branch-and-bound" or problem.n_nodes <= 1
        r = outcome.result
        assert_agrees(problem, r.status, r.choice, r.objective, f"{backend} fallback")


def test_node_limit_stops_the_search_unproven() -> None:
    problem = instance(20, 10, seed=1, tight_lat=0.1)
    result = branch_and_bound(problem, node_limit=5)
    assert not result.proven
    if result.choice is not None:
        assert not violations(problem, result.choice)


def test_infeasible_is_proven_without_the_backend() -> None:
    problem = instance(8, 5, seed=2)
    tight = type(problem)(
        problem.n_nodes,
        problem.edges,
        problem.candidates,
        Budgets(energy_j=problem.budgets.energy_j, min_accuracy=0.999),
        problem.weights,
        problem.parallel,
    )
    outcome = solve_selection(tight, "cbc", use_presolve=False)
    assert outcome.result.status == Status.INFEASIBLE
    assert solve_brute(tight).status == Status.INFEASIBLE


@pytest.mark.parametrize("seed", range(12))
def test_mip_start_is_a_feasible_point_of_the_milp(seed: int) -> None:
    problem = random_selection(seed)
    oracle = solve_brute(problem)
    if oracle.choice is None:
        return
    milp = build_milp(problem)
    values = start_values(milp, problem, oracle.choice)
    for j, value in enumerate(values):
        assert milp.lb[j] - 1e-9 <= value <= milp.ub[j] + 1e-9, milp.names[j]
    for coeffs, lo, hi, name in milp.rows:
        total = sum(c * values[j] for j, c in coeffs.items())
        assert lo - 1e-6 <= total <= hi + 1e-6, name


@pytest.mark.parametrize("seed", range(6))
def test_highs_accepts_a_mip_start(seed: int) -> None:
    problem = presolve(instance(12, 6, seed=seed)).problem
    milp = build_milp(problem)
    best = branch_and_bound(problem)
    assert best.proven and best.choice is not None
    result = solve_milp_highs(milp, 30.0, None, None, start_values(milp, problem, best.choice))
    assert result.status == Status.OPTIMAL and result.choice is not None
    assert not violations(problem, result.choice)
    assert result.objective is not None and best.objective is not None
    assert math.isclose(result.objective, best.objective, rel_tol=1e-7)
    plain = solve_milp_cbc(milp, 30.0, None)
    assert plain.objective is not None
    assert math.isclose(plain.objective, best.objective, rel_tol=1e-7)


@pytest.mark.parametrize("seed", range(40))
def test_pareto_dp_solves_the_additive_relaxation(seed: int) -> None:
    problem = random_selection(seed)
    rel = additive_relaxation(problem)
    if rel is None:
        return
    # the relaxation of a problem without makespan and memory budgets is the problem
    if problem.budgets.memory_mb is not None or (
        problem.parallel and problem.budgets.latency_ms is not None
    ):
        return
    oracle = solve_brute(problem)
    result = solve_relaxation(rel)
    assert result.complete
    if oracle.choice is None:
        assert result.choice is None
    else:
        assert result.value is not None and oracle.objective is not None
        assert math.isclose(result.value, oracle.objective, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_branch_and_bound_matches_highs_on_benchmark_instances(seed: int) -> None:
    problem = presolve(instance(14, 8, seed, tight_lat=0.15)).problem
    ours = branch_and_bound(problem, time_limit_s=60)
    theirs = solve_milp_highs(build_milp(problem), 60.0, None)
    assert ours.proven
    if theirs.status == Status.INFEASIBLE:
        assert ours.choice is None
        return
    assert theirs.status == Status.OPTIMAL and theirs.objective is not None
    assert ours.objective is not None
    assert math.isclose(ours.objective, theirs.objective, rel_tol=1e-7)


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_gap_search_proves_its_gap(seed: int) -> None:
    problem = random_selection(seed)
    oracle = solve_brute(problem)
    result = branch_and_bound(problem, gap_rel=0.05)
    assert result.proven
    if oracle.objective is None:
        assert result.choice is None
        return
    assert result.choice is not None and result.objective is not None
    assert not violations(problem, result.choice)
    assert result.root_bound <= oracle.objective + 1e-12
    assert result.objective * (1 - 0.05) <= oracle.objective + 1e-12
    assert (result.objective - result.root_bound) <= 0.05 * result.objective + 1e-12


def test_proven_answer_reports_zero_gap_when_the_first_plan_is_optimal() -> None:
    # larger problems start from a dive; when no round finds anything better, that plan
    # is the optimum and its bound must say so (gap 0), not the weaker root bound
    for seed in range(5):
        problem = instance(20, 10, seed)
        result = branch_and_bound(problem, time_limit_s=60)
        assert result.proven and result.objective is not None
        assert result.root_bound == result.objective
        outcome = solve_selection(problem, "cbc")
        assert outcome.result.gap == 0.0


def test_backend_stopped_by_its_limit_keeps_the_better_search_plan() -> None:
    from solvers.api import _keep_better
    from solvers.status import SolveResult

    problem = instance(10, 10, seed=0)
    best = branch_and_bound(problem)
    assert best.choice is not None and best.objective is not None
    # a backend that stopped with no plan: the search's plan is returned, labelled feasible
    stopped = SolveResult(Status.TIME_LIMIT, "cbc", bound=0.9 * best.objective)
    kept = _keep_better(problem, stopped, best.choice, "cbc")
    assert kept.status == Status.FEASIBLE and kept.choice == best.choice
    assert kept.bound == stopped.bound and kept.gap is not None and 0 < kept.gap < 0.11
    # a backend that stopped with a worse plan: the search's plan wins
    poor = SolveResult(Status.FEASIBLE, "cbc", best.choice, best.objective + 1.0, None, None)
    assert _keep_better(problem, poor, best.choice, "cbc").objective == pytest.approx(
        best.objective
    )
    # a proven answer is never replaced
    done = SolveResult(Status.OPTIMAL, "cbc", best.choice, best.objective, best.objective, 0.0)
    assert _keep_better(problem, done, best.choice, "cbc") is done


@pytest.mark.parametrize("seed", range(6))
def test_value_only_fronts_equal_the_tracked_programme(seed: int) -> None:
    # suffix_fronts runs the values-only loop; the tracked loop (parent and candidate kept)
    # must produce the very same states, with and without a cutoff
    import numpy as np

    from solvers.pareto import (
        _forward,
        additive_relaxation,
        lagrangian_bound,
        suffix_fronts,
    )

    for tight in (0.3, 0.7):
        problem = presolve(instance(10, 6, seed, tight_acc=tight)).problem
        rel = additive_relaxation(problem, separable_part=True)
        assert rel is not None
        n = rel.sep.shape[0]
        for cutoff in (math.inf, lagrangian_bound(rel) * 1.05):
            fronts = suffix_fronts(rel, cutoff)
            layers, ok = _forward(rel, np.arange(n)[::-1].copy(), cutoff, track=True)
            assert ok and fronts is not None
            for k, (cost, use, _, _) in enumerate(layers):
                assert fronts[n - k] == (use[::-1].tolist(), cost[::-1].tolist())
            for use_list, cost_list in fronts:  # uses ascend strictly, costs descend
                assert all(a < b for a, b in itertools.pairwise(use_list))
                assert all(a > b for a, b in itertools.pairwise(cost_list))
