"""An independent, deliberately naive oracle for the planning semantics (tests only).

It re-implements DESIGN.md's "Core semantics" from the `Problem` directly with itertools and
networkx, sharing no code with `solvers/`, so that a bug there cannot hide here.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
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


def plan_metrics(problem: Problem, assignment: dict[str, str]) -> dict[str, float]:
    graph = problem.graph.to_networkx()
    rows = {(m.id, m.task): m for m in problem.candidates}
    chosen = {v: rows[(assignment[v], graph.nodes[v]["task"])] for v in graph.nodes}
    energy = sum(m.energy_j for m in chosen.values())
    cost = sum(m.cost_usd for m in chosen.values())
    accuracy = math.prod(m.accuracy for m in chosen.values())
    mem_of: dict[str, float] = {}
    for m in problem.candidates:
        mem_of[m.id] = max(mem_of.get(m.id, 0.0), m.memory_mb)
    memory = sum(mem_of[i] for i in {m.id for m in chosen.values()})
    if problem.execution == "parallel":
        finish: dict[str, float] = {}
        for v in nx.topological_sort(graph):
            start = max((finish[u] for u in graph.predecessors(v)), default=0.0)
            finish[v] = start + chosen[v].latency_ms
        latency = max(finish.values())
    else:
        latency = sum(m.latency_ms for m in chosen.values())
    return {
        "energy_j": energy,
        "latency_ms": latency,
        "accuracy": accuracy,
        "memory_mb": memory,
        "cost_usd": cost,
    }


def scales(problem: Problem) -> tuple[float, float, float]:
    graph = problem.graph.to_networkx()

    def worst(attr: str, v: str) -> float:
        return max(getattr(m, attr) for m in problem.candidates if m.task == graph.nodes[v]["task"])

    e_ref = sum(worst("energy_j", v) for v in graph.nodes) or 1.0
    c_ref = sum(worst("cost_usd", v) for v in graph.nodes) or 1.0
    if problem.execution == "parallel":
        finish: dict[str, float] = {}
        for v in nx.topological_sort(graph):
            finish[v] = worst("latency_ms", v) + max(
                (finish[u] for u in graph.predecessors(v)), default=0.0
            )
        l_ref = max(finish.values()) or 1.0
    else:
        l_ref = sum(worst("latency_ms", v) for v in graph.nodes) or 1.0
    return e_ref, l_ref, c_ref


def objective(problem: Problem, metrics: dict[str, float]) -> float:
    w = problem.weights
    total = w.energy + w.latency + w.cost
    e_ref, l_ref, c_ref = scales(problem)
    return (
        w.energy * metrics["energy_j"] / e_ref
        + w.latency * metrics["latency_ms"] / l_ref
        + w.cost * metrics["cost_usd"] / c_ref
    ) / total


def feasible(problem: Problem, assignment: dict[str, str], metrics: dict[str, float]) -> bool:
    b = problem.budgets
    if b.energy_j is not None and not _ok(metrics["energy_j"], b.energy_j):
        return False
    if b.latency_ms is not None and not _ok(metrics["latency_ms"], b.latency_ms):
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
    graph = problem.graph.to_networkx()
    order = list(nx.topological_sort(graph))
    pos = {v: k for k, v in enumerate(order)}
    preds = [[pos[u] for u in graph.predecessors(v)] for v in order]
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
    parallel = problem.execution == "parallel"
    best: tuple[float, tuple[Any, ...]] | None = None
    count = 0
    for combo in itertools.product(*options):
        count += 1
        if any(f is not None and m.accuracy < f for f, m in zip(floors, combo, strict=True)):
            continue
        energy = sum(m.energy_j for m in combo)
        cost = sum(m.cost_usd for m in combo)
        accuracy = math.prod(m.accuracy for m in combo)
        memory = sum(mem_of[i] for i in {m.id for m in combo})
        if parallel:
            finish: list[float] = []
            for k, m in enumerate(combo):
                finish.append(m.latency_ms + max((finish[u] for u in preds[k]), default=0.0))
            latency = max(finish)
        else:
            latency = sum(m.latency_ms for m in combo)
        if b.energy_j is not None and not _ok(energy, b.energy_j):
            continue
        if b.latency_ms is not None and not _ok(latency, b.latency_ms):
            continue
        if b.memory_mb is not None and not _ok(memory, b.memory_mb):
            continue
        if b.cost_usd is not None and not _ok(cost, b.cost_usd):
            continue
        if b.min_accuracy is not None and accuracy < b.min_accuracy * (1 - 1e-7):
            continue
        obj = (
            w.energy * energy / e_ref + w.latency * latency / l_ref + w.cost * cost / c_ref
        ) / wsum
        if best is None or obj < best[0] - 1e-12:
            best = (obj, combo)
    if best is None:
        return OracleResult(False, None, None, count)
    assignment = {v: m.id for v, m in zip(order, best[1], strict=True)}
    return OracleResult(True, best[0], assignment, count)
