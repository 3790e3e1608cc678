"""The options several `planner` commands share, declared once (typer ``Annotated`` aliases),
and the one function that applies them to a problem."""

from __future__ import annotations

from typing import Annotated

import typer

from planner.errors import ProblemError
from planner.problem import Problem

#: The budget and weight flags shared by solve, plan, run, pareto, whatif and alternatives.
EnergyBudgetOpt = Annotated[float | None, typer.Option("--energy-budget", help="Joules.")]
LatencyBudgetOpt = Annotated[float | None, typer.Option("--latency-budget", help="ms.")]
MinAccuracyOpt = Annotated[float | None, typer.Option("--min-accuracy", help="In (0, 1].")]
MemoryBudgetOpt = Annotated[float | None, typer.Option("--memory-budget", help="MB.")]
CostBudgetOpt = Annotated[
    float | None, typer.Option("--cost-budget", help="USD (the models' cost_usd, summed).")
]
WeightsOpt = Annotated[str | None, typer.Option("--weights", help="e.g. energy=0.7,latency=0.3")]
ExecutionOpt = Annotated[str | None, typer.Option("--execution", help="parallel or sequential.")]
#: The machine flags shared by `planner solve` and `planner run` (same meaning in both).
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=1,
        help="Worker slots the executor runs nodes on (default: the problem's machine, else "
        "the CPU cores this process may use, at most 4). The plan's latency is the list "
        "schedule on these workers.",
    ),
]
ColdOpt = Annotated[
    bool | None,
    typer.Option(
        "--cold/--warm",
        help="--cold: models not resident load before the run and the plan counts each "
        "distinct model's load time and energy once; --warm: loading is not planned. "
        "Default: the problem's machine (warm).",
    ),
]

BACKEND_HELP = "Solver backend: cbc (default, CBC via PuLP), highs (in-process), brute (oracle)."
INSIGHT_BACKEND_HELP = "MILP backend: highs (default when installed) or cbc."
BackendOpt = Annotated[str, typer.Option("--backend", help=BACKEND_HELP)]
InsightBackendOpt = Annotated[str | None, typer.Option("--backend", help=INSIGHT_BACKEND_HELP)]
TimeLimitOpt = Annotated[
    float | None, typer.Option("--time-limit", help="Solver seconds (default 60).")
]
MilpTimeLimitOpt = Annotated[
    float | None, typer.Option("--time-limit", help="Seconds per MILP (default 60).")
]
GapOpt = Annotated[float | None, typer.Option("--gap", help="Relative gap, e.g. 0.01.")]


def parse_weights(text: str) -> dict[str, float]:
    """Parse ``energy=0.7,latency=0.3`` into a dict; unknown keys are errors."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ProblemError(
                f"--weights: expected key=value pairs like energy=0.7,latency=0.3, got {part!r}"
            )
        key, value = (s.strip() for s in part.split("=", 1))
        if key not in ("energy", "latency", "cost"):
            raise ProblemError(f"--weights: unknown weight {key!r}; use energy, latency or cost")
        try:
            weights[key] = float(value)
        except ValueError as exc:
            raise ProblemError(f"--weights: {key}={value!r} is not a number") from exc
    weights.setdefault("energy", 0.0)
    weights.setdefault("latency", 0.0)
    return weights


def apply_overrides(
    problem: Problem,
    *,
    energy_budget: float | None = None,
    latency_budget: float | None = None,
    min_accuracy: float | None = None,
    memory_budget: float | None = None,
    cost_budget: float | None = None,
    weights: str | None = None,
    execution: str | None = None,
    workers: int | None = None,
    cold: bool | None = None,
    measured_dispatch: bool = False,
) -> Problem:
    """``problem`` with the command line's budget, weight, execution and machine flags
    applied (a flag left out keeps the file's value). The one way every command applies them.

    ``measured_dispatch`` (`planner plan` and `planner run`): when the problem leaves the
    machine's per-node dispatch overhead at 0, use the one measured here for the pool the run
    will use (`planner.run.calibration`), so the plan shown is the plan that runs."""
    budgets: dict[str, float | None] = {
        k: v
        for k, v in {
            "energy_j": energy_budget,
            "latency_ms": latency_budget,
            "min_accuracy": min_accuracy,
            "memory_mb": memory_budget,
            "cost_usd": cost_budget,
        }.items()
        if v is not None
    }
    if execution is not None and execution not in ("parallel", "sequential"):
        raise ProblemError(f"--execution must be parallel or sequential, got {execution!r}")
    if workers is not None and workers < 1:
        raise ProblemError(f"--workers must be at least 1, got {workers}")
    machine: dict[str, object] = {}
    if workers is not None:
        machine["workers"] = workers
    if cold is not None:
        machine["cold"] = cold
    problem = problem.with_overrides(
        budgets=budgets or None,
        weights=parse_weights(weights) if weights else None,
        execution=execution,  # type: ignore[arg-type]
        machine=machine or None,
    )
    if measured_dispatch and problem.machine.dispatch_ms == 0.0:  # not set (0 is the default)
        from planner.run.calibration import dispatch_ms_default

        pool = "thread" if problem.machine.resolved_workers() <= 1 else "process"
        found = dispatch_ms_default(pool)
        if found is not None:
            problem = problem.with_machine(dispatch_ms=found)
    return problem
