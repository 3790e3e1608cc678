"""Issue 18: a full disk or a run directory turned read-only mid-run ends the run with a
report (status ``failed``) and a history row, or a message that says why neither could be
written; never a traceback or ``internal error:``.

A full disk is simulated by making the writes under the run directory raise
``OSError(ENOSPC)``. A read-only folder is real (``chmod``); as root, who may write there
anyway (CI runs as root), the write is made to fail as the kernel would for anyone else.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import planner.io
import planner.run.hooks
from planner.cli import main
from planner.history import History
from tests.test_execute import diamond, model


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))


def problem(tmp_path: Path, b: dict[str, Any] | None = None) -> Path:
    """a -> (b, c) -> d, echo models (b's may be replaced)."""
    data = diamond(
        [
            model("ma", "A", "echo", 10, tag="ma"),
            b or model("mb", "B", "echo", 10, tag="mb"),
            model("mc", "C", "echo", 10, tag="mc"),
        ]
    )
    data["metadata"] = {"inputs": {"x": "hi"}}
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    return path


def failing_writes(
    monkeypatch: pytest.MonkeyPatch, under: Path, when: Any, code: int = errno.ENOSPC
) -> None:
    """Writes below ``under`` for which ``when(path)`` is true raise ``OSError(code)``."""
    real = planner.io.write_atomic

    def write(path: str | Path, data: str | bytes) -> Path:
        p = Path(path)
        if p.is_relative_to(under) and when(p):
            raise OSError(code, os.strerror(code), str(p))
        return real(p, data)

    monkeypatch.setattr(planner.run.hooks, "write_atomic", write)


def run(tmp_path: Path, path: Path, run_dir: Path, *extra: str) -> int:
    return main(["run", str(path), "--out", str(run_dir), "-q", "--pool", "thread", *extra])


def test_disk_full_at_an_output_ends_with_a_failed_report_and_a_history_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "r"
    failing_writes(monkeypatch, run_dir, lambda p: p.name == "b.json")
    code = run(tmp_path, problem(tmp_path), run_dir)
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err
    assert "error: the run stopped" in err and "No space left on device" in err
    assert "kept: the report in" in err and "a history row" in err
    saved = json.loads((run_dir / "report.json").read_text())
    assert saved["status"] == "failed" and "could not be written" in saved["message"]
    states = {n["id"]: n["status"] for n in saved["nodes"]}
    assert states["a"] == "succeeded" and states["d"] == "not_run"
    assert json.loads((run_dir / "outputs" / "a.json").read_text())["text"] == "hi|ma"
    rows = History(tmp_path / "history.sqlite").runs()
    assert [(r.run_id, r.status) for r in rows] == [(saved["run_id"], "failed")]
    assert not [p for p in run_dir.rglob(".*")], "a temporary file was left behind"


def test_disk_full_everywhere_says_why_the_report_was_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "r"
    failing_writes(monkeypatch, run_dir, lambda p: p.name != "a.json" and p.name != "plan.json")
    code = run(tmp_path, problem(tmp_path), run_dir)
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err
    assert "not written: report.json" in err and "No space left on device" in err
    assert not (run_dir / "report.json").exists()
    rows = History(tmp_path / "history.sqlite").runs()
    assert [r.status for r in rows] == ["failed"]  # the history lives elsewhere: recorded
    assert History(tmp_path / "history.sqlite").report(rows[0].run_id).status == "failed"


def read_only_like_the_kernel(monkeypatch: pytest.MonkeyPatch, run_dir: Path) -> None:
    """As root a mode-0555 folder is still writable: refuse the write as for anyone else."""
    if os.geteuid() == 0:
        failing_writes(
            monkeypatch,
            run_dir,
            lambda p: any(
                not (q.stat().st_mode & stat.S_IWUSR) for q in (p.parent, *p.parents) if q.exists()
            ),
            errno.EACCES,
        )


def test_run_directory_turning_read_only_mid_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "r"
    b = model("mb", "B", "echo", 10)
    b["adapter"] = {
        "kind": "python",
        "target": "tests.reliability_models:read_only",
        "options": {"path": str(run_dir), "tag": "mb"},
    }
    read_only_like_the_kernel(monkeypatch, run_dir)
    try:
        code = run(tmp_path, problem(tmp_path, b), run_dir, "--workers", "1")
    finally:
        os.chmod(run_dir, 0o755)
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err
    assert "error: the run stopped" in err and "Permission denied" in err
    assert "not written: report.json" in err  # the folder is read-only: said, not hidden
    assert not (run_dir / "report.json").exists()
    assert json.loads((run_dir / "outputs" / "a.json").read_text())["text"] == "hi|ma"
    rows = History(tmp_path / "history.sqlite").runs()
    assert [r.status for r in rows] == ["failed"]
    report = History(tmp_path / "history.sqlite").report(rows[0].run_id)
    assert "'b'" in report.message and {n.id: n.status for n in report.nodes}["a"] == "succeeded"


def test_neither_report_nor_history_writable_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "r"
    locked = tmp_path / "locked"
    locked.mkdir()
    history = locked / "history.sqlite"
    monkeypatch.setenv("PLANNER_HISTORY", str(history))
    failing_writes(monkeypatch, run_dir, lambda p: p.name not in ("plan.json", "a.json"))
    import planner.history

    def no_db(*args: Any, **kwargs: Any) -> Any:
        raise planner.history.HistoryError(f"cannot open {history}: disk I/O error")

    monkeypatch.setattr(planner.history.History, "record", no_db)
    code = run(tmp_path, problem(tmp_path), run_dir)
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err
    assert "not written: report.json" in err
    assert "the run was not recorded" in err and "disk I/O error" in err
    assert "kept:" not in err
