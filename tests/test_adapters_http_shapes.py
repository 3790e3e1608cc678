"""The OpenAI-compatible adapter against the request and answer shapes of the local servers
users run: Ollama, vLLM and llama.cpp's llama-server (answers copied from their documented
OpenAI-compatible endpoints; the server is a local http.server on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from profiles.adapters import AdapterError, load_adapter


def _chat(flavour: str, model: str, content: str) -> dict[str, Any]:
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    if flavour == "ollama":
        return {
            "id": "chatcmpl-429",
            "object": "chat.completion",
            "created": 1733300000,
            "model": model,
            "system_fingerprint": "fp_ollama",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
    if flavour == "vllm":
        return {
            "id": "chatcmpl-9f3b",
            "object": "chat.completion",
            "created": 1733300000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "reasoning_content": None,
                        "content": content,
                        "tool_calls": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                    "stop_reason": None,
                }
            ],
            "usage": usage,
            "prompt_logprobs": None,
        }
    # llama.cpp llama-server
    return {
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "created": 1733300000,
        "model": "gpt-3.5-turbo",
        "system_fingerprint": "b4273-0b4e7e43",
        "object": "chat.completion",
        "usage": usage,
        "id": "chatcmpl-Ab12",
        "timings": {"prompt_n": 12, "predicted_n": 5, "predicted_ms": 80.1},
    }


def _embeddings(flavour: str, model: str, vectors: list[list[float]]) -> dict[str, Any]:
    data = [{"object": "embedding", "embedding": v, "index": i} for i, v in enumerate(vectors)]
    if flavour == "llama.cpp":
        data = data[::-1]  # order is given by "index", not by position
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }


class Server(BaseHTTPRequestHandler):
    flavour: ClassVar[str] = "ollama"
    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Server.seen.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        if body.get("model") == "missing":
            if Server.flavour == "ollama":
                self._send(
                    404,
                    {
                        "error": {
                            "message": 'model "missing" not found, try pulling it first',
                            "type": "api_error",
                        }
                    },
                )
            else:
                self._send(
                    404, {"object": "error", "message": "The model `missing` does not exist."}
                )
            return
        if self.path == "/v1/chat/completions":
            text = body["messages"][-1]["content"]
            self._send(200, _chat(Server.flavour, body["model"], f"summary: {text[-20:]}"))
        elif self.path == "/v1/embeddings":
            vecs = [[float(t.count(c)) for c in "aeiou"] for t in body["input"]]
            self._send(200, _embeddings(Server.flavour, body["model"], vecs))
        else:
            self._send(404, {"error": "not found"})


@pytest.fixture(params=["ollama", "vllm", "llama.cpp"])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    Server.flavour = request.param
    Server.seen = []
    httpd = HTTPServer(("127.0.0.1", 0), Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_chat_request_and_answer_shapes(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_KEY", "sk-local")
    row = {
        "id": "local-llm",
        "task": "Summarization",
        "adapter": {
            "kind": "http",
            "base_url": server,
            "model": "llama3.2:1b",
            "api_key_env": "LOCAL_KEY",
            "prompt": "Summarize: {text}",
            "max_tokens": 64,
        },
    }
    out = load_adapter(row).run({"text": "The council approved the budget."})
    assert out == {"text": "summary: approved the budget."}
    (req,) = Server.seen
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-local"
    # the request every one of these servers accepts: model, messages, max_tokens
    assert req["body"] == {
        "model": "llama3.2:1b",
        "messages": [{"role": "user", "content": "Summarize: The council approved the budget."}],
        "max_tokens": 64,
    }


def test_embeddings_in_any_order(server: str) -> None:
    runner = load_adapter(
        {"kind": "http", "base_url": server, "model": "nomic-embed-text", "endpoint": "embeddings"}
    )
    same = runner.run({"text1": "banana", "text2": "banana"})
    assert same["similarity"] == pytest.approx(1.0)
    out = runner.run({"text1": "aaa", "text2": "eee"})
    assert out["similarity"] == pytest.approx(0.0)
    assert Server.seen[-1]["body"] == {"model": "nomic-embed-text", "input": ["aaa", "eee"]}


def test_server_errors_are_quoted(server: str) -> None:
    runner = load_adapter({"kind": "http", "base_url": server, "model": "missing"})
    with pytest.raises(AdapterError, match=r"HTTP 404.*(not found|does not exist)"):
        runner.run({"text": "hi"})
