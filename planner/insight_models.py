"""Artifacts of plan insight (explanations, alternatives, Pareto fronts, what-if), as JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planner.metrics import Metrics

#: Metrics a front or an explanation can talk about (accuracy is maximised, the rest minimised).
MetricName = Literal["energy_j", "latency_ms", "accuracy", "memory_mb", "cost_usd"]


class Explanation(BaseModel):
    """Why no plan exists: for each budget, the value that alone would make one exist."""

    model_config = ConfigDict(frozen=True)

    min_budgets: dict[str, float | None] = Field(
        description="{budget name: the least value of that budget (for min_accuracy: the "
        "largest floor) that makes the problem feasible with every other budget kept, or "
        "null when relaxing it alone cannot help}."
    )
    node_floors: dict[str, float | None] = Field(
        default_factory=dict,
        description="{node id: the largest per-node accuracy floor that works with every "
        "other budget kept, or null}, for the node floors given.",
    )
    sentences: dict[str, str] = Field(description="One sentence per budget (and node floor).")
    summary: str = Field(description="What to change, in one sentence.")
    exact: bool = Field(
        default=True,
        description="False when a sub-solve stopped at its time limit (values then bound, "
        "not equal, the true minimum).",
    )


class NodeChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    node: str
    before: str | None
    after: str | None


class Alternative(BaseModel):
    """A distinct plan ranked by the problem's objective (rank 1 is the optimum)."""

    model_config = ConfigDict(frozen=True)

    rank: int
    objective: float
    extra_objective: float = Field(description="objective - the optimum's objective.")
    extra_objective_pct: float | None = Field(
        description="extra_objective as a percentage of the optimum's (null if it is 0)."
    )
    totals: Metrics
    delta: dict[str, float] = Field(description="totals - the optimum's totals, per metric.")
    assignment: dict[str, str]
    changes: list[NodeChange] = Field(description="Nodes whose model differs from the optimum.")


class ParetoPoint(BaseModel):
    """One non-dominated plan of a two-metric front."""

    model_config = ConfigDict(frozen=True)

    energy_j: float
    latency_ms: float
    accuracy: float
    memory_mb: float
    cost_usd: float = 0.0
    objective: float = Field(description="The problem's weighted objective of this plan.")
    assignment: dict[str, str]


class ParetoFront(BaseModel):
    """The exact front of two metrics among plans that meet the other budgets."""

    model_config = ConfigDict(frozen=True)

    format: Literal["pareto/v1"] = "pareto/v1"
    problem: str | None = Field(description="The problem's name.")
    x: MetricName
    y: MetricName
    complete: bool = Field(description="True when every non-dominated value pair is listed.")
    kept_budgets: dict[str, float] = Field(description="Budgets kept as hard constraints.")
    points: list[ParetoPoint] = Field(description="Sorted by x (best x first).")
    chosen: ParetoPoint | None = Field(
        default=None, description="The plan `planner solve` picks with the file's budgets."
    )
    solves: int = Field(default=0, description="Number of MILPs solved.")
    solve_time_ms: float | None = None


class SweepPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    factor: float
    limit: float
    status: str
    objective: float | None
    extra_objective: float | None = Field(description="objective - the base optimum's.")
    totals: Metrics | None
    changes: list[NodeChange]


class BudgetWhatIf(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    limit: float
    value: float | None = Field(description="The base plan's total for this budget.")
    binding: bool | None = Field(
        description="True when dropping this budget alone gives a strictly better optimum."
    )
    relaxed_objective: float | None = Field(description="Optimum with this budget dropped.")
    sweep: list[SweepPoint]


class RunnerUp(BaseModel):
    """The best plan that does not use the chosen model at one node."""

    model_config = ConfigDict(frozen=True)

    node: str
    chosen: str | None
    runner_up: str | None = Field(description="Model this plan uses at the node (null: none).")
    objective: float | None
    extra_objective: float | None
    delta: dict[str, float]
    changes: list[NodeChange] = Field(description="Every node that changes, this one included.")
    note: str


class WhatIf(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: Literal["whatif/v1"] = "whatif/v1"
    problem: str | None
    status: str
    objective: float | None
    totals: Metrics | None
    assignment: dict[str, str]
    budgets: list[BudgetWhatIf]
    runner_ups: list[RunnerUp]
