"""Regression tests of the CLI defects of issue 15 (missing input files, targets with '/',
`planner report` on a run's report.json, output file names, progress while loading, Ctrl-C)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main
from tests.test_execute import model


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs and history go under tmp_path, never into the user's data directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))
    monkeypatch.chdir(tmp_path)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def image_problem(tmp_path: Path, image: str, inputs: dict[str, Any] | None = None) -> Path:
    """One node reading an image file, then one more node after it."""
    data = {
        "name": "files",
        "graph": {
            "nodes": [
                {"id": "look", "task": "A", "args": {"image": image}},
                {"id": "say", "task": "B", "args": {"text": "<look>"}},
            ]
        },
        "models": [model("ma", "A", "echo", 10), model("mb", "B", "echo", 10)],
        "metadata": {"inputs": inputs or {}},
    }
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    return path


# ---------------------------------------------------------------- defect 3: missing input file


def test_a_missing_input_file_is_bad_input_not_a_model_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = image_problem(tmp_path, "photos/missing.png")
    code, out, err = cli(capsys, "run", str(problem), "-q", "--trust-plan")
    assert code == 2, err
    assert "node 'look'" in err and "'photos/missing.png'" in err and "no such file" in err
    assert out == "" and "no model serves" not in err
    assert not (tmp_path / "data" / "cost-aware-planner" / "runs").exists()  # nothing ran


def test_a_missing_file_given_as_an_input_names_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = image_problem(tmp_path, "$photo")
    code, _, err = cli(
        capsys, "run", str(problem), "-q", "--trust-plan", "--input", "photo=gone.jpg"
    )
    assert code == 2 and "node 'look'" in err and "input 'photo'" in err and "gone.jpg" in err
    (tmp_path / "gone.jpg").write_bytes(b"x")  # once it is there, the run goes ahead
    code, out, err = cli(
        capsys, "run", str(problem), "-q", "--trust-plan", "--input", "photo=gone.jpg", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["status"] == "succeeded"


def test_the_executor_refuses_a_missing_file_before_running(tmp_path: Path) -> None:
    from planner.problem import problem_from_data
    from planner.run.executor import LocalExecutor
    from planner.run.options import RunError
    from planner.solve import solve

    data = json.loads(image_problem(tmp_path, "nowhere.wav").read_text())
    data["graph"]["nodes"][0]["args"] = {"audio": "nowhere.wav", "text": "a/b is text"}
    plan = solve(problem_from_data(data))
    why = "node 'look' argument 'audio': no such file 'nowhere.wav'"
    with pytest.raises(RunError, match=re.escape(why)):
        LocalExecutor().execute(plan, {})


# ---------------------------------------------------------------- defect 2: '/' in a request


def test_a_request_with_a_slash_is_a_request_and_a_missing_file_name_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.cli.run as cli_run
    from tasks import TaskGraph

    seen: list[str] = []

    def decompose(text: str) -> TaskGraph:
        seen.append(text)
        return TaskGraph.model_validate(
            {"nodes": [{"id": "a", "task": "A", "args": {"text": "digits"}}]}
        )

    monkeypatch.setattr(cli_run, "DECOMPOSER", decompose)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": [model("ma", "A", "echo", 10)]}))
    request = "Detect the digits in images/scan.png"
    code, out, err = cli(capsys, "plan", request, "--catalog", str(catalog), "--json")
    assert code == 0, err
    assert seen == [request] and "no such file" not in err
    assert json.loads(out)["assignment"] == {"a": "ma"}
    for missing in ("nope.json", "runs/plan.yaml", "problem.YML"):
        code, _, err = cli(capsys, "plan", missing, "--catalog", str(catalog))
        assert code == 2 and f"{missing}: no such file" in err
    assert seen == [request]  # no file name was decomposed as a request
    (tmp_path / "images").mkdir()
    code, _, err = cli(capsys, "run", "images", "--catalog", str(catalog), "-q")
    assert code == 2 and "images" in err  # an existing path is a file (here: not a file)


def test_the_target_rule_is_in_the_help() -> None:
    from typer.testing import CliRunner

    from planner.cli import app

    for command in ("run", "plan"):
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        text = " ".join(result.output.split())
        assert "a single word ending in .json, .yaml or .yml names a file" in text, text
        assert "even with a '/' in it" in text


# ---------------------------------------------------------------- defect 4: report of a run


def test_report_and_inspect_take_the_report_json_planner_run_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "photo.png").write_bytes(b"x")
    problem = image_problem(tmp_path, "photo.png")
    code, _, err = cli(capsys, "run", str(problem), "-q", "--trust-plan", "--out", "r")
    assert code == 0, err
    report = tmp_path / "r" / "report.json"
    measured = json.loads(report.read_text())["totals_measured"]["energy_j"]
    code, out, err = cli(capsys, "report", str(report), "-o", "page.html")
    assert code == 0, err
    page = (tmp_path / "page.html").read_text()
    assert "look" in page and "measured" in page.lower()
    assert f"{measured:.4g}" in page  # the run's measured total is on the page
    code, out, err = cli(capsys, "inspect", str(report))
    assert code == 0, err
    assert "look" in out and "say" in out
    moved = tmp_path / "elsewhere" / "report.json"  # a copy still finds its run's plan.json
    moved.parent.mkdir()
    moved.write_text(report.read_text())
    assert cli(capsys, "report", str(moved), "-o", "copy.html", "--no-pareto")[0] == 0
    (tmp_path / "r" / "plan.json").unlink()
    code, _, err = cli(capsys, "report", str(report), "-o", "gone.html")
    assert code == 2 and "holds no plan" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- defect 9a: output file names


@pytest.mark.parametrize("output_dir", ["$run_dir", None])
def test_output_files_are_named_after_the_node_inside_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output_dir: str | None
) -> None:
    import tempfile

    speak: dict[str, Any] = {"text": "hello"}
    if output_dir:
        speak["output_dir"] = output_dir
    data = {
        "name": "files",
        "graph": {
            "nodes": [
                {"id": "speak", "task": "A", "args": speak},
                {"id": "hear", "task": "B", "args": {"audio": "<speak>"}},
            ]
        },
        "models": [model("ma", "A", "make_file", 10), model("mb", "B", "read_file", 10)],
    }
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(data))
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("planner-zoo-*"))
    code, _, err = cli(capsys, "run", str(problem), "-q", "--trust-plan", "--out", "r", "--json")
    assert code == 0, err
    outputs = tmp_path / "r" / "outputs"
    wav = outputs / "speak.wav"
    assert wav.read_text() == "hello"
    assert sorted(p.name for p in outputs.iterdir()) == ["hear.json", "speak.json", "speak.wav"]
    saved = json.loads((outputs / "speak.json").read_text())
    assert saved["audio"] == saved["text"]
    assert Path(saved["audio"]).resolve() == wav.resolve()
    assert json.loads((outputs / "hear.json").read_text())["text"] == "speak.wav:hello"
    assert set(temp.glob("planner-zoo-*")) == before  # nothing left outside the run


def test_a_users_own_file_is_never_moved(tmp_path: Path) -> None:
    from planner.run.hooks import name_output_files

    mine = tmp_path / "mine.wav"
    mine.write_text("x")
    output = {"audio": str(mine), "text": str(mine)}
    assert name_output_files(output, "speak", tmp_path / "run" / "outputs") == output
    assert mine.exists()


# ---------------------------------------------------------------- defect 9b: "Did you mean"


def _unserved(tmp_path: Path, capsys: pytest.CaptureFixture[str], task: str) -> str:
    rows = [
        {"id": f"m{i}", "task": t, "accuracy": 0.8, "latency_ms": 10, "energy_j": 1}
        for i, t in enumerate(["Image-to-Image", "Text-to-Speech", "Image-Text-Merge"])
    ]
    data = {"graph": {"nodes": [{"id": "n1", "task": task, "args": {}}]}, "models": rows}
    path = tmp_path / f"{task}.json"
    path.write_text(json.dumps(data))
    code, _, err = cli(capsys, "solve", str(path))
    assert code == 2 and "which no model serves" in err
    return err


def test_a_neighbouring_task_type_is_not_suggested_for_a_real_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _unserved(tmp_path, capsys, "Image-to-Text")
    assert "Did you mean" not in err  # Image-to-Image is another task, not a spelling of it
    assert "Did you mean 'Image-to-Image'?" in _unserved(tmp_path, capsys, "Image-to-Imgae")
    assert "Did you mean 'Text-to-Speech'?" in _unserved(tmp_path, capsys, "text to speech")


def test_suggest_task() -> None:
    from tasks.registry import default_registry, suggest_task

    served = ["Image-to-Image", "Image-to-Text", "Text-to-Image"]
    assert suggest_task("Image-to-Txt", served) == ["Image-to-Text"]
    assert suggest_task("image_to_text", served) == ["Image-to-Text"]
    assert suggest_task("Object Detection", served) == []
    assert suggest_task("Translate", served) == []
    with pytest.raises(KeyError) as info:
        default_registry().get("Sumarization")
    assert "did you mean 'Summarization'?" in str(info.value)


# ---------------------------------------------------------------- defect 9c: docs' run demos


def _packages_only(tmp_path: Path) -> dict[str, str]:
    """An environment whose import path holds the project's packages but not ``tests``."""
    import os

    from tests.conftest import REPO

    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    for name in ("planner", "profiles", "tasks", "solvers"):
        (pkgs / name).symlink_to(REPO / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(pkgs), "XDG_DATA_HOME": str(tmp_path / "data")}


@pytest.mark.parametrize(
    ("demo", "flags", "code"),
    [
        ("failure_demo.json", [], 0),
        pytest.param("budget_demo.json", ["--latency-budget", "200"], 4, marks=pytest.mark.slow),
        pytest.param("over_budget_demo.json", [], 5, marks=pytest.mark.slow),
    ],
)
def test_the_run_demos_of_the_docs_run_without_the_repository_on_the_path(
    tmp_path: Path, demo: str, flags: list[str], code: int
) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    demo_file = REPO / "docs" / "examples" / demo
    assert "tests." not in demo_file.read_text()
    args = ["run", str(demo_file), "--trust-plan", "--out", str(tmp_path / "r"), "-q", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "planner", *args, *flags, "--no-history"],
        cwd=tmp_path,  # not the repository: nothing but the installed packages
        env=_packages_only(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == code, done.stderr
    report = json.loads(done.stdout)
    assert "No module named" not in done.stdout + done.stderr
    if demo == "failure_demo.json":
        assert report["status"] == "succeeded" and len(report["replans"]) == 1


# ---------------------------------------------------------------- defect 8: loading, Ctrl-C


def test_progress_says_models_are_loading_before_nodes_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "photo.png").write_bytes(b"x")
    problem = image_problem(tmp_path, "photo.png")
    code, _, err = cli(capsys, "run", str(problem), "--trust-plan", "--yes", "--out", "r")
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith(("look:", "say:"))]
    assert lines[:2] == ["look: loading ma", "say: loading mb"], lines
    assert lines.index("look: running ma") > 1


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in status:
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _workers(pid: int) -> list[int]:
    """Worker processes of the run ``pid``: children of its fork server (forked, so they
    share its command line), or spawned children."""
    found = []
    for child in _children(pid):
        line = _cmdline(child)
        if "spawn_main" in line:
            found.append(child)
        elif "forkserver import main" in line:
            found += _children(child)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_ctrl_c_while_workers_start_ends_interrupted_without_a_traceback(
    tmp_path: Path,
) -> None:
    """Ctrl-C goes to the whole process group (the run and its workers); pressed while the
    worker processes start, it ends the run as interrupted (exit 130), and no process
    prints a KeyboardInterrupt traceback into the display."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    nodes = [{"id": f"n{i}", "task": "A", "args": {"text": "hi"}} for i in range(2)]
    data = {
        "name": "ctrl-c",
        "graph": {"nodes": nodes},
        "models": [model("ma", "A", "echo", 10, sleep_s=5.0)],
    }
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(data))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PLANNER_TRUST_FILES": "1"}
    args = ["run", str(problem), "--pool", "process", "--workers", "2", "--json", "--out", "r"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", *args, "--no-history"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert proc.stderr is not None
    seen = []
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if "loading" in line or not line:
            break
    assert any("n0: loading ma" in s for s in seen), seen
    while not _workers(proc.pid):  # then Ctrl-C while a worker is starting up
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the run and its workers
    stdout, rest = proc.communicate(timeout=60)
    err = "".join(seen) + rest
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert json.loads(stdout)["status"] == "interrupted"
    assert json.loads((tmp_path / "r" / "report.json").read_text())["status"] == "interrupted"


def test_serve_refuses_a_run_whose_input_file_is_missing(tmp_path: Path) -> None:
    from tests.test_serve import client, make_service

    service = make_service(tmp_path)
    graph = {"nodes": [{"id": "n", "task": "Summarization", "args": {"text": "$x"}}]}
    graph["nodes"][0]["args"]["image"] = "$photo"
    with client(service) as c:
        r = c.post("/v1/run", json={"graph": graph, "inputs": {"x": "hi", "photo": "gone.png"}})
        assert r.status_code == 422, r.text
        assert "node 'n'" in r.json()["error"] and "no such file 'gone.png'" in r.json()["error"]
        (tmp_path / "gone.png").write_bytes(b"x")
        r = c.post("/v1/run", json={"graph": graph, "inputs": {"x": "hi", "photo": "gone.png"}})
        assert r.status_code == 200, r.text
