"""The numeric selection problem every backend solves, and how a choice is evaluated.

Pure data, independent of task graphs and profiles: nodes are indices ``0..n-1`` in a
topological order, ``edges`` are ``(u, v)`` index pairs with ``u`` before ``v``, and
``candidates[v]`` lists the models that can serve node ``v``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from solvers.schedule import critical_path, list_schedule, wider_than

T = TypeVar("T")

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
    """End-to-end metrics of one full assignment (see `evaluate`)."""

    energy_j: float
    #: predicted: start-up + cold loads + the simulated list schedule's makespan
    latency_ms: float
    accuracy: float
    memory_mb: float
    cost_usd: float
    #: start-up + cold loads + the makespan bound: what the latency budget and objective use
    latency_bound_ms: float


@dataclass(frozen=True)
class LatencyShape:
    r"""How the latency bound depends on the node durations ``d``:
    ``work * sum(d) + path * critical_path(d)``, fixed by the worker count and the DAG.

    - sequential execution, or one worker: ``work = 1, path = 0`` (the sum);
    - ``workers`` None or at least the DAG's width: ``work = 0, path = 1`` (the critical
      path, which the list schedule then attains exactly);
    - otherwise Graham's bound: ``work = 1/k, path = 1 - 1/k``.

    ``exact``: the list schedule's makespan equals the bound (the first two cases), so
    nothing needs simulating.
    """

    workers: int | None
    work: float
    path: float
    exact: bool
    #: predecessors of each node (for the critical path; edges go from lower to higher index)
    preds: tuple[tuple[int, ...], ...] = ()

    @classmethod
    def of(cls, n: int, edges: tuple[tuple[int, int], ...], workers: int | None, parallel: bool):
        preds: list[list[int]] = [[] for _ in range(n)]
        for u, v in edges:
            preds[v].append(u)
        p = tuple(tuple(x) for x in preds)
        k = 1 if not parallel else workers
        if k is None or k >= n:
            return cls(k, 0.0, 1.0, True, p)
        if k == 1:
            return cls(1, 1.0, 0.0, True, p)
        if not wider_than(n, edges, k):
            return cls(k, 0.0, 1.0, True, p)
        return cls(k, 1.0 / k, 1.0 - 1.0 / k, False, p)

    def critical_path(self, durations: list[float]) -> float:
        """`solvers.schedule.critical_path` over the stored predecessors."""
        finish = list(durations)
        for v, ps in enumerate(self.preds):
            if ps:
                finish[v] += max(finish[u] for u in ps)
        return max(finish, default=0.0)

    def bound(self, durations: list[float], edges: tuple[tuple[int, int], ...]) -> float:
        value = 0.0
        if self.work:
            value += self.work * math.fsum(durations)
        if self.path:
            value += self.path * (
                self.critical_path(durations)
                if len(self.preds) == len(durations)
                else critical_path(durations, edges)
            )
        return value

    def makespan(self, durations: list[float], edges: tuple[tuple[int, int], ...]) -> float:
        """The simulated list schedule's makespan (the bound itself when that is exact)."""
        if self.exact:
            return self.bound(durations, edges)
        return list_schedule(durations, edges, self.workers).makespan


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
    #: (load_ms, load_energy_j) of each model key, fixed at construction (see `load_by_key`)
    model_load: tuple[tuple[str, float, float], ...] | None = None
    #: the latency bound's shape (workers, DAG width), fixed at construction
    shape: LatencyShape = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if len(self.candidates) != self.n_nodes:
            raise ValueError("candidates must list one tuple per node")
        for u, v in self.edges:
            if not (0 <= u < v < self.n_nodes):
                raise ValueError("edges must go from a lower to a higher node index")
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be at least 1 (or None: one per node)")
        if self.dispatch_ms < 0 or self.startup_ms < 0:
            raise ValueError("dispatch_ms and startup_ms must be >= 0")
        if self.model_memory is None or self.model_load is None:
            # the largest row of each key; a tuple shared by several nodes is read once
            mem: dict[str, float] = {}
            load: dict[str, tuple[float, float]] = {}
            seen: set[int] = set()
            for cands in self.candidates:
                if id(cands) in seen:
                    continue
                seen.add(id(cands))
                for c in cands:
                    key = c.key
                    old = mem.get(key, 0.0)
                    mem[key] = c.memory_mb if c.memory_mb > old else old
                    ms, j = load.get(key, (0.0, 0.0))
                    load[key] = (
                        c.load_ms if c.load_ms > ms else ms,
                        c.load_energy_j if c.load_energy_j > j else j,
                    )
            if self.model_memory is None:
                object.__setattr__(self, "model_memory", tuple(sorted(mem.items())))
            if self.model_load is None:
                object.__setattr__(
                    self, "model_load", tuple((k, ms, j) for k, (ms, j) in sorted(load.items()))
                )
        if self.shape is None:
            shape = LatencyShape.of(self.n_nodes, self.edges, self.workers, self.parallel)
            object.__setattr__(self, "shape", shape)
        if self.scales is None:
            object.__setattr__(self, "scales", reference_scales(self))
        object.__setattr__(self, "weights", self.weights.normalised())

    @property
    def memory_by_key(self) -> dict[str, float]:
        """Memory of each model key, counted once (the largest row if rows disagree).

        Fixed when the problem is built, so presolve removing a row never shrinks it."""
        cached = self.__dict__.get("_memory_by_key")
        if cached is None:
            assert self.model_memory is not None
            cached = dict(self.model_memory)
            object.__setattr__(self, "_memory_by_key", cached)
        return cached

    @property
    def load_by_key(self) -> dict[str, tuple[float, float]]:
        """(load_ms, load_energy_j) of each model key, paid once per distinct key a plan
        uses (the largest row if rows disagree; zero for warm or resident models).
        Built once per problem (a read-only view: do not modify)."""
        cached = self.__dict__.get("_load_by_key")
        if cached is None:
            assert self.model_load is not None
            cached = {k: (ms, j) for k, ms, j in self.model_load}
            object.__setattr__(self, "_load_by_key", cached)
        return cached

    @property
    def has_loads(self) -> bool:
        assert self.model_load is not None
        return any(ms > 0 or j > 0 for _, ms, j in self.model_load)

    def duration(self, c: Candidate) -> float:
        """A node's duration on the machine: its latency plus the dispatch overhead."""
        return c.latency_ms + self.dispatch_ms

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


def per_row(problem: SelectionProblem, value: Callable[[Candidate], T]) -> list[list[T]]:
    """``value`` of every candidate, as [node][row]; a candidate tuple that several nodes
    share is evaluated once (its row list is then shared too: read only)."""
    memo: dict[int, list[T]] = {}
    table = []
    for cs in problem.candidates:
        row = memo.get(id(cs))
        if row is None:
            row = memo[id(cs)] = [value(c) for c in cs]
        table.append(row)
    return table


def longest_path(n: int, edges: tuple[tuple[int, int], ...], weight: list[float]) -> float:
    """Longest node-weighted path of a DAG whose edges go from lower to higher index
    (`solvers.schedule.critical_path`; kept as the model's one name for it)."""
    if len(weight) != n:
        raise ValueError("one weight per node")
    return critical_path(weight, edges)


def reference_scales(problem: SelectionProblem) -> tuple[float, float, float]:
    """Worst-case energy, latency and cost of any plan (1.0 where that is zero).

    energy_ref = the sum over nodes of the largest candidate energy, plus the load energy of
    every cold model key; latency_ref = start-up + the load time of every cold key + the
    latency bound (see `latency_bound_ms`) of the slowest candidates; cost_ref likewise.
    Every plan is at most these, so dividing by them maps each term into [0, 1]. They depend
    on the problem as given only, so presolve removing candidates never changes them.
    """
    # per distinct candidate tuple (nodes of one task share theirs), then per node
    worst: dict[int, tuple[float, float, float]] = {}
    for cs in problem.candidates:
        if id(cs) not in worst:
            worst[id(cs)] = (
                max((c.energy_j for c in cs), default=0.0),
                max((c.latency_ms for c in cs), default=0.0) + problem.dispatch_ms,
                max((c.cost_usd for c in cs), default=0.0),
            )
    rows = [worst[id(cs)] for cs in problem.candidates]
    worst_e = [r[0] for r in rows]
    worst_d = [r[1] for r in rows]
    worst_c = [r[2] for r in rows]
    loads = problem.load_by_key
    e_ref = math.fsum(worst_e) + math.fsum(e for _, e in loads.values())
    l_ref = (
        problem.startup_ms
        + math.fsum(ms for ms, _ in loads.values())
        + problem.shape.bound(worst_d, problem.edges)
    )
    c_ref = sum(worst_c)
    return (e_ref or 1.0, l_ref or 1.0, c_ref or 1.0)


def evaluate(
    problem: SelectionProblem,
    choice: tuple[int, ...] | list[int],
    simulate: bool = True,
    makespan: float | None = None,
) -> Totals:
    """Totals of ``choice`` (candidate index per node) under the problem's semantics:

    - durations ``d_v`` = the chosen latency + ``dispatch_ms``;
    - ``L0`` = the load time of the distinct cold model keys used (loading precedes the run);
    - ``latency_bound_ms`` = start-up + ``L0`` + `LatencyShape.bound` (the critical path, or
      Graham's bound when the workers are fewer than the DAG's width; the sum when
      sequential): what the latency budget and the objective use;
    - ``latency_ms`` = start-up + ``L0`` + the makespan of the executor's list schedule
      (`solvers.schedule.list_schedule`), which never exceeds the bound;
    - energy = the chosen energies + the load energy of the distinct cold keys used.

    ``simulate=False`` skips the simulation (``latency_ms`` is then the bound too): for the
    searches, whose budgets and objective read the bound only. ``makespan``: the list
    schedule's makespan of these durations when the caller has simulated it already (with
    the default bottom-level priorities), so it is not simulated twice.
    """
    chosen = [problem.candidates[v][i] for v, i in enumerate(choice)]
    keys = sorted({c.key for c in chosen})
    loads = problem.load_by_key
    load_ms = math.fsum(loads[k][0] for k in keys)
    load_j = math.fsum(loads[k][1] for k in keys)
    energy = math.fsum(c.energy_j for c in chosen) + load_j
    cost = math.fsum(c.cost_usd for c in chosen)
    durations = [c.latency_ms + problem.dispatch_ms for c in chosen]
    fixed = problem.startup_ms + load_ms
    shape = problem.shape
    bound = fixed + shape.bound(durations, problem.edges)
    if not simulate:
        latency = bound
    elif makespan is not None and not shape.exact:
        latency = fixed + makespan
    else:
        latency = fixed + shape.makespan(durations, problem.edges)
    accuracy = math.prod(c.accuracy for c in chosen)
    mem_by_key = problem.memory_by_key
    memory = math.fsum(mem_by_key[k] for k in keys)
    return Totals(energy, latency, accuracy, memory, cost, bound)


def objective_value(problem: SelectionProblem, totals: Totals) -> float:
    """w_E * E / E_ref + w_L * L / L_ref + w_C * C / C_ref (weights sum to 1), where L is
    the latency bound (``totals.latency_bound_ms``), the latency the budget limits."""
    w = problem.weights
    assert problem.scales is not None
    e_ref, l_ref, c_ref = problem.scales
    return (
        w.energy * totals.energy_j / e_ref
        + w.latency * totals.latency_bound_ms / l_ref
        + w.cost * totals.cost_usd / c_ref
    )


def budget_limit(limit: float, extra_rel: float = 0.0) -> float:
    """The one tolerance rule: a total meets ``limit`` when it is at most this.

    ``extra_rel`` loosens it further (relative, at least absolute 1 x extra_rel) for the
    pruning rules of the exact searches, whose leaves are then checked with `within`."""
    return limit + BUDGET_ATOL + BUDGET_RTOL * abs(limit) + extra_rel * max(1.0, abs(limit))


def within(total: float, limit: float) -> bool:
    return total <= budget_limit(limit)


def accuracy_floor(min_accuracy: float, extra_rel: float = 0.0) -> float:
    """The least ``sum log a`` that meets the accuracy budget (same tolerance rule)."""
    log_floor = math.log(min_accuracy)
    return log_floor - BUDGET_ATOL - extra_rel * max(1.0, abs(log_floor))


def violations(
    problem: SelectionProblem, choice: tuple[int, ...] | list[int], totals: Totals | None = None
) -> list[str]:
    """Names of the budgets (and node floors) that ``choice`` breaks; empty if feasible.
    ``totals``: ``evaluate(problem, choice)`` when the caller has it already (budgets read
    the latency bound, so a simulated one serves as well)."""
    if totals is None:
        totals = evaluate(problem, choice, simulate=False)
    b = problem.budgets
    broken: list[str] = []
    if b.energy_j is not None and not within(totals.energy_j, b.energy_j):
        broken.append("energy_j")
    if b.latency_ms is not None and not within(totals.latency_bound_ms, b.latency_ms):
        broken.append("latency_ms")
    if b.memory_mb is not None and not within(totals.memory_mb, b.memory_mb):
        broken.append("memory_mb")
    if b.cost_usd is not None and not within(totals.cost_usd, b.cost_usd):
        broken.append("cost_usd")
    if b.min_accuracy is not None:
        log_total = math.fsum(
            math.log(problem.candidates[v][i].accuracy) for v, i in enumerate(choice)
        )
        if log_total < accuracy_floor(b.min_accuracy):
            broken.append("min_accuracy")
    if problem.node_min_accuracy is not None:
        for v, i in enumerate(choice):
            floor = problem.node_min_accuracy[v]
            if floor is not None and problem.candidates[v][i].accuracy < floor:
                broken.append(f"node_min_accuracy[{v}]")
    return broken
