"""The CLI's front door: `planner plan`, the run summary and its confirmation, decomposer
flags, graph files as targets, `--cost-budget`, readable tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _with_costs(data: dict[str, Any]) -> dict[str, Any]:
    """two_node_data with money costs: the energy-best models are the expensive ones."""
    costs = {"detr-resnet-50": 0.001, "yolo-n": 0.02, "tts-large": 0.001, "tts-small": 0.01}
    for row in data["models"]:
        row["cost_usd"] = costs[row["id"]]
    return data


@pytest.fixture
def cost_problem(tmp_path: Path, two_node_data: dict[str, Any]) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(_with_costs(two_node_data)))
    return path


def test_cost_budget_flag_constrains_the_money_cost(
    capsys: pytest.CaptureFixture[str], cost_problem: Path
) -> None:
    code, out, _ = run(capsys, "solve", str(cost_problem), "--json")
    assert code == 0
    assert json.loads(out)["assignment"] == {"detect": "yolo-n", "speak": "tts-small"}
    code, out, _ = run(capsys, "solve", str(cost_problem), "--json", "--cost-budget", "0.015")
    plan = json.loads(out)
    assert code == 0
    assert plan["assignment"] == {"detect": "detr-resnet-50", "speak": "tts-small"}
    assert plan["problem"]["budgets"]["cost_usd"] == 0.015
    assert plan["totals"]["cost_usd"] == pytest.approx(0.011)
    # the cheapest plan costs 0.002: below that nothing fits (exit 3, infeasible)
    code, out, _ = run(capsys, "solve", str(cost_problem), "--json", "--cost-budget", "0.001")
    assert code == 3 and json.loads(out)["status"] == "infeasible"
    code, _, err = run(capsys, "solve", str(cost_problem), "--cost-budget", "-1")
    assert code == 2 and "cost_usd" in err and "Traceback" not in err


def test_cost_budget_on_the_insight_commands(
    capsys: pytest.CaptureFixture[str], cost_problem: Path
) -> None:
    code, out, _ = run(
        capsys, "alternatives", str(cost_problem), "--cost-budget", "0.015", "--json"
    )
    assert code == 0
    alternatives = json.loads(out)
    assert alternatives, "the problem has feasible runner-ups"
    for alt in alternatives:
        assert alt["totals"]["cost_usd"] <= 0.015 + 1e-12


# ------------------------------------------------------------------ plan, graphs, decomposers
CAPTION_GRAPH = {
    "nodes": [
        {"id": "n1", "task": "Image-to-Text", "args": {"image": "photo.jpg"}},
        {"id": "n2", "task": "Text-to-Speech", "args": {"text": "<n1>"}},
    ],
    "edges": [["n1", "n2"]],
}
LONG = "an-organisation-with-a-long-name/a-captioning-model-whose-id-is-long-v2"


def _catalog(tmp_path: Path) -> Path:
    """Plan-only rows for the caption -> speech graph; one id far too long for 80 columns."""
    rows = [
        {"id": LONG, "task": "Image-to-Text", "accuracy": 0.8, "latency_ms": 3459.4,
         "energy_j": 12.5, "memory_mb": 900},
        {"id": "blip-small", "task": "Image-to-Text", "accuracy": 0.6, "latency_ms": 5000.0,
         "energy_j": 40.0, "memory_mb": 300},
        {"id": "tts-one", "task": "Text-to-Speech", "accuracy": 0.9, "latency_ms": 120.0,
         "energy_j": 0.0123, "memory_mb": 50},
    ]  # fmt: skip
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": rows}))
    return path


def _cli() -> Any:
    from typer.testing import CliRunner

    return CliRunner()


def _invoke(*args: str, input: str | None = None) -> Any:
    """typer's CliRunner on the app; ``exit_code`` is the command's returned code (click's
    standalone mode would drop it)."""
    from planner.cli import app

    result = _cli().invoke(app, list(args), input=input, standalone_mode=False)
    if isinstance(result.return_value, int):
        result.exit_code = result.return_value
    return result


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.jpg").write_bytes(b"")
    return tmp_path


def test_plan_a_request_shows_graph_models_and_totals_and_runs_nothing(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.cli.run as cli_run
    from tasks import TaskGraph

    asked: list[str] = []

    def decompose(text: str) -> TaskGraph:
        asked.append(text)
        return TaskGraph.model_validate(CAPTION_GRAPH)

    monkeypatch.setattr(cli_run, "DECOMPOSER", decompose)
    result = _invoke(
        "plan", "caption photo.jpg and read it", "--catalog", str(_catalog(isolated)),
        "--energy-budget", "100",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert asked == ["caption photo.jpg and read it"]
    out = result.output
    assert "request: caption photo.jpg and read it" in out
    for text in ("n1", "Image-to-Text", "n2", "Text-to-Speech", "tts-one", "totals", "100 J"):
        assert text in out
    assert "blip-small" not in out  # losing candidates only with --verbose
    assert "3.46 s" in out and "12.3 mJ" in out and "e+" not in out  # planner.fmt numbers
    assert not (isolated / "data").exists() and not (isolated / "history.sqlite").exists()
    verbose = _invoke("plan", "caption it", "--catalog", str(_catalog(isolated)), "-v")
    assert verbose.exit_code == 0 and "blip-small" in verbose.output


def test_plan_json_and_output_file_is_a_plan_run_accepts(isolated: Path) -> None:
    graph = isolated / "graph.json"
    graph.write_text(json.dumps(CAPTION_GRAPH))
    plan_file = isolated / "plan.json"
    result = _invoke(
        "plan", str(graph), "--catalog", str(_catalog(isolated)), "--json", "-o", str(plan_file)
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["format"] == "plan/v1" and plan["assignment"]["n2"] == "tts-one"
    assert json.loads(plan_file.read_text())["assignment"] == plan["assignment"]
    infeasible = _invoke(
        "plan", str(graph), "--catalog", str(_catalog(isolated)), "--energy-budget", "1"
    )
    assert infeasible.exit_code == 3 and "INFEASIBLE" in infeasible.output


@pytest.mark.parametrize("kind", ["graph", "hugginggpt", "taskbench"])
def test_solve_and_plan_accept_task_graph_files(isolated: Path, kind: str) -> None:
    data: Any = {
        "graph": CAPTION_GRAPH,
        "hugginggpt": [
            {"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "photo.jpg"}},
            {"task": "text-to-speech", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}},
        ],
        "taskbench": {
            "user_request": "caption photo.jpg and read it",
            "task_nodes": [
                {"task": "Image-to-Text", "arguments": ["photo.jpg"]},
                {"task": "Text-to-Speech", "arguments": ["<node-0>"]},
            ],
            "task_links": [{"source": "Image-to-Text", "target": "Text-to-Speech"}],
        },
    }[kind]
    path = isolated / f"{kind}.json"
    path.write_text(json.dumps(data))
    catalog = str(_catalog(isolated))
    solved = _invoke("solve", str(path), "--catalog", catalog, "--json")
    assert solved.exit_code == 0, solved.output
    plan = json.loads(solved.output)
    assert sorted(plan["assignment"].values()) == sorted([LONG, "tts-one"])
    assert plan["problem"]["graph"]["edges"] in ([["n1", "n2"]], [["node-0", "node-1"]])
    planned = _invoke("plan", str(path), "--catalog", catalog, "--json")
    assert planned.exit_code == 0 and json.loads(planned.output)["assignment"] == plan["assignment"]


def test_graph_file_errors_are_one_line(isolated: Path) -> None:
    bad = isolated / "bad.json"
    bad.write_text(json.dumps([{"task": "image-to-text", "id": 0, "dep": [7]}]))
    result = _invoke("solve", str(bad), "--catalog", str(_catalog(isolated)))
    assert result.exit_code != 0
    from planner.cli import main

    assert main(["solve", str(bad), "--catalog", str(_catalog(isolated))]) == 2


def test_solve_refuses_a_plan_file_clearly(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = isolated / "graph.json"
    graph.write_text(json.dumps(CAPTION_GRAPH))
    plan_file = isolated / "plan.json"
    assert main(["plan", str(graph), "--catalog", str(_catalog(isolated)), "-o", str(plan_file),
                 "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    code, _, err = run(capsys, "solve", str(plan_file))
    assert code == 2 and "is a plan file" in err


# --------------------------------------------------------------------------- decomposer flags
GOOD_REPLY = json.dumps(CAPTION_GRAPH)


def _fake_llm(replies: list[str]) -> Any:
    """A local OpenAI-compatible server answering chat completions with ``replies``."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            seen.append(body)
            content = replies[min(len(seen) - 1, len(replies) - 1)]
            raw = json.dumps(
                {"choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                              "finish_reason": "stop"}]}
            ).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen


def test_plan_and_run_use_the_llm_decomposer(isolated: Path) -> None:
    httpd, url, seen = _fake_llm([GOOD_REPLY])
    try:
        catalog = str(_catalog(isolated))
        result = _invoke(
            "plan", "say what is in photo.jpg out loud", "--decomposer", "llm",
            "--llm-url", url, "--llm-model", "fake-7b", "--catalog", catalog, "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert seen and seen[0]["model"] == "fake-7b"
        assert seen[0]["messages"][-1]["content"].endswith("say what is in photo.jpg out loud")
        plan = json.loads(result.output)
        assert plan["assignment"]["n2"] == "tts-one"
        # decompose takes the same flags
        result = _invoke(
            "decompose", "x", "--decomposer", "llm", "--llm-url", url, "--llm-model", "m", "--json"
        )
        assert result.exit_code == 0 and json.loads(result.output)["edges"] == [["n1", "n2"]]
        assert seen[-1]["model"] == "m"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--decomposer", "llm"], "--llm-url URL and --llm-model NAME"),
        (["--decomposer", "offline", "--llm-url", "http://127.0.0.1:9/v1"], "drop --decomposer"),
        (["--decomposer", "magic"], "offline or llm"),
        (["--llm-url", "ftp://x", "--llm-model", "m"], "base_url"),
    ],
)
@pytest.mark.parametrize("command", ["plan", "run", "decompose"])
def test_decomposer_flag_errors_exit_2(
    isolated: Path, capsys: pytest.CaptureFixture[str], command: str, args: list[str],
    message: str,
) -> None:  # fmt: skip
    code, _, err = run(capsys, command, "caption photo.jpg", *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_decompose_format_is_not_ignored_without_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "decompose", "--no-semantic", "--format", "hugginggpt",
        "Caption 'photo.jpg' and then read it aloud",
    )  # fmt: skip
    assert code == 0
    steps = json.loads(out)
    assert [s["task"] for s in steps] == ["image-to-text", "text-to-speech"]


# ----------------------------------------------------------------------- run: summary, confirm
def _runnable(tmp_path: Path) -> Path:
    from tests.test_execute import diamond, model

    data = diamond([model("ma", "A", "echo", 10, tag="ma"), model("mb", "B", "echo", 10, tag="mb"),
                    model("mc", "C", "echo", 10, tag="mc")])  # fmt: skip
    data["metadata"] = {"inputs": {"x": "hi"}}
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    return path


def test_run_shows_the_summary_and_asks_on_a_terminal(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.cli.run as cli_run

    problem = _runnable(isolated)
    monkeypatch.setattr(cli_run, "stdin_is_terminal", lambda: True)
    declined = _invoke("run", str(problem), "--out", str(isolated / "r1"), input="n\n")
    assert declined.exit_code == 1
    assert "Run this plan?" in declined.output and "nothing was run" in declined.output
    assert "solver: " in declined.output and "ma" in declined.output  # the summary came first
    assert not (isolated / "r1").exists()
    accepted = _invoke("run", str(problem), "--out", str(isolated / "r2"), "-q", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Run this plan?" in accepted.output and (isolated / "r2" / "report.json").exists()
    skipped = _invoke("run", str(problem), "--out", str(isolated / "r3"), "--yes", "-q")
    assert skipped.exit_code == 0 and "Run this plan?" not in skipped.output
    assert "solver: " not in skipped.output  # --quiet and nothing to ask: no summary


def test_run_without_a_terminal_never_asks(isolated: Path) -> None:
    problem = _runnable(isolated)
    result = _invoke("run", str(problem), "--out", str(isolated / "r"), input="n\n")
    assert result.exit_code == 0, result.output
    assert "Run this plan?" not in result.output
    assert "solver: " in result.output and (isolated / "r" / "report.json").exists()


# ------------------------------------------------------------------------------ tables
def test_tables_never_cut_ids_at_80_columns_piped(isolated: Path) -> None:
    graph = isolated / "graph.json"
    long_node = "a-node-id-that-is-rather-long-too"
    data = json.loads(json.dumps(CAPTION_GRAPH).replace('"n1"', f'"{long_node}"'))
    data["nodes"][1]["args"]["text"] = f"<{long_node}>"
    graph.write_text(json.dumps(data))
    plan_file = isolated / "plan.json"
    catalog = str(_catalog(isolated))
    assert _invoke("solve", str(graph), "--catalog", catalog, "-o", str(plan_file)).exit_code == 0
    for command in (
        ["solve", str(graph), "--catalog", catalog],
        ["solve", str(graph), "--catalog", catalog, "--verbose"],
        ["plan", str(graph), "--catalog", catalog],
        ["inspect", str(plan_file)],
    ):
        result = _invoke(*command)
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        table_lines = [x for x in lines if "│" in x or "┃" in x]
        assert table_lines and all(len(x) <= 80 for x in table_lines)
        assert "…" not in result.output and "e+" not in result.output
        for text in (LONG, "tts-one", long_node):
            assert any(text in x for x in lines), f"{text} is not printed whole"
        if LONG not in "".join(table_lines):
            assert any(x.strip().endswith(f"= {LONG}") for x in lines)  # the legend


def test_short_ids_are_never_aliased() -> None:
    from rich.console import Console
    from rich.table import Table

    from planner.tables import print_fitted

    def build(name: Any) -> Table:
        table = Table()
        table.add_column("model", no_wrap=True)
        for mid in ("a", "bb"):
            table.add_row(name(mid))
        return table

    console = Console(width=80, record=True)
    print_fitted(console, build, {"m": ["a", "bb"]})
    text = console.export_text()
    assert "bb" in text and "m1" not in text and "=" not in text


def test_plan_with_the_offline_decomposer_flags(isolated: Path) -> None:
    result = _invoke(
        "plan", "Caption 'photo.jpg' and then read the caption aloud", "--decomposer",
        "offline", "--no-semantic", "--catalog", str(_catalog(isolated)), "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    tasks = [n["task"] for n in plan["problem"]["graph"]["nodes"]]
    assert tasks == ["Image-to-Text", "Text-to-Speech"]
    assert plan["problem"]["description"].startswith("Caption")


def test_plan_reads_llm_settings_from_a_config_file(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    httpd, url, seen = _fake_llm([GOOD_REPLY])
    try:
        config = isolated / "llm.yaml"
        config.write_text(f"llm:\n  base_url: {url}\n  model: from-file\n")
        args = [
            "plan", "caption photo.jpg, read it", "--llm-config", str(config), "--llm-timeout",
            "3", "--api-key-env", "PLANNER_TEST_KEY", "--catalog", str(_catalog(isolated)),
            "--json",
        ]  # fmt: skip
        # the flags override the file: the key variable named on the command line is unset
        monkeypatch.delenv("PLANNER_TEST_KEY", raising=False)
        code, _, err = run(capsys, *args)
        assert code == 2 and "PLANNER_TEST_KEY" in err and not seen
        monkeypatch.setenv("PLANNER_TEST_KEY", "sk-test")
        code, out, _ = run(capsys, *args)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 0 and json.loads(out)["assignment"]["n2"] == "tts-one"
    assert seen[0]["model"] == "from-file"


def test_plan_checks_file_arguments_as_run_does(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = isolated / "graph.json"
    data = json.loads(json.dumps(CAPTION_GRAPH))
    data["nodes"][0]["args"]["image"] = "../outside.jpg"
    graph.write_text(json.dumps(data))
    code, _, err = run(capsys, "plan", str(graph), "--catalog", str(_catalog(isolated)))
    assert code == 2 and "outside.jpg" in err
    absolute = isolated / "abs.jpg"
    absolute.write_bytes(b"")
    data["nodes"][0]["args"]["image"] = str(absolute)
    graph.write_text(json.dumps(data))
    code, _, err = run(capsys, "plan", str(graph), "--catalog", str(_catalog(isolated)))
    assert code == 2
    code, _, _ = run(
        capsys, "plan", str(graph), "--catalog", str(_catalog(isolated)), "--allow-absolute"
    )
    assert code == 0


def test_run_cost_budget_refuses_before_anything_runs(isolated: Path) -> None:
    problem = _runnable(isolated)
    data = json.loads(problem.read_text())
    for row in data["models"]:
        row["cost_usd"] = 0.5
    problem.write_text(json.dumps(data))
    result = _invoke("run", str(problem), "--cost-budget", "1", "--out", str(isolated / "r"))
    assert result.exit_code == 3 and "nothing was run" in result.output
    assert not (isolated / "r").exists()
    result = _invoke("run", str(problem), "--cost-budget", "2.5", "--out", str(isolated / "r"))
    assert result.exit_code == 0, result.output
    report = json.loads((isolated / "r" / "report.json").read_text())
    assert report["status"] == "succeeded"
