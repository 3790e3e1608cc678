"""The shipped examples: real TaskBench requests over published catalogs, solved everywhere."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from planner import Plan, load_problem, solve
from planner.problem import Problem
from solvers.api import available_backends
from solvers.brute import MAX_ASSIGNMENTS

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PROBLEMS = sorted(EXAMPLES.glob("*.json"))
RECORDS = EXAMPLES / "taskbench_records.jsonl"
SHARED = REPO.parent / "shared" / "data"


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_examples", EXAMPLES / "build_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def _records() -> dict[str, dict[str, object]]:
    lines = RECORDS.read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def _backends(problem: Problem) -> list[str]:
    count = math.prod(len(problem.candidates_for(n.task)) for n in problem.graph.nodes)
    return [b for b in available_backends() if b != "brute" or count <= MAX_ASSIGNMENTS]


def _check_totals(problem: Problem, plan: Plan) -> None:
    """Recompute the plan's totals from its assignment and check every budget."""
    rows = {(m.id, m.task): m for m in problem.candidates}
    chosen = {n.id: rows[(plan.assignment[n.id], n.task)] for n in problem.graph.nodes}
    energy = sum(m.energy_j for m in chosen.values())
    accuracy = math.prod(m.accuracy for m in chosen.values())
    memory = sum({m.id: m.memory_mb for m in chosen.values()}.values())
    finish: dict[str, float] = {}
    edges = problem.graph.dependency_edges()
    for node in problem.graph.topological_order():
        start = max((finish[u] for u, v in edges if v == node), default=0.0)
        finish[node] = start + chosen[node].latency_ms
    latency = (
        max(finish.values())
        if problem.execution == "parallel"
        else sum(m.latency_ms for m in chosen.values())
    )
    assert plan.totals is not None
    assert plan.totals.energy_j == pytest.approx(energy, rel=1e-6)
    assert plan.totals.accuracy == pytest.approx(accuracy, rel=1e-6)
    assert plan.totals.memory_mb == pytest.approx(memory, rel=1e-6)
    assert plan.totals.latency_ms == pytest.approx(latency, rel=1e-6)
    b = problem.budgets
    assert b.energy_j is None or energy <= b.energy_j * (1 + 1e-9)
    assert b.latency_ms is None or latency <= b.latency_ms * (1 + 1e-9)
    assert b.memory_mb is None or memory <= b.memory_mb * (1 + 1e-9)
    assert b.min_accuracy is None or accuracy >= b.min_accuracy * (1 - 1e-9)


def test_at_least_three_examples_ship() -> None:
    assert len(PROBLEMS) >= 3


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_example_is_a_real_taskbench_request_over_published_rows(path: Path) -> None:
    problem = load_problem(path)
    meta = problem.metadata
    assert meta["data"] == "published"
    record = _records()[meta["taskbench"]["id"]]
    assert meta["taskbench"]["instruction"] == record["instruction"]
    assert record["type"] in ("chain", "dag")
    assert [n.task for n in problem.graph.nodes] == [t["task"] for t in record["task_nodes"]]  # type: ignore[attr-defined]
    assert len(problem.graph.nodes) >= 2
    for m in problem.candidates:
        assert m.provenance is not None
        assert m.provenance.source in ("published", "user")
        assert m.provenance.reference
    assert problem.budgets.given(), "an example without budgets is not interesting"


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_example_solves_optimally_on_every_backend_and_they_agree(path: Path) -> None:
    problem = load_problem(path)
    plans = {b: solve(problem, backend=b) for b in _backends(problem)}
    assert {"cbc", "brute"} <= set(plans)
    for backend, plan in plans.items():
        assert plan.status == "optimal", (backend, plan.message)
        _check_totals(problem, plan)
    objectives = [p.objective for p in plans.values()]
    assert all(o is not None for o in objectives)
    assert max(objectives) - min(objectives) <= 1e-7 * max(1.0, abs(objectives[0]))  # type: ignore[type-var,operator,arg-type]


@pytest.mark.parametrize("path", PROBLEMS, ids=lambda p: p.stem)
def test_some_budget_binds(path: Path) -> None:
    plan = solve(
        load_problem(path),
        backend="highs" if "highs" in available_backends() else "cbc",
        explain=True,
    )
    assert any(b.binding for b in plan.budgets), [b.model_dump() for b in plan.budgets]


def test_worked_example_known_answer() -> None:
    """docs/examples.md walks through this plan; keep the text and the numbers in step."""
    plan = solve(load_problem(EXAMPLES / "scenic-art-labels.json"), explain=True)
    assert plan.assignment == {
        "generate": "PixArt-alpha/PixArt-Sigma-XL-2-1024-MS",
        "segment": "ultralytics/YOLO11s-seg",
        "detect": "ultralytics/YOLO11l",
    }
    assert {b.name: b.binding for b in plan.budgets} == {"min_accuracy": True, "memory_mb": True}
    relaxed = solve(
        load_problem(EXAMPLES / "scenic-art-labels.json").with_overrides(
            budgets={"memory_mb": None}
        )
    )
    assert relaxed.assignment["generate"] == ("Efficient-Large-Model/SANA1.5_1.6B_1024px_diffusers")


def test_cli_solves_an_example_as_json() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "planner", "solve", "examples/count-chairs.json", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["status"] == "optimal"
    assert plan["assignment"]["detect"] == "ultralytics/YOLO11m"


def test_build_script_regenerates_examples_byte_for_byte_from_repo_excerpts(tmp_path: Path) -> None:
    written = _builder().build(REPO / "tests" / "data", tmp_path)
    assert len(written) == 1 + 2 * len(PROBLEMS)
    for path in written:
        shipped = EXAMPLES / path.relative_to(tmp_path)
        assert path.read_bytes() == shipped.read_bytes(), (
            f"{shipped} is stale: run python examples/build_examples.py"
        )


@pytest.mark.skipif(
    not (SHARED / "profiles-public").exists(), reason="shared data folder not present"
)
def test_build_script_gives_the_same_bytes_from_the_full_shared_data(tmp_path: Path) -> None:
    for path in _builder().build(SHARED, tmp_path):
        assert path.read_bytes() == (EXAMPLES / path.relative_to(tmp_path)).read_bytes()
