"""The options several `planner` commands share, declared once (typer ``Annotated`` aliases),
and the one function that applies them to a problem."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

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
CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="Models for a text request, a task graph file or the demo (default: the "
        "zoo's shipped catalog).",
    ),
]
InputDirOpt = Annotated[
    Path,
    typer.Option(
        "--input-dir",
        help="File arguments of the graph (and file-given inputs) must resolve inside this folder.",
    ),
]
AllowAbsoluteOpt = Annotated[
    bool, typer.Option("--allow-absolute", help="Allow absolute file paths in graph arguments.")
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="List every candidate and why it lost.")
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
    will use (`planner.run.calibration`), so the plan shown is the plan that runs. A cold
    problem counts each local row's cold load as measured here (`with_cold_loads`)."""
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
    if problem.machine.cold:  # count the loading measured here, not 0, for local rows
        from planner.run.calibration import with_cold_loads

        problem = with_cold_loads(problem)
    return problem


# ------------------------------------------------------------------------- decomposer flags
#: `planner decompose`, `plan` and `run`: which decomposer turns a request text into a graph.
DecomposerOpt = Annotated[
    str | None,
    typer.Option(
        "--decomposer",
        help="offline (rules, the default) or llm (an OpenAI-compatible server: give "
        "--llm-url and --llm-model, or --llm-config).",
    ),
]
LlmUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--llm-url",
        "--llm",
        help="Base URL of an OpenAI-compatible API, e.g. http://localhost:8000/v1.",
    ),
]
LlmModelOpt = Annotated[str | None, typer.Option("--llm-model", help="Model name on that server.")]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option("--api-key-env", help="Environment variable holding the LLM API key."),
]
LlmConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--llm-config",
        help="JSON/TOML/YAML file with base_url, model, api_key_env, timeout_s, max_retries...",
    ),
]
LlmTimeoutOpt = Annotated[float | None, typer.Option("--llm-timeout", help="Seconds per LLM call.")]
SemanticOpt = Annotated[
    bool | None,
    typer.Option(
        "--semantic/--no-semantic",
        help="Offline: MiniLM similarity fallback (default: on when installed, loaded only "
        "when a request needs it).",
    ),
]


@dataclass(frozen=True)
class DecomposerFlags:
    """The decomposer flags as given (None: left out)."""

    decomposer: str | None = None
    llm_url: str | None = None
    llm_model: str | None = None
    api_key_env: str | None = None
    llm_config: Path | None = None
    llm_timeout: float | None = None
    semantic: bool | None = None

    def given(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def build(self, registry: Any = None) -> Any:
        """The `tasks.decompose` decomposer these flags ask for (default registry: the
        HuggingFace types plus the built-in zoo's, as `planner decompose` uses)."""
        from pydantic import ValidationError

        from planner.problem import format_validation_error
        from tasks.decompose import DecomposeError, LLMConfig, load_llm_config, make_decomposer
        from tasks.registry import planner_registry

        llm_flags = {
            "--llm-url": self.llm_url,
            "--llm-model": self.llm_model,
            "--api-key-env": self.api_key_env,
            "--llm-config": self.llm_config,
            "--llm-timeout": self.llm_timeout,
        }
        wants_llm = any(v is not None for v in llm_flags.values())
        kind = self.decomposer or ("llm" if wants_llm else "offline")
        if kind not in ("offline", "llm"):
            raise ProblemError(f"--decomposer must be offline or llm, got {kind!r}")
        if kind == "offline" and wants_llm:
            given = ", ".join(k for k, v in llm_flags.items() if v is not None)
            raise ProblemError(f"{given} configure the LLM decomposer: drop --decomposer offline")
        if kind == "llm" and self.semantic is not None:
            raise ProblemError("--semantic/--no-semantic apply to the offline decomposer only")
        registry = registry or planner_registry()
        config = None
        try:
            if kind == "llm":
                if self.llm_config is not None:
                    config = load_llm_config(
                        self.llm_config,
                        base_url=self.llm_url,
                        model=self.llm_model,
                        api_key_env=self.api_key_env,
                        timeout_s=self.llm_timeout,
                    )
                elif self.llm_url is None or self.llm_model is None:
                    raise ProblemError(
                        "--decomposer llm needs --llm-url URL and --llm-model NAME (or both in "
                        "--llm-config FILE)"
                    )
                else:
                    settings: dict[str, Any] = {
                        "base_url": self.llm_url,
                        "model": self.llm_model,
                        "api_key_env": self.api_key_env,
                    }
                    if self.llm_timeout is not None:
                        settings["timeout_s"] = self.llm_timeout
                    try:
                        config = LLMConfig.model_validate(settings)
                    except ValidationError as exc:
                        why = format_validation_error(exc, "the LLM settings")
                        raise ProblemError(why) from exc
            return make_decomposer(registry, llm=config, semantic=self.semantic)
        except DecomposeError as exc:
            raise ProblemError(str(exc)) from exc
