"""The LLM decomposer against a local Chat Completions server (stdlib http.server in a thread)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tasks.decompose import DecomposeError, LLMConfig, LLMDecomposer, load_llm_config
from tasks.registry import default_registry

GOOD = {
    "nodes": [
        {"id": "n1", "task": "Image-to-Text", "args": {"image": "photo.jpg"}},
        {"id": "n2", "task": "Text-to-Speech", "args": {"text": "<n1>"}},
    ],
    "edges": [["n1", "n2"]],
}
CYCLE = {
    "nodes": [
        {"id": "a", "task": "Translation", "args": {"text": "<b>"}},
        {"id": "b", "task": "Summarization", "args": {"text": "<a>"}},
    ],
    "edges": [],
}
UNKNOWN = {"nodes": [{"id": "a", "task": "Mind Reading", "args": {}}], "edges": []}


class Script:
    """What the fake server answers, one item per request (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []


def _chat(content: str) -> dict[str, Any]:
    return {
        "id": "x",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


@pytest.fixture()
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            script.requests.append(body)
            script.headers.append(dict(self.headers))
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            k = len(script.requests) - 1
            reply = script.replies[min(k, len(script.replies) - 1)]
            kind, value = reply
            if kind == "sleep":
                time.sleep(value)
                self._send(200, _chat(json.dumps(GOOD)))
            elif kind == "status":
                self._send(value, {"error": {"message": f"status {value} on purpose"}})
            elif kind == "reject_schema":
                if "response_format" in body:
                    self._send(400, {"error": {"message": "response_format not supported"}})
                else:
                    self._send(200, _chat(json.dumps(GOOD)))
            else:
                self._send(200, _chat(value))

        def _send(self, status: int, data: Any) -> None:
            raw = json.dumps(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", script
    finally:
        httpd.shutdown()
        httpd.server_close()


def _decomposer(url: str, **kw: Any) -> LLMDecomposer:
    settings = {
        "base_url": url,
        "model": "test-model",
        "timeout_s": 2.0,
        "max_retries": 0,
        "retry_backoff_s": 0.0,
        **kw,
    }
    return LLMDecomposer(config=LLMConfig.model_validate(settings))


def test_valid_reply_gives_the_graph(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("content", json.dumps(GOOD))]
    graph = _decomposer(url).decompose("caption photo.jpg and read it aloud")
    assert [n.task for n in graph.nodes] == ["Image-to-Text", "Text-to-Speech"]
    assert graph.dependency_edges() == [("n1", "n2")]
    sent = script.requests[0]
    assert sent["model"] == "test-model"
    assert sent["response_format"]["type"] == "json_schema"
    schema = sent["response_format"]["json_schema"]["schema"]
    assert "Image-to-Text" in schema["properties"]["nodes"]["items"]["properties"]["task"]["enum"]
    system = sent["messages"][0]["content"]
    assert "Visual Question Answering: image, text -> text" in system
    assert sent["messages"][1]["content"].endswith("read it aloud")


def test_fenced_reply_is_accepted(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("content", "```json\n" + json.dumps(GOOD) + "\n```")]
    assert len(_decomposer(url).decompose("x").nodes) == 2


def test_invalid_json_is_repaired_once(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [
        ("content", "Sure! Here is the plan: {nodes: ["),
        ("content", json.dumps(GOOD)),
    ]
    graph = _decomposer(url).decompose("caption photo.jpg")
    assert len(graph.nodes) == 2
    assert len(script.requests) == 2
    repair = script.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant"
    assert "not valid JSON" in repair[-1]["content"]


def test_invalid_json_twice_is_a_clear_error(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("content", "no json here")]
    with pytest.raises(DecomposeError, match=r"even after one repair round.*not valid JSON"):
        _decomposer(url).decompose("x")
    assert len(script.requests) == 2  # exactly one repair round


def test_cycle_is_rejected_with_the_cycle_named(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("content", json.dumps(CYCLE))]
    with pytest.raises(DecomposeError, match="cycle"):
        _decomposer(url).decompose("x")
    assert "cycle" in script.requests[1]["messages"][-1]["content"]


def test_unknown_task_type_is_rejected_then_repaired(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("content", json.dumps(UNKNOWN)), ("content", json.dumps(GOOD))]
    graph = _decomposer(url).decompose("x")
    assert graph.task_types() == ["Image-to-Text", "Text-to-Speech"]
    feedback = script.requests[1]["messages"][-1]["content"]
    assert "unknown task type(s) 'Mind Reading'" in feedback


def test_unknown_task_type_twice_fails(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("content", json.dumps(UNKNOWN))]
    with pytest.raises(DecomposeError, match="Mind Reading"):
        _decomposer(url).decompose("x")


def test_timeout_is_a_clear_error(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("sleep", 1.5)]
    start = time.perf_counter()
    with pytest.raises(DecomposeError, match=r"within 0.3 s"):
        _decomposer(url, timeout_s=0.3, max_retries=1).decompose("x")
    assert time.perf_counter() - start < 1.4  # two bounded attempts, not the server's pace
    assert len(script.requests) == 2


def test_http_500_is_retried_then_fails(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("status", 500)]
    with pytest.raises(DecomposeError, match=r"after 3 attempt\(s\): HTTP 500.*on purpose"):
        _decomposer(url, max_retries=2).decompose("x")
    assert len(script.requests) == 3


def test_http_500_then_success(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("status", 503), ("content", json.dumps(GOOD))]
    assert len(_decomposer(url, max_retries=1).decompose("x").nodes) == 2


def test_server_without_json_schema_gets_plain_request(server):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("reject_schema", None)]
    assert len(_decomposer(url).decompose("x").nodes) == 2
    assert "response_format" in script.requests[0]
    assert "response_format" not in script.requests[1]


def test_401_names_the_key_and_is_not_retried(server, monkeypatch):  # type: ignore[no-untyped-def]
    url, script = server
    script.replies = [("status", 401)]
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    with pytest.raises(DecomposeError, match="API key"):
        _decomposer(url, api_key_env="TEST_LLM_KEY", max_retries=3).decompose("x")
    assert len(script.requests) == 1
    assert script.headers[0]["Authorization"] == "Bearer sk-test"


def test_missing_key_variable_is_a_clear_error(server, monkeypatch):  # type: ignore[no-untyped-def]
    url, _ = server
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(DecomposeError, match="NO_SUCH_KEY_VAR is not set"):
        _decomposer(url, api_key_env="NO_SUCH_KEY_VAR").decompose("x")


def test_unreachable_server():  # type: ignore[no-untyped-def]
    d = _decomposer("http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(DecomposeError, match=r"cannot reach|connection"):
        d.decompose("x")


def test_config_file_formats_and_overrides(tmp_path: Path):  # type: ignore[no-untyped-def]
    toml = tmp_path / "llm.toml"
    toml.write_text(
        '[llm]\nbase_url = "http://localhost:11434/v1"\nmodel = "qwen2.5"\ntimeout_s = 5\n'
    )
    cfg = load_llm_config(toml)
    assert cfg.model == "qwen2.5" and cfg.timeout_s == 5 and cfg.api_key_env is None
    js = tmp_path / "llm.json"
    js.write_text(
        json.dumps(
            {
                "base_url": "https://api.openai.com/v1/",
                "model": "gpt-4o",
                "api_key_env": "OPENAI_API_KEY",
            }
        )
    )
    cfg = load_llm_config(js, model="gpt-4.1")
    assert cfg.base_url == "https://api.openai.com/v1" and cfg.model == "gpt-4.1"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"base_url": "ftp://x", "model": "m", "colour": 1}))
    with pytest.raises(DecomposeError, match=r"base_url.*colour|colour.*base_url|http://"):
        load_llm_config(bad)


def test_prompt_lists_every_task_type():  # type: ignore[no-untyped-def]
    d = _decomposer("http://127.0.0.1:1/v1")
    system = d.messages("r")[0]["content"]
    for name in default_registry().names:
        assert f"- {name}:" in system


def test_cli_uses_the_llm_from_a_config_file(server, tmp_path, capsys):  # type: ignore[no-untyped-def]
    from planner.cli import main

    url, script = server
    script.replies = [("content", json.dumps(GOOD))]
    cfg = tmp_path / "llm.yaml"
    cfg.write_text(f"llm:\n  base_url: {url}\n  model: from-file\n  timeout_s: 2\n")
    assert main(["decompose", "--llm-config", str(cfg), "--json", "caption photo.jpg"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["edges"] == [["n1", "n2"]]
    assert script.requests[0]["model"] == "from-file"
    script.replies = [("content", json.dumps(CYCLE))]
    assert main(["decompose", "--llm", url, "--model", "m", "x"]) == 2
    assert "cycle" in capsys.readouterr().err
