"""An independent, deliberately naive oracle for the planning semantics (tests only).

It re-implements DESIGN.md's "Core semantics" from the `Problem` directly with itertools and
networkx, sharing no code with `solvers/`, so that a bug there cannot hide here. The machine
model (`Problem.machine`): node durations are latency + dispatch; cold models load once per
distinct model before the run (time and energy); the latency the budget and objective use
is start-up + loads + the critical path when the workers are at least the DAG's width
(largest antichain, found here by enumeration), else Graham's ``W/k + (1 - 1/k) CP`` (the
sum when sequential); the predicted latency is start-up + loads + the makespan of greedy
list scheduling by bottom level (ties to the lower topological index), simulated here by a
plain time-stepping loop.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import networkx as nx

from planner import Problem


@dataclass
class OracleResult:
    feasible: bool
    objective: float | None
    assignment: dict[str, str] | None
    count: int


def _ok(value: float, limit: float) -> bool:
    return value <= limit + 1e-7 + 1e-9 * abs(limit)


class _Machine:
    """The problem's graph and machine in plain lists (topological order of the planner)."""

    def __init__(self, problem: Problem) -> None:
        self.order = problem.graph.topological_order()
        graph = problem.graph.to_networkx()
        pos = {v: k for k, v in enumerate(self.order)}
        self.preds = [sorted(pos[u] for u in graph.predecessors(v)) for v in self.order]
        self.succs = [sorted(pos[u] for u in graph.successors(v)) for v in self.order]
        m = problem.machine
        self.parallel = problem.execution == "parallel"
        self.k = m.resolved_workers() if self.parallel else 1
        self.dispatch = m.dispatch_ms
        self.startup = m.startup_ms
        self.width = _width(len(self.order), tuple(map(tuple, self.preds)))
        tasks = {node.task for node in problem.graph.nodes}
        usable = [x for x in problem.candidates if x.task in tasks]
        self.cold = {x.id for x in usable if m.cold and x.id not in m.resident}
        self.load_ms: dict[str, float] = {}
        self.load_j: dict[str, float] = {}
        for x in usable:
            if x.id in self.cold:
                self.load_ms[x.id] = max(self.load_ms.get(x.id, 0.0), x.load_ms or 0.0)
                self.load_j[x.id] = max(self.load_j.get(x.id, 0.0), x.load_energy_j or 0.0)

    def critical_path(self, d: list[float]) -> float:
        finish: list[float] = []
        for v in range(len(d)):
            finish.append(d[v] + max((finish[u] for u in self.preds[v]), default=0.0))
        return max(finish, default=0.0)

    def bound(self, d: list[float]) -> float:
        if not self.parallel:
            return sum(d)
        cp = self.critical_path(d)
        if self.k >= self.width:
            return cp
        return sum(d) / self.k + (1 - 1 / self.k) * cp

    def simulate(self, d: list[float]) -> float:
        n = len(d)
        level = [0.0] * n
        for v in reversed(range(n)):
            level[v] = d[v] + max((level[s] for s in self.succs[v]), default=0.0)
        done_at: dict[int, float] = {}
        running: dict[int, float] = {}
        now = 0.0
        while len(done_at) < n:
            ready = [
                v
                for v in range(n)
                if v not in done_at
                and v not in running
                and all(u in done_at and done_at[u] <= now for u in self.preds[v])
            ]
            ready.sort(key=lambda v: (-level[v], v))
            for v in ready[: self.k - len(running)]:
                running[v] = now + d[v]
            now = min(running.values())
            for v in [v for v, t in running.items() if t <= now]:
                done_at[v] = running.pop(v)
        return max(done_at.values(), default=0.0)


@cache
def _width(n: int, preds: tuple[tuple[int, ...], ...]) -> int:
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((u, v) for v in range(n) for u in preds[v])
    closure = nx.transitive_closure_dag(g)
    best = 1 if n else 0
    for size in range(2, n + 1):
        if any(
            all(
                not closure.has_edge(a, b) and not closure.has_edge(b, a)
                for a, b in itertools.combinations(group, 2)
            )
            for group in itertools.combinations(range(n), size)
        ):
            best = size
        else:
            break
    return best


def _totals(mach: _Machine, combo: tuple[Any, ...]) -> dict[str, float]:
    keys = {m.id for m in combo}
    loads_ms = sum(mach.load_ms.get(k, 0.0) for k in keys)
    loads_j = sum(mach.load_j.get(k, 0.0) for k in keys)
    d = [m.latency_ms + mach.dispatch for m in combo]
    fixed = mach.startup + loads_ms
    return {
        "energy_j": sum(m.energy_j for m in combo) + loads_j,
        "latency_bound_ms": fixed + mach.bound(d),
        "cost_usd": sum(m.cost_usd for m in combo),
        "accuracy": math.prod(m.accuracy for m in combo),
        "_d": d,  # type: ignore[dict-item]
        "_fixed": fixed,
    }


def plan_metrics(problem: Problem, assignment: dict[str, str]) -> dict[str, float]:
    mach = _Machine(problem)
    graph = problem.graph.to_networkx()
    rows = {(m.id, m.task): m for m in problem.candidates}
    combo = tuple(rows[(assignment[v], graph.nodes[v]["task"])] for v in mach.order)
    t = _totals(mach, combo)
    mem_of: dict[str, float] = {}
    for m in problem.candidates:
        mem_of[m.id] = max(mem_of.get(m.id, 0.0), m.memory_mb)
    d = t.pop("_d")  # type: ignore[misc]
    fixed = t.pop("_fixed")
    t["latency_ms"] = fixed + (mach.simulate(d) if mach.parallel else sum(d))  # type: ignore[arg-type]
    t["memory_mb"] = sum(mem_of[i] for i in {m.id for m in combo})
    return t


def scales(problem: Problem) -> tuple[float, float, float]:
    mach = _Machine(problem)
    graph = problem.graph.to_networkx()

    def worst(attr: str, v: str) -> float:
        return max(getattr(m, attr) for m in problem.candidates if m.task == graph.nodes[v]["task"])

    e_ref = sum(worst("energy_j", v) for v in graph.nodes) + sum(mach.load_j.values()) or 1.0
    c_ref = sum(worst("cost_usd", v) for v in graph.nodes) or 1.0
    d = [worst("latency_ms", v) + mach.dispatch for v in mach.order]
    l_ref = mach.startup + sum(mach.load_ms.values()) + mach.bound(d) or 1.0
    return e_ref, l_ref, c_ref


def objective(problem: Problem, metrics: dict[str, float]) -> float:
    w = problem.weights
    total = w.energy + w.latency + w.cost
    e_ref, l_ref, c_ref = scales(problem)
    return (
        w.energy * metrics["energy_j"] / e_ref
        + w.latency * metrics["latency_bound_ms"] / l_ref
        + w.cost * metrics["cost_usd"] / c_ref
    ) / total


def feasible(problem: Problem, assignment: dict[str, str], metrics: dict[str, float]) -> bool:
    b = problem.budgets
    if b.energy_j is not None and not _ok(metrics["energy_j"], b.energy_j):
        return False
    if b.latency_ms is not None and not _ok(metrics["latency_bound_ms"], b.latency_ms):
        return False
    if b.memory_mb is not None and not _ok(metrics["memory_mb"], b.memory_mb):
        return False
    if b.cost_usd is not None and not _ok(metrics["cost_usd"], b.cost_usd):
        return False
    if b.min_accuracy is not None and metrics["accuracy"] < b.min_accuracy * (1 - 1e-7):
        return False
    rows = {(m.id, m.task): m for m in problem.candidates}
    for node, floor in b.node_min_accuracy.items():
        task = problem.graph.node(node).task
        if rows[(assignment[node], task)].accuracy < floor:
            return False
    return True


def brute_force(problem: Problem) -> OracleResult:
    """Enumerate every assignment (precomputed per-node rows; plain Python arithmetic)."""
    mach = _Machine(problem)
    graph = problem.graph.to_networkx()
    order = mach.order
    rows_by_task: dict[str, list[Any]] = {}
    for m in sorted(problem.candidates, key=lambda m: m.id):
        rows_by_task.setdefault(m.task, []).append(m)
    options = [rows_by_task[graph.nodes[v]["task"]] for v in order]
    mem_of: dict[str, float] = {}
    for m in problem.candidates:
        mem_of[m.id] = max(mem_of.get(m.id, 0.0), m.memory_mb)
    b = problem.budgets
    floors = [b.node_min_accuracy.get(v) for v in order]
    w = problem.weights
    wsum = w.energy + w.latency + w.cost
    e_ref, l_ref, c_ref = scales(problem)
    best: tuple[float, tuple[Any, ...]] | None = None
    count = 0
    for combo in itertools.product(*options):
        count += 1
        if any(f is not None and m.accuracy < f for f, m in zip(floors, combo, strict=True)):
            continue
        t = _totals(mach, combo)
        memory = sum(mem_of[i] for i in {m.id for m in combo})
        if b.energy_j is not None and not _ok(t["energy_j"], b.energy_j):
            continue
        if b.latency_ms is not None and not _ok(t["latency_bound_ms"], b.latency_ms):
            continue
        if b.memory_mb is not None and not _ok(memory, b.memory_mb):
            continue
        if b.cost_usd is not None and not _ok(t["cost_usd"], b.cost_usd):
            continue
        if b.min_accuracy is not None and t["accuracy"] < b.min_accuracy * (1 - 1e-7):
            continue
        obj = (
            w.energy * t["energy_j"] / e_ref
            + w.latency * t["latency_bound_ms"] / l_ref
            + w.cost * t["cost_usd"] / c_ref
        ) / wsum
        if best is None or obj < best[0] - 1e-12:
            best = (obj, combo)
    if best is None:
        return OracleResult(False, None, None, count)
    assignment = {v: m.id for v, m in zip(order, best[1], strict=True)}
    return OracleResult(True, best[0], assignment, count)
