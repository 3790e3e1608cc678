"""`planner plan`: decompose (or load) and solve, then show the plan; nothing runs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from planner.cli.options import (
    AllowAbsoluteOpt,
    ApiKeyEnvOpt,
    BackendOpt,
    CatalogOpt,
    ColdOpt,
    CostBudgetOpt,
    DecomposerFlags,
    DecomposerOpt,
    EnergyBudgetOpt,
    ExecutionOpt,
    GapOpt,
    InputDirOpt,
    LatencyBudgetOpt,
    LlmConfigOpt,
    LlmModelOpt,
    LlmTimeoutOpt,
    LlmUrlOpt,
    MemoryBudgetOpt,
    MinAccuracyOpt,
    SemanticOpt,
    TimeLimitOpt,
    VerboseOpt,
    WeightsOpt,
    WorkersOpt,
)
from planner.cli.render import render_plan
from planner.cli.run import (
    EXIT_INFEASIBLE,
    TARGET_RULE,
    TRUST_ENV,
    check_file_arguments,
    load_target,
    plan_loaded,
)
from planner.io import check_output_target, shown, write_atomic

out = Console(highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        target: str | None = typer.Argument(
            None,
            help="A request text, a problem file, a task graph file (graph, TaskBench or "
            "HuggingGPT format) or a plan file. Omitted: the built-in demo request. " + TARGET_RULE,
        ),
        energy_budget: EnergyBudgetOpt = None,
        latency_budget: LatencyBudgetOpt = None,
        min_accuracy: MinAccuracyOpt = None,
        memory_budget: MemoryBudgetOpt = None,
        cost_budget: CostBudgetOpt = None,
        weights: WeightsOpt = None,
        execution: ExecutionOpt = None,
        workers: WorkersOpt = None,
        cold: ColdOpt = None,
        backend: BackendOpt = "cbc",
        time_limit: TimeLimitOpt = None,
        gap: GapOpt = None,
        catalog: CatalogOpt = None,
        decomposer_kind: DecomposerOpt = None,
        llm_url: LlmUrlOpt = None,
        llm_model: LlmModelOpt = None,
        api_key_env: ApiKeyEnvOpt = None,
        llm_config: LlmConfigOpt = None,
        llm_timeout: LlmTimeoutOpt = None,
        semantic: SemanticOpt = None,
        input_dir: InputDirOpt = Path("."),
        allow_absolute: AllowAbsoluteOpt = False,
        trust_plan: bool = typer.Option(
            False, "--trust-plan", help="As `planner run --trust-plan`."
        ),
        verbose: VerboseOpt = False,
        as_json: bool = typer.Option(False, "--json", help="Print the Plan as JSON."),
        output: Path | None = typer.Option(
            None, "-o", "--output", help="Write the Plan here (`planner run FILE` runs it)."
        ),
    ) -> int:
        """Show what `planner run` would do: the graph, the model chosen for each node and
        the totals against the budgets. Nothing runs and no model loads."""
        import os

        check_output_target(output)
        decomposer = DecomposerFlags(
            decomposer_kind, llm_url, llm_model, api_key_env, llm_config, llm_timeout, semantic
        )
        loaded, request = load_target(target, catalog, decomposer)
        plan, _ = plan_loaded(
            loaded,
            target=target,
            request=request,
            catalog=catalog,
            flags={
                "energy_budget": energy_budget,
                "latency_budget": latency_budget,
                "min_accuracy": min_accuracy,
                "memory_budget": memory_budget,
                "cost_budget": cost_budget,
                "weights": weights,
                "execution": execution,
            },
            workers=workers,
            cold=cold,
            trust_plan=trust_plan or os.environ.get(TRUST_ENV) == "1",
            backend=backend,
            time_limit=time_limit,
            gap=gap,
        )
        if plan.has_plan:
            # the checks `planner run` makes before it starts anything
            file_inputs = plan.problem.metadata.get("inputs", {})
            check_file_arguments(plan, file_inputs, input_dir, allow_absolute)
        text = plan.to_json()
        if output is not None:
            write_atomic(output, text)
        if as_json:
            typer.echo(text, nl=False)
        else:
            if request:
                out.print(f"request: {shown(request, True)}")
            render_plan(plan, out, verbose=verbose)
            if output is not None:
                out.print(f"plan written to {output}")
        if plan.status == "infeasible":
            return EXIT_INFEASIBLE
        return 0 if plan.has_plan else 1
