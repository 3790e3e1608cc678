"""The numeric selection problem every backend solves, and how a choice is evaluated.

Pure data, independent of task graphs and profiles: nodes are indices ``0..n-1`` in a
topological order, ``edges`` are ``(u, v)`` index pairs with ``u`` before ``v``, and
``candidates[v]`` lists the models that can serve node ``v``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

#: Relative tolerance used when checking a total against a budget.
BUDGET_RTOL = 1e-9
#: Absolute slack added to budgets so float round-off never flips feasibility.
BUDGET_ATOL = 1e-7


@dataclass(frozen=True)
class Candidate:
    """One model that can serve a node, with its per-inference metrics."""

    key: str
    accuracy: float
    latency_ms: float
    energy_j: float
    memory_mb: float = 0.0
    cost_usd: float = 0.0
    #: one-off cost of loading this model cold, paid once per distinct ``key`` the plan uses
    #: (zero for warm or resident models); see `solvers.schedule` for the latency semantics
    load_ms: float = 0.0
    load_energy_j: float = 0.0


@dataclass(frozen=True)
class Budgets:
    """Hard limits; ``None`` means unconstrained."""

    energy_j: float | None = None
    latency_ms: float | None = None
    min_accuracy: float | None = None
    memory_mb: float | None = None
    cost_usd: float | None = None

    def given(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Weights:
    """Non-negative objective weights, normalised to sum to 1."""

    energy: float = 0.5
    latency: float = 0.5
    cost: float = 0.0

    def normalised(self) -> Weights:
        # Scale by the largest weight first so huge weights (1e308 each) cannot overflow.
        top = max(self.energy, self.latency, self.cost)
        if not top > 0 or not math.isfinite(top):
            raise ValueError("objective weights must be finite and not all zero")
        e, lat, c = self.energy / top, self.latency / top, self.cost / top
        total = e + lat + c
        return Weights(e / total, lat / total, c / total)


@dataclass(frozen=True)
class Totals:
    """End-to-end metrics of one full assignment."""

    energy_j: float
    latency_ms: float
    accuracy: float
    memory_mb: float
    cost_usd: float


@dataclass(frozen=True)
class SelectionProblem:
    """Choose one candidate per node.

    ``scales`` are the reference values that make the objective unit-free (see
    `objective_value`); they are fixed when the problem is built so that presolve, which
    removes candidates, never changes the objective of a plan.
    """

    n_nodes: int
    edges: tuple[tuple[int, int], ...]
    candidates: tuple[tuple[Candidate, ...], ...]
    budgets: Budgets = field(default_factory=Budgets)
    weights: Weights = field(default_factory=Weights)
    parallel: bool = True
    node_min_accuracy: tuple[float | None, ...] | None = None
    scales: tuple[float, float, float] | None = None
    #: memory of each model key, fixed at construction (see `memory_by_key`)
    model_memory: tuple[tuple[str, float], ...] | None = None
    #: worker slots of the executor's list schedule (`solvers.schedule`); None: unlimited
    workers: int | None = None
    #: per-node dispatch overhead added to every node's latency, ms
    dispatch_ms: float = 0.0
    #: executor start-up counted in the plan's latency, ms
    startup_ms: float = 0.0

    def __post_init__(self) -> None:
        if len(self.candidates) != self.n_nodes:
            raise ValueError("candidates must list one tuple per node")
        for u, v in self.edges:
            if not (0 <= u < v < self.n_nodes):
                raise ValueError("edges must go from a lower to a higher node index")
        if self.scales is None:
            object.__setattr__(self, "scales", reference_scales(self))
        if self.model_memory is None:
            mem: dict[str, float] = {}
            for cands in self.candidates:
                for c in cands:
                    mem[c.key] = max(mem.get(c.key, 0.0), c.memory_mb)
            object.__setattr__(self, "model_memory", tuple(sorted(mem.items())))
        object.__setattr__(self, "weights", self.weights.normalised())

    @property
    def memory_by_key(self) -> dict[str, float]:
        """Memory of each model key, counted once (the largest row if rows disagree).

        Fixed when the problem is built, so presolve removing a row never shrinks it."""
        assert self.model_memory is not None
        return dict(self.model_memory)

    def without_budgets(self, *names: str) -> SelectionProblem:
        """The same problem with the named budgets dropped (scales and memory kept)."""
        return replace(self, budgets=replace(self.budgets, **dict.fromkeys(names)))

    def predecessors(self) -> list[list[int]]:
        preds: list[list[int]] = [[] for _ in range(self.n_nodes)]
        for u, v in self.edges:
            preds[v].append(u)
        return preds

    def successors(self) -> list[list[int]]:
        succ: list[list[int]] = [[] for _ in range(self.n_nodes)]
        for u, v in self.edges:
            succ[u].append(v)
        return succ


def longest_path(n: int, edges: tuple[tuple[int, int], ...], weight: list[float]) -> float:
    """Longest node-weighted path of a DAG whose edges go from lower to higher index."""
    finish = list(weight)
    preds: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        preds[v].append(u)
    for v in range(n):
        if preds[v]:
            finish[v] = weight[v] + max(finish[u] for u in preds[v])
    return max(finish, default=0.0)


def reference_scales(problem: SelectionProblem) -> tuple[float, float, float]:
    """Worst-case energy, latency and cost of any plan (1.0 where that is zero).

    energy_ref = sum over nodes of the largest candidate energy; latency_ref = the sum
    (sequential) or longest path (parallel) of the largest candidate latencies; likewise
    cost. Dividing by them maps each objective term into [0, 1].
    """
    worst_e = [max((c.energy_j for c in cs), default=0.0) for cs in problem.candidates]
    worst_l = [max((c.latency_ms for c in cs), default=0.0) for cs in problem.candidates]
    worst_c = [max((c.cost_usd for c in cs), default=0.0) for cs in problem.candidates]
    e_ref = sum(worst_e)
    l_ref = (
        longest_path(problem.n_nodes, problem.edges, worst_l) if problem.parallel else sum(worst_l)
    )
    c_ref = sum(worst_c)
    return (e_ref or 1.0, l_ref or 1.0, c_ref or 1.0)


def evaluate(problem: SelectionProblem, choice: tuple[int, ...] | list[int]) -> Totals:
    """Totals of ``choice`` (candidate index per node) under the problem's semantics."""
    chosen = [problem.candidates[v][i] for v, i in enumerate(choice)]
    energy = math.fsum(c.energy_j for c in chosen)
    cost = math.fsum(c.cost_usd for c in chosen)
    lat = [c.latency_ms for c in chosen]
    latency = longest_path(problem.n_nodes, problem.edges, lat) if problem.parallel else sum(lat)
    accuracy = math.prod(c.accuracy for c in chosen)
    mem_by_key = problem.memory_by_key
    memory = math.fsum(mem_by_key[k] for k in sorted({c.key for c in chosen}))
    return Totals(energy, latency, accuracy, memory, cost)


def objective_value(problem: SelectionProblem, totals: Totals) -> float:
    """w_E * E / E_ref + w_L * T / T_ref + w_C * C / C_ref (weights sum to 1)."""
    w = problem.weights
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    return (
        w.energy * totals.energy_j / e_ref
        + w.latency * totals.latency_ms / l_ref
        + w.cost * totals.cost_usd / c_ref
    )


def within(total: float, limit: float) -> bool:
    return total <= limit + BUDGET_ATOL + BUDGET_RTOL * abs(limit)


def violations(problem: SelectionProblem, choice: tuple[int, ...] | list[int]) -> list[str]:
    """Names of the budgets (and node floors) that ``choice`` breaks; empty if feasible."""
    totals = evaluate(problem, choice)
    b = problem.budgets
    broken: list[str] = []
    if b.energy_j is not None and not within(totals.energy_j, b.energy_j):
        broken.append("energy_j")
    if b.latency_ms is not None and not within(totals.latency_ms, b.latency_ms):
        broken.append("latency_ms")
    if b.memory_mb is not None and not within(totals.memory_mb, b.memory_mb):
        broken.append("memory_mb")
    if b.cost_usd is not None and not within(totals.cost_usd, b.cost_usd):
        broken.append("cost_usd")
    if b.min_accuracy is not None:
        log_total = math.fsum(
            math.log(problem.candidates[v][i].accuracy) for v, i in enumerate(choice)
        )
        if log_total < math.log(b.min_accuracy) - BUDGET_ATOL:
            broken.append("min_accuracy")
    if problem.node_min_accuracy is not None:
        for v, i in enumerate(choice):
            floor = problem.node_min_accuracy[v]
            if floor is not None and problem.candidates[v][i].accuracy < floor:
                broken.append(f"node_min_accuracy[{v}]")
    return broken
