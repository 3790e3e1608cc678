"""`Plan`: the chosen model per node, predicted totals, slack, critical path, and why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from planner.insight_models import Alternative, Explanation
from planner.metrics import Metrics
from planner.problem import Problem

PlanStatus = Literal["optimal", "feasible", "infeasible", "time_limit", "error"]


class CandidateView(BaseModel):
    """A model considered for a node and what happened to it."""

    model_config = ConfigDict(frozen=True)

    model: str
    accuracy: float
    latency_ms: float
    energy_j: float
    memory_mb: float
    cost_usd: float = 0.0
    chosen: bool
    reason: str = Field(
        description="'chosen', 'dominated by X', 'breaks the ... budget' (alone, or even "
        "with the best choices elsewhere), "
        "or why the optimum did not pick it."
    )


class NodePlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    task: str
    model: str | None
    predicted: Metrics | None
    start_ms: float | None = Field(
        default=None,
        description="Predicted start in the simulated list schedule, ms after the run began "
        "(start-up and cold loads come first).",
    )
    finish_ms: float | None = Field(default=None, description="Predicted finish (schedule).")
    worker: int | None = Field(default=None, description="Worker slot in the simulation.")
    priority_ms: float | None = Field(
        default=None,
        description="The executor's static priority: the bottom level (longest remaining "
        "path, this node included) of the predicted durations; ties go to the node earlier "
        "in `Plan.schedule.order`'s topological numbering (lower index).",
    )
    candidates: list[CandidateView]


class ScheduleInfo(BaseModel):
    """The machine the plan was made for, and its simulated list schedule (what the executor
    must follow: ``workers`` slots, ready nodes by highest ``priority_ms``)."""

    model_config = ConfigDict(frozen=True)

    workers: int = Field(description="Worker slots (1 for sequential execution).")
    dispatch_ms: float = Field(description="Per-node dispatch overhead counted, ms.")
    startup_ms: float = Field(description="Executor start-up counted, ms.")
    load_ms: float = Field(description="Cold loads before the run (distinct models), ms.")
    load_energy_j: float = Field(description="Energy of those loads, J (in totals.energy_j).")
    cold_models: list[str] = Field(description="Models the plan loads cold.")
    index: list[str] = Field(
        description="Node ids by index: the topological numbering that breaks priority ties."
    )
    order: list[str] = Field(description="Simulated dispatch order.")
    makespan_ms: float = Field(description="Simulated makespan of the nodes alone, ms.")
    bound: str = Field(description="Which latency bound the budget uses.")


class BudgetCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    limit: float
    value: float | None = Field(
        description="The plan's total for this budget (latency: the bound, see Metrics)."
    )
    slack: float | None = Field(description="How much is left (for min_accuracy: value - limit).")
    binding: bool | None = Field(
        default=None,
        description="True when dropping this budget alone gives a strictly better optimum "
        "(computed by re-solving; null when not analysed).",
    )


class SolverInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    backend: str
    time_limit_s: float
    gap_rel: float | None
    gap: float | None = Field(description="Proven relative gap of the returned plan.")
    bound: float | None
    solve_time_ms: float | None = Field(description="Wall time of presolve + solve.")
    presolve_removed: int = Field(description="Candidates removed by exact presolve.")
    shortcut: str | None = Field(description="Exact shortcut used instead of the MILP.")
    message: str = ""


class Plan(BaseModel):
    """The planner's answer. Everything but ``solver.solve_time_ms`` is deterministic."""

    model_config = ConfigDict(frozen=True)

    format: Literal["plan/v1"] = "plan/v1"
    status: PlanStatus
    message: str = Field(description="One sentence on the outcome.")
    objective: float | None = Field(description="Normalised weighted objective (unit-free).")
    assignment: dict[str, str] = Field(description="{node id: model id}.")
    nodes: list[NodePlan]
    totals: Metrics | None
    budgets: list[BudgetCheck]
    critical_path: list[str]
    schedule: ScheduleInfo | None = Field(
        default=None, description="Machine and simulated schedule (when there is a plan)."
    )
    execution: Literal["parallel", "sequential"]
    weights: dict[str, float] = Field(description="Normalised weights used.")
    scales: dict[str, float] = Field(description="Reference values dividing each term.")
    solver: SolverInfo
    problem: Problem = Field(description="The problem solved (overrides applied).")
    explanation: Explanation | None = Field(
        default=None, description="Why no plan exists (infeasible plans from `planner solve`)."
    )
    alternatives: list[Alternative] | None = Field(
        default=None, description="The next-best distinct plans (`planner solve --alternatives K`)."
    )

    @property
    def has_plan(self) -> bool:
        return self.status in ("optimal", "feasible")

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        """A plan file may be edited by hand or come from anyone: its nodes, assignment and
        critical path must name the nodes of its own problem's graph (one entry each), and
        each assigned model must serve that node's task."""
        graph = {n.id: n.task for n in self.problem.graph.nodes}
        listed = [n.id for n in self.nodes]
        for where, ids in (
            ("nodes", listed),
            ("assignment", list(self.assignment)),
            ("critical_path", self.critical_path),
        ):
            unknown = sorted(set(ids) - set(graph))
            if unknown:
                raise ValueError(
                    f"{where} names node(s) {', '.join(map(repr, unknown[:5]))} that are not "
                    "in the plan's problem graph; re-solve the problem with `planner solve`"
                )
        if len(set(listed)) != len(listed):
            raise ValueError("nodes lists a node twice; re-solve the problem with `planner solve`")
        if self.has_plan:
            missing = sorted((set(graph) - set(self.assignment)) | (set(graph) - set(listed)))
            if missing:
                raise ValueError(
                    f"the {self.status} plan has no entry for node(s) "
                    f"{', '.join(map(repr, missing[:5]))} of its problem graph; re-solve the "
                    "problem with `planner solve`"
                )
            serves = {(m.id, m.task) for m in self.problem.candidates}
            for node, model in self.assignment.items():
                if (model, graph[node]) not in serves:
                    raise ValueError(
                        f"assignment: node {node!r} gets model {model!r}, which is not a "
                        f"candidate for its task {graph[node]!r} in the plan's problem"
                    )
        return self

    def to_json(self, timings: bool = True) -> str:
        """Pretty JSON; ``timings=False`` drops solve time so equal inputs give equal bytes."""
        data = self.model_dump(mode="json")
        if not timings:
            data["solver"]["solve_time_ms"] = None
        from planner.io import dumps_strict

        return dumps_strict(data, "plan", indent=2, sort_keys=False) + "\n"
