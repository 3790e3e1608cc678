"""Request and response bodies of the HTTP API (frozen pydantic models; OpenAPI from them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from planner.problem import Budgets, Weights
from tasks import TaskGraph

MAX_REQUEST_CHARS = 10_000


class PlanRequest(BaseModel):
    """Exactly one of ``request`` (text, decomposed by the server), ``graph`` (a task graph,
    planned over the server's catalog) or ``problem`` (the problem file format; without
    ``models`` the server's catalog is used). ``budgets`` and ``weights`` override the
    problem's; the slot's remaining energy is added as an energy budget."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: str | None = Field(
        default=None, min_length=1, max_length=MAX_REQUEST_CHARS, description="Request text."
    )
    graph: TaskGraph | None = Field(default=None, description="A task graph (DAG).")
    problem: dict[str, Any] | None = Field(
        default=None, description="A problem (format v1); 'models' may be left out."
    )
    budgets: Budgets | None = Field(default=None, description="Hard limits of this request.")
    weights: Weights | None = Field(default=None, description="Objective weights.")
    execution: Literal["parallel", "sequential"] | None = Field(
        default=None, description="'parallel' (default) or 'sequential'."
    )
    goal: Literal["accuracy", "objective"] = Field(
        default="accuracy",
        description="'accuracy': the most accurate plan the slot's energy allows (ties: the "
        "weights decide), so plans move to cheaper models as the slot fills; 'objective': "
        "the weights' optimum under the same budgets.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PlanRequest:
        given = [k for k in ("request", "graph", "problem") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'request' (text), 'graph' or 'problem'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class RunRequest(PlanRequest):
    """A plan request that is also executed; ``inputs`` are the ``$name`` user inputs."""

    inputs: dict[str, Any] = Field(default_factory=dict, description="User inputs {name: value}.")


class ServeInfo(BaseModel):
    """What the service decided around the plan."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    slot: int = Field(description="Index of the slot the request was admitted in.")
    energy_available_j: float | None = Field(
        description="Energy the plan's models could use in the slot (null: no limit)."
    )
    predicted_energy_j: float = Field(
        description="The request's predicted energy: plan energy plus the learned overhead."
    )
    degraded: bool = Field(
        description="True when no plan fitted the slot and the cheapest "
        "plan was returned anyway (policy degrade)."
    )
    queued_s: float = Field(description="Seconds spent waiting for a slot (policy queue).")
    policy: str
    selection_ms: float = Field(description="Time spent in model selection.")
    solves: int = Field(description="Solver calls made for this plan.")
    resident_models: list[str] = Field(description="Chosen models already loaded (warm).")
    cold_models: list[str] = Field(description="Chosen models not loaded yet.")
    note: str = ""


class RunEnergy(BaseModel):
    model_config = ConfigDict(frozen=True)

    predicted_j: float
    measured_j: float = Field(description="The request's share of the energy meter.")
    source: str = Field(description="The meter: rapl, nvml or estimate.")


class ErrorBody(BaseModel):
    """Every error answer: one line saying what is wrong and how to fix it."""

    error: str
    retry_after_s: float | None = None
    detail: list[dict[str, Any]] | None = None
