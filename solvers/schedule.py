r"""List scheduling on ``k`` workers: the policy the executor follows, simulated for plans.

Pure functions over node indices ``0..n-1`` in a topological order (edges ``(u, v)`` with
``u < v``), shared by the solver (to predict a plan's latency and bound it) and by the
executor (to pick which ready node runs next), so that prediction and execution follow one
policy by construction.

The policy (greedy list scheduling with static priorities):

- a node is *ready* when all its predecessors have finished;
- whenever a worker is free and a node is ready, the ready node with the highest priority
  starts at once (no worker ever idles while a node is ready);
- the priority of ``v`` is its *bottom level*
  :math:`b_v = d_v + \max_{s \in succ(v)} b_s` (the longest remaining path, ``v`` included,
  computed from the predicted durations); ties go to the lower node index.

Makespan bounds, for durations :math:`d` (predicted latency plus per-node dispatch overhead),
total work :math:`W = \sum_v d_v` and critical path :math:`CP` (longest path):

- any greedy list schedule on :math:`k` workers finishes within Graham's bound
  :math:`W/k + (1 - 1/k)\,CP` (Graham 1966/1969), whatever its priorities;
- at every instant the running and ready nodes form an antichain of the DAG (none is an
  ancestor of another), so with :math:`k \ge` the DAG's width (largest antichain) no ready node
  ever waits and the makespan is exactly :math:`CP`.

`latency_bound` returns the tighter of these that applies; it is linear in the durations once
``k`` and the width are fixed, which is what the ILP constrains.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """A simulated list schedule: per node its start, finish and worker; the dispatch order."""

    start: tuple[float, ...]
    finish: tuple[float, ...]
    worker: tuple[int, ...]
    order: tuple[int, ...]
    makespan: float


def _adjacency(n: int, edges: Sequence[tuple[int, int]]) -> tuple[list[list[int]], list[list[int]]]:
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        if not 0 <= u < v < n:
            raise ValueError(f"edge {(u, v)} must go from a lower to a higher node index < {n}")
        preds[v].append(u)
        succs[u].append(v)
    return preds, succs


Adjacency = tuple[list[list[int]], list[list[int]]]


def adjacency(n: int, edges: Sequence[tuple[int, int]]) -> Adjacency:
    """(predecessors, successors) of each node, checked: for callers that run several of
    this module's functions on one DAG (pass it as ``adj``)."""
    return _adjacency(n, edges)


def bottom_levels(
    durations: Sequence[float], edges: Sequence[tuple[int, int]], adj: Adjacency | None = None
) -> list[float]:
    """Longest remaining path from each node to a sink, the node's own duration included."""
    n = len(durations)
    _, succs = adj if adj is not None else _adjacency(n, edges)
    level = [0.0] * n
    for v in reversed(range(n)):
        level[v] = float(durations[v]) + max((level[s] for s in succs[v]), default=0.0)
    return level


def critical_path(durations: Sequence[float], edges: Sequence[tuple[int, int]]) -> float:
    """Length of the longest node-weighted path (the makespan with unlimited workers)."""
    return max(bottom_levels(durations, edges), default=0.0)


def list_schedule(
    durations: Sequence[float],
    edges: Sequence[tuple[int, int]],
    workers: int | None,
    priority: Sequence[float] | None = None,
    adj: Adjacency | None = None,
) -> Schedule:
    """Simulate the module's policy on ``workers`` slots (``None``: one slot per node).

    ``priority`` defaults to the bottom levels of ``durations``; the executor passes the
    bottom levels of the *predicted* durations while the real durations vary, so both use
    the same order of preference.
    """
    n = len(durations)
    k = n if workers is None else workers
    if k < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    preds, succs = adj if adj is not None else _adjacency(n, edges)
    prio = list(priority) if priority is not None else bottom_levels(durations, edges, adj)
    waiting = [len(p) for p in preds]
    ready: list[tuple[float, int]] = [(-prio[v], v) for v in range(n) if waiting[v] == 0]
    heapq.heapify(ready)
    free = list(range(min(k, n) if n else 0))
    heapq.heapify(free)
    running: list[tuple[float, int, int]] = []  # (finish, node, worker)
    start = [0.0] * n
    finish = [0.0] * n
    worker = [0] * n
    order: list[int] = []
    now = 0.0
    while ready or running:
        while ready and free:
            _, v = heapq.heappop(ready)
            w = heapq.heappop(free)
            start[v], worker[v] = now, w
            finish[v] = now + float(durations[v])
            order.append(v)
            heapq.heappush(running, (finish[v], v, w))
        # advance to the next completion; release every node finishing at that instant
        now, v, w = heapq.heappop(running)
        done = [(v, w)]
        while running and running[0][0] <= now:
            _, v2, w2 = heapq.heappop(running)
            done.append((v2, w2))
        for v, w in done:
            heapq.heappush(free, w)
            for s in succs[v]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, (-prio[s], s))
    return Schedule(
        tuple(start), tuple(finish), tuple(worker), tuple(order), max(finish, default=0.0)
    )


def dag_width(n: int, edges: Sequence[tuple[int, int]]) -> int:
    """Size of the largest antichain (Dilworth: ``n`` minus a maximum matching of the
    transitive closure's bipartite split)."""
    if n == 0:
        return 0
    preds, _ = _adjacency(n, edges)
    reach: list[set[int]] = [set() for _ in range(n)]  # ancestors of each node
    for v in range(n):
        for u in preds[v]:
            reach[v] |= reach[u] | {u}
    if n <= SMALL_MATCHING:
        return n - _matching_size(n, reach)
    import networkx as nx  # only when a worker limit is below the node count

    bip = nx.Graph()
    left = [("a", u) for u in range(n)]
    bip.add_nodes_from(left, bipartite=0)
    bip.add_nodes_from((("b", v) for v in range(n)), bipartite=1)
    bip.add_edges_from((("a", u), ("b", v)) for v in range(n) for u in reach[v])
    matching = nx.bipartite.hopcroft_karp_matching(bip, top_nodes=left)
    return n - len(matching) // 2


#: Up to this many nodes `dag_width` matches by simple augmenting paths (Kuhn) in plain
#: Python, which is faster there than building a networkx graph for Hopcroft-Karp; both
#: find a maximum matching, whose size is unique.
SMALL_MATCHING = 64


def _matching_size(n: int, ancestors: list[set[int]]) -> int:
    """Size of a maximum matching of the bipartite split (u on the left, v on the right,
    an edge when u is an ancestor of v)."""
    descendants: list[list[int]] = [[] for _ in range(n)]
    for v in range(n):
        for u in sorted(ancestors[v]):
            descendants[u].append(v)
    owner = [-1] * n  # right node v -> its matched left node

    def augment(u: int, seen: list[bool]) -> bool:
        for v in descendants[u]:
            if not seen[v]:
                seen[v] = True
                if owner[v] < 0 or augment(owner[v], seen):
                    owner[v] = u
                    return True
        return False

    return sum(1 for u in range(n) if augment(u, [False] * n))


def wider_than(n: int, edges: Sequence[tuple[int, int]], k: int) -> bool:
    """Whether the DAG's width exceeds ``k``. Nodes of equal depth (longest edge count from
    a source) form an antichain, so a layer of more than ``k`` nodes answers at once; only
    graphs with narrow layers need the exact `dag_width`."""
    if n <= k:
        return False
    preds, _ = _adjacency(n, edges)
    depth = [0] * n
    for v in range(n):
        depth[v] = max((depth[u] + 1 for u in preds[v]), default=0)
    layer: dict[int, int] = {}
    for dv in depth:
        layer[dv] = layer.get(dv, 0) + 1
    if max(layer.values()) > k:
        return True
    return dag_width(n, edges) > k


def latency_bound(
    durations: Sequence[float],
    edges: Sequence[tuple[int, int]],
    workers: int | None,
    width: int | None = None,
) -> float:
    """A makespan no list schedule of the module's policy exceeds: the critical path when
    ``workers`` is ``None`` or at least the DAG's width, else Graham's bound."""
    n = len(durations)
    cp = critical_path(durations, edges)
    if workers is None or workers >= n:
        return cp
    if width is None:
        width = dag_width(n, edges)
    if workers >= width:
        return cp
    k = float(workers)
    return sum(float(d) for d in durations) / k + (1.0 - 1.0 / k) * cp
