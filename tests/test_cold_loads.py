"""Cold loads measured here (`planner.run.calibration`): read, applied to cold plans, measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.cli.options import apply_overrides
from planner.problem import problem_from_data
from planner.run import calibration
from planner.run.budget import predicted_timing, remaining_problem
from planner.run.calibration import (
    base_row,
    cold_loads,
    cold_loads_default,
    import_modules,
    shared_modules,
    with_cold_loads,
)

NOOP = {"kind": "python", "target": "planner.run.calibration:noop"}


def problem_data(cold: bool, **first: Any) -> dict[str, Any]:
    row = {"accuracy": 0.9, "latency_ms": 10.0, "energy_j": 1.0, "adapter": NOOP}
    prov = {"source": "measured", "hardware": "test", "energy_source": "estimate"}
    return {
        "graph": {"nodes": [{"id": "a", "task": "T", "args": {"text": "$x"}}]},
        "models": [
            {"id": "m1", "task": "T", **row, "provenance": prov, **first},
            {"id": "m2", "task": "T", **row, "provenance": {**prov, "load_ms": 40.0}},
            {"id": "remote", "task": "T", **row, "adapter": {"kind": "http", "url": "http://x"}},
        ],
        "machine": {"workers": 2, "cold": cold},
    }


@pytest.fixture
def cold_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cold.json"
    path.write_text(
        json.dumps(
            {
                "hardware": "test box",
                "workers": {
                    "1": {"models": {"m1": {"load_ms": 100.0}, "remote": {"load_ms": 5.0}}},
                    "2": {
                        "measured_at": "2026-12-03",
                        "repeats": 3,
                        "base": {"load_ms": 30.0, "modules": ["json"]},
                        "models": {"m1": {"load_ms": 250.0}, "remote": {"load_ms": 5.0}},
                    },
                },
            }
        )
    )
    monkeypatch.setenv("PLANNER_COLD_LOADS_FILE", str(path))
    return path


def test_default_is_read_for_the_nearest_worker_count(cold_file: Path) -> None:
    one = cold_loads_default(1)
    assert one.loads["m1"] == 100.0 and one.base_ms == 0.0  # no base measured for 1
    assert cold_loads_default(2).loads["m1"] == 250.0
    found = cold_loads_default(8)  # not measured: the nearest count that was
    assert found.loads["m1"] == 250.0 and found.base_ms == 30.0
    assert "test box" in found.note and "2 fresh worker" in found.note
    assert "2026-12-03" in found.note


def test_no_file_or_a_broken_one_gives_no_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_COLD_LOADS_FILE", "")
    assert cold_loads_default(2).loads == {}
    monkeypatch.setenv("PLANNER_COLD_LOADS_FILE", str(tmp_path / "missing.json"))
    assert cold_loads_default(2).loads == {}
    bad = tmp_path / "bad.json"
    bad.write_text('{"workers": {"two": []}}')
    monkeypatch.setenv("PLANNER_COLD_LOADS_FILE", str(bad))
    assert cold_loads_default(2).loads == {}


def test_a_cold_plan_counts_the_measured_load_of_local_rows(cold_file: Path) -> None:
    problem = with_cold_loads(problem_from_data(problem_data(cold=True)))
    rows = {m.id: m for m in problem.models}
    assert rows["m1"].load_ms == 250.0  # measured here, 2 workers
    assert rows["m1"].provenance is not None
    assert "cold load measured here" in str(rows["m1"].provenance.model_dump()["load_note"])
    assert rows["m1"].load_energy_j == pytest.approx(2.5)  # derived: 0.25 s x 10 W
    assert rows["m2"].load_ms == 40.0  # not in the file: the profiler's recorded load
    assert rows["remote"].load_ms is None  # remote: nothing loads here
    assert problem.machine.cold_base_ms == 30.0  # the shared base, once per plan


def test_a_row_with_its_own_load_and_a_warm_plan_are_left_alone(cold_file: Path) -> None:
    own = with_cold_loads(problem_from_data(problem_data(cold=True, load_ms=7.0)))
    assert next(m for m in own.models if m.id == "m1").load_ms == 7.0
    warm = problem_from_data(problem_data(cold=False))
    assert with_cold_loads(warm) is warm


def test_every_command_applies_it_through_the_cold_flag(cold_file: Path) -> None:
    problem = problem_from_data(problem_data(cold=False))
    cold = apply_overrides(problem, cold=True, workers=1)
    assert next(m for m in cold.models if m.id == "m1").load_ms == 100.0
    warm = apply_overrides(problem, workers=1)
    assert next(m for m in warm.models if m.id == "m1").load_ms is None


def test_solve_cold_plans_the_load(cold_file: Path, tmp_path: Path) -> None:
    data = problem_data(cold=False)
    data["models"] = data["models"][:1]  # only m1: its load is the plan's
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    runner = CliRunner()
    warm = runner.invoke(app, ["solve", str(path), "--json", "--workers", "2"])
    cold = runner.invoke(app, ["solve", str(path), "--json", "--workers", "2", "--cold"])
    assert warm.exit_code == 0 and cold.exit_code == 0, cold.output
    warm_ms = json.loads(warm.stdout)["totals"]["latency_ms"]
    plan = json.loads(cold.stdout)
    assert plan["totals"]["latency_ms"] == pytest.approx(warm_ms + 30.0 + 250.0)
    assert plan["schedule"]["load_ms"] == pytest.approx(280.0)  # the base is loading
    assert plan["schedule"]["startup_ms"] == 0.0


def test_the_base_counts_once_and_not_again_after_a_replan(cold_file: Path) -> None:
    from planner.solve import solve

    problem = with_cold_loads(problem_from_data(problem_data(cold=True)))
    plan = solve(problem)
    timing = predicted_timing(plan.problem, plan.assignment)
    assert timing.load_ms == pytest.approx(plan.schedule.load_ms)  # run and plan agree
    assert timing.load_ms >= 30.0
    later = remaining_problem(plan.problem, ["a"], {}, set())
    assert later.machine.cold_base_ms == 0.0  # paid before the first node


def test_shared_modules_are_the_ones_enough_models_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = list(problem_from_data(problem_data(cold=True)).models)
    imports = {"m1": ["numpy", "scipy"], "m2": ["numpy", "torch"], "remote": ["numpy"]}
    monkeypatch.setattr(calibration, "new_modules", lambda p: imports[p.id])
    assert shared_modules(rows, shared_by=3) == ["numpy"]
    assert shared_modules(rows, shared_by=2) == ["numpy"]
    assert shared_modules(rows, shared_by=1) == ["numpy", "scipy", "torch"]


def test_the_base_row_imports_its_modules_and_skips_broken_ones() -> None:
    import sys

    sys.modules.pop("colorsys", None)
    import_modules(["colorsys", "no_such_module_here"])
    assert "colorsys" in sys.modules
    row = base_row(["colorsys"])
    assert row.adapter is not None and row.adapter["options"] == {"modules": ["colorsys"]}


def test_cold_loads_measures_a_model_in_fresh_workers() -> None:
    problem = problem_from_data(problem_data(cold=True))
    row = next(m for m in problem.models if m.id == "m1")
    out = cold_loads([row], workers=1, repeats=2, base=base_row(["colorsys"]))
    assert set(out) == {"m1"}
    assert out["m1"]["runs"] == 2.0
    assert 0.0 <= out["m1"]["min_ms"] <= out["m1"]["load_ms"] <= out["m1"]["max_ms"] < 60_000
