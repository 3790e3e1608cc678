"""Issue 18: `planner serve` under hostile clients. The body limit is enforced while the body
streams in (413 after ``limit`` bytes, never read to its end), a body that stops arriving
gets 408, overload is shed with 503 before any parsing, ``/healthz`` is answered ahead of
routing; the guarded h11 protocol drops connections that stall in their headers or stop
reading. The flood itself (1,000 requests, 100 MB bodies, non-reading clients, kill -9) is
``python -m benchmarks.serve_flood``; a smaller run of it is the slow test at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="planner serve needs the 'serve' extra")

import uvicorn

from planner.serve.app import BodyLimit
from planner.serve.protocol import guarded_protocol

MB = 2**20


class Recorder:
    """A downstream ASGI app that records whether it was reached."""

    def __init__(self) -> None:
        self.calls = 0
        self.body = b""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        message = await receive()
        self.body = message.get("body", b"")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def call(
    middleware: BodyLimit, scope: dict[str, Any], chunks: Any
) -> tuple[int | None, dict[str, Any], dict[bytes, bytes], int]:
    """Drive ``middleware`` with ``chunks`` (an iterator of body pieces; None: never more)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        piece = next(chunks)
        if piece is None:
            await asyncio.sleep(3600)
        pulled += 1
        return {"type": "http.request", "body": piece[0], "more_body": piece[1]}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = dict(start["headers"]) if start else {}
    return (start["status"] if start else None), (json.loads(body) if body else {}), headers, pulled


def post(path: str = "/v1/run", headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    return {"type": "http", "method": "POST", "path": path, "headers": headers or []}


def stream(total: int, piece: int = 64 * 1024) -> Any:
    sent = 0
    while sent < total:
        sent += piece
        yield (b"x" * piece, sent < total)


def test_a_100_mb_body_is_refused_while_it_streams_not_after() -> None:
    app = Recorder()
    status, body, _, pulled = call(BodyLimit(app, 1 * MB), post(), stream(100 * MB))
    assert status == 413 and "--max-body-bytes" in body["error"]
    assert pulled <= 1 * MB // (64 * 1024) + 1  # about 1 MB read of 100 MB
    assert app.calls == 0


def test_a_declared_100_mb_body_is_refused_before_any_of_it_is_read() -> None:
    app = Recorder()
    scope = post(headers=[(b"content-length", str(100 * MB).encode())])
    status, _, headers, pulled = call(BodyLimit(app, 1 * MB), scope, stream(100 * MB))
    assert status == 413 and pulled == 0 and app.calls == 0
    assert headers[b"connection"] == b"close"


def test_a_body_that_stops_arriving_gets_408() -> None:
    app = Recorder()
    pieces = iter([(b'{"graph":', True), None])
    start = time.perf_counter()
    status, body, _, _ = call(BodyLimit(app, MB, timeout_s=0.3), post(), pieces)
    assert status == 408 and "did not arrive within 0.3 s" in body["error"]
    assert time.perf_counter() - start < 2.0 and app.calls == 0


def test_overload_is_shed_before_parsing_and_healthz_is_answered_ahead_of_routing() -> None:
    app = Recorder()
    busy = BodyLimit(app, MB, health=lambda: {"status": "ok"}, shed=lambda path: "all busy")
    status, body, headers, _ = call(busy, post(), iter([(b"not even json", False)]))
    assert (status, body["error"], headers[b"retry-after"]) == (503, "all busy", b"1")
    assert app.calls == 0
    healthz = {"type": "http", "method": "GET", "path": "/healthz", "headers": []}
    status, body, _, _ = call(busy, healthz, iter([]))
    assert (status, body) == (200, {"status": "ok"}) and app.calls == 0
    idle = BodyLimit(app, MB, shed=lambda path: None)
    status, _, _, _ = call(idle, post(), iter([(b"{}", False)]))
    assert status == 200 and app.calls == 1 and app.body == b"{}"


# ------------------------------------------------------------------ the guarded protocol


async def big_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await receive()
    payload = b"y" * (8 * MB)  # far more than the socket buffers hold
    headers = [(b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def guarded_server() -> Any:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        big_answer,
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="off",
        http=guarded_protocol(header_timeout_s=0.5, write_timeout_s=0.5),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(10)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closes ``sock`` (reading and dropping what it sent)."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(1 << 16):
            pass
    except TimeoutError:
        return None
    except OSError:
        pass
    return time.monotonic() - start


def test_a_connection_stalled_in_its_headers_is_closed(guarded_server: int) -> None:
    with socket.create_connection(("127.0.0.1", guarded_server)) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow")
        took = closed_within(s, 5.0)
    assert took is not None and took < 2.0


def test_a_client_that_stops_reading_is_dropped(guarded_server: int) -> None:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", guarded_server))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(2.0)  # not reading: the 8 MB answer waits past the 0.5 s write deadline
    received = 0
    s.settimeout(5.0)
    try:
        while chunk := s.recv(1 << 20):
            received += len(chunk)
    except OSError:
        pass  # reset by the server
    s.close()
    assert received < 8 * MB  # the answer was cut off: the connection was dropped


def test_a_reading_client_gets_the_whole_answer(guarded_server: int) -> None:
    with socket.create_connection(("127.0.0.1", guarded_server)) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        s.settimeout(10.0)
        while len(data) < 8 * MB:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    assert data.endswith(b"y" * 1000) and len(data) > 8 * MB


# ------------------------------------------------------------------ the flood, smaller


@pytest.mark.slow
def test_a_small_flood_is_shed_without_losing_accounting(tmp_path: Path) -> None:
    from benchmarks import serve_flood as bench

    args = argparse.Namespace(
        requests=150, clients=15, big=2, stalled=3, slow=2, workers=2, max_inflight=6, seconds=120
    )
    server = bench.start_server(tmp_path, args)
    try:
        bench.warm_up(server.port)
        flood = bench.Flood(server.port, args, seed=1)
        flood.run()
        acc = bench.accounting(server, bench.settle(server.port))
        kill = bench.kill_mid_flood(tmp_path, server, args)
    finally:
        server.stop()
    found = {name: (ok, value) for name, ok, value in bench.checks(args, flood, acc, kill)}
    # /healthz latency is the benchmark's to measure (a loaded 2-core machine decides it)
    found.pop(next(name for name in found if name.startswith("/healthz")))
    assert flood.health_fail == 0  # but it always answered
    failed = {name: value for name, (ok, value) in found.items() if not ok}
    assert not failed, failed
