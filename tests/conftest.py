"""Shared fixtures: random problems (seeded) and small known-answer problems."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from planner import Problem, problem_from_data

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _trust_test_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite runs its own problem and plan files, whose python adapters point at
    tests/run_models.py: trust them (as ``--trust-plan`` would). Tests of the trust rule
    itself remove the variable (tests/test_reliability_untrusted.py)."""
    monkeypatch.setenv("PLANNER_TRUST_FILES", "1")


def random_problem_data(
    seed: int,
    n_nodes: int = 6,
    n_cands: int = 4,
    n_tasks: int = 3,
    budgets: tuple[str, ...] = ("energy_j", "latency_ms", "min_accuracy", "memory_mb"),
    tightness: float = 0.5,
    weights: dict[str, float] | None = None,
    execution: str = "parallel",
) -> dict[str, Any]:
    """A seeded random DAG (1-3 predecessors per node) whose nodes draw from ``n_tasks`` task
    types, so model ids repeat across nodes (shared memory). Budgets are set between the
    cheapest and the most expensive plan by ``tightness`` (0 = cheapest possible)."""
    rng = random.Random(seed)
    tasks = [f"Task {t}" for t in range(n_tasks)]
    nodes = [{"id": f"n{v}", "task": rng.choice(tasks)} for v in range(n_nodes)]
    edges = set()
    for v in range(1, n_nodes):
        for _ in range(rng.randint(0, min(3, v))):
            edges.add((f"n{rng.randrange(v)}", f"n{v}"))
    models = []
    for t in tasks:
        for m in range(n_cands):
            models.append(
                {
                    "id": f"{t.split()[1]}-m{m}",
                    "task": t,
                    "accuracy": round(rng.uniform(0.5, 1.0), 3),
                    "latency_ms": round(rng.uniform(1, 100), 1),
                    "energy_j": round(rng.uniform(1, 50), 1),
                    "memory_mb": round(rng.uniform(10, 400)),
                }
            )

    # budget levels from per-node extremes
    def per_node(attr: str, pick: Any) -> list[float]:
        return [pick(x[attr] for x in models if x["task"] == n["task"]) for n in nodes]

    b: dict[str, float] = {}
    lo_e, hi_e = sum(per_node("energy_j", min)), sum(per_node("energy_j", max))
    lo_l, hi_l = sum(per_node("latency_ms", min)) / 2, sum(per_node("latency_ms", max))
    lo_m, hi_m = max(x["memory_mb"] for x in models) / 2, sum(x["memory_mb"] for x in models)
    if "energy_j" in budgets:
        b["energy_j"] = round(lo_e + tightness * (hi_e - lo_e), 1)
    if "latency_ms" in budgets:
        b["latency_ms"] = round(lo_l + tightness * (hi_l - lo_l), 1)
    if "memory_mb" in budgets:
        b["memory_mb"] = round(lo_m + tightness * (hi_m - lo_m))
    if "min_accuracy" in budgets:
        import math

        lo_a = math.prod(per_node("accuracy", min))
        hi_a = math.prod(per_node("accuracy", max))
        b["min_accuracy"] = round(hi_a - tightness * (hi_a - lo_a), 4)
    return {
        "graph": {"nodes": nodes, "edges": sorted([list(e) for e in edges])},
        "models": models,
        "budgets": b,
        "weights": weights or {"energy": 1, "latency": 0},
        "execution": execution,
    }


def random_problem(seed: int, **kwargs: Any) -> Problem:
    return problem_from_data(random_problem_data(seed, **kwargs))


@pytest.fixture
def two_node_data() -> dict[str, Any]:
    """The issue's example: detection feeding text-to-speech, two candidates each."""
    return {
        "graph": {
            "nodes": [
                {"id": "detect", "task": "Object Detection", "args": {"image": "street.jpg"}},
                {"id": "speak", "task": "Text-to-Speech", "args": {"text": "<detect>"}},
            ],
            "edges": [["detect", "speak"]],
        },
        "models": [
            {
                "id": "detr-resnet-50",
                "task": "Object Detection",
                "accuracy": 0.42,
                "latency_ms": 95.0,
                "energy_j": 12.5,
                "memory_mb": 160,
            },
            {
                "id": "yolo-n",
                "task": "Object Detection",
                "accuracy": 0.39,
                "latency_ms": 56.0,
                "energy_j": 3.5,
                "memory_mb": 10,
            },
            {
                "id": "tts-large",
                "task": "Text-to-Speech",
                "accuracy": 0.9,
                "latency_ms": 300.0,
                "energy_j": 20.0,
                "memory_mb": 500,
            },
            {
                "id": "tts-small",
                "task": "Text-to-Speech",
                "accuracy": 0.8,
                "latency_ms": 100.0,
                "energy_j": 5.0,
                "memory_mb": 100,
            },
        ],
        "budgets": {"energy_j": 50, "latency_ms": 400, "min_accuracy": 0.3, "memory_mb": 2048},
        "weights": {"energy": 0.5, "latency": 0.5},
        "execution": "parallel",
    }
