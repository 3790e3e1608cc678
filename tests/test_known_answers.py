"""Hand-computed answers, checked on every backend."""

from __future__ import annotations

import pytest

import planner
from planner import problem_from_data
from solvers import available_backends

BACKENDS = available_backends()


def diamond(budgets: dict[str, float], weights: dict[str, float], execution: str = "parallel"):  # type: ignore[no-untyped-def]
    """a -> (b, c) -> d. Each task has a fast/cheap/inaccurate and a slow/costly/accurate model."""
    models = []
    for task, fast, slow in [("A", 10, 40), ("B", 20, 60), ("C", 30, 50), ("D", 10, 20)]:
        models.append(
            {
                "id": f"{task}-fast",
                "task": task,
                "accuracy": 0.8,
                "latency_ms": fast,
                "energy_j": fast / 10,
                "memory_mb": 100,
            }
        )
        models.append(
            {
                "id": f"{task}-slow",
                "task": task,
                "accuracy": 0.95,
                "latency_ms": slow,
                "energy_j": slow / 2,
                "memory_mb": 300,
            }
        )
    return problem_from_data(
        {
            "graph": {
                "nodes": [{"id": n.lower(), "task": n} for n in "ABCD"],
                "edges": [["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]],
            },
            "models": models,
            "budgets": budgets,
            "weights": weights,
            "execution": execution,
        }
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_unconstrained_energy_picks_all_fast(backend):  # type: ignore[no-untyped-def]
    plan = planner.solve(diamond({}, {"energy": 1, "latency": 0}), backend=backend)
    assert plan.status == "optimal"
    assert set(plan.assignment.values()) == {"A-fast", "B-fast", "C-fast", "D-fast"}
    assert plan.totals is not None
    assert plan.totals.energy_j == pytest.approx(1 + 2 + 3 + 1)
    assert plan.totals.latency_ms == pytest.approx(10 + 30 + 10)  # a, max(b, c), d
    assert plan.totals.accuracy == pytest.approx(0.8**4)
    assert plan.totals.memory_mb == pytest.approx(400)
    assert plan.critical_path == ["a", "c", "d"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_accuracy_floor_upgrades_cheapest_nodes(backend):  # type: ignore[no-untyped-def]
    # two upgrades needed: 0.8^2 * 0.95^2 = 0.5776 >= 0.55 > 0.8^3 * 0.95 = 0.486
    # the cheapest extra energy: D (+1.0 -> 20/2 - 1 = 9 J) and A (+19 J) vs C (+22 J), B (+28 J)
    plan = planner.solve(
        diamond({"min_accuracy": 0.55}, {"energy": 1, "latency": 0}), backend=backend
    )
    assert plan.assignment == {"a": "A-slow", "b": "B-fast", "c": "C-fast", "d": "D-slow"}
    assert plan.totals is not None and plan.totals.energy_j == pytest.approx(20 + 2 + 3 + 10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_latency_budget_parallel_vs_sequential(backend):  # type: ignore[no-untyped-def]
    # all-slow makespan = 40 + 60 + 20 = 120; sequential sum = 170
    weights = {"energy": 0, "latency": 1}
    budgets = {"min_accuracy": 0.95**4 - 1e-9}
    par = planner.solve(diamond(budgets, weights), backend=backend)
    seq = planner.solve(diamond(budgets, weights, "sequential"), backend=backend)
    assert par.totals is not None and seq.totals is not None
    assert par.totals.latency_ms == pytest.approx(120)
    assert seq.totals.latency_ms == pytest.approx(170)
    tight = planner.solve(diamond({**budgets, "latency_ms": 119.0}, weights), backend=backend)
    assert tight.status == "infeasible"


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_budget(backend):  # type: ignore[no-untyped-def]
    # two slow upgrades are needed for accuracy 0.55; each adds 200 MB to the 400 MB base
    weights = {"energy": 1, "latency": 0}
    fits = planner.solve(diamond({"min_accuracy": 0.55, "memory_mb": 800}, weights), backend)
    assert fits.status == "optimal"
    assert fits.totals is not None and fits.totals.memory_mb == pytest.approx(800)
    short = planner.solve(diamond({"min_accuracy": 0.55, "memory_mb": 799}, weights), backend)
    assert short.status == "infeasible"


@pytest.mark.parametrize("backend", BACKENDS)
def test_node_accuracy_floor(backend):  # type: ignore[no-untyped-def]
    plan = planner.solve(
        diamond({"node_min_accuracy": {"b": 0.9}}, {"energy": 1, "latency": 0}), backend=backend
    )
    assert plan.assignment["b"] == "B-slow"
    reasons = {c.model: c.reason for n in plan.nodes for c in n.candidates}
    assert "accuracy floor" in reasons["B-fast"]


def test_presolve_reasons(two_node_data):  # type: ignore[no-untyped-def]
    data = dict(two_node_data)
    data["models"] = [
        *two_node_data["models"],
        {
            "id": "detr-worse",
            "task": "Object Detection",
            "accuracy": 0.40,
            "latency_ms": 120.0,
            "energy_j": 13.0,
            "memory_mb": 170,
        },
    ]
    plan = planner.solve(problem_from_data(data))
    reasons = {c.model: c.reason for n in plan.nodes for c in n.candidates}
    assert reasons["detr-worse"] == "dominated by detr-resnet-50"
    tight = planner.solve(problem_from_data(data).with_overrides(budgets={"latency_ms": 200}))
    reasons = {c.model: c.reason for n in tight.nodes for c in n.candidates}
    assert reasons["tts-large"] == "breaks the latency budget even with the best choices elsewhere"
    assert tight.solver.presolve_removed >= 2


def test_python_api_documented_shape(two_node_data, tmp_path):  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "p.json"
    path.write_text(json.dumps(two_node_data))
    problem = planner.load_problem(path)
    plan = planner.solve(problem, backend="cbc", time_limit_s=10, gap_rel=None)
    assert plan.status == "optimal"
    assert plan.assignment == {"detect": "yolo-n", "speak": "tts-small"}
    assert plan.totals is not None and plan.totals.energy_j == pytest.approx(8.5)
    again = planner.Plan.model_validate_json(plan.to_json())
    assert again == plan
