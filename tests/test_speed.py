"""The speed check (`planner.speed`): probes repeated now scale the latency predictions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main
from planner.execute import LocalExecutor
from planner.problem import problem_from_data
from planner.report import Report, speed_summary
from planner.runners import RunnerFactory
from planner.solve import solve
from planner.speed import SpeedCheck, probe_here, probe_in_workers, speed_check
from tests.test_execute import diamond, model


def probed(row: dict[str, Any], probe_ms: float) -> dict[str, Any]:
    """``row`` with a profile-time speed probe of ``probe_ms`` on one example input."""
    row = json.loads(json.dumps(row))
    row["adapter"]["profile_inputs"] = [{"text": "probe"}]
    row["provenance"] = {
        "source": "measured",
        "latency_probe_ms": probe_ms,
        "latency_probe_items": 1,
    }
    return row


def test_speed_check_scales_latency_by_the_probe_ratio_and_says_what_it_skipped() -> None:
    models = [
        probed(model("ma", "A", "echo", 40, sleep_s=0.02), probe_ms=10),  # now 2x slower
        model("mb", "B", "echo", 10),  # no probe in its profile
        probed(model("mc", "C", "echo", 10), probe_ms=1.0),
        probed(model("broken", "C", "echo", 10, load="broken_load"), probe_ms=1.0),
        probed(model("unused", "Z", "echo", 10), probe_ms=1.0),  # task not in the graph
    ]
    models[2]["adapter"] = {"kind": "http", "url": "http://127.0.0.1:9/x"}
    problem = problem_from_data(diamond(models))
    checked, check = speed_check(problem, probe_here(RunnerFactory().load, 3, 1, 1), calls=3)

    assert [(m.model, m.task) for m in check.models] == [("ma", "A")]
    ma = check.models[0]
    assert ma.probe_then_ms == 10 and ma.probe_now_ms >= 20  # it sleeps 20 ms per call
    assert ma.factor == pytest.approx(ma.probe_now_ms / 10, rel=1e-3)
    assert ma.latency_catalog_ms == 40
    assert ma.latency_ms == pytest.approx(40 * ma.factor, rel=1e-3)
    skipped = "\n".join(check.skipped)
    assert "mb (B): its profile has no speed probe" in skipped
    assert "mc (C): a 'http' adapter does not run on this machine" in skipped
    assert "broken (C): the probe failed" in skipped and "weights file missing" in skipped
    assert "unused" not in skipped and len(check.skipped) == 3
    assert check.calls == 3 and check.seconds > 0

    rows = {(m.id, m.task): m for m in checked.candidates}
    assert rows[("ma", "A")].latency_ms == pytest.approx(ma.latency_ms)
    extra = rows[("ma", "A")].provenance.model_extra  # type: ignore[union-attr]
    assert extra is not None and extra["speed_check"]["factor"] == ma.factor
    assert extra["speed_check"]["latency_catalog_ms"] == 40
    for key in (("mb", "B"), ("mc", "C"), ("unused", "Z")):
        assert rows[key].latency_ms == 10  # untouched
    assert SpeedCheck.model_validate(checked.metadata["speed_check"]) == check


def test_a_machine_slower_now_for_one_model_changes_the_plan() -> None:
    # the catalog says fast-b is the faster B, but its probe now runs 20x slower than then
    models = [
        model("ma", "A", "echo", 10),
        probed(model("fast-b", "B", "echo", 5, sleep_s=0.02), probe_ms=1.0),
        probed(model("steady-b", "B", "echo", 8), probe_ms=50.0),
        model("mc", "C", "echo", 10),
    ]
    data = diamond(models)
    data["weights"] = {"energy": 0, "latency": 1}
    problem = problem_from_data(data)
    assert solve(problem).assignment["b"] == "fast-b"
    checked, check = speed_check(problem, probe_here(RunnerFactory().load, 3, 1, 0), calls=3)
    assert check.factor("fast-b", "B") is not None and check.factor("fast-b", "B") > 10  # type: ignore[operator]
    assert check.factor("steady-b", "B") < 1  # type: ignore[operator]
    plan = solve(checked)
    assert plan.assignment["b"] == plan.assignment["c"] == "steady-b"


def test_loaded_runners_are_the_factorys_so_the_run_reuses_them(tmp_path: Path) -> None:
    models = [
        probed(model("ma", "A", "echo", 10, load="count_load", tag="sc-ma"), probe_ms=1.0),
        model("mb", "B", "echo", 10),
        model("mc", "C", "echo", 10),
    ]
    from tests import run_models

    run_models.LOADS.pop("sc-ma", None)
    factory = RunnerFactory()
    probe = probe_here(factory.load, 3, 1, 1)
    checked, check = speed_check(problem_from_data(diamond(models)), probe, calls=3)
    assert [m.model for m in check.models] == ["ma"]
    report = LocalExecutor(factory=factory).execute(solve(checked), {"x": "hi"}, tmp_path / "r")
    assert report.status == "succeeded"
    assert run_models.LOADS["sc-ma"] == 1  # loaded by the check, reused by the run
    assert report.speed_check == check
    assert report.node("a").predicted.latency_ms == check.models[0].latency_ms  # type: ignore[union-attr]
    older = json.loads(report.to_json())
    del older["speed_check"]  # reports written before the speed check existed still load
    assert Report.model_validate(older).speed_check is None


def test_the_human_line_names_the_factors_of_the_models_that_ran() -> None:
    check = SpeedCheck.model_validate(
        {
            "models": [
                {
                    "model": "ma",
                    "task": "A",
                    "probe_then_ms": 1.0,
                    "probe_now_ms": 1.5,
                    "factor": 1.5,
                    "latency_catalog_ms": 10.0,
                    "latency_ms": 15.0,
                },
                {
                    "model": "other",
                    "task": "A",
                    "probe_then_ms": 1.0,
                    "probe_now_ms": 0.5,
                    "factor": 0.5,
                    "latency_catalog_ms": 10.0,
                    "latency_ms": 5.0,
                },
            ],
            "skipped": ["mb (B): its profile has no speed probe (latency_probe_ms)"],
            "calls": 9,
            "seconds": 0.4,
        }
    )
    line = speed_summary(check, ["ma", None])
    assert line.startswith("speed check (2 model(s) probed in this process in 0.4 s, 1 skipped)")
    assert line.endswith(": ma x1.50")


def test_cli_run_checks_speed_when_asked_and_not_by_default(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))
    models = [
        probed(model("ma", "A", "echo", 10, sleep_s=0.005), probe_ms=1.0),
        model("mb", "B", "echo", 10),
        model("mc", "C", "echo", 10),
    ]
    data = {**diamond(models), "metadata": {"inputs": {"x": "hi"}}}
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))

    assert main(["run", str(path), "--speed-check", "--json", "--out", str(tmp_path / "r1")]) == 0
    captured = capsys.readouterr()
    report = Report.model_validate_json(captured.out)
    assert report.speed_check is not None and report.pool == "process"
    assert [m.model for m in report.speed_check.models] == ["ma"]
    # probed where the nodes ran: in as many worker processes as the run used
    assert report.speed_check.probed_in == "2 worker processes"
    assert report.node("a").predicted.latency_ms > 10  # type: ignore[union-attr]
    saved = json.loads((tmp_path / "r1" / "plan.json").read_text())
    assert "speed_check" in saved["problem"]["metadata"]

    assert main(["run", str(path), "-q", "--out", str(tmp_path / "r2")]) == 0
    captured = capsys.readouterr()
    assert "speed check" not in captured.out + captured.err
    saved = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert saved["speed_check"] is None
    assert saved["nodes"][0]["predicted"]["latency_ms"] == 10

    args = ["run", str(path), "-q", "--speed-check", "--pool", "thread"]
    assert main([*args, "--out", str(tmp_path / "r3")]) == 0
    captured = capsys.readouterr()
    assert "speed check (1 model(s) probed in this process" in captured.out
    assert "ma x" in captured.out


def test_worker_probes_take_the_median_over_workers_and_report_failures() -> None:
    from planner.execute import RunOptions
    from profiles import ModelProfile

    ok = ModelProfile.model_validate(
        probed(model("ma", "A", "echo", 10, sleep_s=0.01), probe_ms=5.0)
    )
    broken = ModelProfile.model_validate(
        probed(model("bad", "A", "echo", 10, load="broken_load"), probe_ms=1.0)
    )
    probe = probe_in_workers(RunOptions(warmup=1).model_dump_json(), 2, calls=3)
    assert probe.where == "2 worker processes"
    got = probe([ok, broken])
    assert isinstance(got[("ma", "A")], float) and got[("ma", "A")] >= 10  # sleeps 10 ms
    assert "weights file missing" in str(got[("bad", "A")])


def test_with_a_solver_only_the_models_plans_use_are_probed() -> None:
    models = [
        model("ma", "A", "echo", 10),
        # the catalog's fastest B, 20x slower now: the first plan takes it, the probe
        # moves the plan to steady-b, which is then probed too
        probed(model("fast-b", "B", "echo", 5, sleep_s=0.02), probe_ms=1.0),
        probed(model("steady-b", "B", "echo", 8), probe_ms=50.0),
        probed(model("slow-b", "B", "echo", 500), probe_ms=1.0),  # never chosen: not probed
        model("mc", "C", "echo", 10),
    ]
    data = diamond(models)
    data["weights"] = {"energy": 0, "latency": 1}
    problem = problem_from_data(data)
    probed_sets: list[list[str]] = []
    inner = probe_here(RunnerFactory().load, 3, 1, 0)

    class Recording:
        where = inner.where

        def __call__(self, profiles: list[Any]) -> dict[tuple[str, str], float | str]:
            probed_sets.append([p.id for p in profiles])
            return inner(profiles)

    checked, check = speed_check(problem, Recording(), calls=3, solve=solve)
    assert probed_sets == [["fast-b"], ["steady-b"]]
    assert {m.model for m in check.models} == {"fast-b", "steady-b"}
    assert solve(checked).assignment["b"] == "steady-b"
    slow = next(m for m in checked.candidates if m.id == "slow-b")
    assert slow.latency_ms == 500  # the catalog's number
    assert check.skipped == [
        "ma (A): its profile has no speed probe (latency_probe_ms)",
        "mc (C): its profile has no speed probe (latency_probe_ms)",
    ]
