"""The FastAPI application of `planner serve` (OpenAPI docs at ``/docs``).

Endpoints: ``POST /v1/plan``, ``POST /v1/run``, ``GET /v1/budget``, ``GET /metrics``
(Prometheus text), ``GET /healthz``. With a token configured, every endpoint but
``/healthz`` and the docs needs ``Authorization: Bearer TOKEN`` (compared in constant time).
Bodies over ``max_body_bytes`` get 413 before they are parsed; each request has
``request_timeout_s`` (504 after it; a run already started still finishes and is counted).
Errors are ``{"error": "one line"}``; refusals carry ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import math
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from planner.errors import PlannerError
from planner.serve.admission import Overloaded, QueueFull
from planner.serve.metrics import CONTENT_TYPE
from planner.serve.protocol import EarlyAnswers
from planner.serve.schemas import ErrorBody, PlanRequest, RunRequest
from planner.serve.service import NoFit, Outcome, Service, ServiceError

T = TypeVar("T")
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def error_response(
    status: int, message: str, retry_after_s: float | None = None, **extra: Any
) -> JSONResponse:
    headers = {}
    if retry_after_s is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = ErrorBody(error=message, retry_after_s=retry_after_s, **extra)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def create_app(service: Service) -> FastAPI:
    """The application over ``service`` (started and closed with the app's lifespan)."""
    config = service.config
    threads: list[RequestThreads] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads[:] = [RequestThreads(config.thread_limit)]  # this event loop's
        service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="planner serve",
        summary="Cost-aware model orchestration under a rolling per-slot energy budget.",
        version="1",
        lifespan=lifespan,
    )

    def auth(request: Request) -> None:
        if config.token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8"), config.token.encode("utf-8")
        )
        if not ok:
            raise ServiceError(401, "missing or wrong bearer token: send Authorization: Bearer …")

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc.status, str(exc), exc.retry_after_s)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        msg = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        detail = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in errors[:20]
        ]
        service.metrics.requests.labels(request.url.path, "422").inc()
        return error_response(422, f"{loc}: {msg}", detail=detail)

    async def handle(endpoint: str, work: Callable[[Any, float], Outcome], body: Any) -> Response:
        t0 = time.perf_counter()
        response = await _admit(endpoint, work, body, t0)
        service.metrics.requests.labels(endpoint, str(response.status_code)).inc()
        service.metrics.request_seconds.labels(endpoint).observe(time.perf_counter() - t0)
        return response

    async def _admit(
        endpoint: str, work: Callable[[Any, float], Outcome], body: Any, t0: float
    ) -> Response:
        deadline = t0 + config.request_timeout_s
        queued_s = 0.0
        while True:
            try:
                service.admission.enter()
            except Overloaded as exc:
                service.metrics.rejections.labels("overload").inc()
                return error_response(503, str(exc), retry_after_s=1.0)

            try:
                outcome = await threads[0].run(
                    partial(work, body, queued_s),
                    service.admission.leave,
                    deadline - time.perf_counter(),
                )
                if outcome is None:
                    service.metrics.rejections.labels("timeout").inc()
                    return error_response(
                        504,
                        f"the request took longer than {config.request_timeout_s:g} s "
                        "(--request-timeout); a run already started finishes and is counted",
                    )
                return Response(outcome.payload, media_type="application/json")
            except NoFit as exc:
                wait = exc.retry_after_s
                if config.policy != "queue" or time.perf_counter() + wait >= deadline:
                    service.tracker.count_rejection()
                    service.metrics.rejections.labels("budget").inc()
                    return error_response(429, str(exc), retry_after_s=wait)
                try:
                    service.admission.enqueue()
                except QueueFull as full:
                    service.tracker.count_rejection()
                    service.metrics.rejections.labels("queue_full").inc()
                    return error_response(429, str(full), retry_after_s=wait)
                try:
                    t_wait = time.perf_counter()
                    await anyio.sleep(wait + 0.01)
                    queued_s += time.perf_counter() - t_wait
                finally:
                    service.admission.dequeue()
            except ServiceError as exc:
                return error_response(exc.status, str(exc), exc.retry_after_s)
            except PlannerError as exc:
                return error_response(400, str(exc).replace("\n", " "))
            except Exception as exc:  # a bug: answer 500, keep serving
                traceback.print_exc(file=sys.stderr)
                return error_response(500, f"internal error: {type(exc).__name__}: {exc}")

    @app.post(
        "/v1/plan",
        summary="Plan a request under the slot's remaining energy (nothing is executed).",
        responses={429: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    )
    async def plan(body: PlanRequest, _: None = Depends(auth)) -> Response:
        return await handle("/v1/plan", service.plan, body)

    @app.post(
        "/v1/run",
        summary="Plan, execute on resident models, and return outputs, answer and report.",
        responses={429: {"model": ErrorBody}, 503: {"model": ErrorBody}},
    )
    async def run(body: RunRequest, _: None = Depends(auth)) -> Response:
        return await handle("/v1/run", service.run, body)

    @app.get("/v1/budget", summary="The current slot: used, reserved, remaining energy.")
    async def budget(_: None = Depends(auth)) -> dict[str, Any]:
        view = await anyio.to_thread.run_sync(service.budget)
        service.metrics.requests.labels("/v1/budget", "200").inc()
        return view

    @app.get("/metrics", summary="Prometheus metrics (text format).")
    async def metrics(_: None = Depends(auth)) -> Response:
        text = await anyio.to_thread.run_sync(service.metrics_text)
        return Response(text, media_type=CONTENT_TYPE)

    @app.get("/healthz", summary="Liveness (no token needed).")
    async def healthz() -> dict[str, Any]:
        return service.health()

    return app


class _Ticket:
    """Taken once: by a request's job when a thread starts it, or by the request itself
    when it stops waiting first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken = False

    def take(self) -> bool:
        with self._lock:
            if self._taken:
                return False
            self._taken = True
            return True


class RequestThreads:
    """The few threads that plan and run admitted requests (``--request-threads``).

    All their Python work shares one interpreter lock with the event loop, which waits
    behind every thread that wants it; so an admitted request waits here, on the event loop
    and without a thread, until one of ``size`` is free. A slot is held until the job itself
    ends, also when its request stopped waiting (504) and left it running: at most ``size``
    jobs ever run at once (anyio's limiter alone lets an abandoned thread run on outside its
    count). ``done`` (giving the admission slot back) runs exactly once per call: when the
    job ends, or at once when the request stops waiting before its job started, and that
    job then does nothing.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._slots = anyio.CapacityLimiter(size)
        self._threads = anyio.CapacityLimiter(size)

    @property
    def busy(self) -> int:
        """Jobs running now (including any whose request stopped waiting)."""
        return int(self._slots.borrowed_tokens)

    async def run(
        self, fn: Callable[[], T], done: Callable[[], None], timeout_s: float
    ) -> T | None:
        """``fn()`` in a request thread; None when ``timeout_s`` passed first (a job that
        started then still runs to its end)."""
        ticket = _Ticket()
        loop = asyncio.get_running_loop()
        held = False

        def job() -> T:
            if not ticket.take():
                raise RuntimeError("the request stopped waiting before its job started")
            try:
                return fn()
            finally:
                done()
                with contextlib.suppress(RuntimeError):  # the loop is closed: stopping
                    loop.call_soon_threadsafe(self._slots.release_on_behalf_of, ticket)

        try:
            with anyio.move_on_after(max(0.0, timeout_s)):
                await self._slots.acquire_on_behalf_of(ticket)
                held = True
                return await anyio.to_thread.run_sync(
                    job, limiter=self._threads, abandon_on_cancel=True
                )
            return None
        finally:
            if ticket.take():  # its job never started, and now never will
                done()
                if held:
                    self._slots.release_on_behalf_of(ticket)


#: Seconds a request body may take to arrive in full (408 after it): a client that trickles
#: its body or stops sending holds no worker slot, and holds its connection only this long.
BODY_TIMEOUT_S = 10.0


class BodyLimit:
    """ASGI middleware: bodies over ``limit`` bytes get 413 while they stream in (at once
    when ``Content-Length`` says so), never read in full; a body not complete within
    ``timeout_s`` gets 408."""

    def __init__(
        self,
        app: Any,
        limit: int,
        timeout_s: float = BODY_TIMEOUT_S,
        health: Callable[[], dict[str, Any]] | None = None,
        shed: Callable[[str], str | None] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.timeout_s = timeout_s
        self.health = health  # answers GET /healthz here, ahead of routing, under any load
        self.shed = shed  # (path) -> why a POST is refused at once (503), or None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.health is not None and scope["path"] == "/healthz" and scope["method"] == "GET":
            await self._answer(send, 200, self.health())
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._refuse(send, 400, "bad Content-Length header")
                    return
                if declared > self.limit:
                    await self._too_large(send)
                    return
        chunks: list[bytes] = []
        size = 0
        complete = False
        with anyio.move_on_after(self.timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.limit:
                    await self._too_large(send)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    complete = True
                    break
        if not complete:
            await self._refuse(
                send, 408, f"the request body did not arrive within {self.timeout_s:g} s"
            )
            return
        body = b"".join(chunks)
        if self.shed is not None and scope["method"] == "POST":
            # overloaded: answered before parsing or validation, so a flood of requests
            # that cannot be admitted costs the event loop almost nothing
            why = self.shed(scope["path"])
            if why is not None:
                await self._answer(send, 503, {"error": why, "retry_after_s": 1.0}, retry=1)
                return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            result: dict[str, Any] = await receive()
            return result

        await self.app(scope, replay, send)

    @property
    def early(self) -> EarlyAnswers | None:
        """The same ``/healthz`` answer and refusals, for the protocol to give before h11
        parses a request (`planner.serve.protocol.EarlyAnswers`)."""
        if self.health is None or self.shed is None:
            return None
        return EarlyAnswers(self.health, self.shed, self.limit)

    async def _too_large(self, send: Any) -> None:
        await self._refuse(
            send, 413, f"the request body is over {self.limit} bytes (--max-body-bytes)"
        )

    @staticmethod
    async def _refuse(send: Any, status: int, message: str) -> None:
        await BodyLimit._answer(send, status, {"error": message}, close=True)

    @staticmethod
    async def _answer(
        send: Any, status: int, body: dict[str, Any], close: bool = False, retry: int = 0
    ) -> None:
        import json

        payload = json.dumps(body).encode("utf-8")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        if close:
            headers.append((b"connection", b"close"))
        if retry:
            headers.append((b"retry-after", str(retry).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def build(service: Service) -> Any:
    """The ASGI application to serve: the app behind the body-size limit."""
    app = create_app(service)
    admission = service.admission

    def shed(path: str) -> str | None:
        if path not in ("/v1/plan", "/v1/run") or admission.inflight < admission.limit:
            return None
        service.metrics.rejections.labels("overload").inc()
        service.metrics.requests.labels(path, "503").inc()
        return f"all {admission.limit} admission slots are busy; retry shortly"

    return BodyLimit(app, service.config.max_body_bytes, health=service.health, shed=shed)


__all__ = ["BodyLimit", "build", "create_app", "error_response"]
