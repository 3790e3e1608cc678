"""List scheduling (solvers.schedule): known answers and the bounds on random DAGs."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import pytest

from solvers.schedule import (
    bottom_levels,
    critical_path,
    dag_width,
    latency_bound,
    list_schedule,
)


def _random_dag(rng: random.Random, n: int, p: float) -> list[tuple[int, int]]:
    return [(u, v) for u, v in itertools.combinations(range(n), 2) if rng.random() < p]


def test_eight_independent_nodes_and_a_join_on_two_workers() -> None:
    durations = [50.0] * 8 + [10.0]
    edges = [(i, 8) for i in range(8)]
    s = list_schedule(durations, edges, 2)
    assert s.makespan == pytest.approx(4 * 50.0 + 10.0)
    assert s.order[-1] == 8
    assert latency_bound(durations, edges, 2) >= s.makespan
    assert list_schedule(durations, edges, None).makespan == pytest.approx(60.0)
    assert list_schedule(durations, edges, 1).makespan == pytest.approx(410.0)


def test_priority_is_the_longest_remaining_path() -> None:
    # 0 -> 1 (a long chain) and 2 alone: with one worker... two workers, 0 must start first
    durations = [10.0, 100.0, 50.0, 50.0]
    edges = [(0, 1)]
    s = list_schedule(durations, edges, 2)
    assert bottom_levels(durations, edges)[0] == pytest.approx(110.0)
    assert s.order[0] == 0
    assert s.makespan == pytest.approx(110.0)


def test_width_matches_a_brute_force_antichain() -> None:
    rng = random.Random(7)
    for _ in range(40):
        n = rng.randint(1, 8)
        edges = _random_dag(rng, n, rng.random())
        g = nx.DiGraph(edges)
        g.add_nodes_from(range(n))
        closure = nx.transitive_closure_dag(g)
        best = max(
            len(c)
            for r in range(1, n + 1)
            for c in itertools.combinations(range(n), r)
            if not any(closure.has_edge(a, b) or closure.has_edge(b, a) for a in c for b in c)
        )
        assert dag_width(n, edges) == best


def test_small_graph_matching_agrees_with_networkx(monkeypatch: pytest.MonkeyPatch) -> None:
    # graphs up to SMALL_MATCHING nodes use plain augmenting paths; larger ones networkx's
    # Hopcroft-Karp: both must give the same width on every graph
    import solvers.schedule as schedule

    rng = random.Random(11)
    for _ in range(60):
        n = rng.randint(1, 40)
        edges = _random_dag(rng, n, rng.random() * 0.4)
        small = dag_width(n, edges)
        monkeypatch.setattr(schedule, "SMALL_MATCHING", 0)
        assert dag_width(n, edges) == small
        monkeypatch.setattr(schedule, "SMALL_MATCHING", 64)


@pytest.mark.parametrize("workers", [1, 2, 3, 4, None])
def test_every_schedule_respects_precedence_workers_and_the_bound(workers: int | None) -> None:
    rng = random.Random(11)
    for _ in range(60):
        n = rng.randint(1, 12)
        edges = _random_dag(rng, n, rng.random() * 0.5)
        durations = [rng.choice([0.0, rng.uniform(1, 100)]) for _ in range(n)]
        s = list_schedule(durations, edges, workers)
        for u, v in edges:
            assert s.start[v] >= s.finish[u] - 1e-9
        k = n if workers is None else workers
        for t in s.start:  # never more than k running at once
            assert sum(1 for v in range(n) if s.start[v] <= t < s.finish[v]) <= k
        assert s.makespan <= latency_bound(durations, edges, workers) + 1e-9
        assert s.makespan >= critical_path(durations, edges) - 1e-9
        if workers is None or workers >= dag_width(n, edges):
            assert s.makespan == pytest.approx(critical_path(durations, edges))


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list_schedule([1.0], [], 0)
    with pytest.raises(ValueError, match="lower to a higher"):
        list_schedule([1.0, 1.0], [(1, 0)], 1)
