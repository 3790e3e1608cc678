"""`planner run`, `planner history`, `planner profiles update`: exit codes, JSON, history."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main
from planner.history import History, update_catalog
from planner.report import Report
from profiles import load_catalog_data
from tests.conftest import REPO
from tests.test_execute import diamond, model


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs and history go under tmp_path, never into the user's data directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))


def models(sleep_s: float = 0.0) -> list[dict[str, Any]]:
    return [
        model("ma", "A", "echo", 10, tag="ma", sleep_s=sleep_s),
        model("mb", "B", "echo", 10, tag="mb"),
        model("mc", "C", "echo", 10, tag="mc"),
    ]


def write_problem(tmp_path: Path, data: dict[str, Any], name: str = "problem.json") -> Path:
    data = {**data, "metadata": {"inputs": {"x": "hi"}}}
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_json_is_the_report_and_progress_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = write_problem(tmp_path, diamond(models()))
    code, out, err = cli(capsys, "run", str(problem), "--json", "--out", str(tmp_path / "r"))
    assert code == 0
    report = Report.model_validate_json(out)
    assert report.status == "succeeded" and report.format == "report/v1"
    assert report.run_dir == str(tmp_path / "r")
    assert (tmp_path / "r" / "outputs" / "d.json").exists()
    assert "d: succeeded" in err
    assert History(tmp_path / "history.sqlite").count() == (1, 4)


def test_run_human_view_and_default_run_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = write_problem(tmp_path, diamond(models()))
    code, out, _ = cli(capsys, "run", str(problem), "--input", 'x="there"', "-q")
    assert code == 0
    assert "SUCCEEDED" in out and "pred ms" in out and "meas ms" in out and "within" in out
    runs = list((tmp_path / "data" / "cost-aware-planner" / "runs").iterdir())
    assert len(runs) == 1
    assert "there|ma" in (runs[0] / "outputs" / "a.json").read_text()


def test_plan_file_runs_as_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = write_problem(tmp_path, diamond(models()))
    plan = tmp_path / "plan.json"
    assert cli(capsys, "solve", str(problem), "-o", str(plan))[0] == 0
    # the plan's python adapters are the test's own, not in the zoo catalog: vouch for them
    code, out, _ = cli(capsys, "run", str(plan), "--json", "-q", "--trust-plan")
    assert code == 0 and json.loads(out)["status"] == "succeeded"
    code, _, err = cli(capsys, "run", str(plan), "--energy-budget", "5")
    assert code == 2 and "a plan file runs as it is" in err


def test_bad_targets_and_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "run", str(tmp_path / "nope.json"))
    assert code == 2 and "no such file" in err
    problem = write_problem(tmp_path, diamond(models()))
    code, _, err = cli(capsys, "run", str(problem), "--executor", "dask")
    assert code == 2 and "local or ray" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    code, _, err = cli(capsys, "run", str(problem), "--out", str(tmp_path / "full"))
    assert code == 2 and "not empty" in err
    no_input = tmp_path / "no_input.json"
    no_input.write_text(json.dumps(diamond(models())))
    code, _, err = cli(capsys, "run", str(no_input))
    assert code == 2 and "--input NAME=VALUE" in err


def test_text_request_without_decomposer_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.cli.run as cli_run

    monkeypatch.setattr(cli_run, "get_decomposer", lambda: None)
    code, _, err = cli(capsys, "run", "caption this picture and read it aloud")
    assert code == 2 and "text requests need the decomposer" in err


def test_text_request_uses_the_decomposer_hook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.cli.run as cli_run
    from tasks import TaskGraph

    graph = TaskGraph.model_validate(
        {
            "nodes": [
                {"id": "a", "task": "A", "args": {"text": "say hi"}},
                {"id": "b", "task": "B", "args": {"text": "<a>"}},
            ]
        }
    )
    monkeypatch.setattr(cli_run, "DECOMPOSER", lambda text: graph)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": models()}))
    code, out, _ = cli(
        capsys, "run", "say hi then echo it", "--catalog", str(catalog), "--json", "-q"
    )
    assert code == 0
    report = json.loads(out)
    assert report["request"] == "say hi then echo it"
    assert [n["model"] for n in report["nodes"]] == ["ma", "mb"]


def test_infeasible_budget_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = write_problem(tmp_path, diamond(models()))
    code, _, err = cli(capsys, "run", str(problem), "--energy-budget", "1", "-q")
    assert code == 3 and "nothing was run" in err
    assert History(tmp_path / "history.sqlite").count() == (0, 0)


def test_exhausted_latency_budget_exits_4_with_partial_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a is predicted at 10 ms but sleeps 600 ms: the 400 ms latency budget is gone after it
    problem = write_problem(tmp_path, diamond(models(sleep_s=0.6)))
    code, out, _ = cli(
        capsys,
        "run",
        str(problem),
        "--latency-budget",
        "400",
        "--json",
        "--out",
        str(tmp_path / "r"),
        "-q",
    )
    assert code == 4
    report = json.loads(out)
    assert report["status"] == "partial"
    assert "latency_ms" in report["message"]
    assert [n["status"] for n in report["nodes"]] == ["succeeded", "not_run", "not_run", "not_run"]
    assert (tmp_path / "r" / "outputs" / "a.json").exists()
    assert json.loads((tmp_path / "r" / "report.json").read_text())["status"] == "partial"
    rows = History(tmp_path / "history.sqlite").runs()
    assert rows[0].status == "partial" and rows[0].n_succeeded == 1


def test_history_lists_and_shows_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = write_problem(tmp_path, diamond(models()))
    for _ in range(2):
        assert cli(capsys, "run", str(problem), "-q")[0] == 0
    code, out, _ = cli(capsys, "history", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 2 and rows[0]["status"] == "succeeded"
    assert rows[0]["problem"] == "diamond" and rows[0]["n_nodes"] == 4
    code, out, _ = cli(capsys, "history", "--show", rows[1]["run_id"], "--json")
    assert json.loads(out)["run_id"] == rows[1]["run_id"]
    code, out, _ = cli(capsys, "history")
    assert rows[0]["run_id"] in out
    code, _, err = cli(capsys, "history", "--show", "nope")
    assert code == 2 and "no run 'nope'" in err


def test_profiles_update_takes_the_median_of_the_last_k(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = diamond(models())
    problem = write_problem(tmp_path, data)
    for _ in range(3):
        assert cli(capsys, "run", str(problem), "-q")[0] == 0
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": data["models"]}))
    out_path = tmp_path / "updated.json"
    code, _, err = cli(
        capsys, "profiles", "update", "--catalog", str(catalog), "--last", "2", "-o", str(out_path)
    )
    assert code == 0 and "3 of 3 row(s) updated" in err
    new = {m.id: m for m in load_catalog_data(json.loads(out_path.read_text())).models}
    with sqlite3.connect(tmp_path / "history.sqlite") as conn:
        mb = [
            r[0]
            for r in conn.execute(
                "SELECT latency_ms FROM measurements WHERE model = 'mb' ORDER BY id DESC"
            )
        ]
        ma_energy = [
            r[0]
            for r in conn.execute(
                "SELECT energy_j FROM measurements WHERE model = 'ma' ORDER BY id DESC LIMIT 2"
            )
        ]
    assert len(mb) == 6  # b and c, three runs
    assert new["mb"].latency_ms == pytest.approx(statistics.median(mb[:2]))
    assert new["ma"].energy_j == pytest.approx(statistics.median(ma_energy))
    assert new["ma"].accuracy == 0.9 and new["ma"].memory_mb == 10  # not measured: kept
    assert new["ma"].provenance is not None and new["ma"].provenance.source == "measured"
    assert "median of the last 2" in (new["ma"].provenance.reference or "")
    assert (new["ma"].provenance.model_extra or {})["previous_latency_ms"] == 10
    assert new["ma"].adapter == data["models"][0]["adapter"]


def test_update_catalog_keeps_rows_without_measurements(tmp_path: Path) -> None:
    catalog = load_catalog_data({"models": models()})
    new, changes = update_catalog(catalog, History(tmp_path / "empty.sqlite"), last=3)
    assert new == catalog and changes == []


RECORDER = """
import sys
from planner.history import History
from planner.report import Report
template = Report.model_validate_json(open(sys.argv[1]).read())
db = History(sys.argv[2])
for i in range(int(sys.argv[4])):
    db.record(template.model_copy(update={"run_id": f"{sys.argv[3]}-{i}"}))
"""


def test_history_survives_two_concurrent_writers(tmp_path: Path) -> None:
    from planner import problem_from_data, solve
    from planner.execute import LocalExecutor

    plan = solve(problem_from_data(diamond(models())))
    report = LocalExecutor().execute(plan, {"x": "hi"})
    template = tmp_path / "report.json"
    template.write_text(report.to_json())
    db = tmp_path / "shared.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RECORDER, str(template), str(db), tag, "25"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    history = History(db)
    assert history.count() == (50, 200)
    ids = {r.run_id for r in history.runs(limit=100)}
    assert ids == {f"p{p}-{i}" for p in (1, 2) for i in range(25)}
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("signals", [["SIGINT"], ["SIGTERM"], ["SIGHUP"], ["SIGINT", "SIGINT"]])
def test_signals_stop_cleanly_with_an_interrupted_report(
    tmp_path: Path, signals: list[str]
) -> None:
    """Ctrl-C, SIGTERM, SIGHUP, and a second Ctrl-C while the first is being handled, all
    end with report.json (status interrupted), the report on stdout and a history row."""
    data = diamond(
        [
            model("ma", "A", "echo", 10, tag="ma"),
            model("mb", "B", "echo", 10, tag="mb", sleep_s=20.0),
            model("mc", "C", "echo", 10, tag="mc"),
        ]
    )
    problem = write_problem(tmp_path, data)
    out = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "run", str(problem), "--json", "--out", str(out), "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not (out / "outputs" / "a.json").exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)
    time.sleep(0.2)  # b and c are sleeping now
    for name in signals:
        proc.send_signal(getattr(signal, name))
        time.sleep(0.01)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    report = json.loads(stdout)
    assert report["status"] == "interrupted" and "interrupted" in report["message"]
    saved = json.loads((out / "report.json").read_text())
    assert saved["nodes"][0]["status"] == "succeeded"
    assert History(tmp_path / "history.sqlite").runs()[0].status == "interrupted"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            state = next(line for line in fh if line.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return " Z " not in state and "zombie" not in state


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_worker_processes_do_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    """kill -9 of `planner run` leaves no worker process running 2 s later."""
    pid_file = tmp_path / "worker.pid"
    data = diamond(
        [
            model("ma", "A", "echo", 10, tag="ma"),
            {
                **model("mb", "B", "echo", 10),
                "adapter": {
                    "kind": "python",
                    "target": "tests.run_models:pid_then_sleep",
                    "options": {"path": str(pid_file)},
                },
            },
            model("mc", "C", "echo", 10, tag="mc"),
        ]
    )
    problem = write_problem(tmp_path, data)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "planner", "run", str(problem), "--out", str(tmp_path / "r")]
    proc = subprocess.Popen(
        [*cmd, "-q", "--pool", "process", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    assert _alive(worker)
    proc.kill()
    proc.wait(timeout=10)
    time.sleep(2.0)
    assert not _alive(worker), "a worker process outlived its killed parent"
