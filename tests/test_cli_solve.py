"""`planner solve`, `inspect`, `schema`: exit codes, JSON, determinism, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planner.cli import main
from tests.conftest import REPO


@pytest.fixture
def problem_file(tmp_path, two_node_data):  # type: ignore[no-untyped-def]
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(two_node_data))
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_solve_human_output(capsys, problem_file):  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "solve", str(problem_file))
    assert code == 0
    assert "OPTIMAL" in out and "yolo-n" in out and "totals" in out


def test_solve_json_is_the_plan(capsys, problem_file):  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "solve", str(problem_file), "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["status"] == "optimal"
    assert plan["assignment"] == {"detect": "yolo-n", "speak": "tts-small"}
    assert set(plan["totals"]) >= {"energy_j", "latency_ms", "accuracy", "memory_mb"}
    assert plan["critical_path"] == ["detect", "speak"]
    assert {b["name"] for b in plan["budgets"]} == {
        "energy_j",
        "latency_ms",
        "min_accuracy",
        "memory_mb",
    }
    reasons = {c["model"]: c["reason"] for n in plan["nodes"] for c in n["candidates"]}
    assert reasons["yolo-n"] == "chosen"
    assert "worse objective" in reasons["tts-large"]


def test_budget_flags_override_and_infeasible_exit_3(capsys, problem_file):  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "solve", str(problem_file), "--min-accuracy", "0.5", "--json")
    assert code == 3
    plan = json.loads(out)
    assert plan["status"] == "infeasible" and plan["assignment"] == {}
    code, out, _ = run(
        capsys,
        "solve",
        str(problem_file),
        "--min-accuracy",
        "0.35",
        "--weights",
        "energy=1,latency=0",
        "--json",
    )
    assert code == 0
    plan = json.loads(out)
    # 0.39 * 0.9 = 0.351 >= 0.35 and is the cheapest plan meeting it
    assert plan["assignment"] == {"detect": "yolo-n", "speak": "tts-large"}
    binding = {b["name"]: b["binding"] for b in plan["budgets"]}
    assert binding["min_accuracy"] is True and binding["energy_j"] is False


def test_output_file_and_sequential(capsys, problem_file, tmp_path):  # type: ignore[no-untyped-def]
    out_path = tmp_path / "sub" / "plan.json"
    code, _, _ = run(
        capsys, "solve", str(problem_file), "--execution", "sequential", "-o", str(out_path)
    )
    assert code == 0
    plan = json.loads(out_path.read_text())
    assert plan["execution"] == "sequential"
    assert plan["totals"]["latency_ms"] == pytest.approx(56 + 100)


@pytest.mark.parametrize("backend", ["cbc", "highs", "brute"])
def test_same_input_same_bytes(capsys, problem_file, backend):  # type: ignore[no-untyped-def]
    outputs = set()
    for _ in range(2):
        code, out, _ = run(
            capsys, "solve", str(problem_file), "--json", "--no-timings", "--backend", backend
        )
        assert code == 0
        outputs.add(out)
    assert len(outputs) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weights", "energy=x"], "not a number"),
        (["--weights", "speed=1"], "unknown weight"),
        (["--execution", "warp"], "parallel or sequential"),
        (["--backend", "gurobi"], "unknown backend"),
        (["--energy-budget", "-3"], "positive"),
        (["--time-limit", "0"], "time limit must be positive"),
        (["--gap", "2"], "gap must be in"),
    ],
)
def test_user_errors_exit_2_without_traceback(capsys, problem_file, args, message):  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "solve", str(problem_file), *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_missing_file_and_bad_json(capsys, tmp_path):  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "solve", str(tmp_path / "nope.json"))
    assert code == 2 and "no such file" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, _, err = run(capsys, "solve", str(bad))
    assert code == 2 and "not valid JSON" in err and "Traceback" not in err


def test_schema_command(capsys):  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert {"graph", "models", "budgets", "weights", "execution"} <= set(schema["properties"])
    code, out, _ = run(capsys, "schema", "plan")
    assert "assignment" in json.loads(out)["properties"]
    for kind in ("catalog", "report", "pareto", "whatif"):
        code, out, _ = run(capsys, "schema", kind)
        assert code == 0 and json.loads(out)["properties"]
    code, _, err = run(capsys, "schema", "nothing")
    assert code == 2 and "unknown schema" in err


def test_inspect_draws_png_svg_dot(capsys, problem_file, tmp_path):  # type: ignore[no-untyped-def]
    plan_path = tmp_path / "plan.json"
    assert run(capsys, "solve", str(problem_file), "-o", str(plan_path))[0] == 0
    png, svg, dot = tmp_path / "g.png", tmp_path / "g.svg", tmp_path / "g.dot"
    code, out, _ = run(
        capsys, "inspect", str(plan_path), "--png", str(png), "--svg", str(svg), "--dot", str(dot)
    )
    assert code == 0
    assert "critical path: detect -> speak" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert "<svg" in svg.read_text()
    text = dot.read_text()
    assert '"detect" -> "speak" [color="red"' in text and "yolo-n" in text


def test_inspect_rejects_non_plan(capsys, problem_file):  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "inspect", str(problem_file))
    assert code == 2 and "a plan file" in err


def test_console_entry_point_subprocess(problem_file: Path):  # type: ignore[no-untyped-def]
    """`python -m planner` works, prints no solver chatter, and errors carry no traceback."""
    env = {"PYTHONPATH": str(REPO)}
    import os

    env = {**os.environ, **env}
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "planner",
            "solve",
            str(problem_file),
            "--json",
            "--backend",
            "highs",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    json.loads(ok.stdout)  # stdout is only the plan: no HiGHS banner, no CBC log
    bad = subprocess.run(
        [sys.executable, "-m", "planner", "solve", "missing.json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    dbg = subprocess.run(
        [sys.executable, "-m", "planner", "--debug", "solve", "missing.json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert dbg.returncode == 2 and "Traceback" in dbg.stderr


@pytest.mark.parametrize("args", [[], ["solve"], ["solve", "x.json", "--bogus"], ["nope"]])
def test_usage_errors_exit_2(capsys, args):  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "Traceback" not in err and "internal error" not in err


def test_workers_and_cold_flags_change_the_plan_semantics(capsys, tmp_path):  # type: ignore[no-untyped-def]
    row = {"task": "T", "accuracy": 0.9, "latency_ms": 50, "energy_j": 1, "memory_mb": 1}
    data = {
        "graph": {"nodes": [{"id": f"n{i}", "task": "T"} for i in range(8)], "edges": []},
        "models": [{"id": "sleep", **row, "load_ms": 300, "load_energy_j": 4}],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    plans = {}
    for flags in (("--workers", "2"), ("--workers", "8"), ("--workers", "2", "--cold")):
        code, out, _ = run(capsys, "solve", str(path), "--json", *flags)
        assert code == 0
        plans[flags] = json.loads(out)
    two, eight, cold = plans.values()
    assert two["totals"]["latency_ms"] == 200 and two["schedule"]["workers"] == 2
    assert eight["totals"]["latency_ms"] == 50
    assert cold["totals"]["latency_ms"] == 500 and cold["totals"]["energy_j"] == 8 + 4
    assert cold["schedule"]["cold_models"] == ["sleep"]
    # a latency budget the 2-worker schedule cannot meet is refused before anything runs
    code, _, _ = run(capsys, "solve", str(path), "--workers", "2", "--latency-budget", "100")
    assert code == 3
    code, _, err = run(capsys, "solve", str(path), "--workers", "0")
    assert code == 2 and "Traceback" not in err
