"""`planner solve`, `planner inspect` and `planner schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from planner.errors import ProblemError
from planner.io import check_output_target, shown, write_atomic
from planner.metrics import BUDGET_METRICS
from planner.plan import Plan
from planner.problem import Problem, format_validation_error, load_problem, read_data_file

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

#: The budget and weight flags shared by solve, run, pareto, whatif and alternatives.
EnergyBudgetOpt = Annotated[float | None, typer.Option("--energy-budget", help="Joules.")]
LatencyBudgetOpt = Annotated[float | None, typer.Option("--latency-budget", help="ms.")]
MinAccuracyOpt = Annotated[float | None, typer.Option("--min-accuracy", help="In (0, 1].")]
MemoryBudgetOpt = Annotated[float | None, typer.Option("--memory-budget", help="MB.")]
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
    energy_budget: float | None,
    latency_budget: float | None,
    min_accuracy: float | None,
    memory_budget: float | None,
    weights: str | None,
    execution: str | None,
    workers: int | None = None,
    cold: bool | None = None,
) -> Problem:
    budgets: dict[str, float | None] = {
        k: v
        for k, v in {
            "energy_j": energy_budget,
            "latency_ms": latency_budget,
            "min_accuracy": min_accuracy,
            "memory_mb": memory_budget,
        }.items()
        if v is not None
    }
    if execution is not None and execution not in ("parallel", "sequential"):
        raise ProblemError(f"--execution must be parallel or sequential, got {execution!r}")
    machine: dict[str, object] = {}
    if workers is not None:
        machine["workers"] = workers
    if cold is not None:
        machine["cold"] = cold
    return problem.with_overrides(
        budgets=budgets or None,
        weights=parse_weights(weights) if weights else None,
        execution=execution,  # type: ignore[arg-type]
        machine=machine or None,
    )


def fmt(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}"


#: Above this many nodes `render_plan` shows one row per node (the chosen model), not a
#: table of every candidate per node (500 such tables took 4 s to print).
TABLE_PER_NODE_MAX = 40


def _render_choices(plan: Plan, console: Console) -> None:
    if not any(c.chosen for node in plan.nodes for c in node.candidates):
        console.print(f"{len(plan.nodes)} nodes, no model chosen (no plan)")
        return
    table = Table(
        title=f"{len(plan.nodes)} nodes: the chosen model of each (the plan file has every "
        "candidate and why it was not chosen)",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for col in ("node", "task", "model", "accuracy", "latency ms", "energy J", "memory MB"):
        table.add_column(col, justify="left" if col in ("node", "task", "model") else "right")
    for node in plan.nodes:
        c = next((c for c in node.candidates if c.chosen), None)
        crit = " *" if node.id in plan.critical_path else ""
        table.add_row(
            shown(node.id) + crit,
            shown(node.task),
            shown(c.model) if c else "-",
            fmt(c.accuracy) if c else "-",
            fmt(c.latency_ms) if c else "-",
            fmt(c.energy_j) if c else "-",
            fmt(c.memory_mb) if c else "-",
        )
    console.print(table)
    if plan.critical_path:
        console.print("* on the critical path")


def render_plan(plan: Plan, console: Console) -> None:
    """Human view: a table per node of the considered models, then totals vs budgets."""
    head = {"optimal": "green", "feasible": "yellow"}.get(plan.status, "red")
    console.print(f"[bold {head}]{plan.status.upper()}[/]: {shown(plan.message, True)}")
    if plan.problem.name:
        console.print(f"problem: {shown(plan.problem.name)}")
    if len(plan.nodes) > TABLE_PER_NODE_MAX:
        _render_choices(plan, console)  # a table per node would take seconds to print
    for node in plan.nodes if len(plan.nodes) <= TABLE_PER_NODE_MAX else ():
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
        weights: WeightsOpt = None,
        execution: ExecutionOpt = None,
        workers: WorkersOpt = None,
        cold: ColdOpt = None,
        backend: str = typer.Option("cbc", "--backend", help=BACKEND_HELP),
        time_limit: float | None = typer.Option(None, "--time-limit", help="Seconds (default 60)."),
        gap: float | None = typer.Option(None, "--gap", help="Relative gap, e.g. 0.01."),
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
        from planner.cli_insight import augment_plan, render_insight
        from planner.solve import solve as run_solve
        from solvers.api import DEFAULT_TIME_LIMIT_S

        started = time.perf_counter()
        limit = DEFAULT_TIME_LIMIT_S if time_limit is None else time_limit
        problem = apply_overrides(
            load_problem(problem_file),
            energy_budget,
            latency_budget,
            min_accuracy,
            memory_budget,
            weights,
            execution,
            workers,
            cold,
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
