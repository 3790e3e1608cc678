"""The flow dual (`solvers.lagrange`) against the brute-force oracle, and in the pipeline."""

from __future__ import annotations

import math

import pytest

from benchmarks.instances import instance
from solvers import SolveResult, Status, Weights, evaluate, objective_value, solve_selection
from solvers import api as solvers_api
from solvers.brute import solve_brute
from solvers.lagrange import applies, flow_dual, improve
from solvers.model import violations
from tests.test_solvers_machine import machine_selection
from tests.test_solvers_oracle import assert_agrees, random_selection


def _critical_cases() -> list[tuple[str, int]]:
    cases = []
    for seed in range(80):
        if applies(random_selection(seed)):
            cases.append(("plain", seed))
        if applies(machine_selection(seed)):
            cases.append(("machine", seed))
    return cases


CASES = _critical_cases()


def _problem(kind: str, seed: int):
    return random_selection(seed) if kind == "plain" else machine_selection(seed)


def test_cases_cover_graham_and_the_critical_path() -> None:
    shapes = {(_problem(k, s).shape.work > 0) for k, s in CASES}
    assert shapes == {True, False}
    assert len(CASES) >= 30


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_bound_and_plan_agree_with_brute(kind: str, seed: int) -> None:
    problem = _problem(kind, seed)
    oracle = solve_brute(problem)
    dual = flow_dual(problem, iterations=40)
    if oracle.status == Status.INFEASIBLE:
        assert dual.choice is None
        return
    assert oracle.objective is not None
    # a lower bound on every plan: never above the optimum
    assert dual.bound <= oracle.objective + 1e-9 * max(1.0, oracle.objective)
    if dual.choice is not None:
        assert not violations(problem, dual.choice)
        value = objective_value(problem, evaluate(problem, dual.choice, simulate=False))
        assert dual.objective is not None and math.isclose(value, dual.objective, rel_tol=1e-12)
        assert value >= oracle.objective - 1e-9 * max(1.0, oracle.objective)


@pytest.mark.parametrize("backend", ["cbc", "highs"])
@pytest.mark.parametrize(("kind", "seed"), CASES[::3])
def test_pipeline_through_the_flow_dual_matches_brute(
    monkeypatch: pytest.MonkeyPatch, backend: str, kind: str, seed: int
) -> None:
    monkeypatch.setattr(solvers_api, "FAST_PATH_MAX_PATH_NODES", 0)
    problem = _problem(kind, seed)
    outcome = solve_selection(problem, backend)
    r = outcome.result
    assert_agrees(problem, r.status, r.choice, r.objective, f"{backend} after the flow dual")
    if r.status == Status.OPTIMAL:
        assert r.gap is not None and r.gap <= 1e-9


def test_local_search_only_improves_and_keeps_budgets() -> None:
    problem = instance(30, 5, seed=3, weights=Weights(0.5, 0.5))
    dual = flow_dual(problem, iterations=10)
    assert dual.choice is not None and dual.objective is not None
    choice, value = improve(problem, dual.choice)
    assert value <= dual.objective
    assert not violations(problem, choice)
    assert math.isclose(
        value, objective_value(problem, evaluate(problem, choice, simulate=False)), rel_tol=1e-12
    )


def test_same_input_same_plan_and_bound() -> None:
    problem = instance(40, 5, seed=1, weights=Weights(0.5, 0.5))
    first, second = flow_dual(problem, iterations=30), flow_dual(problem, iterations=30)
    assert first == second


def test_large_default_objective_has_a_plan_and_a_gap() -> None:
    problem = instance(60, 5, seed=0, weights=Weights(0.5, 0.5))
    outcome = solve_selection(problem, "cbc", time_limit_s=2.0, gap_rel=0.5)
    r = outcome.result
    assert r.status == Status.OPTIMAL and r.choice is not None
    assert outcome.shortcut == solvers_api.SHORTCUT_DUAL
    assert r.gap is not None and r.gap <= 0.5
    assert "flow dual" in r.message


def test_a_backend_claiming_optimal_with_a_worse_plan_is_not_believed() -> None:
    problem = instance(30, 5, seed=2, weights=Weights(0.5, 0.5))
    dual = flow_dual(problem, iterations=20)
    assert dual.choice is not None and dual.objective is not None
    worst = tuple(max(range(len(cs)), key=lambda i: cs[i].latency_ms) for cs in problem.candidates)
    wrong = SolveResult(Status.OPTIMAL, "cbc", worst, 10.0, 10.0, 0.0)
    kept = solvers_api._keep_better(problem, wrong, dual.choice, "cbc")
    assert kept.status == Status.FEASIBLE and kept.choice == dual.choice
    assert kept.bound is None and "claimed optimal" in kept.message
