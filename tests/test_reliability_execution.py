"""Execution faults: a model crash mid-run leaves the run directory, its report and the history
database consistent, and the outputs of the nodes that finished readable."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main
from planner.history import History
from tests.conftest import REPO
from tests.test_execute import diamond, model


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))


def problem_file(tmp_path: Path, last: dict[str, Any], name: str = "problem.json") -> Path:
    """a -> (b, c) -> d where d's only model is ``last``."""
    data = diamond(
        [
            model("ma", "A", "echo", 10, tag="ma"),
            model("mb", "B", "echo", 10, tag="mb"),
            last,
        ]
    )
    data["metadata"] = {"inputs": {"x": "hi"}}
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def finished_outputs_are_readable(run_dir: Path) -> dict[str, Any]:
    outputs = run_dir / "outputs"
    names = sorted(p.name for p in outputs.iterdir())
    assert names == ["a.json", "b.json", "c.json"], names  # no temp files, no output for d
    read = {p.stem: json.loads(p.read_text()) for p in outputs.iterdir()}
    assert read["a"]["text"] == "hi|ma"
    assert read["b"]["text"] == "hi|ma|mb"
    return read


def test_model_raising_mid_run_keeps_outputs_report_and_history_consistent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crash = model("mc", "C", "fail", 10, message="CUDA error: device-side assert")
    run_dir = tmp_path / "r"
    code = main(["run", str(problem_file(tmp_path, crash)), "--json", "--out", str(run_dir), "-q"])
    printed = json.loads(capsys.readouterr().out)
    assert code == 4  # partial
    saved = json.loads((run_dir / "report.json").read_text())
    assert saved == printed
    assert saved["status"] == "partial" and "CUDA error" in json.dumps(saved)
    status = {n["id"]: n["status"] for n in saved["nodes"]}
    assert status == {"a": "succeeded", "b": "succeeded", "c": "succeeded", "d": "failed"}
    outputs = finished_outputs_are_readable(run_dir)
    for node in saved["nodes"]:
        if node["status"] == "succeeded":
            assert json.loads(Path(node["output_path"]).read_text()) == outputs[node["id"]]
    rows = History(tmp_path / "history.sqlite").runs()
    assert len(rows) == 1
    row = rows[0]
    assert (row.run_id, row.status, row.n_succeeded) == (saved["run_id"], "partial", 3)
    assert json.loads((run_dir / "plan.json").read_text())["status"] == "optimal"


def test_model_killing_the_process_loses_no_finished_work(tmp_path: Path) -> None:
    """A model that takes the whole process down (native crash): the finished nodes' outputs
    stay readable, no half-written file is left, the history records nothing for the dead run
    and stays usable (the next run is recorded, the database passes its integrity check)."""
    killer = model("mc", "C", "die", 10)
    killer["adapter"]["target"] = "tests.reliability_models:die"
    run_dir = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # first a good run, so the history database exists before the crash
    good = problem_file(tmp_path, model("mc", "C", "echo", 10, tag="mc"), "good.json")
    cmd = [sys.executable, "-m", "planner", "run"]
    ok = subprocess.run([*cmd, str(good), "-q", "--json"], env=env, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    proc = subprocess.run(
        [
            *cmd,
            str(problem_file(tmp_path, killer)),
            "--out",
            str(run_dir),
            "-q",
            "--json",
            "--pool",
            "thread",  # the model runs in this process and takes it down
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 139, proc.stderr
    finished_outputs_are_readable(run_dir)
    assert json.loads((run_dir / "plan.json").read_text())["status"] == "optimal"
    assert not (run_dir / "report.json").exists()
    assert not [p for p in run_dir.rglob(".*")], "a temporary file was left behind"
    db = tmp_path / "history.sqlite"
    assert [r.status for r in History(db).runs()] == ["succeeded"]
    again = subprocess.run([*cmd, str(good), "-q", "--json"], env=env, capture_output=True)
    assert again.returncode == 0, again.stderr
    assert [r.status for r in History(db).runs()] == ["succeeded", "succeeded"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_model_killing_its_worker_process_fails_only_its_node(tmp_path: Path) -> None:
    """With worker processes (the default for parallel plans) a native crash kills only the
    worker: the node is retried on a fresh worker, fails again, nothing else can serve it, so
    the run stops with a partial report; finished outputs and the history are intact."""
    killer = model("mc", "C", "die", 10)
    killer["adapter"]["target"] = "tests.reliability_models:die"
    run_dir = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PLANNER_HISTORY": str(tmp_path / "h.sqlite")}
    proc = subprocess.run(
        [
            *[sys.executable, "-m", "planner", "run", str(problem_file(tmp_path, killer))],
            *["--out", str(run_dir), "-q", "--json", "--pool", "process"],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 4, proc.stderr  # partial
    saved = json.loads((run_dir / "report.json").read_text())
    assert saved == json.loads(proc.stdout)
    assert saved["pool"] == "process" and saved["status"] == "partial"
    d = next(n for n in saved["nodes"] if n["id"] == "d")
    assert d["status"] == "failed" and len(d["attempts"]) == 2
    assert all("worker process died" in a["error"] for a in d["attempts"])
    finished_outputs_are_readable(run_dir)
    assert [r.status for r in History(tmp_path / "h.sqlite").runs()] == ["partial"]
