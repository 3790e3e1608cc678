"""`RunOptions` (how to execute; every field is a flag of `planner run`) and `RunError`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planner.errors import PlannerError

#: Exit code of `planner run` when every node ran but a hard budget was broken.
EXIT_OVER_BUDGET = 5


class RunError(PlannerError, RuntimeError):
    """The plan cannot be run as given (no assignment, missing inputs, model fails to load)."""


class RunOptions(BaseModel):
    """How to execute. Defaults suit a laptop; every field is a CLI flag of `planner run`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sequential: bool = Field(
        default=False, description="Run one node at a time even if the plan says parallel."
    )
    max_workers: int | None = Field(
        default=None,
        ge=1,
        description="Worker slots (nodes running at once); default (null): the plan's "
        "machine (`problem.machine.resolved_workers()`, the slots the plan was scheduled on). "
        "Never more slots are started than the DAG's width.",
    )
    pool: Literal["auto", "process", "thread"] = Field(
        default="auto",
        description="Where parallel nodes run: worker processes (no shared interpreter lock, "
        "so concurrent nodes do not slow each other down) or threads. auto: processes when "
        "more than one node may run at once and the models and energy counter are not "
        "Python objects given to the executor (those only exist in this process).",
    )
    node_timeout_s: float | None = Field(
        default=None, gt=0, description="Per attempt; default 10 s + 20 x predicted latency."
    )
    retries: int = Field(default=1, ge=0, description="Retries of a failed node (same model).")
    tolerance: float = Field(
        default=0.25,
        ge=0,
        description="Measured/predicted overrun that "
        "triggers a re-plan of a budgeted metric (0.25 = 25%).",
    )
    replan: bool = Field(default=True, description="Re-plan on failures and overruns.")
    backend: str = Field(default="cbc", description="Solver backend for re-plans.")
    time_limit_s: float | None = Field(default=None, description="Solver time limit.")
    threads: int | None = Field(
        default=1,
        ge=1,
        description="Torch/BLAS threads during the run (the zoo's profiles "
        "are measured with 1); None leaves them alone.",
    )
    pin_workers: bool = Field(
        default=True,
        description="Pin each worker process to its own CPU core (round robin over the cores "
        "this process may use), so concurrent nodes do not migrate across each other's "
        "cores (Linux; ignored elsewhere).",
    )
    pause_gc: bool = Field(
        default=True,
        description="Pause Python's cyclic garbage collector while nodes run "
        "(as the profiler does while timing); it runs again after.",
    )
    warmup: int = Field(
        default=3,
        ge=0,
        description="Warm-up inferences per zoo model at "
        "load time, as the profiler does (not measured).",
    )
