"""Budgets during and after a run, as pure functions of the problem and what was spent.

- `predicted_timing`: the schedule the executor follows (`solvers.schedule`: greedy list
  scheduling on the plan's worker slots, priority = bottom level of the predicted durations
  ``latency_ms + machine.dispatch_ms``, ties by lower index in the graph's topological order)
  and the one-off costs the plan counts (start-up, cold loading).
- `budgets_left`: what is left of each hard budget given what was spent.
- `remaining_problem`: the problem of the nodes not yet run, for a re-plan.
- `budget_overruns`: which hard budgets the measured totals broke, by how much, at which node.
- `accuracy_view`: accuracy per sink, per path and end to end; a node that did not run
  contributes nothing (its sinks and paths deliver nothing: accuracy 0, and it is named).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from planner.problem import Problem, problem_from_data
from planner.report import AccuracyView, Overrun, PathAccuracy, SinkAccuracy
from profiles import ModelProfile
from solvers.schedule import Schedule, bottom_levels, dag_width, list_schedule

#: At most this many source-to-sink paths are listed in a report (the rest are counted).
MAX_PATHS = 32


@dataclass(frozen=True)
class Timing:
    """The plan's schedule on the executor: node order, durations, priorities, simulation."""

    order: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    durations_ms: tuple[float, ...]
    priority: tuple[float, ...]
    workers: int
    schedule: Schedule
    startup_ms: float
    load_ms: float
    load_energy_j: float

    @property
    def makespan_ms(self) -> float:
        return self.schedule.makespan

    @property
    def latency_ms(self) -> float:
        """What the plan promises: start-up + cold loading + the simulated makespan."""
        return self.startup_ms + self.load_ms + self.schedule.makespan

    def finish_ms(self, node: str) -> float:
        return self.schedule.finish[self.order.index(node)]


def profiles_of(problem: Problem) -> dict[tuple[str, str], ModelProfile]:
    return {(m.id, m.task): m for m in problem.candidates}


def slots(problem: Problem, sequential: bool, requested: int | None = None) -> int:
    """Worker slots the executor uses: 1 when sequential, else ``requested`` or the plan's
    machine (`Machine.resolved_workers`), never more than the DAG's width (more slots can
    never all be busy)."""
    graph = problem.graph
    n = len(graph.nodes)
    if sequential or n <= 1:
        return 1
    k = requested if requested is not None else problem.machine.resolved_workers()
    if k >= n:
        k = n
    index = {v: i for i, v in enumerate(graph.topological_order())}
    edges = [(index[u], index[v]) for u, v in graph.dependency_edges()]
    return max(1, min(k, dag_width(n, edges)))


def cold_models(problem: Problem, assignment: Mapping[str, str]) -> list[ModelProfile]:
    """The distinct chosen models that load cold (the machine is cold and they are not
    resident), in order of first use in the topological order (the executor's load order)."""
    profiles = profiles_of(problem)
    seen: dict[str, ModelProfile] = {}
    for node_id in problem.graph.topological_order():
        node = problem.graph.node(node_id)
        model = assignment.get(node.id)
        profile = profiles.get((model, node.task)) if model else None
        if profile is not None and problem.machine.is_cold(profile.id):
            seen.setdefault(profile.id, profile)
    return list(seen.values())


def predicted_timing(
    problem: Problem, assignment: Mapping[str, str], workers: int | None = None
) -> Timing:
    """The executor's schedule of ``assignment`` on ``workers`` slots (default the plan's
    machine; None-sized graphs aside, at least 1)."""
    graph = problem.graph
    order = tuple(graph.topological_order())
    index = {v: i for i, v in enumerate(order)}
    edges = tuple(sorted((index[u], index[v]) for u, v in graph.dependency_edges()))
    profiles = profiles_of(problem)
    tasks = {n.id: n.task for n in graph.nodes}
    dispatch = problem.machine.dispatch_ms
    durations = []
    for v in order:
        p = profiles.get((assignment.get(v, ""), tasks[v]))
        durations.append((p.latency_ms if p else 0.0) + dispatch)
    k = workers if workers is not None else problem.machine.resolved_workers()
    priority = tuple(bottom_levels(durations, edges))
    schedule = list_schedule(durations, edges, max(1, k), priority)
    cold = cold_models(problem, assignment)
    return Timing(
        order=order,
        edges=edges,
        durations_ms=tuple(durations),
        priority=priority,
        workers=max(1, k),
        schedule=schedule,
        startup_ms=problem.machine.startup_ms,
        load_ms=problem.machine.base_load_ms() + sum(p.load_ms or 0.0 for p in cold),
        load_energy_j=sum(p.load_energy_j or 0.0 for p in cold),
    )


@dataclass(frozen=True)
class Spent:
    """What a run has used so far."""

    energy_j: float = 0.0
    elapsed_ms: float = 0.0
    cost_usd: float = 0.0
    accuracy: float = 1.0  # product of the accuracies of the nodes that ran
    overhead_ms: float = 0.0  # start-up and cold loading that the plan's latency counts


def budgets_left(problem: Problem, spent: Spent) -> dict[str, float]:
    """What is left of each hard budget (``min_accuracy``: the floor the remaining nodes must
    reach, a product; a floor above 1 cannot be met and comes back as ``1 - floor < 0``, like
    an exhausted budget). Pure."""
    b = problem.budgets
    left: dict[str, float] = {}
    if b.energy_j is not None:
        left["energy_j"] = b.energy_j - spent.energy_j
    if b.latency_ms is not None:
        left["latency_ms"] = b.latency_ms - spent.overhead_ms - spent.elapsed_ms
    if b.cost_usd is not None:
        left["cost_usd"] = b.cost_usd - spent.cost_usd
    if b.memory_mb is not None:
        left["memory_mb"] = b.memory_mb
    if b.min_accuracy is not None:
        floor = b.min_accuracy / spent.accuracy if spent.accuracy > 0 else math.inf
        left["min_accuracy"] = floor if floor <= 1 + 1e-12 else 1 - floor
    return left


def remaining_problem(
    problem: Problem,
    remaining: list[str],
    budgets: dict[str, float],
    exclude: set[str],
    resident: Sequence[str] = (),
) -> Problem:
    """``problem`` restricted to the ``remaining`` nodes (edges among them; arguments dropped,
    they only matter for execution), with ``budgets``, without the ``exclude``d models, and
    with the models already loaded (``resident``) and the executor already started (no
    start-up left). Pure."""
    keep = set(remaining)
    data = problem.model_dump(mode="json", exclude_none=True)
    nodes = [{"id": n.id, "task": n.task} for n in problem.graph.nodes if n.id in keep]
    edges = [[u, v] for u, v in problem.graph.dependency_edges() if u in keep and v in keep]
    data["graph"] = {"nodes": nodes, "edges": edges}
    floors = {k: v for k, v in problem.budgets.node_min_accuracy.items() if k in keep}
    data["budgets"] = {**budgets, **({"node_min_accuracy": floors} if floors else {})}
    data["models"] = [m for m in data["models"] if m["id"] not in exclude]
    machine = dict(data.get("machine") or {})
    machine["startup_ms"] = 0.0
    machine["cold_base_ms"] = 0.0  # paid before the first node
    machine["resident"] = sorted(set(machine.get("resident") or ()) | set(resident))
    data["machine"] = machine
    return problem_from_data(data, where="the re-planned problem")


# --------------------------------------------------------------------------- overruns


@dataclass(frozen=True)
class NodeUse:
    """One node that ran, for `budget_overruns`: when it finished and what it used."""

    id: str
    finish_ms: float
    energy_j: float
    cost_usd: float
    model: str
    memory_mb: float


def budget_overruns(
    problem: Problem,
    measured: Mapping[str, float],
    nodes: Sequence[NodeUse],
    overhead_ms: float = 0.0,
    overhead_energy_j: float = 0.0,
) -> list[Overrun]:
    """The hard budgets that ``measured`` (the report's totals: ``energy_j``, ``latency_ms``
    as the plan counts it, ``models_memory_mb``, ``cost_usd``, ``accuracy``) breaks, each with
    the node at which the running total (in finishing order) first crossed the limit. Pure."""
    b = problem.budgets
    tol = 1e-9
    by_finish = sorted(nodes, key=lambda n: n.finish_ms)
    out: list[Overrun] = []

    def crossing(total0: float, limit: float, step: str) -> str | None:
        total = total0
        for n in by_finish:
            total = total0 + n.finish_ms if step == "time" else total + getattr(n, step)
            if total > limit * (1 + tol):
                return n.id
        return by_finish[-1].id if by_finish else None

    if b.latency_ms is not None and measured["latency_ms"] > b.latency_ms * (1 + tol):
        out.append(
            Overrun(
                budget="latency_ms",
                limit=b.latency_ms,
                measured=measured["latency_ms"],
                overrun=measured["latency_ms"] - b.latency_ms,
                node=crossing(overhead_ms, b.latency_ms, "time"),
            )
        )
    if b.energy_j is not None and measured["energy_j"] > b.energy_j * (1 + tol):
        out.append(
            Overrun(
                budget="energy_j",
                limit=b.energy_j,
                measured=measured["energy_j"],
                overrun=measured["energy_j"] - b.energy_j,
                node=crossing(overhead_energy_j, b.energy_j, "energy_j"),
            )
        )
    if b.cost_usd is not None and measured.get("cost_usd", 0.0) > b.cost_usd * (1 + tol):
        out.append(
            Overrun(
                budget="cost_usd",
                limit=b.cost_usd,
                measured=measured["cost_usd"],
                overrun=measured["cost_usd"] - b.cost_usd,
                node=crossing(0.0, b.cost_usd, "cost_usd"),
            )
        )
    memory = measured.get("models_memory_mb", 0.0)
    if b.memory_mb is not None and memory > b.memory_mb * (1 + tol):
        total, node = 0.0, None
        seen: set[str] = set()
        for n in by_finish:
            if n.model not in seen:
                seen.add(n.model)
                total += n.memory_mb
                if total > b.memory_mb * (1 + tol) and node is None:
                    node = n.id
        out.append(
            Overrun(
                budget="memory_mb",
                limit=b.memory_mb,
                measured=memory,
                overrun=memory - b.memory_mb,
                node=node,
            )
        )
    acc = measured.get("accuracy")
    if b.min_accuracy is not None and acc is not None and acc < b.min_accuracy * (1 - tol):
        out.append(
            Overrun(
                budget="min_accuracy",
                limit=b.min_accuracy,
                measured=acc,
                overrun=b.min_accuracy - acc,
                node=None,
            )
        )
    return out


# --------------------------------------------------------------------------- accuracy


def accuracy_view(problem: Problem, accuracy: Mapping[str, float | None]) -> AccuracyView:
    """``accuracy`` maps each node to its (profile) accuracy, None when it did not run. Pure."""
    graph = problem.graph
    order = graph.topological_order()
    preds = graph.predecessors()
    succs: dict[str, list[str]] = {v: [] for v in order}
    for v, ps in preds.items():
        for u in ps:
            succs[u].append(v)
    missing = [v for v in order if accuracy.get(v) is None]

    def value(nodes: Sequence[str]) -> tuple[float, list[str]]:
        gone = [v for v in nodes if accuracy.get(v) is None]
        if gone:
            return 0.0, gone
        return math.prod(float(accuracy[v] or 0.0) for v in nodes), []

    ancestors: dict[str, set[str]] = {}
    for v in order:
        ancestors[v] = set().union(*({u} | ancestors[u] for u in preds[v])) if preds[v] else set()
    sinks = []
    for v in order:
        if succs[v]:
            continue
        nodes = [u for u in order if u in ancestors[v] or u == v]
        acc, gone = value(nodes)
        sinks.append(SinkAccuracy(sink=v, accuracy=acc, nodes=nodes, missing=gone))
    # paths: counted exactly, the first MAX_PATHS listed (depth first, in order)
    count: dict[str, int] = {}
    for v in reversed(order):
        count[v] = sum(count[s] for s in succs[v]) if succs[v] else 1
    total = sum(count[v] for v in order if not preds[v])
    paths: list[PathAccuracy] = []

    def walk(path: list[str]) -> None:
        if len(paths) >= MAX_PATHS:
            return
        last = path[-1]
        if not succs[last]:
            acc, gone = value(path)
            paths.append(PathAccuracy(path=list(path), accuracy=acc, missing=gone))
            return
        for s in sorted(succs[last], key=order.index):
            walk([*path, s])

    for v in order:
        if not preds[v]:
            walk([v])
    end, _ = value(order)
    return AccuracyView(
        end_to_end=end, sinks=sinks, paths=paths, paths_total=total, missing=missing
    )
