"""Flood test of `planner serve` on 127.0.0.1 (issue 18; a command, bounded in time).

    python -m benchmarks.serve_flood [--requests 1000] [--clients 50] [--big 4]
        [--stalled 20] [--slow 10] [--workers 2] [--max-inflight 8] [--seconds 180]
        [--out benchmarks/results/serve_flood.md]

Against a fresh server process (synthetic busy-loop models, energy = CPU time x 10 W,
an hour-long slot so a restart finds the same slot):

1. **Flood**: ``--requests`` requests (60% ``/v1/run`` of a two-node graph, 40% ``/v1/plan``)
   from ``--clients`` concurrent keep-alive clients; at the same time ``--big`` clients send
   100 MB bodies (half declare it in ``Content-Length``, half stream it chunked),
   ``--stalled`` clients pipeline 200 requests each and never read a byte of the answers,
   and ``--slow`` clients open connections and stop mid-headers or mid-body. A prober opens
   a fresh connection to ``/healthz`` every 50 ms throughout: its p50/p99/max latency (a
   probe without an answer in 2 s counts as 2 s).
2. **Accounting** once the flood is answered: no request left in flight or reserved, every
   request the tracker opened has its row in SQLite, none still ``in_flight``, and the
   energy measured for the requests is within the slot's total.
3. **kill -9 mid-flood**: a second flood; the slot's used energy is read, the server killed
   at once, restarted on the same state folder, and the used energy read again: the same
   up to the requests that were in flight (at most their predicted energy each) and one
   sampling period.

Prints the machine and the results, writes ``--out``. The pass/fail lines are the issue's
done-when: ``/healthz`` p99 under 100 ms, overload shed with 429/503 (never a hang), no
body read past the limit, slow clients dropped, no accounting lost.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.bench_serve import GRAPH, WIDE, Server, burn_catalog, pct

REPO = Path(__file__).resolve().parent.parent
BIG_BYTES = 100 * 2**20


def flood_catalog() -> dict[str, Any]:
    """Three tasks, two sizes each, light enough that 1,000 requests fit two cores in a
    minute."""
    return burn_catalog(
        (("large", 0.95, 0.01), ("small", 0.7, 0.002)), "benchmarks/serve_flood.py (busy loop)"
    )


# --------------------------------------------------------------------------- HTTP by hand


def request_bytes(method: str, path: str, body: bytes | None = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + (body or b"")


def read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bytes]:
    """One HTTP/1.1 response (Content-Length framed) from ``sock``; ``buf`` keeps extra."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        rest += chunk
    buf[:] = rest[length:]
    return status, rest[:length]


class Conn:
    """A keep-alive connection that reconnects after the server closes it."""

    def __init__(self, port: int, timeout_s: float) -> None:
        self.port, self.timeout_s = port, timeout_s
        self.sock: socket.socket | None = None
        self.buf = bytearray()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> int:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), self.timeout_s)
                self.buf = bytearray()
            try:
                self.sock.sendall(request_bytes(method, path, data))
                status, _ = read_response(self.sock, self.buf)
                return status
            except (ConnectionError, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def one(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
    if rng.random() < 0.6:
        return "POST", "/v1/run", {"graph": GRAPH, "inputs": {"text": "hello"}}
    return "POST", "/v1/plan", {"graph": WIDE}


# --------------------------------------------------------------------------- the parts


def probe_health(port: int, stop: Any, results: Any) -> None:
    """``GET /healthz`` on a fresh connection every 50 ms until ``stop``; (ms, ok) each."""
    found: list[tuple[float, float, bool]] = []
    while not stop.is_set():
        t = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), 2.0) as s:
                s.settimeout(2.0)
                s.sendall(request_bytes("GET", "/healthz"))
                status, _ = read_response(s, bytearray())
            ok = status == 200
        except OSError:
            ok = False
        found.append((time.time(), (time.perf_counter() - t) * 1000, ok))
        time.sleep(0.05)
    results.put(found)


class Flood:
    """The flood clients, the hostile clients and the prober, run together."""

    def __init__(self, port: int, args: argparse.Namespace, seed: int) -> None:
        self.port, self.args, self.seed = port, args, seed
        self.statuses: Counter[str] = Counter()
        self.latency_ms: list[float] = []
        self.health_ms: list[float] = []
        self.health_during_ms: list[float] = []  # while the flood's clients were sending
        self.flood_window = (math.inf, math.inf)
        self.health_fail = 0
        self.big: list[dict[str, Any]] = []
        self.stalled_closed = 0
        self.slow: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.next = 0

    # the legitimate flood
    def client(self, k: int) -> None:
        rng = random.Random(self.seed * 1000 + k)
        conn = Conn(self.port, 30.0)
        while True:
            with self.lock:
                if self.next >= self.args.requests:
                    break
                self.next += 1
            method, path, body = one(rng)
            t = time.perf_counter()
            try:
                status = str(conn.call(method, path, body))
            except OSError as exc:
                status = f"no answer ({type(exc).__name__})"
            with self.lock:
                self.statuses[status] += 1
                self.latency_ms.append((time.perf_counter() - t) * 1000)
        conn.close()

    def prober(self) -> None:
        """Runs the probes in a process of their own: in this one they would wait for the
        GIL behind the flood's client threads and measure the client, not the server."""
        ctx = multiprocessing.get_context("spawn")
        stop, results = ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=probe_health, args=(self.port, stop, results), daemon=True)
        proc.start()
        self.done.wait()
        stop.set()
        found: list[tuple[float, float, bool]] = results.get(timeout=30)
        proc.join(10)
        with self.lock:
            self.health_ms = [ms if ok else max(ms, 2000.0) for _, ms, ok in found]
            self.health_during_ms = [
                ms if ok else max(ms, 2000.0)
                for at, ms, ok in found
                if self.flood_window[0] <= at <= self.flood_window[1]
            ]
            self.health_fail = sum(1 for _, _, ok in found if not ok)

    def big_body(self, k: int) -> None:
        """100 MB: declared (``Content-Length``) or streamed chunked; bytes sent until the
        server answers (413) or drops the connection."""
        chunked = k % 2 == 1
        head = "POST /v1/run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {BIG_BYTES}\r\n"
        piece = b"[" + b"1," * 32767 + b"1"  # 64 KiB of the start of a JSON array
        sent, status = 0, "none"
        t = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", self.port), 10.0) as s:
                s.settimeout(10.0)
                s.sendall((head + "\r\n").encode())
                while sent < BIG_BYTES:
                    frame = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
                    s.sendall(frame)
                    sent += len(piece)
                    s.setblocking(False)
                    try:
                        peek = s.recv(65536, socket.MSG_PEEK)
                    except BlockingIOError:
                        peek = None
                    s.settimeout(10.0)
                    if peek is not None:
                        break  # the server answered (or closed) before the body ended
                status, _ = read_response(s, bytearray())
                status = str(status)
        except OSError as exc:
            status = status if status != "none" else f"dropped ({type(exc).__name__})"
        with self.lock:
            self.big.append(
                {
                    "mode": "chunked" if chunked else "Content-Length",
                    "status": str(status),
                    "sent_mb": sent / 2**20,
                    "seconds": time.perf_counter() - t,
                }
            )

    def stalled(self, k: int) -> None:
        """Pipelines 200 requests for the OpenAPI document (tens of KB each, far more than
        the socket buffers hold) and never reads; is the connection dropped by the end?"""
        try:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10.0)
            s.connect(("127.0.0.1", self.port))
            s.sendall(request_bytes("GET", "/openapi.json") * 200)
        except OSError:
            with self.lock:
                self.stalled_closed += 1
            return
        self.done.wait()
        try:  # closed by the server: a read returns what it sent, then EOF or a reset
            s.setblocking(False)
            while True:
                if not s.recv(1 << 20):
                    closed = True
                    break
        except BlockingIOError:
            closed = False
        except OSError:
            closed = True
        s.close()
        with self.lock:
            self.stalled_closed += int(closed)

    def slow_client(self, k: int) -> None:
        """Stops mid-headers (even k) or mid-body (odd k); when does the server let go?"""
        mid_body = k % 2 == 1
        t = time.perf_counter()
        what = "mid-body" if mid_body else "mid-headers"
        try:
            with socket.create_connection(("127.0.0.1", self.port), 5.0) as s:
                if mid_body:
                    s.sendall(
                        b"POST /v1/plan HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        b'\r\nContent-Length: 1000\r\n\r\n{"graph":'
                    )
                else:
                    s.sendall(b"POST /v1/plan HTTP/1.1\r\nHost: x\r\nContent-")
                s.settimeout(60.0)
                data = s.recv(65536)
                outcome = data.split(b"\r\n", 1)[0].decode("latin-1") if data else "closed"
        except OSError as exc:
            outcome = f"dropped ({type(exc).__name__})"
        with self.lock:
            self.slow.append({"what": what, "outcome": outcome, "seconds": time.perf_counter() - t})

    def run(self) -> float:
        threads = [threading.Thread(target=self.prober, daemon=True)]
        hostile = [threading.Thread(target=self.big_body, args=(k,)) for k in range(self.args.big)]
        hostile += [
            threading.Thread(target=self.stalled, args=(k,), daemon=True)
            for k in range(self.args.stalled)
        ]
        hostile += [
            threading.Thread(target=self.slow_client, args=(k,), daemon=True)
            for k in range(self.args.slow)
        ]
        flood = [threading.Thread(target=self.client, args=(k,)) for k in range(self.args.clients)]
        t0 = time.perf_counter()
        for t in threads + hostile:
            t.start()
        time.sleep(0.5)  # the prober is up
        started = time.time()
        for t in flood:
            t.start()
        deadline = time.monotonic() + self.args.seconds
        for t in flood:
            t.join(max(0.0, deadline - time.monotonic()))
        self.flood_window = (started, time.time())
        wall = time.perf_counter() - t0
        for t in hostile[: self.args.big]:
            t.join(max(0.0, deadline - time.monotonic()))
        # the slow clients must have been let go by the server's deadlines
        for t in hostile[self.args.big + self.args.stalled :]:
            t.join(max(0.0, min(30.0, deadline - time.monotonic())))
        self.done.set()
        threads[0].join(40.0)
        for t in hostile[self.args.big : self.args.big + self.args.stalled]:
            t.join(5.0)
        return wall


def warm_up(port: int) -> None:
    """A few requests of each kind first: the first ones import the solver and build the
    OpenAPI document (a one-time cost of any fresh server, not of the flood)."""
    conn = Conn(port, 30.0)
    rng = random.Random(0)
    for _ in range(10):
        conn.call(*one(rng))
    conn.call("GET", "/openapi.json")
    conn.close()


def get(port: int, path: str) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), 10.0) as s:
        s.settimeout(10.0)
        s.sendall(request_bytes("GET", path))
        status, body = read_response(s, bytearray())
    if status != 200:
        raise RuntimeError(f"GET {path}: {status}")
    data: dict[str, Any] = json.loads(body)
    return data


def settle(port: int, timeout_s: float = 60.0) -> dict[str, Any]:
    """The budget view once nothing is in flight (runs a 504 abandoned still finish)."""
    deadline = time.monotonic() + timeout_s
    view = get(port, "/v1/budget")
    while view["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.2)
        view = get(port, "/v1/budget")
    time.sleep(0.5)  # one more sample persisted
    return get(port, "/v1/budget")


def accounting(server: Server, view: dict[str, Any]) -> dict[str, Any]:
    with sqlite3.connect(server.state / "slots.sqlite") as db:
        slot = db.execute(
            "SELECT used_j, requests FROM slots WHERE slot_s=? AND start_unix=?",
            (view["slot_s"], view["slot_start_unix"]),
        ).fetchone()
        states = dict(
            db.execute(
                "SELECT state, COUNT(*) FROM requests WHERE slot_s=? AND slot_start_unix=? "
                "GROUP BY state",
                (view["slot_s"], view["slot_start_unix"]),
            ).fetchall()
        )
        measured = db.execute(
            "SELECT COALESCE(SUM(measured_j), 0) FROM requests WHERE state='done' AND slot_s=? "
            "AND slot_start_unix=?",
            (view["slot_s"], view["slot_start_unix"]),
        ).fetchone()[0]
    return {
        "in_flight": view["in_flight"],
        "reserved_j": view["reserved_j"],
        "opened": view["requests"],
        "rows": sum(states.values()),
        "rows_by_state": states,
        "slot_used_j": slot[0],
        "slot_requests_saved": slot[1],
        "measured_j": measured,
    }


def kill_mid_flood(workdir: Path, server: Server, args: argparse.Namespace) -> dict[str, Any]:
    quick = argparse.Namespace(**{**vars(args), "requests": 400, "big": 0, "stalled": 0})
    quick.slow = 0
    flood = Flood(server.port, quick, seed=2)
    runner = threading.Thread(target=flood.run, daemon=True)
    runner.start()
    while flood.next < 100 and runner.is_alive():
        time.sleep(0.05)
    before = get(server.port, "/v1/budget")
    server.proc.kill()
    server.proc.wait(timeout=10)
    runner.join(60)
    in_flight = before["in_flight"]
    restarted = start_server(workdir, args, state=server.state)
    try:
        after = get(restarted.port, "/v1/budget")
        with sqlite3.connect(server.state / "slots.sqlite") as db:
            lost = db.execute("SELECT COUNT(*) FROM requests WHERE state='lost'").fetchone()[0]
    finally:
        restarted.stop()
    largest = max(
        (m["energy_j"] for m in flood_catalog()["models"] if "large" in m["id"]), default=0.0
    )
    # a run of the two-node graph: two large models at most, plus its overhead
    allowance = in_flight * (2 * largest + max(before["overhead_j"].values())) + 0.05
    return {
        "slot_before": before["slot"],
        "slot_after": after["slot"],
        "used_before_j": before["used_j"],
        "used_after_j": after["used_j"],
        "in_flight_at_kill": in_flight,
        "lost_rows": lost,
        "allowance_j": allowance,
        "ok": after["slot"] == before["slot"]
        and before["used_j"] - 0.05 <= after["used_j"] <= before["used_j"] + allowance
        and after["in_flight"] == 0
        and after["reserved_j"] == 0,
    }


def start_server(workdir: Path, args: argparse.Namespace, state: Path | None = None) -> Server:
    extra = [
        "--slot-s",
        "3600",
        "--slot-energy-j",
        "1000000",
        "--workers",
        str(args.workers),
        "--max-inflight",
        str(args.max_inflight),
        "--request-timeout",
        "20",
    ]
    if state is not None:  # a restart on the same state folder (the last --state-dir wins)
        extra += ["--state-dir", str(state)]
    server = Server(workdir, flood_catalog(), *extra, meter="estimate")
    if state is not None:
        server.state = state
    server.wait()
    return server


def checks(
    args: argparse.Namespace, flood: Flood, acc: dict[str, Any], kill: dict[str, Any]
) -> list[tuple[str, bool, str]]:
    """The done-when checks: (what, passed, the measured value)."""
    answered = sum(v for k, v in flood.statuses.items() if k.isdigit())
    shed = flood.statuses.get("429", 0) + flood.statuses.get("503", 0)
    p99 = pct(flood.health_ms, 99)
    during = pct(flood.health_during_ms, 99)
    big_ok = all(b["status"] == "413" or b["status"].startswith("dropped") for b in flood.big)
    big_read = max((b["sent_mb"] for b in flood.big), default=0.0)
    slow_ok = len(flood.slow) == args.slow and all(s["seconds"] < 30 for s in flood.slow)
    rows_ok = acc["rows"] == acc["opened"] and not acc["rows_by_state"].get("in_flight")
    acc_ok = (
        rows_ok
        and acc["in_flight"] == 0
        and acc["reserved_j"] == 0
        and acc["measured_j"] <= acc["slot_used_j"] + 1e-6
    )
    checks = [
        (
            "/healthz p99 under 100 ms (whole test / while the 1,000 requests were sent)",
            p99 < 100.0 and during < 100.0,
            f"{p99:.1f} ms / {during:.1f} ms",
        ),
        (
            "every flood request answered (none hung)",
            answered == args.requests,
            f"{answered}/{args.requests}",
        ),
        ("overload shed with 429/503", shed > 0, f"{shed} shed"),
        (
            "100 MB bodies refused while streaming (413 or dropped)",
            big_ok,
            f"{big_read:.1f} MB sent at most",
        ),
        (
            "slow clients let go by the server's deadlines (< 30 s)",
            slow_ok,
            f"{len(flood.slow)} clients",
        ),
        ("no budget accounting lost", acc_ok, f"{acc['rows']} rows for {acc['opened']} opened"),
        (
            "kill -9 mid-flood: same slot energy after restart, up to the in-flight requests",
            kill["ok"],
            f"{kill['used_before_j']:.4f} J -> {kill['used_after_j']:.4f} J",
        ),
    ]
    return checks


def report(
    args: argparse.Namespace, flood: Flood, wall: float, acc: dict[str, Any], kill: dict[str, Any]
) -> tuple[str, bool]:
    from benchmarks.machine import describe

    found = checks(args, flood, acc, kill)
    p99 = pct(flood.health_ms, 99)
    lines = [
        "# `planner serve` under a flood",
        "",
        "`python -m benchmarks.serve_flood` (this file is its output; one run, not a median:",
        "a flood is one event). Loopback, one server process, synthetic busy-loop models.",
        "",
        "Machine (shared, noisy):",
        "",
        *[f"- {line}" for line in describe()],
        f"- server: --workers {args.workers} --max-inflight {args.max_inflight} "
        "--request-timeout 20, slot 3600 s, budget 1e6 J (an hour-long slot, so the restart "
        "finds it)",
        "",
        "## Done-when",
        "",
        "| check | result | ok |",
        "|---|---|:---:|",
        *[f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, ok, value in found],
        "",
        "The `/healthz` check is the one this run can miss on a small machine: the 50 "
        "flooding clients (which ignore `Retry-After` and resend at once), the prober and the "
        "server share the same cores. The server's part: `/healthz` and the 503 refusals are "
        "answered by the HTTP protocol itself from the bytes of one read (before h11, any "
        "task or the app); admitted requests are planned and run by `--request-threads` "
        "threads (default `--workers`), so few threads compete with the event loop for the "
        "GIL; the GIL switch interval is 0.05 ms; `/healthz` takes no lock a request holds.",
        "",
        "## Flood",
        "",
        f"{args.requests} requests from {args.clients} concurrent keep-alive clients in "
        f"{wall:.1f} s ({args.requests / wall:.0f} requests/s), with {args.big} clients "
        f"sending 100 MB bodies, {args.stalled} clients pipelining 200 requests each (for "
        f"the OpenAPI document) and never reading, {args.slow} clients stopping mid-headers "
        "or mid-body.",
        "",
        "| answer | count |",
        "|---|---:|",
        *[f"| {k} | {v} |" for k, v in sorted(flood.statuses.items())],
        "",
        f"Client-side latency of the flood requests: p50 {pct(flood.latency_ms, 50):.0f} ms, "
        f"p99 {pct(flood.latency_ms, 99):.0f} ms.",
        "",
        f"`/healthz` ({len(flood.health_ms)} probes, a fresh connection each, 50 ms apart): "
        f"p50 {pct(flood.health_ms, 50):.1f} ms, p99 {p99:.1f} ms, max "
        f"{max(flood.health_ms, default=0):.1f} ms, {flood.health_fail} without an answer. "
        f"While the {args.requests} requests were being sent ({len(flood.health_during_ms)} "
        f"probes): p50 {pct(flood.health_during_ms, 50):.1f} ms, p99 "
        f"{pct(flood.health_during_ms, 99):.1f} ms.",
        "",
        "100 MB bodies:",
        "",
        "The client keeps writing until it sees the answer; the server reads at most the "
        "1 MB limit of it.",
        "",
        "| sent as | answer | MB the client sent before the answer | seconds |",
        "|---|---|---:|---:|",
        *[
            f"| {b['mode']} | {b['status']} | {b['sent_mb']:.1f} | {b['seconds']:.2f} |"
            for b in flood.big
        ],
        "",
        f"Clients that never read: {flood.stalled_closed}/{args.stalled} connections closed "
        "by the server by the end of the flood (a response that waits 10 s for its reader "
        "is dropped; one that fits the socket buffers is simply written).",
        "",
        "Slow clients:",
        "",
        "| stopped | what the server did | after s |",
        "|---|---|---:|",
        *[f"| {s['what']} | {s['outcome']} | {s['seconds']:.1f} |" for s in flood.slow],
        "",
        "## Accounting after the flood",
        "",
        f"- in flight {acc['in_flight']}, reserved {acc['reserved_j']:.4g} J",
        f"- requests opened by the tracker {acc['opened']}, rows in SQLite {acc['rows']} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(acc['rows_by_state'].items()))})",
        f"- energy measured for the requests {acc['measured_j']:.4f} J, slot total "
        f"{acc['slot_used_j']:.4f} J (the rest is the service's own draw between requests)",
        "",
        "## kill -9 mid-flood, then a restart",
        "",
        f"- slot {kill['slot_before']} before, {kill['slot_after']} after",
        f"- used energy {kill['used_before_j']:.4f} J read just before the kill, "
        f"{kill['used_after_j']:.4f} J after the restart (allowed: up to "
        f"+{kill['allowance_j']:.3f} J for the {kill['in_flight_at_kill']} request(s) in "
        "flight, -0.05 J for one sampling period)",
        f"- request rows marked lost on restart: {kill['lost_rows']}",
        "",
    ]
    return "\n".join(lines), all(ok for _, ok, _ in found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--big", type=int, default=4)
    parser.add_argument("--stalled", type=int, default=20)
    parser.add_argument("--slow", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-inflight", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=180.0, help="bound on the flood")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/serve_flood.md")
    args = parser.parse_args(argv)
    if min(args.requests, args.clients, args.workers, args.max_inflight) < 1:
        print(
            "error: --requests, --clients, --workers, --max-inflight must be >= 1", file=sys.stderr
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="serve-flood-") as tmp:
        workdir = Path(tmp)
        server = start_server(workdir, args)
        try:
            warm_up(server.port)
            print("flood ...", file=sys.stderr, flush=True)
            flood = Flood(server.port, args, seed=1)
            wall = flood.run()
            acc = accounting(server, settle(server.port))
            print("kill -9 mid-flood ...", file=sys.stderr, flush=True)
            kill = kill_mid_flood(workdir, server, args)
        finally:
            server.stop()
    text, ok = report(args, flood, wall, acc, kill)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
