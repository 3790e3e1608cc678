"""`Client`: a small Python client of `planner serve` (standard library only).

    from planner.client import Client, Rejected

    client = Client("http://127.0.0.1:8000", token=None)
    plan = client.plan(graph={"nodes": [{"id": "a", "task": "Image Classification"}]})
    result = client.run(request="classify photo.jpg", inputs={})
    print(result["answer"], client.budget()["remaining_j"])

Refusals raise `Rejected` (HTTP 429: no plan fits the slot's energy; 503: overloaded) with
``retry_after_s``; other errors raise `ServeError` with the server's one-line message.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from planner.errors import PlannerError


class ServeError(PlannerError):
    """The server answered an error (``status``: the HTTP status)."""

    def __init__(
        self,
        status: int,
        message: str,
        retry_after_s: float | None = None,
        retry_after_header: str | None = None,
    ) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s
        #: The ``Retry-After`` header as sent (whole seconds), if any.
        self.retry_after_header = retry_after_header


class Rejected(ServeError):
    """429 (no plan fits what is left of the slot, or the queue is full) or 503 (overload):
    retry after ``retry_after_s`` seconds."""


class Client:
    """Calls one server; thread-safe (each call is its own HTTP request)."""

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    # ------------------------------------------------------------------ API

    def plan(
        self,
        request: str | None = None,
        graph: dict[str, Any] | None = None,
        problem: dict[str, Any] | None = None,
        budgets: dict[str, Any] | None = None,
        weights: dict[str, float] | None = None,
        execution: str | None = None,
        goal: str | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/plan`: the `Plan` JSON (``status``, ``assignment``, ...) with the
        service's decision under ``"serve"``. Give one of ``request``, ``graph``, ``problem``."""
        body = _body(request, graph, problem, budgets, weights, execution, goal)
        return self._call("POST", "/v1/plan", body)

    def run(
        self,
        request: str | None = None,
        graph: dict[str, Any] | None = None,
        problem: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        budgets: dict[str, Any] | None = None,
        weights: dict[str, float] | None = None,
        execution: str | None = None,
        goal: str | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/run`: ``plan``, ``serve``, ``outputs`` {node: output}, ``answer``,
        ``report`` and ``energy`` (predicted and measured joules)."""
        body = _body(request, graph, problem, budgets, weights, execution, goal)
        if inputs:
            body["inputs"] = inputs
        return self._call("POST", "/v1/run", body)

    def budget(self) -> dict[str, Any]:
        """`GET /v1/budget`: the current slot's budget, used, reserved and remaining energy,
        the time to the next slot, the slot's plans and the latest slots."""
        return self._call("GET", "/v1/budget")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")

    def metrics(self) -> str:
        """`GET /metrics` (Prometheus text format)."""
        return self._raw("GET", "/metrics", None).decode("utf-8")

    # ------------------------------------------------------------ transport

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = self._raw(method, path, body)
        result: dict[str, Any] = json.loads(data)
        return result

    def _raw(self, method: str, path: str, body: dict[str, Any] | None) -> bytes:
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(
            self.base_url + path, data=payload, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as response:
                content: bytes = response.read()
                return content
        except urllib.error.HTTPError as exc:
            raise _error(exc) from None
        except urllib.error.URLError as exc:
            raise ServeError(0, f"cannot reach {self.base_url}: {exc.reason}") from exc
        except (http.client.HTTPException, OSError) as exc:  # dropped connection, timeout
            raise ServeError(0, f"{self.base_url}{path}: {type(exc).__name__}: {exc}") from exc


def _body(
    request: str | None,
    graph: dict[str, Any] | None,
    problem: dict[str, Any] | None,
    budgets: dict[str, Any] | None,
    weights: dict[str, float] | None,
    execution: str | None,
    goal: str | None,
) -> dict[str, Any]:
    given = {"request": request, "graph": graph, "problem": problem}
    chosen = {k: v for k, v in given.items() if v is not None}
    if len(chosen) != 1:
        raise ValueError("give exactly one of request, graph or problem")
    extra = {"budgets": budgets, "weights": weights, "execution": execution, "goal": goal}
    return {**chosen, **{k: v for k, v in extra.items() if v is not None}}


def _error(exc: urllib.error.HTTPError) -> ServeError:
    try:
        data = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        data = {}
    message = str(data.get("error") or exc.reason or "error")
    header = exc.headers.get("Retry-After") if exc.headers else None
    retry = data.get("retry_after_s")
    if retry is None and header:
        try:
            retry = float(header)
        except ValueError:
            retry = None
    cls = Rejected if exc.code in (429, 503) else ServeError
    return cls(exc.code, message, float(retry) if retry is not None else None, header)
