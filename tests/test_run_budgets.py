"""Budgets enforced at run time (`planner run` exits 5, naming budget, overrun and node) and
honest energy for remote models (a local fake OpenAI-compatible server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from planner import problem_from_data, solve
from planner.cli import main
from planner.history import History, update_catalog
from planner.report import Report
from planner.run.executor import LocalExecutor
from planner.run.options import EXIT_OVER_BUDGET, RunOptions
from profiles import Catalog
from tests.test_execute import model


def chain(models: list[dict[str, Any]], budgets: dict[str, float]) -> dict[str, Any]:
    return {
        "name": "chain",
        "graph": {
            "nodes": [
                {"id": "a", "task": "A", "args": {"text": "$x"}},
                {"id": "b", "task": "B", "args": {"text": "<a>"}},
            ]
        },
        "models": models,
        "budgets": budgets,
        "execution": "sequential",
    }


def test_a_run_that_breaks_a_hard_budget_exits_with_its_own_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan promises 20 ms; b sleeps 150 ms on its last node, past the 100 ms budget:
    nothing is left to re-plan, so the run finishes and reports the overrun."""
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "h.sqlite"))
    models = [model("ma", "A", "echo", 10), model("mb", "B", "echo", 10, sleep_s=0.15)]
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(chain(models, {"latency_ms": 100})))
    out = tmp_path / "run"
    argv = ["run", str(problem), "--input", "x=hi", "--out", str(out), "-q", "--json"]
    code = main([*argv, "--pool", "thread"])
    captured = capsys.readouterr()
    assert code == EXIT_OVER_BUDGET == 5
    report = Report.model_validate_json(captured.out)
    assert report.status == "over_budget"
    (overrun,) = report.overruns
    assert overrun.budget == "latency_ms" and overrun.node == "b"
    assert overrun.measured > 150 and overrun.overrun == pytest.approx(overrun.measured - 100)
    assert "over budget: latency_ms" in captured.err and "at node 'b'" in captured.err
    assert (
        "by " in report.message
        and next(b for b in report.budgets if b.name == "latency_ms").within is False
    )
    assert History(tmp_path / "h.sqlite").runs()[0].status == "over_budget"


def test_within_budget_is_plain_success() -> None:
    models = [model("ma", "A", "echo", 10), model("mb", "B", "echo", 10)]
    plan = solve(problem_from_data(chain(models, {"latency_ms": 5000, "energy_j": 100})))
    report = LocalExecutor(options=RunOptions(pool="thread")).execute(plan, {"x": "hi"})
    assert report.status == "succeeded" and report.overruns == []


# --------------------------------------------------------------------------- remote energy


class FakeChat(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint; ``/v2`` also reports its energy."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length))
        text = body["messages"][0]["content"]
        answer: dict[str, Any] = {"choices": [{"message": {"content": text.upper()}}]}
        if self.path.startswith("/v2"):
            answer["usage"] = {"energy_j": 2.5}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), FakeChat)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def remote_row(base_url: str, energy_j: float = 5.0) -> dict[str, Any]:
    return {
        "id": "remote-llm",
        "task": "Text Generation",
        "accuracy": 0.8,
        "latency_ms": 20.0,
        "energy_j": energy_j,
        "memory_mb": 0.0,
        "adapter": {"kind": "http", "base_url": base_url, "model": "fake"},
        "provenance": {"source": "published", "energy_source": "published"},
    }


def one_node(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "remote",
        "graph": {"nodes": [{"id": "say", "task": "Text Generation", "args": {"text": "$x"}}]},
        "models": [row],
    }


def test_remote_models_keep_the_profiles_energy_never_the_clients_cpu(
    server: str, tmp_path: Path
) -> None:
    plan = solve(problem_from_data(one_node(remote_row(f"{server}/v1"))))
    report = LocalExecutor(options=RunOptions(pool="thread")).execute(plan, {"x": "hi"})
    assert report.status == "succeeded", report.message
    node = report.node("say")
    assert node.measured is not None
    assert node.measured.energy_source == "remote-unmeasured"
    assert node.measured.energy_j == 5.0  # the profile's, not the client's CPU time
    # `planner profiles update` keeps it: the history has no measured figure of the server
    history = History(tmp_path / "h.sqlite")
    history.record(report)
    catalog = Catalog.model_validate({"models": [remote_row(f"{server}/v1")]})
    new, changes = update_catalog(catalog, history, last=5)
    (row,) = new.models
    assert row.energy_j == 5.0 and row.provenance is not None
    assert row.provenance.energy_source == "published"
    assert changes[0].energy_j == (5.0, 5.0)


def test_a_server_that_reports_its_energy_is_believed(server: str, tmp_path: Path) -> None:
    plan = solve(problem_from_data(one_node(remote_row(f"{server}/v2"))))
    report = LocalExecutor(options=RunOptions(pool="thread")).execute(plan, {"x": "hi"})
    node = report.node("say")
    assert node.measured is not None and node.measured.energy_source == "remote-reported"
    assert node.measured.energy_j == 2.5
    history = History(tmp_path / "h.sqlite")
    history.record(report)
    catalog = Catalog.model_validate({"models": [remote_row(f"{server}/v2")]})
    new, _ = update_catalog(catalog, history, last=5)
    (row,) = new.models
    assert row.energy_j == 2.5 and row.provenance is not None
    assert row.provenance.energy_source == "remote-reported"
