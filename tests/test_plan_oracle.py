"""Plans equal the brute-force optimum: seeded random DAGs, every backend, every budget."""

from __future__ import annotations

import math

import pytest

from planner import solve
from solvers import available_backends
from tests.conftest import random_problem
from tests.oracle import brute_force, feasible, objective, plan_metrics

BACKENDS = available_backends()
WEIGHTINGS = [
    {"energy": 1, "latency": 0},
    {"energy": 0, "latency": 1},
    {"energy": 0.3, "latency": 0.7},
]
BUDGET_SETS = [
    ("energy_j",),
    ("latency_ms",),
    ("min_accuracy",),
    ("memory_mb",),
    ("energy_j", "latency_ms", "min_accuracy", "memory_mb"),
]


def check_against_oracle(problem, backend, oracle=None):  # type: ignore[no-untyped-def]
    oracle = oracle or brute_force(problem)
    plan = solve(problem, backend=backend)
    if not oracle.feasible:
        assert plan.status == "infeasible", (backend, plan.status)
        assert plan.assignment == {}
        return
    assert plan.status == "optimal", (backend, plan.status, plan.message)
    metrics = plan_metrics(problem, plan.assignment)
    assert feasible(problem, plan.assignment, metrics)
    assert plan.objective == pytest.approx(oracle.objective, rel=1e-6, abs=1e-9)
    assert objective(problem, metrics) == pytest.approx(plan.objective, rel=1e-9, abs=1e-12)
    assert plan.totals is not None
    assert plan.totals.energy_j == pytest.approx(metrics["energy_j"])
    assert plan.totals.latency_ms == pytest.approx(metrics["latency_ms"])
    assert plan.totals.latency_bound_ms == pytest.approx(metrics["latency_bound_ms"])
    assert plan.totals.latency_ms <= plan.totals.latency_bound_ms + 1e-9
    assert plan.totals.accuracy == pytest.approx(metrics["accuracy"])
    assert plan.totals.memory_mb == pytest.approx(metrics["memory_mb"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("execution", ["parallel", "sequential"])
@pytest.mark.parametrize("weights", WEIGHTINGS, ids=["energy", "latency", "mixed"])
@pytest.mark.parametrize("budgets", BUDGET_SETS, ids=lambda b: "+".join(b))
def test_random_dags_match_brute_force(backend, execution, weights, budgets):  # type: ignore[no-untyped-def]
    for seed in range(3):
        for tightness in (0.05, 0.4):
            problem = random_problem(
                seed * 7 + len(budgets),
                n_nodes=5,
                n_cands=3,
                budgets=budgets,
                tightness=tightness,
                weights=weights,
                execution=execution,
            )
            check_against_oracle(problem, backend)


@pytest.mark.parametrize("seed", [11, 12])
@pytest.mark.parametrize("variant", ["energy-parallel", "latency-sequential"])
def test_eight_nodes_four_candidates(seed, variant):  # type: ignore[no-untyped-def]
    """The largest size the issue asks for: 4^8 = 65,536 assignments, every backend."""
    weights = (
        {"energy": 1, "latency": 0} if variant.startswith("energy") else {"energy": 0, "latency": 1}
    )
    problem = random_problem(
        seed,
        n_nodes=8,
        n_cands=4,
        n_tasks=4,
        tightness=0.3,
        weights=weights,
        execution=variant.split("-")[1],
    )
    oracle = brute_force(problem)
    assert oracle.count == 4**8
    for backend in BACKENDS:
        check_against_oracle(problem, backend, oracle)


@pytest.mark.parametrize("backend", BACKENDS)
def test_infeasible_cases(backend):  # type: ignore[no-untyped-def]
    # tightness 0 on accuracy and energy together is (almost always) contradictory
    seen_infeasible = 0
    for seed in range(8):
        problem = random_problem(seed, n_nodes=5, n_cands=3, tightness=0.0)
        check_against_oracle(problem, backend)
        seen_infeasible += solve(problem, backend=backend).status == "infeasible"
    assert seen_infeasible >= 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_objective_weightings_are_exact(backend):  # type: ignore[no-untyped-def]
    """energy=1 minimises total energy exactly; latency=1 minimises latency exactly."""
    for seed in range(4):
        base = random_problem(seed, n_nodes=6, n_cands=3, budgets=("min_accuracy",), tightness=0.5)
        e_plan = solve(base.with_overrides(weights={"energy": 1, "latency": 0}), backend)
        l_plan = solve(base.with_overrides(weights={"energy": 0, "latency": 1}), backend)
        oracle_e = brute_force(base.with_overrides(weights={"energy": 1, "latency": 0}))
        oracle_l = brute_force(base.with_overrides(weights={"energy": 0, "latency": 1}))
        assert e_plan.totals is not None and l_plan.totals is not None
        e_best = plan_metrics(base, oracle_e.assignment or {})["energy_j"]
        l_best = plan_metrics(base, oracle_l.assignment or {})["latency_bound_ms"]
        assert math.isclose(e_plan.totals.energy_j, e_best, rel_tol=1e-9)
        assert l_plan.totals.latency_bound_ms is not None
        assert math.isclose(l_plan.totals.latency_bound_ms, l_best, rel_tol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shared_model_memory_counts_once(backend):  # type: ignore[no-untyped-def]
    """Two nodes of the same task may share one model: memory is paid once."""
    from planner import problem_from_data

    data = {
        "graph": {"nodes": [{"id": "a", "task": "T"}, {"id": "b", "task": "T"}], "edges": []},
        "models": [
            {
                "id": "big",
                "task": "T",
                "accuracy": 0.9,
                "latency_ms": 10,
                "energy_j": 1,
                "memory_mb": 600,
            },
            {
                "id": "small",
                "task": "T",
                "accuracy": 0.9,
                "latency_ms": 10,
                "energy_j": 2,
                "memory_mb": 400,
            },
        ],
        "budgets": {"memory_mb": 700},
        "weights": {"energy": 1, "latency": 0},
    }
    plan = solve(problem_from_data(data), backend)
    # big+big = 600 MB (loaded once) and 2 J: better than small+small (4 J) or a mix (1000 MB)
    assert plan.assignment == {"a": "big", "b": "big"}
    assert plan.totals is not None and plan.totals.memory_mb == 600


def test_presolve_does_not_change_optimum():  # type: ignore[no-untyped-def]
    for seed in range(6):
        problem = random_problem(seed, n_nodes=6, n_cands=4, tightness=0.3)
        with_pre = solve(problem, "cbc", presolve=True)
        without = solve(problem, "cbc", presolve=False)
        assert with_pre.status == without.status
        if with_pre.objective is not None:
            assert with_pre.objective == pytest.approx(without.objective, rel=1e-9)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "brute"])
def test_without_presolve_node_floors_and_memory_hold(backend):  # type: ignore[no-untyped-def]
    """The MILP alone (no presolve) enforces node floors; presolve never shrinks the memory of
    a model whose rows disagree (one model id, two tasks, two memory values)."""
    from planner import problem_from_data
    from planner.solve import Compiled
    from solvers import solve_selection

    data = {
        "graph": {"nodes": [{"id": "a", "task": "T"}, {"id": "b", "task": "U"}], "edges": []},
        "models": [
            {
                "id": "multi",
                "task": "T",
                "accuracy": 0.7,
                "latency_ms": 1,
                "energy_j": 1,
                "memory_mb": 900,
            },
            {
                "id": "multi",
                "task": "U",
                "accuracy": 0.9,
                "latency_ms": 1,
                "energy_j": 1,
                "memory_mb": 300,
            },
            {
                "id": "t-big",
                "task": "T",
                "accuracy": 0.95,
                "latency_ms": 1,
                "energy_j": 5,
                "memory_mb": 100,
            },
            {
                "id": "u-alt",
                "task": "U",
                "accuracy": 0.5,
                "latency_ms": 1,
                "energy_j": 3,
                "memory_mb": 100,
            },
        ],
        "budgets": {"node_min_accuracy": {"a": 0.9}, "memory_mb": 999},
        "weights": {"energy": 1, "latency": 0},
    }
    sel = Compiled(problem_from_data(data)).selection
    for presolve in (True, False):
        out = solve_selection(sel, backend, use_presolve=presolve)
        assert out.result.status == "optimal", out.result.message
        # a must take t-big (floor); multi at b would load 900 MB + 100 MB > 999 MB, so b
        # takes u-alt although multi is cheaper (rows sorted by id: [multi, t-big/u-alt])
        assert out.result.choice == (1, 1)
        assert sel.memory_by_key["multi"] == 900


def machine_problem(seed: int, workers: int | None, weights: dict[str, float]):  # type: ignore[no-untyped-def]
    """A random problem on a machine: cold loads (model ids shared by nodes of one task),
    some resident models, dispatch overhead and start-up."""
    import random

    from planner import problem_from_data
    from tests.conftest import random_problem_data

    rng = random.Random(seed)
    data = random_problem_data(
        seed,
        n_nodes=6,
        n_cands=3,
        budgets=("energy_j", "latency_ms"),
        tightness=0.6,
        weights=weights,
    )
    data["graph"]["edges"] = [e for e in data["graph"]["edges"] if rng.random() < 0.5]
    for m in data["models"]:
        if rng.random() < 0.8:
            m["load_ms"] = round(rng.uniform(5, 200), 1)
            m["load_energy_j"] = round(rng.uniform(0.5, 30), 1)
    resident = [m["id"] for m in data["models"] if rng.random() < 0.2]
    data["machine"] = {
        "workers": workers,
        "dispatch_ms": rng.choice([0.0, 3.0, 12.0]),
        "startup_ms": rng.choice([0.0, 25.0]),
        "cold": True,
        "resident": resident,
    }
    data["budgets"]["latency_ms"] = data["budgets"]["latency_ms"] * 2 + 200
    data["budgets"]["energy_j"] = data["budgets"]["energy_j"] * 1.5
    return problem_from_data(data)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("workers", [1, 2, 3, None])
@pytest.mark.parametrize("weights", WEIGHTINGS, ids=["energy", "latency", "mixed"])
def test_machine_plans_match_the_independent_oracle(backend, workers, weights):  # type: ignore[no-untyped-def]
    seen = set()
    for seed in range(4):
        problem = machine_problem(seed * 13 + (workers or 0), workers, weights)
        oracle = brute_force(problem)
        seen.add(oracle.feasible)
        check_against_oracle(problem, backend, oracle)
        if oracle.feasible:
            plan = solve(problem, backend=backend)
            assert plan.schedule is not None
            assert plan.schedule.workers == problem.machine.resolved_workers()
            finish = max(n.finish_ms or 0.0 for n in plan.nodes)
            assert plan.totals is not None
            assert finish == pytest.approx(plan.totals.latency_ms)
    assert True in seen


def test_cold_flag_adds_load_time_and_energy_once_per_model():  # type: ignore[no-untyped-def]
    from planner import problem_from_data

    row = {"task": "T", "accuracy": 0.9, "latency_ms": 10, "energy_j": 1, "memory_mb": 1}
    data = {
        "graph": {"nodes": [{"id": "a", "task": "T"}, {"id": "b", "task": "T"}], "edges": []},
        "models": [{"id": "m", **row, "load_ms": 500, "load_energy_j": 7}],
        "weights": {"energy": 1, "latency": 0},
        "machine": {"workers": 2, "cold": True},
    }
    cold = solve(problem_from_data(data))
    warm = solve(problem_from_data({**data, "machine": {"workers": 2, "cold": False}}))
    resident = solve(
        problem_from_data({**data, "machine": {"workers": 2, "cold": True, "resident": ["m"]}})
    )
    assert cold.totals is not None and warm.totals is not None and resident.totals is not None
    assert cold.totals.energy_j == pytest.approx(2 + 7)
    assert cold.totals.latency_ms == pytest.approx(510)
    assert warm.totals.energy_j == pytest.approx(2) and warm.totals.latency_ms == 10
    assert resident.totals == warm.totals
    assert cold.schedule is not None and cold.schedule.cold_models == ["m"]


@pytest.mark.parametrize("weights", WEIGHTINGS, ids=["energy", "latency", "mixed"])
def test_lean_path_is_optimal_and_explain_plan_adds_the_analysis(weights):  # type: ignore[no-untyped-def]
    from planner import explain_plan
    from planner.solve import NOT_ANALYSED

    for seed in range(4):
        problem = random_problem(
            seed,
            n_nodes=6,
            n_cands=3,
            budgets=("energy_j", "latency_ms", "min_accuracy"),
            tightness=0.5,
            weights=weights,
        )
        oracle = brute_force(problem)
        lean = solve(problem, explain=False)
        check_against_oracle(problem, "cbc", oracle)
        if not oracle.feasible:
            assert lean.status == "infeasible"
            continue
        assert lean.status == "optimal"
        assert lean.objective == pytest.approx(oracle.objective, rel=1e-6, abs=1e-9)
        assert all(b.binding is None for b in lean.budgets)
        full = explain_plan(lean)
        assert full.assignment == lean.assignment and full.totals == lean.totals
        assert all(b.binding is not None for b in full.budgets)
        reasons = [c.reason for n in full.nodes for c in n.candidates]
        assert NOT_ANALYSED not in reasons
        assert full == solve(problem, explain=True).model_copy(update={"solver": full.solver})


def test_objects_kept_per_row_never_go_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    # `planner.solve` keeps each catalog row's Candidate, view and predicted metrics per row
    # object: a new row with other numbers (same model id) must be read afresh, and the
    # cache stays within its bound
    import importlib

    from benchmarks.instances import instance, problem_data
    from planner import problem_from_data

    solve_module = importlib.import_module("planner.solve")
    monkeypatch.setattr(solve_module, "ROW_CACHE", 50)
    data = problem_data(instance(6, 4, 0), "rows")
    first = solve(problem_from_data(data))
    assert len(solve_module._by_row) <= 50
    assert first == solve(problem_from_data(data)).model_copy(update={"solver": first.solver})
    changed = dict(data)
    changed["models"] = [{**m, "accuracy": 0.999, "energy_j": 1e-4} for m in data["models"]]
    second = solve(problem_from_data(changed))
    assert second.status == "optimal" and second.totals is not None
    for node in second.nodes:
        assert all(c.accuracy == 0.999 and c.energy_j == 1e-4 for c in node.candidates)
        assert node.predicted is not None and node.predicted.energy_j == 1e-4
    assert len(solve_module._by_row) <= 50
