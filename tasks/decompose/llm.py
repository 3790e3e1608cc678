"""LLM decomposer over the OpenAI-compatible Chat Completions API (standard library only).

Works with any server that speaks ``POST {base_url}/chat/completions``: OpenAI, vLLM,
llama.cpp's ``llama-server``, Ollama (``http://localhost:11434/v1``), LM Studio
(``http://localhost:1234/v1``). Configuration: base URL, model name, and the *name* of the
environment variable that holds the API key (the key itself is never stored or logged).

Protocol with the model:

1. The system prompt lists the task types with their inputs and outputs and the exact JSON
   shape to answer with; the request is the user message.
2. ``response_format`` asks for JSON matching `reply_json_schema` (task names as an enum).
   Servers that reject it (HTTP 400/422) are asked again without it.
3. The reply is untrusted: `parse_graph_reply` validates it strictly. On failure, ONE repair
   round sends the validation error back; if that reply fails too, `DecomposeError` says why.
4. Transport: every request has a total deadline (``timeout_s`` for connecting, headers and
   body together, so a server that drips its answer cannot hold the decomposer); timeouts,
   connection errors, HTTP 429 and 5xx are retried at most ``max_retries`` times with
   exponential backoff; other HTTP errors fail at once with the server's message. Redirects
   are refused, never followed (the request carries the API key). Answers are read up to
   5 MB and parsed with the depth and number limits of `tasks.safeio`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import threading
import time
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tasks.decompose.reply import ReplyError, parse_graph_reply, reply_json_schema
from tasks.graph import TaskGraph
from tasks.registry import TaskRegistry, default_registry
from tasks.safeio import InputError, parse_json, parse_yaml, read_input_text

#: Largest LLM config file read (it is a handful of settings).
MAX_CONFIG_BYTES = 1024 * 1024


class DecomposeError(RuntimeError):
    """Decomposition failed (server unreachable, HTTP error, invalid graph after repair)."""


class LLMConfig(BaseModel):
    """How to reach an OpenAI-compatible Chat Completions server."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(
        description="e.g. http://localhost:8000/v1 (vLLM), "
        "http://localhost:11434/v1 (Ollama), https://api.openai.com/v1"
    )
    model: str = Field(min_length=1, description="Model name as the server knows it.")
    api_key_env: str | None = Field(
        default=None,
        description="Name of the environment variable holding the API key; "
        "none for local servers without keys.",
    )
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="Per HTTP request.")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries on transport errors.")
    retry_backoff_s: float = Field(default=1.0, ge=0, le=60, description="First backoff.")
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=2048, ge=64, le=100_000)
    json_schema: bool = Field(default=True, description="Send response_format json_schema.")

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    def api_key(self) -> str | None:
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise DecomposeError(
                f"the API key variable {self.api_key_env} is not set; export "
                f"it, or drop api_key_env for a server that needs no key"
            )
        return key


def load_llm_config(path: str | Path, **overrides: Any) -> LLMConfig:
    """Read an `LLMConfig` from JSON, TOML or YAML (an optional top-level ``llm`` table);
    keyword arguments that are not None override the file."""
    path = Path(path)
    if not path.exists():
        raise DecomposeError(f"LLM config file {path} does not exist")
    try:
        text = read_input_text(path, limit=MAX_CONFIG_BYTES, what="config file")
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = parse_yaml(text, str(path))
        else:
            data = parse_json(text, str(path))
    except InputError as exc:
        raise DecomposeError(f"LLM config file: {exc}") from exc
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        raise DecomposeError(f"LLM config file {path} cannot be parsed: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("llm"), dict):
        data = data["llm"]
    if not isinstance(data, dict):
        raise DecomposeError(
            f"LLM config file {path} must hold a table of settings "
            "(base_url, model, api_key_env, timeout_s, ...)"
        )
    data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        return LLMConfig.model_validate(data)
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise DecomposeError(f"LLM config {path}: {msgs}") from exc


SYSTEM_PROMPT = """You turn a user's request into a task graph for an AI model orchestrator.
Use only these task types (name: input types -> output types. description):
{types}

Answer with ONE JSON object and nothing else:
{{"nodes": [{{"id": "n1", "task": "<task type>", "args": {{"<input type>": "<value>"}}}}],
 "edges": [["n1", "n2"]]}}
Rules:
- One node per sub-task, in execution order; ids are short and unique (n1, n2, ...).
- "task" is exactly one of the task type names above.
- "args" keys are the task's input types (image, text, audio, video...). A value is a literal
  from the request (a file name such as example.jpg, or quoted text) or "<id>" to use the
  output of node id.
- Add an edge [a, b] whenever b uses a's output. The graph must have no cycle.
Example: "Caption photo.jpg and read the caption aloud" ->
{{"nodes": [{{"id": "n1", "task": "Image-to-Text", "args": {{"image": "photo.jpg"}}}},
 {{"id": "n2", "task": "Text-to-Speech", "args": {{"text": "<n1>"}}}}], "edges": [["n1", "n2"]]}}
"""


@dataclass
class LLMDecomposer:
    """Request -> `TaskGraph` through a Chat Completions server (see the module docstring)."""

    config: LLMConfig
    registry: TaskRegistry = field(default_factory=default_registry)
    name: str = "llm"
    _schema_ok: bool = field(default=True, init=False)

    def messages(self, request: str) -> list[dict[str, str]]:
        system = SYSTEM_PROMPT.format(types=self.registry.describe())
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": f"Request: {request}"},
        ]

    def decompose(self, request: str) -> TaskGraph:
        if not isinstance(request, str) or not request.strip():
            raise DecomposeError("the request is empty")
        messages = self.messages(request)
        content = self._complete(messages)
        try:
            return parse_graph_reply(content, self.registry)
        except ReplyError as first:
            repair = [
                *messages,
                {"role": "assistant", "content": content[:20_000]},
                {
                    "role": "user",
                    "content": f"Your reply was rejected: {first}. Reply "
                    "again with only the corrected JSON object.",
                },
            ]
            content2 = self._complete(repair)
            try:
                return parse_graph_reply(content2, self.registry)
            except ReplyError as second:
                raise DecomposeError(
                    f"the LLM ({self.config.model} at {self.config.base_url}) did not return a "
                    f"valid task graph, even after one repair round. First reply: {first}. "
                    f"After repair: {second}"
                ) from second

    # -- transport -------------------------------------------------------------------------
    def _complete(self, messages: list[dict[str, str]]) -> str:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        if self.config.json_schema and self._schema_ok:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "task_graph", "schema": reply_json_schema(self.registry)},
            }
        try:
            data = self._post(body)
        except _HTTPStatus as exc:
            if "response_format" in body and exc.status in (400, 422):
                self._schema_ok = False  # server without json_schema support: plain JSON
                body.pop("response_format")
                try:
                    data = self._post(body)
                except _HTTPStatus as again:
                    raise DecomposeError(again.message) from again
            else:
                raise DecomposeError(exc.message) from exc
        return _content(data, self.config)

    def _post(self, body: dict[str, Any]) -> Any:
        url = f"{self.config.base_url}/chat/completions"
        payload = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = self.config.api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        attempts = self.config.max_retries + 1
        last = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.config.retry_backoff_s * 2 ** (attempt - 1))
            try:
                status, location, raw = _exchange(url, payload, headers, self.config.timeout_s)
            except TimeoutError:
                last = f"no answer from {url} within {self.config.timeout_s:g} s (timeout_s)"
                continue
            except (ConnectionError, http.client.HTTPException) as exc:
                last = f"connection to {url} failed: {exc!r}"
                continue
            except OSError as exc:
                last = f"cannot reach {url}: {exc.strerror or exc}"
                continue
            if 300 <= status < 400:
                raise DecomposeError(
                    f"{url} answered HTTP {status}, a redirect to {(location or '?')[:200]!r}; "
                    "redirects are not followed (the request carries the API key and the "
                    "request text): set base_url to the server's final address"
                )
            if status >= 400:
                msg = f"HTTP {status} from {url}: {_error_detail(raw, status)}"
                if status == 429 or status >= 500:
                    last = msg
                    continue
                hint = (
                    " (check the API key variable)"
                    if status in (401, 403)
                    else (" (check the model name)" if status == 404 else "")
                )
                raise _HTTPStatus(status, msg + hint)
            try:
                return parse_json(raw, f"the answer of {url}")
            except InputError as exc:
                raise DecomposeError(f"{exc}; is base_url an OpenAI-compatible API?") from exc
        raise DecomposeError(f"the LLM request failed after {attempts} attempt(s): {last}")


#: Largest HTTP answer read from the LLM server.
MAX_RESPONSE_BYTES = 5_000_000


def _exchange(
    url: str, payload: bytes, headers: dict[str, str], timeout_s: float
) -> tuple[int, str | None, bytes]:
    """POST ``payload`` and read the whole answer within ``timeout_s`` in total (connecting,
    headers and body together: a server that drips bytes cannot stretch it, because a timer
    shuts the socket down at the deadline). Redirects are never followed. Returns (status,
    Location header, body); raises `TimeoutError`, `OSError` or `http.client.HTTPException`."""
    parts = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname or "", parts.port, timeout=timeout_s)
    expired = threading.Event()

    def _abort() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    deadline = time.monotonic() + timeout_s
    timer = threading.Timer(timeout_s, _abort)
    timer.daemon = True
    timer.start()
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path or "/", body=payload, headers=headers)
        resp = conn.getresponse()
        chunks: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = resp.read1(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_RESPONSE_BYTES:
                raise DecomposeError(
                    f"{url} answered more than {MAX_RESPONSE_BYTES} bytes; is base_url an "
                    "OpenAI-compatible API?"
                )
            chunks.append(chunk)
        if expired.is_set():
            raise TimeoutError
        return resp.status, resp.getheader("Location"), b"".join(chunks)
    except (OSError, http.client.HTTPException):
        if expired.is_set() or time.monotonic() > deadline:
            raise TimeoutError from None
        raise
    finally:
        timer.cancel()
        conn.close()


class _HTTPStatus(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error_detail(raw: bytes, status: int) -> str:
    text = raw[:2000].decode("utf-8", "replace")
    try:
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return str(data["error"].get("message", text))[:500]
    except (json.JSONDecodeError, RecursionError):
        pass
    return text.strip()[:500] or f"status {status}"


def _content(data: Any, config: LLMConfig) -> str:
    try:
        content = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise DecomposeError(
            f"the server at {config.base_url} returned no choices[0].message"
            ".content; is it an OpenAI-compatible Chat Completions API?"
        ) from exc
    if not isinstance(content, str):
        raise DecomposeError(
            f"the model {config.model} returned no text content "
            f"(content is {type(content).__name__})"
        )
    return content
