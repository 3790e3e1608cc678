"""Adapters: zoo, python callables from a user's catalog, OpenAI-compatible HTTP (against a
local http.server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from profiles import ModelProfile
from profiles.adapters import AdapterError, HttpRunner, PythonRunner, ZooRunner, load_adapter


class FakeOpenAI(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.seen.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        answer: dict[str, Any]
        if self.path == "/v1/chat/completions":
            text = body["messages"][0]["content"]
            answer = {"choices": [{"message": {"role": "assistant", "content": text.upper()[:40]}}]}
        elif self.path == "/v1/embeddings":
            vecs = [[float(t.count(c)) for c in "abcdefghij"] for t in body["input"]]
            answer = {"data": [{"embedding": v, "index": i} for i, v in enumerate(vecs)]}
        else:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"error": "no such route"}')
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FakeOpenAI.seen = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_http_chat_adapter(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KEY", "sk-test")
    row = ModelProfile(
        id="remote-sum",
        task="Summarization",
        accuracy=0.4,
        latency_ms=1,
        energy_j=1,
        adapter={
            "kind": "http",
            "base_url": server,
            "model": "tiny",
            "api_key_env": "FAKE_KEY",
            "prompt": "Summarize: {text}",
            "max_tokens": 16,
        },
    )
    runner = load_adapter(row)
    assert isinstance(runner, HttpRunner)
    out = runner.run({"text": "hello world"})
    assert out == {"text": "SUMMARIZE: HELLO WORLD"}
    call = FakeOpenAI.seen[-1]
    assert call["path"] == "/v1/chat/completions"
    assert call["auth"] == "Bearer sk-test"
    assert call["body"]["model"] == "tiny" and call["body"]["max_tokens"] == 16
    json.dumps(out)


def test_http_embeddings_adapter_gives_cosine(server: str) -> None:
    runner = load_adapter(
        {"kind": "http", "base_url": server, "model": "emb", "endpoint": "embeddings"}
    )
    same = runner.run({"text1": "abc", "text2": "abc"})
    other = runner.run({"text1": "aaa", "text2": "jjj"})
    assert same["similarity"] == pytest.approx(1.0)
    assert other["similarity"] == pytest.approx(0.0)


def test_http_errors_name_the_model(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISSING_KEY", raising=False)
    runner = HttpRunner(base_url=server, model="m", api_key_env="MISSING_KEY", name="remote")
    with pytest.raises(AdapterError, match="MISSING_KEY"):
        runner.run({"text": "x"})
    bad_route = HttpRunner(base_url=server.replace("/v1", "/nope"), model="m", name="remote")
    with pytest.raises(AdapterError, match="HTTP 404"):
        bad_route.run({"text": "x"})
    closed = HttpRunner(base_url="http://127.0.0.1:9/v1", model="m", name="remote", timeout_s=2)
    with pytest.raises(AdapterError, match="cannot reach"):
        closed.run({"text": "x"})
    with pytest.raises(AdapterError, match="base_url"):
        HttpRunner(base_url="ftp://x", model="m")


def test_python_adapter_from_user_module(tmp_path: Path) -> None:
    pkg = tmp_path / "mymodels"
    pkg.mkdir()
    (pkg / "user_mod_a.py").write_text(
        "CALLS = []\n"
        "def shout(inputs):\n"
        "    CALLS.append(1)\n"
        "    return {'text': inputs['text'].upper()}\n"
        "def broken(inputs):\n"
        "    return 42\n"
    )
    row = {
        "id": "shout",
        "task": "Text Generation",
        "adapter": {"kind": "python", "target": "user_mod_a:shout", "path": "mymodels"},
    }
    runner = load_adapter(row, base_dir=tmp_path)
    assert isinstance(runner, PythonRunner)
    runner.load()
    runner.load()  # idempotent
    assert runner.run({"text": "hi"}) == {"text": "HI"}
    bad = load_adapter({"kind": "python", "target": "user_mod_a:broken"}, base_dir=tmp_path)
    with pytest.raises(AdapterError, match="returned int"):
        bad.run({})
    with pytest.raises(AdapterError, match="no function"):
        load_adapter({"kind": "python", "target": "user_mod_a:absent"}).load()
    with pytest.raises(AdapterError, match="cannot import"):
        load_adapter({"kind": "python", "target": "no_such_module_xyz:f"}).load()


@pytest.mark.parametrize(
    ("adapter", "message"),
    [
        ({"kind": "shell", "cmd": "rm -rf /"}, "adapter kind must be one of"),
        ({"kind": "python", "target": "os.system"}, "module:function"),
        ({"kind": "python", "target": "__import__('os'):system"}, "module:function"),
        ({"kind": "python", "target": "m:f", "code": "x"}, "unknown python adapter field"),
        ({"kind": "zoo"}, "needs the field 'name'"),
        ({"kind": "zoo", "name": "digits-cnn"}, "did you mean"),
        (
            {"kind": "http", "base_url": "http://x", "model": "m", "prompt": "no slot"},
            "prompt must contain",
        ),
    ],
)
def test_bad_adapters_are_clear_errors(adapter: dict[str, Any], message: str) -> None:
    with pytest.raises(AdapterError, match=message):
        load_adapter(adapter)


def test_missing_adapter_and_task_mismatch() -> None:
    with pytest.raises(AdapterError, match="has no 'adapter'"):
        load_adapter({"id": "m", "task": "Summarization"})
    with pytest.raises(AdapterError, match="serves 'Tabular Classification'"):
        load_adapter(
            {
                "id": "m",
                "task": "Image Classification",
                "adapter": {"kind": "zoo", "name": "cancer-logreg"},
            }
        )


def test_zoo_runner_shares_the_loaded_model() -> None:
    a = load_adapter({"kind": "zoo", "name": "sim-jaccard"})
    b = load_adapter({"kind": "zoo", "name": "sim-jaccard"})
    assert isinstance(a, ZooRunner) and a.model is b.model
    fresh = load_adapter({"kind": "zoo", "name": "sim-jaccard"}, fresh=True)
    assert fresh.model is not a.model
    out = a.run({"text1": "red apple", "text2": "green apple"})
    assert out["similarity"] == pytest.approx(1 / 3)
