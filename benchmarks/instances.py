"""Seeded synthetic selection instances for the solver benchmarks.

Generator (documented in docs/speed.md):

- **Graph**: ``n`` nodes in topological order; node ``v > 0`` gets 1 to 3 predecessors
  (uniform, capped by ``v``) drawn uniformly among the previous ``min(v, 20)`` nodes, so
  the DAG is sparse and long (its depth grows with ``n``) like a pipeline of pipelines.
- **Task types**: ``n_types = max(1, n // 3)`` task types (at most 40); each node draws one.
  Every task type has ``k`` candidate models, so candidate sets repeat across nodes and
  a model id serves several nodes (its memory counts once).
- **Correlated metrics like real model families**: a model has a size ``s`` in [0, 1];
  accuracy = ``0.55 + 0.4 * s**0.5`` plus small noise (bigger models are more accurate,
  with diminishing returns), latency = ``base_t * (1 + 30 * s**1.5)`` times log-normal
  noise, energy = latency x a per-type power (W) times noise, memory grows with size.
  ``base_t`` and the power differ per task type.
- **Three budgets**, minimising energy (weights energy=1, latency=0):
  ``min_accuracy`` is the geometric interpolation (``tight_acc``) between the accuracy of
  the cheapest plan and the most accurate plan; ``latency_ms`` is set at ``tight_lat``
  between the makespan of the fastest plan and the makespan of the most accurate plan;
  ``energy_j`` at the energy of the most accurate plan (a cap that prunes big models).
  Measured on 5 seeds each of 10, 20 and 100 nodes: the accuracy budget binds at the
  optimum on all 15; the latency budget on 2 of 15 at the default ``tight_lat=0.35`` and
  on 11 of 15 at ``tight_lat=0.1``; with energy as the objective the energy budget cannot
  bind at the optimum (it only removes candidates).
"""

from __future__ import annotations

import math
import random

from solvers import Budgets, Candidate, SelectionProblem, Weights
from solvers.model import longest_path


def random_dag(rng: random.Random, n: int, window: int = 20) -> tuple[tuple[int, int], ...]:
    edges: set[tuple[int, int]] = set()
    for v in range(1, n):
        lo = max(0, v - window)
        k = rng.randint(1, min(3, v))
        for u in rng.sample(range(lo, v), min(k, v - lo)):
            edges.add((u, v))
    return tuple(sorted(edges))


def _family(rng: random.Random, type_id: int, k: int) -> list[Candidate]:
    base_t = rng.uniform(5.0, 40.0)
    power_w = rng.uniform(20.0, 120.0)
    cands = []
    for m in range(k):
        s = (m + rng.uniform(0.0, 1.0)) / k
        acc = min(0.999, 0.55 + 0.4 * math.sqrt(s) + rng.gauss(0.0, 0.015))
        lat = base_t * (1.0 + 30.0 * s**1.5) * math.exp(rng.gauss(0.0, 0.25))
        energy = lat / 1000.0 * power_w * math.exp(rng.gauss(0.0, 0.2))
        mem = 50.0 + 4000.0 * s * math.exp(rng.gauss(0.0, 0.2))
        cands.append(
            Candidate(
                f"t{type_id}-m{m}", round(acc, 4), round(lat, 3), round(energy, 4), round(mem, 1)
            )
        )
    return cands


def instance(
    n: int,
    k: int,
    seed: int,
    tight_acc: float = 0.5,
    tight_lat: float = 0.35,
    parallel: bool = True,
    weights: Weights | None = None,
) -> SelectionProblem:
    """A seeded instance (see the module docstring); same arguments, same instance."""
    rng = random.Random(f"bench-{n}-{k}-{seed}")
    edges = random_dag(rng, n)
    n_types = max(1, min(40, n // 3))
    families = [_family(rng, t, k) for t in range(n_types)]
    types = [rng.randrange(n_types) for _ in range(n)]
    cands = tuple(tuple(families[t]) for t in types)

    def plan_metrics(pick: list[Candidate]) -> tuple[float, float, float]:
        lat = [c.latency_ms for c in pick]
        makespan = longest_path(n, edges, lat) if parallel else sum(lat)
        return (sum(c.energy_j for c in pick), makespan, math.prod(c.accuracy for c in pick))

    cheapest = [min(cs, key=lambda c: c.energy_j) for cs in cands]
    fastest = [min(cs, key=lambda c: c.latency_ms) for cs in cands]
    best = [max(cs, key=lambda c: c.accuracy) for cs in cands]
    _, _, acc_lo = plan_metrics(cheapest)
    _, lat_lo, _ = plan_metrics(fastest)
    e_hi, lat_hi, acc_hi = plan_metrics(best)
    min_acc = math.exp(math.log(acc_lo) + tight_acc * (math.log(acc_hi) - math.log(acc_lo)))
    budgets = Budgets(
        energy_j=round(e_hi, 3),
        latency_ms=round(lat_lo + tight_lat * (lat_hi - lat_lo), 3),
        min_accuracy=min_acc,
    )
    return SelectionProblem(
        n, edges, cands, budgets, weights or Weights(energy=1.0, latency=0.0), parallel
    )


def problem_data(problem: SelectionProblem, name: str = "bench") -> dict[str, object]:
    """The instance as planner problem data (format v1): one task type per candidate
    family (model ids ``t<type>-m<i>``), synthetic provenance."""
    nodes = []
    models: dict[str, dict[str, object]] = {}
    for v, cands in enumerate(problem.candidates):
        task = "Type " + cands[0].key.split("-")[0][1:]
        nodes.append({"id": f"n{v}", "task": task})
        for c in cands:
            models[c.key] = {
                "id": c.key,
                "task": task,
                "accuracy": c.accuracy,
                "latency_ms": c.latency_ms,
                "energy_j": c.energy_j,
                "memory_mb": c.memory_mb,
                "provenance": {"source": "synthetic", "reference": "benchmarks/instances.py"},
            }
    b = problem.budgets
    return {
        "name": name,
        "source": "synthetic: benchmarks/instances.py",
        "graph": {
            "nodes": nodes,
            "edges": [[f"n{u}", f"n{v}"] for u, v in problem.edges],
        },
        "models": list(models.values()),
        "budgets": {k: v for k, v in b.given().items()},
        "weights": {
            "energy": problem.weights.energy,
            "latency": problem.weights.latency,
            "cost": problem.weights.cost,
        },
        "execution": "parallel" if problem.parallel else "sequential",
    }
