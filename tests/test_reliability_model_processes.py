"""Issue 18: model process faults. A command-line (``subprocess``) model or a worker process
that hangs, dies (``kill -9`` mid-run), prints garbage or floods its output is stopped at its
timeout or output bound, and the run goes on by re-planning onto another model; the outputs
already written stay, and no raw control character reaches the terminal.

Node ``b`` has two candidates: the faulty model (cheaper, so the plan picks it first) and an
echo model (dearer). Each fault must end with ``b`` run by the echo model after a re-plan.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main
from tests.test_execute import model


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))


def chain(faulty: dict[str, Any]) -> dict[str, Any]:
    """a -> b -> c; b's cheapest candidate is ``faulty``, its fallback an echo model."""
    return {
        "graph": {
            "nodes": [
                {"id": "a", "task": "A", "args": {"text": "$x"}},
                {"id": "b", "task": "B", "args": {"text": "<a>"}},
                {"id": "c", "task": "C", "args": {"text": "<b>"}},
            ]
        },
        "models": [
            model("ma", "A", "echo", 10, tag="ma"),
            {**faulty, "id": "faulty", "task": "B", "energy_j": 1.0},
            model("fallback", "B", "echo", 10, energy_j=5.0, tag="fallback"),
            model("mc", "C", "echo", 10, tag="mc"),
        ],
        "weights": {"energy": 1, "latency": 0},
        "metadata": {"inputs": {"x": "hi"}},
    }


def command_model(script: str, *args: str, **adapter: Any) -> dict[str, Any]:
    row = model("faulty", "B", "echo", 10)
    row["adapter"] = {
        "kind": "subprocess",
        "command": [sys.executable, "-c", script, *args],
        **adapter,
    }
    return row


def run_plan(
    tmp_path: Path, data: dict[str, Any], capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any], str, float]:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    run_dir = tmp_path / "r"
    start = time.perf_counter()
    code = main(["run", str(path), "--json", "-q", "--out", str(run_dir), *extra])
    seconds = time.perf_counter() - start
    captured = capsys.readouterr()
    assert "internal error" not in captured.err and "Traceback" not in captured.err
    assert "\x1b" not in captured.out + captured.err
    report = json.loads(captured.out)
    return code, report, captured.err, seconds


def replanned_onto_the_fallback(report: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    assert report["status"] == "succeeded", report["message"]
    node = {n["id"]: n for n in report["nodes"]}
    assert node["b"]["model"] == "fallback"
    assert report["replans"], "the run went on without re-planning"
    assert [a["model"] for a in node["b"]["attempts"]][-1] == "fallback"
    failed = [a for a in node["b"]["attempts"] if not a["ok"]]
    assert failed and all(a["model"] == "faulty" for a in failed)
    out = json.loads((run_dir / "outputs" / "c.json").read_text())
    assert out["text"] == "hi|ma|fallback|mc"
    return failed


PID_THEN_SLEEP = (
    "import os, sys, time\n"
    "open(os.path.join(sys.argv[1], str(os.getpid())), 'w').close()\n"
    "time.sleep(60)\n"
)


class Killer(threading.Thread):
    """Sends SIGKILL to every process that writes its pid into ``folder``."""

    def __init__(self, folder: Path) -> None:
        super().__init__(daemon=True)
        self.folder, self.killed, self.stop = folder, [], threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for p in self.folder.iterdir():
                pid = int(p.name)
                if pid not in self.killed:
                    time.sleep(0.1)  # mid-run: the model is started and working
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
            time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead, just not reaped
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_kill_9_of_a_model_subprocess_mid_run_is_survived_by_replanning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    killer = Killer(pids)
    killer.start()
    try:
        data = chain(command_model(PID_THEN_SLEEP, str(pids), timeout_s=30))
        code, report, _err, seconds = run_plan(tmp_path, data, capsys)
    finally:
        killer.stop.set()
        killer.join()
    assert code == 0
    failed = replanned_onto_the_fallback(report, tmp_path / "r")
    assert killer.killed and all("status -9" in a["error"] for a in failed)
    assert seconds < 20  # not the 60 s the model would sleep, nor its 30 s timeout


def test_kill_9_of_a_worker_process_mid_node_is_survived_by_replanning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    row = model("faulty", "B", "echo", 10)
    row["adapter"]["target"] = "tests.reliability_models:pid_file_then_sleep"
    row["adapter"]["options"] = {"folder": str(pids), "sleep_s": 60}
    killer = Killer(pids)
    killer.start()
    try:
        code, report, _err, seconds = run_plan(tmp_path, chain(row), capsys, "--pool", "process")
    finally:
        killer.stop.set()
        killer.join()
    assert code == 0
    replanned_onto_the_fallback(report, tmp_path / "r")
    assert killer.killed and seconds < 30
    deadline = time.monotonic() + 2.0
    while any(alive(p) for p in killer.killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in killer.killed)


def test_a_hanging_model_subprocess_is_killed_at_its_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    data = chain(command_model(PID_THEN_SLEEP, str(pids), timeout_s=0.5))
    code, report, _err, seconds = run_plan(tmp_path, data, capsys)
    assert code == 0
    failed = replanned_onto_the_fallback(report, tmp_path / "r")
    assert all("did not finish within 0.5 s" in a["error"] for a in failed)
    started = [int(p.name) for p in pids.iterdir()]
    assert started and not any(alive(p) for p in started)  # killed, not left sleeping
    assert seconds < 15


def test_a_flooding_model_subprocess_is_stopped_at_its_output_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flood = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    data = chain(command_model(flood, max_output_bytes=100_000, timeout_s=20))
    code, report, _err, seconds = run_plan(tmp_path, data, capsys)
    assert code == 0
    failed = replanned_onto_the_fallback(report, tmp_path / "r")
    assert all("wrote more than 100000 bytes" in a["error"] for a in failed)
    assert seconds < 15


@pytest.mark.parametrize(
    "script, error",
    [
        ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "status -11"),
        (
            "import sys\nsys.stderr.write('\\x1b[2J\\x1b]0;pwned\\x07 [bold]boom[/]')\n"
            "sys.exit(3)\n",
            "status 3",
        ),
    ],
    ids=["segfault", "exit-3-with-escapes-on-stderr"],
)
def test_a_dying_model_subprocess_is_replanned_around(
    script: str, error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, _err, _seconds = run_plan(tmp_path, chain(command_model(script)), capsys)
    assert code == 0
    failed = replanned_onto_the_fallback(report, tmp_path / "r")
    assert all(error in a["error"] for a in failed)


def test_garbage_on_stdout_is_data_not_terminal_control(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = (
        "import sys\n"
        "sys.stdout.buffer.write(b'\\xff\\xfe\\x00\\x1b[2J\\x1b]0;pwned\\x07[/x][bold]' * 50)\n"
    )
    data = chain(command_model(garbage))
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    code = main(["run", str(path), "-q", "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "\x1b" not in captured.out + captured.err and "internal error" not in captured.err
    out = json.loads((tmp_path / "r" / "outputs" / "b.json").read_text())
    assert "\x1b[2J" in out["text"]  # kept as data in the file, escaped on the terminal
