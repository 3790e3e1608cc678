"""The machine model in every backend: workers, dispatch overhead, start-up, cold loads.

Seeded random problems whose candidates load cold (model keys shared by several nodes, so a
load is paid once per distinct key), with workers in {1, 2, 3, None} and a per-node dispatch
overhead, solved by every backend (with and without the fast path and presolve) and checked
against the brute-force oracle; plus known answers for the latency semantics.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from solvers import Budgets, Candidate, SelectionProblem, Weights, evaluate, solve_selection
from solvers.bnb import branch_and_bound
from solvers.brute import solve_brute
from solvers.model import LatencyShape
from solvers.schedule import latency_bound, list_schedule
from solvers.status import Status
from tests.test_solvers_oracle import assert_agrees, random_selection

WORKERS = (1, 2, 3, None)


def machine_selection(seed: int) -> SelectionProblem:
    """`random_selection` on a machine: cold loads, workers, dispatch, start-up; the latency
    and energy budgets are re-drawn between the best and worst plan of the new semantics."""
    rng = random.Random(1000 + seed)
    base = random_selection(seed)
    load = {}
    for cs in base.candidates:
        for c in cs:
            if c.key not in load:
                cold = rng.random() < 0.7
                load[c.key] = (
                    round(rng.uniform(5, 300), 1) if cold else 0.0,
                    round(rng.uniform(0.5, 20), 2) if cold else 0.0,
                )
    cands = tuple(
        tuple(replace(c, load_ms=load[c.key][0], load_energy_j=load[c.key][1]) for c in cs)
        for cs in base.candidates
    )
    workers = WORKERS[seed % len(WORKERS)]
    dispatch = rng.choice((0.0, 2.5, 15.0))
    startup = rng.choice((0.0, 40.0))
    # thin the edges so that graphs are often wider than the workers (Graham's bound)
    edges = tuple(e for e in base.edges if rng.random() < 0.4)
    probe = SelectionProblem(
        base.n_nodes,
        edges,
        cands,
        parallel=base.parallel,
        workers=workers,
        dispatch_ms=dispatch,
        startup_ms=startup,
    )
    budgets = base.budgets
    tight = rng.uniform(0.0, 0.8)
    fast = tuple(min(range(len(cs)), key=lambda i: cs[i].latency_ms) for cs in cands)
    frugal = tuple(min(range(len(cs)), key=lambda i: cs[i].energy_j) for cs in cands)
    slow = tuple(max(range(len(cs)), key=lambda i: cs[i].latency_ms) for cs in cands)
    if budgets.latency_ms is not None or rng.random() < 0.5:
        lo = evaluate(probe, fast).latency_bound_ms
        hi = evaluate(probe, slow).latency_bound_ms
        budgets = replace(budgets, latency_ms=lo + tight * max(hi - lo, 1.0))
    if budgets.energy_j is not None:
        lo = evaluate(probe, frugal).energy_j
        budgets = replace(budgets, energy_j=lo * (1.0 + tight))
    return replace(probe, budgets=budgets, weights=base.weights, scales=None, shape=None)


SEEDS = range(48)


def test_generator_covers_the_machine_cases() -> None:
    problems = [machine_selection(s) for s in SEEDS]
    assert {p.workers for p in problems} == set(WORKERS)
    assert {p.shape.work > 0 and p.shape.path > 0 for p in problems} == {True, False}
    assert any(p.dispatch_ms > 0 for p in problems)
    shared_cold = [
        p
        for p in problems
        if any(
            sum(c.key == key and c.load_ms > 0 for cs in p.candidates for c in cs) > 1
            for key in p.load_by_key
        )
    ]
    assert shared_cold, "no problem shares a cold model key"
    assert {solve_brute(p).status for p in problems} == {Status.OPTIMAL, Status.INFEASIBLE}


@pytest.mark.parametrize("seed", SEEDS)
def test_branch_and_bound_matches_brute_on_a_machine(seed: int) -> None:
    problem = machine_selection(seed)
    for max_states in (200_000, 0):
        result = branch_and_bound(problem, max_states=max_states)
        assert result.proven
        status = Status.OPTIMAL if result.choice is not None else Status.INFEASIBLE
        assert_agrees(problem, status, result.choice, result.objective, f"bnb {max_states}")


@pytest.mark.parametrize("backend", ["cbc", "highs"])
@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("seed", range(0, 48, 3))
def test_backends_match_brute_on_a_machine(seed: int, backend: str, fast_path: bool) -> None:
    problem = machine_selection(seed)
    r = solve_selection(problem, backend, fast_path=fast_path).result
    assert_agrees(problem, r.status, r.choice, r.objective, f"{backend} fast={fast_path}")


@pytest.mark.parametrize("seed", range(1, 48, 4))
def test_no_presolve_matches_brute_on_a_machine(seed: int) -> None:
    problem = machine_selection(seed)
    r = solve_selection(problem, "highs", use_presolve=False).result
    assert_agrees(problem, r.status, r.choice, r.objective, "highs without presolve")


def _independent(durations: list[float], edges: list[tuple[int, int]], k: int | None) -> float:
    return latency_bound(durations, edges, k)


def test_eight_independent_nodes_and_a_join_on_each_worker_count() -> None:
    c = Candidate("sleep", 0.9, 50.0, 1.0)
    join = Candidate("join", 0.9, 10.0, 1.0)
    edges = tuple((i, 8) for i in range(8))
    for k, expect in ((1, 410.0), (2, 210.0), (3, 160.0), (4, 110.0), (8, 60.0), (None, 60.0)):
        p = SelectionProblem(9, edges, ((c,),) * 8 + ((join,),), workers=k)
        t = evaluate(p, (0,) * 9)
        assert t.latency_ms == pytest.approx(expect), k
        durations = [50.0] * 8 + [10.0]
        assert t.latency_bound_ms == pytest.approx(_independent(durations, list(edges), k))
        assert t.latency_bound_ms >= t.latency_ms - 1e-9


def test_cold_load_counts_once_per_distinct_model_and_precedes_the_run() -> None:
    shared = Candidate("m", 0.9, 10.0, 1.0, load_ms=100.0, load_energy_j=5.0)
    other = Candidate("n", 0.9, 10.0, 1.0, load_ms=30.0, load_energy_j=2.0)
    p = SelectionProblem(3, ((0, 1), (1, 2)), ((shared,), (shared,), (other,)), dispatch_ms=1.0)
    t = evaluate(p, (0, 0, 0))
    assert t.energy_j == pytest.approx(3.0 + 5.0 + 2.0)
    assert t.latency_ms == pytest.approx(130.0 + 33.0)
    assert t.latency_bound_ms == pytest.approx(t.latency_ms)


def test_a_budget_refuses_a_plan_whose_schedule_fits_but_whose_bound_does_not() -> None:
    # 2 workers, width 4: Graham's bound exceeds the simulated makespan
    a = Candidate("a", 0.9, 30.0, 1.0)
    edges = ((0, 4), (1, 4), (2, 4), (3, 4))
    probe = SelectionProblem(5, edges, ((a,),) * 5, workers=2)
    t = evaluate(probe, (0,) * 5)
    assert t.latency_ms < t.latency_bound_ms
    between = (t.latency_ms + t.latency_bound_ms) / 2
    p = replace(probe, budgets=Budgets(latency_ms=between))
    assert solve_brute(p).status == Status.INFEASIBLE
    assert solve_selection(p, "cbc").result.status == Status.INFEASIBLE


def test_latency_shape_matches_the_schedule_module() -> None:
    rng = random.Random(7)
    for _ in range(40):
        n = rng.randint(1, 9)
        edges = tuple(sorted({(u, v) for v in range(1, n) for u in range(v) if rng.random() < 0.3}))
        durations = [rng.uniform(1, 50) for _ in range(n)]
        for k in WORKERS:
            shape = LatencyShape.of(n, edges, k, True)
            assert shape.bound(durations, edges) == pytest.approx(
                latency_bound(durations, edges, k)
            )
            sim = list_schedule(durations, edges, k).makespan
            assert shape.makespan(durations, edges) == pytest.approx(sim)
            assert sim <= shape.bound(durations, edges) + 1e-9
        seq = LatencyShape.of(n, edges, 3, False)
        assert seq.bound(durations, edges) == pytest.approx(math.fsum(durations))


def test_weighted_objective_uses_the_bound_and_fixed_scales() -> None:
    a = Candidate("a", 0.9, 30.0, 1.0, load_ms=10.0)
    b = Candidate("b", 0.8, 10.0, 3.0)
    p = SelectionProblem(
        4, ((0, 3), (1, 3), (2, 3)), ((a, b),) * 4, weights=Weights(0.5, 0.5), workers=2
    )
    assert p.scales is not None
    brute = solve_brute(p)
    r = solve_selection(p, "cbc").result
    assert r.status == Status.OPTIMAL and brute.objective is not None
    assert r.objective == pytest.approx(brute.objective)
    reduced = replace(p, candidates=((b,),) * 4)
    assert reduced.scales == p.scales
