"""Issue 18: the protocol answers ``GET /healthz`` and refusals under overload itself, from
the bytes of one read, before h11, uvicorn's ``limit_concurrency`` and any ASGI task
(`planner.serve.protocol.EarlyAnswers`). A request it cannot read unambiguously takes the
ordinary path; whatever it does answer is framed exactly as h11 frames it."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="planner serve needs the 'serve' extra")

import h11
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.serve.protocol import EarlyAnswers, early_request, guarded_protocol


def req(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


HEALTH = req("GET /healthz HTTP/1.1\nHost: x")
BODY = b'{"graph": {"nodes": []}}'
POST = req(
    f"POST /v1/run HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: {len(BODY)}",
    BODY,
)


def test_plain_requests_are_read() -> None:
    got = early_request(HEALTH)
    assert got is not None and (got.method, got.path, got.body_bytes, got.close) == (
        "GET",
        "/healthz",
        0,
        False,
    )
    got = early_request(POST)
    assert got is not None and (got.method, got.path, got.body_bytes) == (
        "POST",
        "/v1/run",
        len(BODY),
    )
    closing = early_request(req("GET /healthz HTTP/1.1\nHost: x\nConnection: keep-alive, Close"))
    assert closing is not None and closing.close


@pytest.mark.parametrize(
    "data",
    [
        HEALTH[:-2],  # headers not complete yet
        POST[:-3],  # body not complete yet
        HEALTH + HEALTH,  # pipelined: h11 reads them one by one
        POST + b"x",  # more bytes than the one request
        req("GET /healthz HTTP/1.0\nHost: x"),
        req("GET /healthz HTTP/1.1"),  # no Host
        req("GET /healthz HTTP/1.1\nHost: x\nHost: y"),
        req("GET /healthz?x=1 HTTP/1.1\nHost: x"),
        req("GET /health%7a HTTP/1.1\nHost: x"),
        req("get /healthz HTTP/1.1\nHost: x"),
        req("POST /v1/run HTTP/1.1\nHost: x\nTransfer-Encoding: chunked", b"0\r\n\r\n"),
        req("POST /v1/run HTTP/1.1\nHost: x\nContent-Length: 2\nContent-Length: 2", b"{}"),
        req("POST /v1/run HTTP/1.1\nHost: x\nContent-Length: +2", b"{}"),
        req("POST /v1/run HTTP/1.1\nHost: x\nContent-Length: 2\nExpect: 100-continue", b"{}"),
        req("GET /healthz HTTP/1.1\nHost: x\nConnection: Upgrade\nUpgrade: websocket"),
        req("GET /healthz HTTP/1.1\nHost: x\nX-A: 1\n folded"),
        req("GET /healthz HTTP/1.1\nHost : x"),
        req("GET  /healthz HTTP/1.1\nHost: x"),
    ],
)
def test_anything_unusual_takes_the_ordinary_path(data: bytes) -> None:
    assert early_request(data) is None


def test_early_answers_are_whole_responses_and_leave_the_rest_alone() -> None:
    busy = {"/v1/run": "all 8 admission slots are busy"}
    early = EarlyAnswers(lambda: {"status": "ok"}, busy.get, max_body_bytes=len(BODY))
    payload, close = early.answer(HEALTH) or (b"", True)
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/healthz", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(payload)
    head = conn.next_event()
    assert isinstance(head, h11.Response) and head.status_code == 200 and not close
    data = conn.next_event()
    assert isinstance(data, h11.Data) and json.loads(data.data) == {"status": "ok"}
    assert isinstance(conn.next_event(), h11.EndOfMessage)
    payload, close = early.answer(POST) or (b"", True)
    assert payload.startswith(b"HTTP/1.1 503 ") and b"\r\nretry-after: 1\r\n" in payload
    assert json.loads(payload.partition(b"\r\n\r\n")[2])["error"] == busy["/v1/run"]
    plan = POST.replace(b"/v1/run", b"/v1/plan")
    assert early.answer(plan) is None  # not refused now: the ordinary path serves it
    big = req(f"POST /v1/run HTTP/1.1\nHost: x\nContent-Length: {len(BODY) + 1}", BODY + b" ")
    assert early.answer(big) is None  # over the body limit: the ordinary path's 413
    assert early.answer(req("POST /healthz HTTP/1.1\nHost: x")) is None
    assert early.answer(req("GET /v1/run HTTP/1.1\nHost: x")) is None


def h11_reading(data: bytes) -> tuple[str, str, bytes] | None:
    """What h11 reads from ``data`` when it is exactly one request, else None."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    try:
        first = conn.next_event()
        if not isinstance(first, h11.Request):
            return None
        body = b""
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                return None
        if conn.trailing_data[0]:
            return None
    except h11.RemoteProtocolError:
        return None
    return first.method.decode(), first.target.decode(), body


header_name = st.sampled_from(
    [
        "Host",
        "host",
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
        "Connection",
        "X-Y",
        "Expect",
        "Upgrade",
        "Host ",
        " Host",
        "Con tent",
        "",
    ]
)
header_value = st.sampled_from(
    [
        "x",
        "0",
        "2",
        "5",
        "+2",
        " 2 ",
        "2, 2",
        "chunked",
        "close",
        "keep-alive",
        "upgrade",
        "",
        "a\tb",
        "100-continue",
        "99999999999999999999",
    ]
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """Mostly well-formed requests with a few hostile headers, cut short or run on."""
    method = draw(st.sampled_from(["GET", "POST", "POST", "PUT", "get", "G T"]))
    target = draw(st.sampled_from(["/healthz", "/v1/run", "/v1/plan"] * 3 + ["/a?b", "*", "/%2e"]))
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"]))
    body = draw(st.binary(max_size=8))
    headers = draw(st.lists(st.tuples(header_name, header_value), max_size=2))
    if draw(st.booleans()):
        headers = [("Content-Type", "application/json")]
    if draw(st.integers(0, 4)):
        headers.insert(draw(st.integers(0, len(headers))), ("Host", "x"))
    length = draw(st.sampled_from(["exact", "exact", "none", "other"]))
    if length != "none":
        value = len(body) + (0 if length == "exact" else draw(st.integers(-3, 3)))
        headers.insert(draw(st.integers(0, len(headers))), ("Content-Length", str(value)))
    lines = [f"{method} {target} {version}", *(f"{n}: {v}" for n, v in headers)]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    cut = draw(st.sampled_from([0] * 6 + [-1, -3, 1, 40]))
    return data[:cut] if cut < 0 else data + (POST if cut == 40 else b"x" * cut)


@settings(max_examples=500, deadline=None)
@given(data=requests())
def test_whatever_is_read_early_h11_frames_the_same_way(data: bytes) -> None:
    got = early_request(data)
    if got is not None:  # never a framing h11 would not also read: no smuggling
        assert h11_reading(data) == (got.method, got.path, data[len(data) - got.body_bytes :])


def test_the_property_above_sees_both_kinds_of_request() -> None:
    seen = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(data=requests())
    def tally(data: bytes) -> None:
        seen.add(early_request(data) is not None)

    tally()
    assert seen == {True, False}


# ------------------------------------------------------------------ on a real server


class Stuck:
    """An ASGI app whose requests never finish (a saturated CPU-work pool, as seen from the
    event loop); records how often it was reached."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.calls += 1
        await asyncio.sleep(3600)


@pytest.fixture
def stuck_server() -> Iterator[tuple[int, Stuck, list[str]]]:
    app = Stuck()
    shed_paths: list[str] = []

    def shed(path: str) -> str | None:
        shed_paths.append(path)
        return "all 1 admission slots are busy" if path in ("/v1/plan", "/v1/run") else None

    early = EarlyAnswers(lambda: {"status": "ok"}, shed, max_body_bytes=1024)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        lifespan="off",
        limit_concurrency=2,  # one stuck request and a second connection: uvicorn says 503
        http=guarded_protocol(early=early),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield port, app, shed_paths
    server.should_exit = True
    server.force_exit = True
    thread.join(10)


def answer(sock: socket.socket) -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
    data = b""
    sock.settimeout(5.0)
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = dict(
        (k.strip().lower(), v.strip()) for k, _, v in (x.partition(b":") for x in lines[1:])
    )
    while len(rest) < int(headers[b"content-length"]):
        rest += sock.recv(65536)
    return int(lines[0].split()[1]), headers, json.loads(rest)


def test_healthz_and_refusals_are_answered_while_every_request_is_stuck(
    stuck_server: tuple[int, Stuck, list[str]],
) -> None:
    port, app, shed_paths = stuck_server
    hung = socket.create_connection(("127.0.0.1", port))
    hung.sendall(req("GET /stuck HTTP/1.1\nHost: x"))  # holds uvicorn's only task
    deadline = time.monotonic() + 5
    while app.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.calls == 1
    with socket.create_connection(("127.0.0.1", port)) as s:  # one keep-alive connection
        s.sendall(HEALTH)
        status, _, body = answer(s)
        assert (status, body) == (200, {"status": "ok"})
        s.sendall(POST)
        status, headers, body = answer(s)
        assert status == 503 and headers[b"retry-after"] == b"1"
        assert body["error"] == "all 1 admission slots are busy"
        s.sendall(HEALTH)  # the connection is still usable after both
        assert answer(s)[0] == 200
    with socket.create_connection(("127.0.0.1", port)) as s:  # ordinary path: uvicorn's 503
        s.sendall(req("GET /healthz?verbose=1 HTTP/1.1\nHost: x"))
        s.settimeout(5.0)
        assert s.recv(65536).startswith(b"HTTP/1.1 503")
    assert app.calls == 1 and shed_paths == ["/v1/run"]
    hung.close()


def test_a_closing_probe_is_answered_then_closed(
    stuck_server: tuple[int, Stuck, list[str]],
) -> None:
    port, _, _ = stuck_server
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(req("GET /healthz HTTP/1.1\nHost: x\nConnection: close"))
        status, headers, _ = answer(s)
        assert status == 200 and headers[b"connection"] == b"close"
        assert s.recv(65536) == b""  # closed by the server


# ------------------------------------------------------------------ the request threads


def test_admitted_requests_are_planned_by_a_small_pool_of_threads(tmp_path: Path) -> None:
    from tests.test_serve import client, make_service, one_node

    service = make_service(tmp_path, workers=4, request_threads=2, max_inflight=8)
    assert service.config.thread_limit == 2
    running, peak, lock = [0], [0], threading.Lock()
    plan = service.plan

    def counted(body: Any, queued_s: float = 0.0) -> Any:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.1)
            return plan(body, queued_s)
        finally:
            with lock:
                running[0] -= 1

    service.plan = counted  # type: ignore[method-assign]
    statuses: list[int] = []
    with client(service) as c:

        def call() -> None:
            statuses.append(c.post("/v1/plan", json={"graph": one_node()}).status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == [200] * 6  # all admitted (8 slots), planned two at a time
    assert 1 <= peak[0] <= 2


def test_a_request_that_times_out_waiting_for_a_thread_gives_its_slot_back(
    tmp_path: Path,
) -> None:
    from tests.test_serve import client, make_service, run_body, spend_rows

    service = make_service(
        tmp_path, rows=spend_rows(sleep_s=0.8), request_threads=1, request_timeout_s=0.3
    )
    with client(service) as c:
        first = threading.Thread(target=lambda: c.post("/v1/run", json=run_body()))
        first.start()
        deadline = time.monotonic() + 5
        while service.tracker.snapshot()["in_flight"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        # the one request thread runs the first request: this one waits, then times out
        second = c.post("/v1/run", json=run_body())
        assert second.status_code == 504
        first.join()
        while c.get("/v1/budget").json()["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.05)
        view = c.get("/v1/budget").json()
    assert service.admission.inflight == 0  # both slots given back, once each
    assert view["requests"] == 1  # the second one never started: nothing opened, nothing run
    assert view["used_j"] == pytest.approx(3.0)


def test_the_service_answers_early_without_its_locks_and_counts_what_it_sheds(
    tmp_path: Path,
) -> None:
    from planner.serve.app import build
    from tests.test_serve import make_service

    service = make_service(tmp_path, max_inflight=2)
    early = build(service).early
    assert early is not None
    assert early.answer(POST) is None  # slots free: served the ordinary way
    answered: list[Any] = []
    with service.cache._lock:  # a request's thread holding the cache (loading a model)
        probe = threading.Thread(target=lambda: answered.append(early.answer(HEALTH)))
        probe.start()
        probe.join(5.0)
    assert answered and answered[0] is not None
    assert json.loads(answered[0][0].partition(b"\r\n\r\n")[2])["status"] == "ok"
    service.admission.inflight = 2  # every admission slot busy
    payload, _ = early.answer(POST) or (b"", False)
    service.admission.inflight = 0
    assert payload.startswith(b"HTTP/1.1 503 ")
    text = service.metrics.render().decode()
    assert 'planner_rejections_total{reason="overload"} 1.0' in text
    assert 'planner_requests_total{endpoint="/v1/run",status="503"} 1.0' in text
    service.close()


def test_a_refusal_is_counted_without_the_trackers_lock_and_saved_by_the_next_sample(
    tmp_path: Path,
) -> None:
    from planner.serve.store import SlotStore
    from planner.serve.tracker import EnergyBudgetTracker
    from tests.test_serve import Clock, Meter

    tracker = EnergyBudgetTracker(SlotStore(tmp_path / "s.db"), Meter(), 10.0, 100.0, clock=Clock())
    counted: list[bool] = []
    with tracker._lock:  # a request's thread in the middle of a SQLite write
        refusal = threading.Thread(target=lambda: (tracker.count_rejection(), counted.append(True)))
        refusal.start()
        refusal.join(5.0)
        assert counted == [True]  # the event loop did not wait for it
    tracker.sample()  # the sampler's next tick saves it
    assert SlotStore(tmp_path / "s.db").recent_slots(10.0, 1)[0].rejected == 1
    tracker.count_rejection()
    assert tracker.snapshot()["rejected"] == 2  # the view counts those not yet sampled too
