"""Exact presolve: drop candidates that cannot be in any optimal plan, and say why.

Two rules, both exact (every optimal plan of the original problem survives, up to ties):

1. **Breaks a budget alone.** A candidate whose own value, added to the best possible
   values of every other node, already breaks a budget (energy with its own cold load,
   cost, accuracy, the latency bound with the fastest choices elsewhere, its model's
   memory, a per-node accuracy floor) is in no feasible plan. Repeated until nothing
   changes, since each removal tightens the bounds.
2. **Dominated.** Candidate ``j`` dominates ``i`` at the same node when it is at least as
   accurate and no worse on energy, latency, cost, memory and cold-load time and energy
   (ties keep the first row). With a memory budget or cold loads, swapping ``i`` for ``j``
   frees ``i``'s memory and load only if no other node can use ``i``'s model, so then ``i``
   is dropped only when its model key is private to this node (or ``j`` is the same
   model): a shared model is never pruned by dominance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from solvers.model import (
    Candidate,
    SelectionProblem,
    accuracy_floor,
    budget_limit,
    per_row,
    within,
)

_ELSEWHERE = "breaks the {} budget even with the best choices elsewhere"


@dataclass(frozen=True)
class PresolveResult:
    problem: SelectionProblem
    #: kept[v] = original candidate indices kept at node v, in order
    kept: tuple[tuple[int, ...], ...]
    #: reasons[v][i] = why original candidate i of node v was dropped (absent when kept)
    reasons: tuple[dict[int, str], ...]
    #: a node left with no candidate (the problem is then infeasible), else None
    empty_node: int | None = None

    def lift(self, choice: tuple[int, ...]) -> tuple[int, ...]:
        """Map a choice in the reduced problem back to original candidate indices."""
        return tuple(self.kept[v][i] for v, i in enumerate(choice))


def _longest_before_after(
    problem: SelectionProblem, fastest: list[float]
) -> tuple[list[float], list[float]]:
    n = problem.n_nodes
    preds, succs = problem.predecessors(), problem.successors()
    head = [0.0] * n  # longest fastest path strictly before v
    for v in range(n):
        head[v] = max((head[u] + fastest[u] for u in preds[v]), default=0.0)
    tail = [0.0] * n
    for v in reversed(range(n)):
        tail[v] = max((fastest[s] + tail[s] for s in succs[v]), default=0.0)
    return head, tail


def presolve(problem: SelectionProblem) -> PresolveResult:
    """Apply the module's rules; returns the reduced problem and the reasons."""
    n = problem.n_nodes
    alive: list[list[int]] = [list(range(len(c))) for c in problem.candidates]
    reasons: list[dict[int, str]] = [{} for _ in range(n)]
    b = problem.budgets
    mem_by_key = problem.memory_by_key
    loads = problem.load_by_key
    cands = problem.candidates

    if problem.node_min_accuracy is not None:
        for v in range(n):
            floor = problem.node_min_accuracy[v]
            if floor is None:
                continue
            for i in list(alive[v]):
                if cands[v][i].accuracy < floor:
                    alive[v].remove(i)
                    reasons[v][i] = f"below this node's accuracy floor {floor:g}"
    if b.memory_mb is not None:
        for v in range(n):
            for i in list(alive[v]):
                if not within(mem_by_key[cands[v][i].key], b.memory_mb):
                    alive[v].remove(i)
                    reasons[v][i] = "breaks the memory budget alone"

    if b.energy_j is not None:
        energy = per_row(problem, lambda c: c.energy_j)
        load_j = per_row(problem, lambda c: loads[c.key][1])
    if b.cost_usd is not None:
        cost = per_row(problem, lambda c: c.cost_usd)
    if b.min_accuracy is not None:
        log_acc = per_row(problem, lambda c: math.log(c.accuracy))
    if b.latency_ms is not None:
        shape = problem.shape
        dur = per_row(problem, problem.duration)
        # S + its own key's load + (omega + pi) d_i: what candidate i adds itself
        scale = shape.work + shape.path
        own_ms = per_row(problem, lambda c: loads[c.key][0] + scale * problem.duration(c))
    changed = True
    while changed and all(alive):
        changed = False
        if b.energy_j is not None:
            changed |= _drop_sum(alive, reasons, energy, load_j, b.energy_j, "energy")
        if b.cost_usd is not None and all(alive):
            changed |= _drop_sum(alive, reasons, cost, None, b.cost_usd, "cost")
        if not all(alive):
            break
        if b.min_accuracy is not None:
            best = [max(log_acc[v][i] for i in alive[v]) for v in range(n)]
            total = math.fsum(best)
            floor = accuracy_floor(b.min_accuracy)
            for v in range(n):
                rest = total - best[v]
                row = log_acc[v]
                for i in list(alive[v]):
                    if row[i] + rest < floor:
                        alive[v].remove(i)
                        reasons[v][i] = _ELSEWHERE.format("accuracy")
                        changed = True
            if not all(alive):
                break
        if b.latency_ms is not None:
            # the latency bound with candidate i at v and the fastest candidates elsewhere:
            # S + its own key's load + omega (d_i + rest of W) + pi (d_i + longest path
            # through v); every other term is >= 0
            fastest = [min(dur[v][i] for i in alive[v]) for v in range(n)]
            head, tail = _longest_before_after(problem, fastest)
            work_total = math.fsum(fastest)
            cap = budget_limit(b.latency_ms)  # `within`, computed once
            for v in range(n):
                rest = (
                    problem.startup_ms
                    + shape.work * (work_total - fastest[v])
                    + shape.path * (head[v] + tail[v])
                )
                row = own_ms[v]
                for i in list(alive[v]):
                    if row[i] + rest > cap:
                        alive[v].remove(i)
                        reasons[v][i] = _ELSEWHERE.format("latency")
                        changed = True

    empty = next((v for v in range(n) if not alive[v]), None)
    if empty is None:
        _drop_dominated(problem, alive, reasons)
    kept = tuple(tuple(a) for a in alive)
    reduced = problem
    if empty is None:
        # nodes that shared a candidate tuple and kept the same rows share the reduced one
        # (the searches read a shared tuple once)
        shared: dict[tuple[int, tuple[int, ...]], tuple[Candidate, ...]] = {}
        left: list[tuple[Candidate, ...]] = []
        for v in range(n):
            key = (id(cands[v]), kept[v])
            kept_rows = shared.get(key)
            if kept_rows is None:
                kept_rows = shared[key] = tuple(cands[v][i] for i in kept[v])
            left.append(kept_rows)
        reduced = replace(problem, candidates=tuple(left))
    return PresolveResult(reduced, kept, tuple(reasons), empty)


def _drop_sum(
    alive: list[list[int]],
    reasons: list[dict[int, str]],
    value: list[list[float]],
    own_extra: list[list[float]] | None,
    limit: float,
    label: str,
) -> bool:
    """Drop candidates whose value (plus ``own_extra``: its own key's one-off load, paid
    whenever it is chosen) and the least values elsewhere already break ``limit``."""
    n = len(alive)
    best = [min(value[v][i] for i in alive[v]) for v in range(n)]
    total = math.fsum(best)
    changed = False
    cap = budget_limit(limit)  # `within`, computed once
    for v in range(n):
        rest = total - best[v]
        row = value[v]
        extra = own_extra[v] if own_extra is not None else None
        for i in list(alive[v]):
            own = row[i] + extra[i] if extra is not None else row[i]
            if own + rest > cap:
                alive[v].remove(i)
                reasons[v][i] = _ELSEWHERE.format(label)
                changed = True
    return changed


def _drop_dominated(
    problem: SelectionProblem, alive: list[list[int]], reasons: list[dict[int, str]]
) -> None:
    import numpy as np

    cands = problem.candidates
    # a key's memory and cold load are paid once per plan: swapping a shared key out of one
    # node need not save them, so shared keys are then never dropped by dominance
    memory_budgeted = problem.budgets.memory_mb is not None or problem.has_loads
    loads = problem.load_by_key
    nodes_of_key: dict[str, set[int]] = {}
    if memory_budgeted:
        for v in range(problem.n_nodes):
            for i in alive[v]:
                nodes_of_key.setdefault(cands[v][i].key, set()).add(v)
    mem_by_key = problem.memory_by_key
    nodes = [v for v in range(problem.n_nodes) if len(alive[v]) >= 2]
    if not nodes:
        return
    width = max(len(alive[v]) for v in nodes)
    # one table for every node at once, padded with rows no real row is worse than;
    # columns: smaller is better (accuracy negated); a shared candidate tuple is read once
    m = np.full((len(nodes), width, 7), math.inf)
    tables: dict[int, np.ndarray] = {}
    for b, v in enumerate(nodes):
        table = tables.get(id(cands[v]))
        if table is None:
            table = tables[id(cands[v])] = np.array(
                [
                    (
                        -c.accuracy,
                        c.energy_j,
                        c.latency_ms,
                        c.cost_usd,
                        mem_by_key[c.key],
                        *loads[c.key],
                    )
                    for c in cands[v]
                ],
                dtype=float,
            ).reshape(len(cands[v]), 7)
        m[b, : len(alive[v])] = table[alive[v]]
    # le[b, j, i]: row j no worse than row i at node b; lt: strictly better somewhere
    # (the metric axis first, so the reductions run over whole slices)
    mt = np.ascontiguousarray(m.transpose(2, 0, 1))
    rows_j, rows_i = mt[:, :, :, None], mt[:, :, None, :]
    le = np.logical_and.reduce(rows_j <= rows_i, axis=0)
    lt = np.logical_or.reduce(rows_j < rows_i, axis=0)
    order = np.arange(width)
    dominates = le & (lt | (order[:, None] < order[None, :]))
    dominates[:, order, order] = False
    dominated = dominates.any(axis=1).tolist()  # [node][i]
    first = dominates.argmax(axis=1).tolist()  # the first dominating row
    for b, v in enumerate(nodes):
        idx = alive[v]
        if not any(dominated[b][: len(idx)]):
            continue
        drop: list[int] = []
        for col, i in enumerate(idx):
            if not dominated[b][col]:
                continue
            if memory_budgeted:
                key = cands[v][i].key
                private = nodes_of_key.get(key, set()) <= {v}
                by = [
                    r
                    for r in np.nonzero(dominates[b, :, col])[0]
                    if private or cands[v][idx[r]].key == key
                ]
                if not by:
                    continue
                j = idx[int(by[0])]
            else:
                j = idx[first[b][col]]
            # a dominator that is itself dropped is dominated by a survivor (transitivity)
            drop.append(i)
            reasons[v][i] = f"dominated by {cands[v][j].key}"
        alive[v] = [i for i in idx if i not in drop]
