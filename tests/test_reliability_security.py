"""Issue 18: security holes and wrong results outside the run loop, each with a test that
failed before its fix."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from planner import problem_from_data, solve
from planner.cli import main
from planner.errors import OutputError, ProblemError
from planner.io import dumps_strict, plain, shown, write_atomic
from tasks.decompose import InputPathError, InputPolicy
from tasks.decompose.inputs import looks_like_path
from tasks.decompose.llm import DecomposeError, LLMConfig, LLMDecomposer
from tasks.decompose.reply import ReplyError, parse_graph_reply
from tasks.graph import TaskNode
from tasks.registry import default_registry
from tests.reliability_corpus import base_problem, runnable_problem

GOOD = {"nodes": [{"id": "n1", "task": "Image-to-Text", "args": {"image": "a.jpg"}}], "edges": []}


def _chat(content: str) -> bytes:
    return json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": content}}]}
    ).encode()


class Recorder:
    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.mode = "good"
        self.location = ""


@pytest.fixture()
def http() -> Iterator[Any]:
    """Start loopback servers on demand; each records the headers it received."""
    started: list[ThreadingHTTPServer] = []

    def start(mode: str, location: str = "") -> tuple[str, Recorder]:
        rec = Recorder()
        rec.mode, rec.location = mode, location

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                rec.headers.append(dict(self.headers))
                length = int(self.headers.get("Content-Length", 0) or 0)
                if length:
                    self.rfile.read(length)
                try:
                    if rec.mode == "redirect":
                        self.send_response(302)
                        self.send_header("Location", rec.location)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    elif rec.mode == "drip-body":
                        body = _chat(json.dumps(GOOD))
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        for k in range(len(body)):
                            self.wfile.write(body[k : k + 1])
                            self.wfile.flush()
                            time.sleep(0.1)
                    elif rec.mode == "drip-headers":
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        for k in range(200):
                            self.wfile.write(f"X-Drip-{k}: 1\r\n".encode())
                            self.wfile.flush()
                            time.sleep(0.1)
                    elif rec.mode == "deep-body":
                        body = b"[" * 200_000 + b"]" * 200_000
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    else:
                        content = json.dumps(GOOD) if rec.mode == "good" else rec.mode
                        body = _chat(content)
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/v1", rec

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def decomposer(url: str, **kw: Any) -> LLMDecomposer:
    settings = {"base_url": url, "model": "m", "timeout_s": 2.0, "max_retries": 0, **kw}
    return LLMDecomposer(config=LLMConfig.model_validate(settings))


# ------------------------------------------------------------------ LLM client


def test_api_key_is_never_sent_to_a_redirect_target(
    http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_url, other = http("good")
    url, first = http("redirect", location=other_url + "/chat/completions")
    monkeypatch.setenv("RELIAB_KEY", "sk-secret")
    with pytest.raises(DecomposeError, match="redirect"):
        decomposer(url, api_key_env="RELIAB_KEY").decompose("describe a.jpg")
    assert first.headers[0]["Authorization"] == "Bearer sk-secret"
    assert other.headers == []  # the other origin got nothing, least of all the key


def test_a_dripping_server_cannot_stretch_the_deadline(http: Any) -> None:
    url, _ = http("drip-body")
    start = time.perf_counter()
    with pytest.raises(DecomposeError, match=r"within 1 s"):
        decomposer(url, timeout_s=1.0).decompose("x")
    assert time.perf_counter() - start < 2.5


def test_dripping_headers_cannot_stretch_the_deadline(http: Any) -> None:
    url, _ = http("drip-headers")
    start = time.perf_counter()
    with pytest.raises(DecomposeError, match=r"within 1 s"):
        decomposer(url, timeout_s=1.0).decompose("x")
    assert time.perf_counter() - start < 2.5


def test_deep_json_from_the_server_is_a_clear_error(http: Any) -> None:
    url, _ = http("deep-body")
    with pytest.raises(DecomposeError, match="levels deep"):
        decomposer(url).decompose("x")


@pytest.mark.parametrize(
    "content",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"nodes": [{"id": "n1", "task": "Image-to-Text", "args": {"x": NaN}}], "edges": []}',
        '{"nodes": ' + "[" * 70 + "]" * 70 + ', "edges": []}',
    ],
)
def test_hostile_replies_are_reply_errors(content: str) -> None:
    with pytest.raises(ReplyError):
        parse_graph_reply(content, default_registry())


def test_deep_reply_goes_through_the_repair_round(http: Any) -> None:
    url, rec = http("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DecomposeError, match="levels deep"):
        decomposer(url).decompose("x")
    assert len(rec.headers) == 2  # first reply and the repair round


# ------------------------------------------------------------------ file arguments


@pytest.mark.parametrize(
    "value",
    [
        "/srv/my secret.jpg",
        "/srv/secret dir/secret.png",
        "/" + "a/" * 3000 + "etc/passwd",
        "file:///etc/passwd",
        "my dir/../../etc/shadow",
        "~/my keys/id.txt",
    ],
)
def test_paths_with_spaces_or_long_are_checked(value: str, tmp_path: Path) -> None:
    assert looks_like_path(value)
    with pytest.raises(InputPathError):
        InputPolicy(tmp_path).resolve(value)


def test_plain_text_is_not_a_path() -> None:
    for text in ("hello world", "what is in the photo?", "<n1>", "https://example.com/a.jpg"):
        assert not looks_like_path(text)


def test_decompose_refuses_an_absolute_path_with_a_space(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["decompose", "Describe the picture '/srv/my secret.jpg'", "--no-semantic"])
    assert code == 2 and "absolute path" in capsys.readouterr().err


# ------------------------------------------------------------------ output targets


def test_fifo_output_is_refused_and_kept(tmp_path: Path) -> None:
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="FIFO"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_device_output_is_refused_and_kept(tmp_path: Path) -> None:
    dev = tmp_path / "full"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    with pytest.raises(OutputError, match="device file"):
        write_atomic(dev, "x")
    assert stat.S_ISCHR(os.stat(dev).st_mode)


def test_dev_null_output_writes_nothing_and_stays_a_device() -> None:
    write_atomic(os.devnull, "x")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_directory_and_socket_outputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="directory"):
        write_atomic(tmp_path, "x")
    sock_path = tmp_path / "s"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        with pytest.raises(OutputError, match="socket"):
            write_atomic(sock_path, "x")
    finally:
        sock.close()


def test_no_plan_is_written_with_nan(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"non-finite number .* at a\.b\[1\]"):
        dumps_strict({"a": {"b": [1.0, float("nan")]}}, "plan")
    plan = solve(problem_from_data(base_problem()))
    bad = plan.model_copy(update={"objective": float("inf")})
    with pytest.raises(OutputError, match="objective"):
        bad.to_json()


# ------------------------------------------------------------------ numbers


def test_huge_equal_weights_are_equal_weights_not_all_zero() -> None:
    data = base_problem()
    data["weights"] = {"energy": 1e308, "latency": 1e308}
    plan = solve(problem_from_data(data))
    assert plan.status == "optimal" and plan.weights["energy"] == pytest.approx(0.5)
    data["weights"] = {"energy": 1.0, "latency": 1.0}
    assert solve(problem_from_data(data)).assignment == plan.assignment


@pytest.mark.parametrize("key", ["energy_j", "latency_ms", "memory_mb", "cost_usd"])
def test_metrics_beyond_the_range_are_refused(key: str) -> None:
    data = base_problem()
    for m in data["models"]:
        m[key] = 1e308
    with pytest.raises(ProblemError, match="supported range"):
        problem_from_data(data)
    data = base_problem()
    data["budgets"] = {}
    for m in data["models"]:
        m[key] = 1e12  # the largest value allowed: totals stay finite
    plan = solve(problem_from_data(data))
    assert plan.objective is not None and plan.totals is not None
    assert all(v == v for v in plan.totals.model_dump().values() if isinstance(v, float))


# ------------------------------------------------------------------ ids and terminal text


def test_node_ids_use_fullmatch_and_are_capped() -> None:
    for bad in ("a\n", "a\r\n", "a b", "a" * 129, ""):
        with pytest.raises(ValueError):
            TaskNode(id=bad, task="T")
    assert TaskNode(id="a" * 128, task="T").id == "a" * 128


def test_shown_escapes_markup_and_control_characters() -> None:
    from rich.console import Console

    text = "\x1b[2J[/x][bold]id\u202e\x07"
    assert plain(text) == "\\x1b[2J[/x][bold]id\\u202e\\x07"
    console = Console(record=True, width=200, color_system=None)
    console.print(shown(text))
    out = console.export_text()
    assert "\x1b" not in out and "[/x][bold]id" in out


def test_error_lines_escape_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "p\x1b[31m.json"
    assert main(["solve", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[31m" in err


# ------------------------------------------------------------------ history and what-if


def test_a_history_of_another_schema_does_not_fail_a_successful_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    db = tmp_path / "h.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema', 'v-two');"
    )
    conn.commit()
    conn.close()
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(runnable_problem()))
    code = main(["run", str(problem), "-q", "--history", str(db), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 0 and "was not recorded" in err and "history schema" in err
    assert (tmp_path / "r" / "report.json").exists()
    conn = sqlite3.connect(tmp_path / "cols.sqlite")
    conn.executescript("CREATE TABLE runs (a INTEGER);")
    conn.close()
    code = main(
        [
            "run",
            str(problem),
            "-q",
            "--history",
            str(tmp_path / "cols.sqlite"),
            "--out",
            str(tmp_path / "r2"),
        ]
    )
    assert code == 0 and "columns" in capsys.readouterr().err


def test_whatif_keeps_its_analysis_when_a_runner_up_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import solvers.cbc
    from planner.insight import what_if
    from solvers import SolveResult, Status

    data = base_problem()
    data["budgets"] = {"energy_j": 50, "latency_ms": 500}
    problem = problem_from_data(data)

    def stopped(*args: Any, **kwargs: Any) -> SolveResult:
        return SolveResult(Status.TIME_LIMIT, "cbc", None, None, None, 1.0, message="time limit")

    monkeypatch.setattr(solvers.cbc, "solve_milp_cbc", stopped)
    report = what_if(problem, backend="cbc", time_limit_s=1.0)
    assert report.status == "optimal" and report.budgets  # the sweeps are kept
    assert len(report.runner_ups) == 2
    assert all(r.runner_up is None and "time limit" in r.note for r in report.runner_ups)


def test_http_model_adapter_does_not_follow_redirects(
    http: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same hole in the model adapter of profiles/adapters.py (used by `planner run`)."""
    from profiles.adapters import AdapterError, HttpRunner

    other_url, other = http("good")
    url, first = http("redirect", location=other_url + "/chat/completions")
    monkeypatch.setenv("RELIAB_KEY", "sk-secret")
    runner = HttpRunner(base_url=url, model="m", api_key_env="RELIAB_KEY", name="remote")
    with pytest.raises(AdapterError, match="HTTP 302"):
        runner.run({"text": "hello"})
    assert first.headers[0]["Authorization"] == "Bearer sk-secret"
    assert other.headers == []


def test_http_model_adapter_refuses_deep_json(http: Any) -> None:
    from profiles.adapters import AdapterError, HttpRunner

    url, _ = http("deep-body")
    with pytest.raises(AdapterError, match="levels deep"):
        HttpRunner(base_url=url, model="m", name="remote").run({"text": "hello"})


# ------------------------------------------------------------------ markup from models and LLMs

HOSTILE_TEXT = "[/x][bold red]boom\x1b[2J\x1b]0;pwned\x07"


@pytest.mark.parametrize(
    "reply",
    [
        {"nodes": [{"id": HOSTILE_TEXT, "task": "Image-to-Text"}], "edges": []},
        {"nodes": [{"id": "n1", "task": HOSTILE_TEXT}], "edges": []},
        {"nodes": [{"id": "n1", "task": "Image-to-Text", "args": {"x": HOSTILE_TEXT}}]},
        HOSTILE_TEXT,
    ],
    ids=["markup-id", "markup-task", "markup-arg", "markup-reply"],
)
def test_markup_and_escapes_in_an_llm_reply_never_reach_the_terminal(
    http: Any, reply: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = http(json.dumps(reply) if isinstance(reply, dict) else reply)
    code = main(["decompose", "describe a.jpg", "--llm", url, "--model", "m", "--timeout", "2"])
    out, err = capsys.readouterr()
    assert code in (0, 2), err
    assert "internal error" not in err and "Traceback" not in err
    assert "\x1b" not in out + err
    if code == 2:
        assert err.startswith("error:")


def test_markup_and_escapes_in_a_model_error_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = runnable_problem()
    data["models"][2]["adapter"] = {
        "kind": "python",
        "target": "tests.run_models:fail",
        "options": {"message": HOSTILE_TEXT},
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    code = main(["run", str(path), "--out", str(tmp_path / "r")])  # with the progress display
    out, err = capsys.readouterr()
    assert code == 4, err  # partial: c failed, a and b kept
    assert "internal error" not in err and "\x1b" not in out + err
    assert "[/x][bold red]boom" in out + err  # shown as text, not interpreted
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert any(HOSTILE_TEXT in (n["error"] or "") for n in report["nodes"])  # kept as data


def test_user_input_names_fullmatch_so_a_final_newline_is_text() -> None:
    from planner.run.args import input_names, json_safe, resolve_args

    assert input_names({"a": "$x", "b": "$y\n", "c": ["$z"]}) == {"x", "z"}
    assert resolve_args({"a": "$x", "b": "$x\n"}, {}, {"x": "hi"}) == {"a": "hi", "b": "$x\n"}
    loop: dict[str, object] = {"k": 1}
    loop["me"] = loop
    assert json_safe({"o": loop, (1, 2): float("inf"), 3: {1, 2}}) == {
        "o": {"k": 1, "me": "<circular reference>"},
        "(1, 2)": "Infinity",
        "3": [1, 2],
    }
