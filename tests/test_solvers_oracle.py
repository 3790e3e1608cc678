"""Every backend, with and without the fast path, against the brute-force oracle.

Seeded random selection problems (up to 8 nodes x 4 candidates) cover every budget type
(energy, latency, min_accuracy, memory with model keys shared across nodes, cost, per-node
accuracy floors), both single-objective weightings and mixed ones, parallel and
sequential execution, and infeasible budgets.
"""

from __future__ import annotations

import math
import random

import pytest

from solvers import (
    Budgets,
    Candidate,
    SelectionProblem,
    Status,
    Weights,
    evaluate,
    objective_value,
    solve_selection,
    violations,
)
from solvers.bnb import branch_and_bound
from solvers.brute import solve_brute
from solvers.model import longest_path

WEIGHTINGS = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.5, 0.5, 0.0), (0.3, 0.2, 0.5)]
BUDGET_NAMES = ("energy_j", "latency_ms", "min_accuracy", "memory_mb", "cost_usd")


def random_selection(seed: int) -> SelectionProblem:
    """A seeded random problem; about one in six is infeasible."""
    rng = random.Random(seed)
    n = rng.randint(1, 8)
    k_max = rng.randint(1, 4)
    edges = set()
    for v in range(1, n):
        for u in rng.sample(range(v), min(v, rng.randint(1, 3))):
            edges.add((u, v))
    n_types = rng.randint(1, max(1, n // 2))
    pool = []  # candidates per task type: the same model keys serve several nodes
    for t in range(n_types):
        cands = []
        for m in range(rng.randint(1, k_max)):
            size = rng.random()
            lat = round(5 + 200 * size * rng.uniform(0.5, 1.5), 2)
            cands.append(
                Candidate(
                    key=f"t{t}-m{m}" if rng.random() < 0.8 else f"shared-{m}",
                    accuracy=round(min(1.0, 0.5 + 0.45 * size + rng.uniform(-0.1, 0.1)), 3),
                    latency_ms=lat,
                    energy_j=round(lat * rng.uniform(0.05, 0.3), 3),
                    memory_mb=round(100 + 3000 * size * rng.uniform(0.5, 1.5)),
                    cost_usd=round(rng.uniform(0, 0.01), 5) if rng.random() < 0.7 else 0.0,
                )
            )
        pool.append(tuple(cands))
    candidates = tuple(pool[rng.randrange(n_types)] for _ in range(n))
    parallel = rng.random() < 0.6
    probe = SelectionProblem(n, tuple(sorted(edges)), candidates, parallel=parallel)
    # budgets between the best and worst plan (tightness 0 = only the best per metric)
    chosen = rng.sample(BUDGET_NAMES, rng.randint(1, len(BUDGET_NAMES)))
    tight = rng.uniform(-0.1, 0.9)
    values: dict[str, float] = {}
    for name in chosen:
        if name == "min_accuracy":
            lo = math.prod(min(c.accuracy for c in cs) for cs in candidates)
            hi = math.prod(max(c.accuracy for c in cs) for cs in candidates)
            values[name] = min(1.0, max(1e-9, hi - (tight + 0.1) * (hi - lo)))
            continue
        attr = name
        best = [min(getattr(c, attr) for c in cs) for cs in candidates]
        worst = [max(getattr(c, attr) for c in cs) for cs in candidates]
        if name == "latency_ms" and parallel:
            lo = longest_path(n, probe.edges, best)
            hi = longest_path(n, probe.edges, worst)
        elif name == "memory_mb":
            lo, hi = max(best), sum(probe.memory_by_key.values())
        else:
            lo, hi = sum(best), sum(worst)
        values[name] = max(1e-6, lo + tight * (hi - lo))
    floors = None
    if rng.random() < 0.2:
        floors = tuple(
            round(rng.uniform(0.4, 0.8), 2) if rng.random() < 0.3 else None for _ in range(n)
        )
    w = WEIGHTINGS[seed % len(WEIGHTINGS)]
    return SelectionProblem(
        n, probe.edges, candidates, Budgets(**values), Weights(*w), parallel, floors
    )


def assert_agrees(
    problem: SelectionProblem,
    status: Status,
    choice: tuple[int, ...] | None,
    objective: float | None,
    label: str,
) -> None:
    oracle = solve_brute(problem)
    assert status == oracle.status, f"{label}: {status} != brute {oracle.status}"
    if oracle.status == Status.OPTIMAL:
        assert choice is not None and objective is not None
        broken = violations(problem, choice)
        assert not broken, f"{label}: plan breaks {broken}"
        value = objective_value(problem, evaluate(problem, choice))
        assert math.isclose(value, objective, rel_tol=1e-9, abs_tol=1e-12)
        assert oracle.objective is not None
        assert math.isclose(objective, oracle.objective, rel_tol=1e-6, abs_tol=1e-9), (
            f"{label}: objective {objective} != brute {oracle.objective}"
        )


SEEDS = range(60)


def test_generator_covers_the_cases() -> None:
    problems = [random_selection(s) for s in SEEDS]
    statuses = {solve_brute(p).status for p in problems}
    assert statuses == {Status.OPTIMAL, Status.INFEASIBLE}
    assert any(p.parallel for p in problems) and any(not p.parallel for p in problems)
    for name in BUDGET_NAMES:
        assert any(getattr(p.budgets, name) is not None for p in problems), name
    shared = [
        p
        for p in problems
        if p.budgets.memory_mb is not None
        and any(sum(c.key == key for cs in p.candidates for c in cs) > 1 for key in p.memory_by_key)
    ]
    assert shared, "no problem shares a model key under a memory budget"
    assert any(p.node_min_accuracy is not None for p in problems)
    assert {(p.weights.energy, p.weights.latency) for p in problems} >= {(1.0, 0.0), (0.0, 1.0)}


@pytest.mark.parametrize("seed", SEEDS)
def test_branch_and_bound_matches_brute(seed: int) -> None:
    problem = random_selection(seed)
    result = branch_and_bound(problem)
    assert result.proven
    status = Status.OPTIMAL if result.choice is not None else Status.INFEASIBLE
    assert_agrees(problem, status, result.choice, result.objective, "bnb")


@pytest.mark.parametrize("seed", SEEDS)
def test_branch_and_bound_without_dp_fronts_matches_brute(seed: int) -> None:
    # max_states=0 makes the Pareto fronts give up: the Lagrangian-bound search runs alone
    problem = random_selection(seed)
    result = branch_and_bound(problem, max_states=0)
    assert result.proven
    status = Status.OPTIMAL if result.choice is not None else Status.INFEASIBLE
    assert_agrees(problem, status, result.choice, result.objective, "bnb-lagrangian")


@pytest.mark.parametrize("backend", ["cbc", "highs"])
@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("seed", range(0, 60, 2))
def test_backends_match_brute(seed: int, backend: str, fast_path: bool) -> None:
    problem = random_selection(seed)
    outcome = solve_selection(problem, backend, fast_path=fast_path)
    r = outcome.result
    assert_agrees(problem, r.status, r.choice, r.objective, f"{backend} fast={fast_path}")
    if not fast_path:
        assert outcome.shortcut != "branch-and-bound"


@pytest.mark.parametrize("seed", range(1, 60, 2))
def test_pipeline_without_presolve_matches_brute(seed: int) -> None:
    problem = random_selection(seed)
    r = solve_selection(problem, "cbc", use_presolve=False).result
    assert_agrees(problem, r.status, r.choice, r.objective, "cbc without presolve")
