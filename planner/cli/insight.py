"""`planner pareto`, `whatif`, `alternatives`, `diff`, `report`, and the insight that
`planner solve` adds (why infeasible, ``--alternatives K``)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from planner.cli.options import (
    CostBudgetOpt,
    EnergyBudgetOpt,
    ExecutionOpt,
    InsightBackendOpt,
    LatencyBudgetOpt,
    MemoryBudgetOpt,
    MilpTimeLimitOpt,
    MinAccuracyOpt,
    WeightsOpt,
    apply_overrides,
)
from planner.errors import ProblemError, SolveError
from planner.fmt import sig
from planner.insight_models import Alternative, ParetoFront
from planner.io import check_output_target, plain, shown, write_atomic
from planner.plan import Plan
from planner.problem import Problem, load_problem

out = Console(highlight=False, soft_wrap=True)
#: Most points `planner pareto` computes (each is one exact solve).
MAX_PARETO_POINTS = 100_000

METRIC_ALIASES = {
    "energy": "energy_j",
    "energy_j": "energy_j",
    "latency": "latency_ms",
    "latency_ms": "latency_ms",
    "accuracy": "accuracy",
    "memory": "memory_mb",
    "memory_mb": "memory_mb",
    "cost": "cost_usd",
    "cost_usd": "cost_usd",
}


def metric_name(text: str, option: str) -> str:
    try:
        return METRIC_ALIASES[text.strip().lower()]
    except KeyError:
        raise ProblemError(
            f"{option}: unknown metric {text!r}; use energy, latency, accuracy, memory or cost"
        ) from None


def fmt(value: float | None, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, never in exponent notation."""
    return "-" if value is None else sig(value, digits)


def augment_plan(plan: Plan, alternatives: int = 0, time_limit_s: float | None = None) -> Plan:
    """Add the explanation (infeasible plans) and ``alternatives`` next-best plans."""
    from planner.insight import alternatives as find_alternatives
    from planner.insight import explain_infeasible

    update: dict[str, object] = {}
    if plan.status == "infeasible":
        try:
            update["explanation"] = explain_infeasible(plan.problem, time_limit_s=time_limit_s)
        except SolveError as exc:  # the plan is still worth printing without the why
            Console(stderr=True).print(f"warning: could not explain the infeasibility: {exc}")
    if alternatives and plan.has_plan:
        update["alternatives"] = find_alternatives(
            plan.problem, alternatives, time_limit_s=time_limit_s
        )
    return plan.model_copy(update=update) if update else plan


def render_insight(plan: Plan, console: Console) -> None:
    """Print the explanation and alternatives of ``plan`` (when present)."""
    if plan.explanation is not None:
        console.print("[bold]why:[/] " + shown(plan.explanation.summary, True))
        for sentence in plan.explanation.sentences.values():
            console.print(f"  - {shown(sentence, True)}")
    if plan.alternatives is not None:
        render_alternatives(plan.alternatives, console)


def render_alternatives(alts: list[Alternative], console: Console) -> None:
    if not alts:
        console.print("alternatives: no other plan meets the budgets")
        return
    table = Table(
        title="alternatives (next-best distinct plans)",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for col in ("rank", "objective", "worse by", "energy J", "latency ms", "accuracy", "changes"):
        table.add_column(col)
    for a in alts:
        pct = "" if a.extra_objective_pct is None else f" ({a.extra_objective_pct:+.2f}%)"
        table.add_row(
            str(a.rank),
            fmt(a.objective, 6),
            f"+{a.extra_objective:.4g}{pct}",
            f"{fmt(a.totals.energy_j)} ({a.delta['energy_j']:+.3g})",
            f"{fmt(a.totals.latency_ms)} ({a.delta['latency_ms']:+.3g})",
            f"{fmt(a.totals.accuracy)} ({a.delta['accuracy']:+.3g})",
            shown(", ".join(f"{c.node}: {c.before} -> {c.after}" for c in a.changes)),
        )
    console.print(table)


def front_csv(front: ParetoFront) -> str:
    buf = io.StringIO()
    nodes = list(front.points[0].assignment) if front.points else []
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["energy_j", "latency_ms", "accuracy", "memory_mb", "cost_usd", "objective", *nodes]
    )
    for p in front.points:
        writer.writerow(
            [
                repr(p.energy_j),
                repr(p.latency_ms),
                repr(p.accuracy),
                repr(p.memory_mb),
                repr(p.cost_usd),
                repr(p.objective),
                *(p.assignment[n] for n in nodes),
            ]
        )
    return buf.getvalue()


def chosen_point(
    problem: object, backend: str | None, time_limit_s: float | None
) -> dict[str, object] | None:
    """The plan `planner solve` picks for the file's budgets, as a Pareto point dict."""
    from planner.insight import default_backend
    from planner.solve import solve

    assert isinstance(problem, Problem)
    plan = solve(problem, backend=backend or default_backend(), time_limit_s=time_limit_s)
    if plan.totals is None:
        return None
    return {**plan.totals.model_dump(), "objective": plan.objective, "assignment": plan.assignment}


def register(app: typer.Typer) -> None:
    @app.command()
    def pareto(
        problem_file: Path = typer.Argument(..., help="Problem file (JSON or YAML)."),
        energy_budget: EnergyBudgetOpt = None,
        latency_budget: LatencyBudgetOpt = None,
        min_accuracy: MinAccuracyOpt = None,
        memory_budget: MemoryBudgetOpt = None,
        cost_budget: CostBudgetOpt = None,
        weights: WeightsOpt = None,
        execution: ExecutionOpt = None,
        x: str = typer.Option("energy", "--x", help="energy or latency (or memory, cost)."),
        y: str = typer.Option("accuracy", "--y", help="accuracy, latency or energy."),
        points: int | None = typer.Option(
            None, "--points", help="Sample N points (default: the whole front)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the front as JSON."),
        csv_path: Path | None = typer.Option(None, "--csv", help="Write the points as CSV."),
        png: Path | None = typer.Option(None, "--png", help="Plot the front as PNG."),
        backend: InsightBackendOpt = None,
        time_limit: MilpTimeLimitOpt = None,
        max_points: int = typer.Option(
            1000, "--max-points", help="Stop after this many points (front then marked incomplete)."
        ),
    ) -> None:
        """Exact Pareto front of two metrics; the budgets on those two are ignored."""
        if not 1 <= max_points <= MAX_PARETO_POINTS:
            raise ProblemError(
                f"--max-points must be between 1 and {MAX_PARETO_POINTS}, got {max_points}"
            )
        if points is not None and points > max_points:
            raise ProblemError(
                f"--points {points} is more than --max-points {max_points}; ask for fewer "
                "points or raise --max-points"
            )
        from planner.insight import pareto_front
        from planner.insight_models import ParetoPoint
        from planner.report_html import pareto_png

        problem = apply_overrides(
            load_problem(problem_file),
            energy_budget=energy_budget,
            latency_budget=latency_budget,
            min_accuracy=min_accuracy,
            memory_budget=memory_budget,
            cost_budget=cost_budget,
            weights=weights,
            execution=execution,
        )
        front = pareto_front(
            problem,
            metric_name(x, "--x"),
            metric_name(y, "--y"),
            points=points,
            backend=backend,
            time_limit_s=time_limit,
            max_points=max_points,
        )
        chosen = chosen_point(problem, backend, time_limit)
        if chosen is not None:
            front = front.model_copy(update={"chosen": ParetoPoint.model_validate(chosen)})
        if csv_path is not None:
            write_atomic(csv_path, front_csv(front))
        if png is not None:
            write_atomic(png, pareto_png(front))
        if as_json:
            typer.echo(front.model_dump_json(indent=2))
            return
        kept = ", ".join(f"{k}={v:g}" for k, v in front.kept_budgets.items()) or "none"
        out.print(
            f"Pareto front of {front.y} vs {front.x} for {front.problem or problem_file}"
            f" ({'complete' if front.complete else 'sampled'}; budgets kept: {kept}; "
            f"{front.solves} MILPs, {fmt(front.solve_time_ms, 3)} ms)"
        )
        table = Table(show_edge=False, pad_edge=False)
        for col in (
            "#",
            "energy J",
            "latency ms",
            "accuracy",
            "memory MB",
            "objective",
            "assignment",
        ):
            table.add_column(col)
        for k, p in enumerate(front.points, 1):
            mark = (
                " *" if front.chosen is not None and p.assignment == front.chosen.assignment else ""
            )
            table.add_row(
                f"{k}{mark}",
                fmt(p.energy_j),
                fmt(p.latency_ms),
                fmt(p.accuracy),
                fmt(p.memory_mb),
                fmt(p.objective, 5),
                shown(", ".join(f"{n}={m}" for n, m in p.assignment.items())),
            )
        out.print(table)
        if front.chosen is not None:
            c = front.chosen
            out.print(
                f"chosen plan (file's budgets, * if on the front): {fmt(c.energy_j)} J, "
                f"{fmt(c.latency_ms)} ms, accuracy {fmt(c.accuracy)}"
            )
        for path in (csv_path, png):
            if path is not None:
                out.print(f"wrote {path}")

    @app.command()
    def alternatives(
        problem_file: Path = typer.Argument(..., help="Problem file (JSON or YAML)."),
        k: int = typer.Option(3, "-k", "--count", help="How many next-best plans."),
        energy_budget: EnergyBudgetOpt = None,
        latency_budget: LatencyBudgetOpt = None,
        min_accuracy: MinAccuracyOpt = None,
        memory_budget: MemoryBudgetOpt = None,
        cost_budget: CostBudgetOpt = None,
        weights: WeightsOpt = None,
        execution: ExecutionOpt = None,
        as_json: bool = typer.Option(False, "--json", help="Print them as JSON."),
        backend: InsightBackendOpt = None,
        time_limit: MilpTimeLimitOpt = None,
    ) -> None:
        """The optimum's K next-best distinct plans and how much worse each is."""
        from planner.insight import alternatives as find_alternatives

        problem = apply_overrides(
            load_problem(problem_file),
            energy_budget=energy_budget,
            latency_budget=latency_budget,
            min_accuracy=min_accuracy,
            memory_budget=memory_budget,
            cost_budget=cost_budget,
            weights=weights,
            execution=execution,
        )
        alts = find_alternatives(problem, k, backend=backend, time_limit_s=time_limit)
        if as_json:
            typer.echo(json.dumps([a.model_dump(mode="json") for a in alts], indent=2))
        else:
            render_alternatives(alts, out)

    @app.command()
    def whatif(
        problem_file: Path = typer.Argument(..., help="Problem file (JSON or YAML)."),
        energy_budget: EnergyBudgetOpt = None,
        latency_budget: LatencyBudgetOpt = None,
        min_accuracy: MinAccuracyOpt = None,
        memory_budget: MemoryBudgetOpt = None,
        cost_budget: CostBudgetOpt = None,
        weights: WeightsOpt = None,
        execution: ExecutionOpt = None,
        factors: str = typer.Option(
            "0.5,0.75,0.9,1.1,1.25,1.5", "--factors", help="Multipliers applied to each budget."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print the analysis as JSON."),
        backend: InsightBackendOpt = None,
        time_limit: MilpTimeLimitOpt = None,
    ) -> int:
        """How the optimum moves when each budget moves; binding budgets; runner-ups."""
        from planner.insight import what_if

        try:
            values = [float(f) for f in factors.split(",") if f.strip()]
        except ValueError as exc:
            raise ProblemError(
                f"--factors: expected numbers like 0.5,1.5, got {factors!r}"
            ) from exc
        if not values or any(not (math.isfinite(f) and f > 0) for f in values):
            raise ProblemError(f"--factors: give positive multipliers, got {factors!r}")
        problem = apply_overrides(
            load_problem(problem_file),
            energy_budget=energy_budget,
            latency_budget=latency_budget,
            min_accuracy=min_accuracy,
            memory_budget=memory_budget,
            cost_budget=cost_budget,
            weights=weights,
            execution=execution,
        )
        report = what_if(problem, values, backend=backend, time_limit_s=time_limit)
        if as_json:
            typer.echo(report.model_dump_json(indent=2))
            return 0 if report.totals is not None else 3
        if report.totals is None:
            out.print(
                f"[bold red]{report.status.upper()}[/]: no base plan; sweeps below show "
                "which budget changes make one exist"
            )
        else:
            t = report.totals
            out.print(
                f"base optimum: objective {fmt(report.objective, 6)}; {fmt(t.energy_j)} "
                f"J, {fmt(t.latency_ms)} ms, accuracy {fmt(t.accuracy)}, "
                f"{fmt(t.memory_mb)} MB"
            )
        for b in report.budgets:
            binds = {True: "binds", False: "does not bind", None: "binding unknown"}[b.binding]
            table = Table(
                title=f"{b.name} = {b.limit:g} (plan uses {fmt(b.value)}; {binds})",
                title_justify="left",
                show_edge=False,
                pad_edge=False,
            )
            for col in ("x", "budget", "status", "objective", "change", "models changed"):
                table.add_column(col)
            for s in b.sweep:
                change = "-" if s.extra_objective is None else f"{s.extra_objective:+.4g}"
                table.add_row(
                    f"{s.factor:g}",
                    fmt(s.limit),
                    s.status,
                    fmt(s.objective, 6),
                    change,
                    shown(
                        ", ".join(f"{c.node}: {c.before} -> {c.after}" for c in s.changes) or "-"
                    ),
                )
            out.print(table)
        if report.runner_ups:
            table = Table(
                title="per-node runner-up (best plan without the chosen model)",
                title_justify="left",
                show_edge=False,
                pad_edge=False,
            )
            for col in (
                "node",
                "chosen",
                "runner-up",
                "objective +",
                "energy J",
                "latency ms",
                "accuracy",
                "also changes",
            ):
                table.add_column(col)
            for r in report.runner_ups:
                d = r.delta
                table.add_row(
                    shown(r.node),
                    shown(r.chosen or "-"),
                    shown(
                        r.runner_up
                        or (
                            "(unknown: time limit)"
                            if r.note.startswith("unknown")
                            else "(none feasible)"
                        )
                    ),
                    fmt(r.extra_objective),
                    f"{d['energy_j']:+.3g}" if d else "-",
                    f"{d['latency_ms']:+.3g}" if d else "-",
                    f"{d['accuracy']:+.3g}" if d else "-",
                    shown(
                        ", ".join(f"{c.node}: {c.after}" for c in r.changes if c.node != r.node)
                        or "-"
                    ),
                )
            out.print(table)
        return 0 if report.totals is not None else 3

    @app.command()
    def diff(
        a: Path = typer.Argument(..., help="First plan or report (JSON)."),
        b: Path = typer.Argument(..., help="Second plan or report (JSON)."),
        as_json: bool = typer.Option(False, "--json", help="Print the diff as JSON."),
        exit_code: bool = typer.Option(
            False, "--exit-code", help="Exit 1 when the two differ (like git diff)."
        ),
    ) -> int:
        """Compare two plans or run reports: models, totals, per-node values."""
        from planner.diff import diff_artifacts, load_artifact

        result = diff_artifacts(load_artifact(a), load_artifact(b), str(a), str(b))
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            out.print(f"A = {a}\nB = {b}", markup=False)
            if result.same:
                out.print("no difference in assignment, totals or nodes")
            for f in result.fields:
                out.print(plain(f"{f.key}: {f.a} -> {f.b}"), markup=False)
            for c in result.assignment:
                out.print(plain(f"model  {c.node}: {c.before} -> {c.after}"), markup=False)
            if result.totals:
                table = Table(
                    title="totals (B - A)", title_justify="left", show_edge=False, pad_edge=False
                )
                for col in ("metric", "A", "B", "change", "%"):
                    table.add_column(col)
                for t in result.totals:
                    table.add_row(
                        t.key,
                        str(fmt(t.a) if isinstance(t.a, float) else t.a),
                        str(fmt(t.b) if isinstance(t.b, float) else t.b),
                        "-" if t.delta is None else f"{t.delta:+.4g}",
                        "-" if t.pct is None else f"{t.pct:+.2f}%",
                    )
                out.print(table)
            for node, deltas in result.nodes.items():
                changes = "; ".join(
                    f"{d.key}: {fmt(d.a) if isinstance(d.a, float) else d.a} -> "
                    f"{fmt(d.b) if isinstance(d.b, float) else d.b}"
                    for d in deltas
                )
                out.print(plain(f"node {node}: {changes}"), markup=False)
        return 1 if exit_code and not result.same else 0

    @app.command()
    def report(
        source: Path = typer.Argument(..., help="Plan JSON (`planner solve -o`) or run report."),
        output: Path = typer.Option(..., "-o", "--output", help="HTML file to write."),
        x: str = typer.Option("energy", "--pareto-x", help="Pareto plot x metric."),
        y: str = typer.Option("accuracy", "--pareto-y", help="Pareto plot y metric."),
        no_pareto: bool = typer.Option(False, "--no-pareto", help="Skip the Pareto plot."),
        backend: InsightBackendOpt = None,
        time_limit: MilpTimeLimitOpt = None,
    ) -> None:
        """One self-contained HTML page: graph, candidates, budgets, Pareto plot."""
        check_output_target(output)  # before solving: nothing computed is lost
        from planner.insight import pareto_front
        from planner.report_html import build_report, load_report_input

        data = load_report_input(source)
        front = None
        note = "skipped (--no-pareto)"
        if not no_pareto:
            front = pareto_front(
                data.plan.problem,
                metric_name(x, "--pareto-x"),
                metric_name(y, "--pareto-y"),
                backend=backend,
                time_limit_s=time_limit,
                max_points=200,
            )
        write_atomic(output, build_report(data, front, note))
        out.print(f"wrote {output}")
