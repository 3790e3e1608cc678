"""`planner solve`, `planner inspect` and `planner schema`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from planner.cli.options import (
    BackendOpt,
    CatalogOpt,
    ColdOpt,
    CostBudgetOpt,
    EnergyBudgetOpt,
    ExecutionOpt,
    GapOpt,
    LatencyBudgetOpt,
    MemoryBudgetOpt,
    MinAccuracyOpt,
    TimeLimitOpt,
    VerboseOpt,
    WeightsOpt,
    WorkersOpt,
    apply_overrides,
)
from planner.cli.render import render_plan
from planner.cli.run import load_plan, load_problem_file
from planner.errors import ProblemError
from planner.io import check_output_target, write_atomic
from planner.plan import Plan
from planner.problem import Problem

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def solve(
        problem_file: Path = typer.Argument(
            ...,
            help="Problem file (JSON or YAML), or a task graph file (graph, TaskBench or "
            "HuggingGPT format) whose nodes get the --catalog's models.",
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
        as_json: bool = typer.Option(False, "--json", help="Print the Plan as JSON."),
        output: Path | None = typer.Option(None, "-o", "--output", help="Write the Plan here."),
        no_timings: bool = typer.Option(
            False, "--no-timings", help="Omit solve time so output is byte-stable."
        ),
        alternatives: int = typer.Option(
            0, "--alternatives", min=0, help="Also list the K next-best distinct plans."
        ),
        catalog: CatalogOpt = None,
        verbose: VerboseOpt = False,
    ) -> int:
        """Solve a problem or task graph file: pick one model per node within the budgets."""
        import time

        check_output_target(output)  # before solving: nothing computed is lost
        from planner.cli.insight import augment_plan, render_insight
        from planner.solve import solve as run_solve
        from solvers.api import DEFAULT_TIME_LIMIT_S

        started = time.perf_counter()
        limit = DEFAULT_TIME_LIMIT_S if time_limit is None else time_limit
        problem = apply_overrides(
            load_problem_file(problem_file, catalog),
            energy_budget=energy_budget,
            latency_budget=latency_budget,
            min_accuracy=min_accuracy,
            memory_budget=memory_budget,
            cost_budget=cost_budget,
            weights=weights,
            execution=execution,
            workers=workers,
            cold=cold,
        )
        plan = run_solve(
            problem,
            backend=backend,
            time_limit_s=limit,
            gap_rel=gap,
            explain=True,
        )
        # --time-limit bounds the whole command: the insight gets what the solve left
        left = max(limit - (time.perf_counter() - started), 1e-3)
        plan = augment_plan(plan, alternatives=alternatives, time_limit_s=left)
        text = plan.to_json(timings=not no_timings)
        if output is not None:
            write_atomic(output, text)
        if as_json:
            typer.echo(text, nl=False)
        else:
            render_plan(plan, out, verbose=verbose)
            render_insight(plan, out)
            if output is not None:
                out.print(f"plan written to {output}")
        if plan.status == "infeasible":
            return 3
        return 0 if plan.has_plan else 1

    @app.command()
    def inspect(
        plan_file: Path = typer.Argument(..., help="Plan JSON written by `planner solve -o`."),
        png: Path | None = typer.Option(None, "--png", help="Draw the plan graph as PNG."),
        svg: Path | None = typer.Option(None, "--svg", help="Draw the plan graph as SVG."),
        dot: Path | None = typer.Option(None, "--dot", help="Write Graphviz DOT."),
    ) -> None:
        """Show a plan's graph in the terminal, and draw it."""
        from planner.draw import draw_plan, plan_to_dot, render_graph

        plan = load_plan(plan_file)
        render_graph(plan, out)
        for path, kind in ((png, "png"), (svg, "svg")):
            if path is not None:
                draw_plan(plan, path, kind)
                out.print(f"wrote {path}")
        if dot is not None:
            write_atomic(dot, plan_to_dot(plan))
            out.print(f"wrote {dot}")

    @app.command()
    def schema(
        kind: str = typer.Argument(
            "problem", help="problem, plan, catalog, report, pareto or whatif."
        ),
    ) -> None:
        """Print the JSON Schema of a file format."""
        from planner.insight_models import ParetoFront, WhatIf
        from planner.report import Report
        from profiles import Catalog

        models: dict[str, type] = {
            "problem": Problem,
            "plan": Plan,
            "catalog": Catalog,
            "report": Report,
            "pareto": ParetoFront,
            "whatif": WhatIf,
        }
        if kind not in models:
            raise ProblemError(f"unknown schema {kind!r}; choose one of {', '.join(models)}")
        typer.echo(json.dumps(models[kind].model_json_schema(), indent=2))  # type: ignore[attr-defined]
