"""`Plan`: the chosen model per node, predicted totals, slack, critical path, and why."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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

    def to_json(self, timings: bool = True) -> str:
        """Pretty JSON; ``timings=False`` drops solve time so equal inputs give equal bytes."""
        data = self.model_dump(mode="json")
        if not timings:
            data["solver"]["solve_time_ms"] = None
        import json

        return json.dumps(data, indent=2, sort_keys=False) + "\n"
