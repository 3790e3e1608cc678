"""`planner solve`, `planner inspect` and `planner schema`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from planner.cli.options import (
    BackendOpt,
    ColdOpt,
    CostBudgetOpt,
    EnergyBudgetOpt,
    ExecutionOpt,
    GapOpt,
    LatencyBudgetOpt,
    MemoryBudgetOpt,
    MinAccuracyOpt,
    TimeLimitOpt,
    WeightsOpt,
    WorkersOpt,
    apply_overrides,
)
from planner.errors import ProblemError
from planner.io import check_output_target, shown, write_atomic
from planner.metrics import BUDGET_METRICS
from planner.plan import Plan
from planner.problem import Problem, format_validation_error, load_problem, read_data_file

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}"


def render_plan(plan: Plan, console: Console) -> None:
    """Human view: a table per node of the considered models, then totals vs budgets."""
    head = {"optimal": "green", "feasible": "yellow"}.get(plan.status, "red")
    console.print(f"[bold {head}]{plan.status.upper()}[/]: {shown(plan.message, True)}")
    if plan.problem.name:
        console.print(f"problem: {shown(plan.problem.name)}")
    for node in plan.nodes:
        crit = " (critical path)" if node.id in plan.critical_path else ""
        table = Table(
            title=f"{shown(node.id)}: {shown(node.task)}{crit}",
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        for col in ("", "model", "accuracy", "latency ms", "energy J", "memory MB", "why"):
            table.add_column(
                col,
                justify="right"
                if col in ("accuracy", "latency ms", "energy J", "memory MB")
                else "left",
            )
        for c in node.candidates:
            mark = "[bold green]*[/]" if c.chosen else ""
            table.add_row(
                mark,
                shown(c.model),
                fmt(c.accuracy),
                fmt(c.latency_ms),
                fmt(c.energy_j),
                fmt(c.memory_mb),
                shown(c.reason),
            )
        console.print(table)
    totals = Table(title="totals", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("metric", "plan", "budget", "slack", "binds"):
        totals.add_column(col)
    t = plan.totals
    values = {name: t.for_budget(name) if t else None for name in BUDGET_METRICS}
    checks = {b.name: b for b in plan.budgets}
    if t is not None and t.latency_bound_ms is not None:
        # the simulated schedule first, then the bound the budget limits
        totals.add_row("latency_ms (predicted)", fmt(t.latency_ms), "-", "-", "")
    for name, value in values.items():
        check = checks.get(name)
        if check is None and name == "cost_usd" and not value:
            continue
        label = "accuracy" if name == "min_accuracy" else name
        if name == "latency_ms" and t is not None and t.latency_bound_ms is not None:
            label = "latency_ms (bound)"
        binds = "" if check is None or check.binding is None else ("yes" if check.binding else "no")
        totals.add_row(
            label,
            fmt(value),
            fmt(check.limit) if check else "-",
            fmt(check.slack) if check else "-",
            binds,
        )
    console.print(totals)
    if plan.schedule is not None:
        m = plan.schedule
        cold = (
            f", cold loads {fmt(m.load_ms)} ms ({', '.join(m.cold_models)})"
            if m.cold_models
            else ""
        )
        console.print(
            f"machine: {m.workers} worker(s), dispatch {fmt(m.dispatch_ms)} ms, start-up "
            f"{fmt(m.startup_ms)} ms{cold}; latency bound: {m.bound}"
        )
    s = plan.solver
    time_ms = f"{s.solve_time_ms:.1f} ms" if s.solve_time_ms is not None else "-"
    gap = "" if s.gap is None else f", gap {s.gap:.2%}"
    extra = f", shortcut: {s.shortcut}" if s.shortcut else ""
    console.print(
        f"solver: {s.backend}, {time_ms}{gap}, presolve removed "
        f"{s.presolve_removed} candidate(s){extra}; execution {plan.execution}; "
        f"objective {fmt(plan.objective, 6)}"
    )
    if s.message.startswith("CBC unavailable"):
        console.print(
            f"[yellow]warning: {shown(s.message.split('; solved with HiGHS')[0])}[/yellow]"
        )


def register(app: typer.Typer) -> None:
    @app.command()
    def solve(
        problem_file: Path = typer.Argument(..., help="Problem file (JSON or YAML)."),
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
    ) -> int:
        """Solve a problem file: pick one model per node within the budgets."""
        import time

        check_output_target(output)  # before solving: nothing computed is lost
        from planner.cli.insight import augment_plan, render_insight
        from planner.solve import solve as run_solve
        from solvers.api import DEFAULT_TIME_LIMIT_S

        started = time.perf_counter()
        limit = DEFAULT_TIME_LIMIT_S if time_limit is None else time_limit
        problem = apply_overrides(
            load_problem(problem_file),
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
            render_plan(plan, out)
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


def load_plan(path: Path) -> Plan:
    data = read_data_file(path)
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, f"{path} (a plan file)")) from exc
