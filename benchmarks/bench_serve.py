"""Load test of `planner serve` on 127.0.0.1 (a command, not a test; it stops by itself).

    python -m benchmarks.bench_serve [--clients 4] [--rate 30] [--slot-s 2] [--slots 3]
        [--slot-energy-j 8] [--plan-repeats 300] [--meter estimate]
        [--out benchmarks/results/serve.md]

Two parts, each against a fresh server process started on a free loopback port:

1. **Plan latency at 10 x 10**: `/v1/plan` for the 10-node graphs of
   `benchmarks.instances` (10 candidates per node, three budgets), sent one at a time;
   the median and p99 client-side latency (HTTP included), and the server's selection time.
2. **Policies under a slot budget**: ``--clients`` clients send a seeded mix of requests
   (two-node graph runs, text runs, three-node plans) at ``--rate`` requests per second in all
   for one warm-up slot and ``--slots`` measured slots, against three servers in turn:
   - *tracker + ILP*: the service with ``--slot-energy-j`` and policy reject, requests asking
     for the most accurate plan the slot allows (``goal: accuracy``);
   - *always most accurate*: no slot budget, the most accurate plan every time;
   - *always cheapest*: no slot budget, the least-energy plan every time.
   For each: throughput, p50/p99 of `/v1/plan` and `/v1/run`, selection latency, rejection
   rate, energy of each measured slot against the budget (from the server's SQLite state),
   budget violations (slots over it), and accuracy per joule: the summed end-to-end accuracy
   of the runs served over the energy the server used in the measured slots.

The models are synthetic (they burn CPU for a set time: energy on this machine is the
CPU-time estimate, 10 W per busy core); the numbers measure the service, not any model.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WATTS = 10.0
TASKS = ("Summarization", "Translation", "Text-to-Speech")
#: (size, accuracy, CPU seconds per call)
SIZES = (("large", 0.95, 0.1), ("medium", 0.85, 0.02), ("small", 0.7, 0.005))


def burn(inputs: dict[str, Any], cpu_s: float = 0.05, tag: str = "") -> dict[str, Any]:
    """A synthetic model: busy-loops for ``cpu_s`` seconds of CPU time."""
    end = time.process_time() + cpu_s
    x = 0
    while time.process_time() < end:
        x += 1
    text = " ".join(str(v) for _, v in sorted(inputs.items()) if isinstance(v, str))
    return {"text": f"{text}|{tag}".strip("|")}


def burn_catalog(
    sizes: tuple[tuple[str, float, float], ...] = SIZES,
    reference: str = "benchmarks/bench_serve.py (busy loop)",
) -> dict[str, Any]:
    """Synthetic busy-loop models, one per (task, size): ``sizes`` holds (name, accuracy,
    CPU seconds per call)."""
    rows = []
    for task in TASKS:
        for size, accuracy, cpu_s in sizes:
            mid = f"{task.lower().replace('-', '').replace(' ', '')}-{size}"
            rows.append(
                {
                    "id": mid,
                    "task": task,
                    "accuracy": accuracy,
                    "latency_ms": cpu_s * 1000,
                    "energy_j": cpu_s * WATTS,
                    "memory_mb": 5,
                    "provenance": {
                        "source": "synthetic",
                        "energy_source": "estimate",
                        "reference": reference,
                    },
                    "adapter": {
                        "kind": "python",
                        "target": "benchmarks.bench_serve:burn",
                        "options": {"cpu_s": cpu_s, "tag": mid},
                    },
                }
            )
    return {"models": rows}


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, workdir: Path, catalog: dict[str, Any], *args: str, meter: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.state = workdir / f"state-{self.port}"
        path = workdir / f"catalog-{self.port}.json"
        path.write_text(json.dumps(catalog))
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "PLANNER_ENERGY_METER": meter,
            "PLANNER_WATTS_PER_CORE": str(WATTS),
        }
        cmd = [sys.executable, "-m", "planner", "serve", "--port", str(self.port)]
        cmd += ["--catalog", str(path), "--state-dir", str(self.state), *args]
        self.log = open(workdir / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=self.log, stderr=self.log)

    def wait(self, timeout_s: float = 90.0) -> Any:
        from planner.client import Client, ServeError

        client = Client(f"http://127.0.0.1:{self.port}", timeout_s=60)
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"error: the server exited (log: {self.log.name})")
            try:
                client.health()
                return client
            except ServeError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("error: the server did not start in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def slots(self, slot_s: float, start: float, end: float) -> list[tuple[float, float]]:
        with sqlite3.connect(self.state / "slots.sqlite") as db:
            rows = db.execute(
                "SELECT start_unix, used_j FROM slots WHERE slot_s=? AND start_unix>=? "
                "AND start_unix<? ORDER BY start_unix",
                (slot_s, start, end),
            ).fetchall()
        return [(float(a), float(b)) for a, b in rows]


def pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    data = sorted(values)
    k = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


# --------------------------------------------------------------------------- part 1


def plan_latency(workdir: Path, repeats: int, meter: str) -> dict[str, Any]:
    from benchmarks.instances import instance, problem_data

    datas = [problem_data(instance(10, 10, seed)) for seed in range(3)]
    models: dict[tuple[str, str], Any] = {}
    for data in datas:
        for m in data["models"]:  # type: ignore[attr-defined]
            models[(m["id"], m["task"])] = m
    server = Server(workdir, {"models": list(models.values())}, meter=meter)
    try:
        client = server.wait()
        bodies = [
            {"graph": d["graph"], "budgets": d["budgets"], "weights": d["weights"]} for d in datas
        ]
        out: dict[str, Any] = {}
        for goal in ("objective", "accuracy"):
            # the accuracy goal probes hard floors at 10 x 10: fewer repeats keep it bounded
            n = repeats if goal == "objective" else max(15, repeats // 10)
            for i in range(min(20, n)):  # warm-up
                client.plan(**bodies[i % 3], goal=goal)
            wall, selection, solves, statuses = [], [], [], []
            for i in range(n):
                t0 = time.perf_counter()
                plan = client.plan(**bodies[i % 3], goal=goal)
                wall.append((time.perf_counter() - t0) * 1000)
                selection.append(plan["serve"]["selection_ms"])
                solves.append(plan["serve"]["solves"])
                statuses.append(plan["status"])
            out[goal] = {
                "p50_ms": statistics.median(wall),
                "p99_ms": pct(wall, 99),
                "selection_p50_ms": statistics.median(selection),
                "solves_mean": statistics.fmean(solves),
                "statuses": sorted(set(statuses)),
                "n": n,
            }
        return out
    finally:
        server.stop()


# --------------------------------------------------------------------------- part 2

GRAPH = {
    "nodes": [
        {"id": "tr", "task": "Translation", "args": {"text": "$text"}},
        {"id": "say", "task": "Text-to-Speech", "args": {"text": "<tr>"}},
    ]
}
WIDE = {
    "nodes": [
        {"id": "s1", "task": "Summarization"},
        {"id": "s2", "task": "Summarization"},
        {"id": "t1", "task": "Translation", "args": {"text": "<s1> <s2>"}},
    ]
}
POLICIES: dict[str, dict[str, Any]] = {
    "tracker + ILP": {"goal": "accuracy"},
    "always most accurate": {"goal": "accuracy"},
    "always cheapest": {"goal": "objective", "weights": {"energy": 1.0, "latency": 0.0}},
}


def load_phase(workdir: Path, name: str, args: argparse.Namespace) -> dict[str, Any]:
    from planner.client import Rejected, ServeError

    extra = POLICIES[name]
    flags = ["--slot-s", str(args.slot_s), "--workers", str(args.workers)]
    if name == "tracker + ILP":
        flags += ["--slot-energy-j", str(args.slot_energy_j)]
    server = Server(workdir, burn_catalog(), *flags, meter=args.meter)
    try:
        client = server.wait()
        slot_s = args.slot_s
        time.sleep(slot_s - time.time() % slot_s + 0.05)
        t_warm = time.time()
        t_start = t_warm + slot_s
        t_stop = t_start + args.slots * slot_s - 0.2
        per_client = args.rate / args.clients
        lock = threading.Lock()
        records: list[dict[str, Any]] = []

        def worker(seed: int) -> None:
            rng = random.Random(f"{seed}")  # the same stream for every policy
            due = t_warm + rng.random() / per_client
            while due < t_stop:
                time.sleep(max(0.0, due - time.time()))
                kind = rng.choice(["run", "run", "run_text", "plan"])
                t0 = time.perf_counter()
                rec: dict[str, Any] = {"kind": kind, "due": due}
                try:
                    if kind == "run":
                        body = client.run(graph=GRAPH, inputs={"text": "hello"}, **extra)
                    elif kind == "run_text":
                        body = client.run(request="Summarize this text: the cat sat", **extra)
                    else:
                        body = client.plan(graph=WIDE, **extra)
                    rec["status"] = 200
                    plan = body["plan"] if "plan" in body and kind != "plan" else body
                    serve = body["serve"]
                    rec["selection_ms"] = serve["selection_ms"]
                    rec["accuracy"] = plan["totals"]["accuracy"] if plan.get("totals") else 0.0
                    rec["plan_energy_j"] = plan["totals"]["energy_j"] if plan.get("totals") else 0
                except Rejected as exc:
                    rec["status"] = exc.status
                except ServeError as exc:
                    rec["status"] = exc.status or -1
                rec["ms"] = (time.perf_counter() - t0) * 1000
                with lock:
                    records.append(rec)
                due += rng.expovariate(per_client)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_end = time.time()
        time.sleep(0.3)  # the last samples reach the state file
    finally:
        server.stop()
    # the same requests for every policy (by their due time); the energy of every slot from
    # the first measured one until the last request finished (a slow policy's backlog counts)
    measured = [r for r in records if r["due"] >= t_start]
    first = math.floor(t_start / slot_s) * slot_s
    slots = server.slots(slot_s, first, t_end)
    slot_energy = [used for _, used in slots]
    served_runs = [r for r in measured if r["status"] == 200 and r["kind"] != "plan"]
    energy = sum(slot_energy)
    duration = t_stop - t_start
    plan_ms = [r["ms"] for r in measured if r["kind"] == "plan" and r["status"] == 200]
    run_ms = [r["ms"] for r in measured if r["kind"] != "plan" and r["status"] == 200]
    return {
        "requests": len(measured),
        "throughput_rps": len(measured) / duration,
        "served_rps": sum(r["status"] == 200 for r in measured) / duration,
        "plan_p50_ms": pct(plan_ms, 50),
        "plan_p99_ms": pct(plan_ms, 99),
        "run_p50_ms": pct(run_ms, 50),
        "run_p99_ms": pct(run_ms, 99),
        "selection_p50_ms": pct([r["selection_ms"] for r in measured if "selection_ms" in r], 50),
        "rejection_rate": sum(r["status"] in (429, 503) for r in measured) / max(1, len(measured)),
        "errors": sum(r["status"] not in (200, 429, 503) for r in measured),
        "runs_served": len(served_runs),
        "accuracy_sum": sum(r["accuracy"] for r in served_runs),
        "mean_accuracy": statistics.fmean([r["accuracy"] for r in served_runs] or [math.nan]),
        "slot_energy_j": slot_energy,
        "energy_j": energy,
        "accuracy_per_joule": sum(r["accuracy"] for r in served_runs) / energy if energy else 0,
        "violations": sum(e > args.slot_energy_j for e in slot_energy),
    }


# --------------------------------------------------------------------------- report


def report(args: argparse.Namespace, latency: dict[str, Any], phases: dict[str, Any]) -> str:
    from benchmarks.machine import describe

    lines = [
        "# `planner serve` load test",
        "",
        f"`python -m benchmarks.bench_serve --clients {args.clients} --rate {args.rate:g} "
        f"--slot-s {args.slot_s:g} --slots {args.slots} --slot-energy-j {args.slot_energy_j:g} "
        f"--plan-repeats {args.plan_repeats}`",
        "",
        *[f"- {line}" for line in describe()],
        f"- energy meter: {args.meter} (process CPU time x {WATTS:g} W per busy core); "
        "server and clients on this machine, 127.0.0.1",
        "- the machine is shared with other jobs: latencies are under their load; ratios "
        "between policies are measured side by side in one run",
        "",
        "## `/v1/plan` at 10 nodes x 10 candidates, three budgets",
        "",
        "One request at a time, over the three 10-node instances of `benchmarks.instances` "
        "(seeds 0-2); end-to-end latency measured by the client (HTTP on loopback included).",
        "",
        "| goal | requests | p50 ms | p99 ms | server selection p50 ms | solves per plan | "
        "statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    for goal, r in latency.items():
        lines.append(
            f"| {goal} | {r['n']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['selection_p50_ms']:.2f} | {r['solves_mean']:.2f} | {', '.join(r['statuses'])} |"
        )
    lines += [
        "",
        "## Three policies, same request stream",
        "",
        f"{args.clients} clients, {args.rate:g} requests/s in all (Poisson, seeded), one warm-up "
        f"slot then {args.slots} measured slots of {args.slot_s:g} s; slot budget "
        f"{args.slot_energy_j:g} J (enforced only by the tracker; the others are measured "
        "against it). Mix: 1/2 two-node graph runs, 1/4 text runs, 1/4 three-node plans. "
        "Accuracy per joule: summed end-to-end accuracy of the runs served / energy the server "
        "used in the measured slots (models, HTTP, selection, refusals).",
        "",
        "| policy | requests | served/s | rejected | plan p50/p99 ms | run p50/p99 ms | "
        "selection p50 ms | runs served | mean accuracy | energy per slot J | violations | "
        "accuracy per J |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in phases.items():
        slots = ", ".join(f"{e:.2f}" for e in r["slot_energy_j"])
        lines.append(
            f"| {name} | {r['requests']} | {r['served_rps']:.1f} | "
            f"{100 * r['rejection_rate']:.0f}% | {r['plan_p50_ms']:.1f} / "
            f"{r['plan_p99_ms']:.1f} | {r['run_p50_ms']:.1f} / "
            f"{r['run_p99_ms']:.1f} | {r['selection_p50_ms']:.2f} | {r['runs_served']} | "
            f"{r['mean_accuracy']:.3f} | {slots} | {r['violations']}/{len(r['slot_energy_j'])} "
            f"| {r['accuracy_per_joule']:.3f} |"
        )
    tracker = phases.get("tracker + ILP")
    accurate = phases.get("always most accurate")
    if tracker and accurate and accurate["accuracy_per_joule"]:
        ratio = tracker["accuracy_per_joule"] / accurate["accuracy_per_joule"]
        lines += [
            "",
            f"Tracker + ILP against always most accurate: **{ratio:.2f}x** the accuracy per "
            f"joule, {tracker['violations']} budget violation(s) against "
            f"{accurate['violations']}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=30.0, help="requests/s, all clients")
    parser.add_argument("--slot-s", type=float, default=2.0)
    parser.add_argument("--slots", type=int, default=3)
    parser.add_argument("--slot-energy-j", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--plan-repeats", type=int, default=300)
    parser.add_argument("--meter", default="estimate", choices=["estimate", "auto", "rapl"])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/serve.md")
    args = parser.parse_args(argv)
    if args.slots < 1 or args.clients < 1 or args.rate <= 0 or args.slot_s <= 0:
        print("error: --slots, --clients, --rate and --slot-s must be positive", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        workdir = Path(tmp)
        print("plan latency at 10 x 10 ...", file=sys.stderr, flush=True)
        latency = plan_latency(workdir, args.plan_repeats, args.meter)
        phases = {}
        for name in POLICIES:
            print(f"load: {name} ...", file=sys.stderr, flush=True)
            phases[name] = load_phase(workdir, name, args)
    text = report(args, latency, phases)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
