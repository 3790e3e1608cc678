"""How a plan reads in the terminal: the summary (the graph, the chosen model per node, the
totals against the budgets) that `planner solve`, `plan` and `run` print, and the verbose
view listing every candidate. Tables never cut an id or a task name: when they do not fit
the width, the longest ids are printed as short aliases with a legend below the table, and
free text wraps (a word longer than its column folds onto the next line). Numbers go through
`planner.fmt` (units, three significant digits, no exponents)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.console import Console
from rich.table import Table

from planner import fmt
from planner.io import shown
from planner.metrics import BUDGET_METRICS
from planner.plan import NodePlan, Plan
from planner.tables import Namer, print_fitted


def accuracy(value: float) -> str:
    return fmt.accuracy(value) if value >= 0.01 else fmt.sig(value)


def cost_usd(value: float) -> str:
    return f"{fmt.sig(value)} USD"


#: Budget name -> (label, formatter of its values).
BUDGET_VIEW: dict[str, tuple[str, Callable[[float], str]]] = {
    "energy_j": ("energy", fmt.energy_j),
    "latency_ms": ("latency", fmt.duration_ms),
    "min_accuracy": ("accuracy", accuracy),
    "memory_mb": ("memory", fmt.memory_mb),
    "cost_usd": ("cost", cost_usd),
}


def _or_dash(value: float | None, show: Callable[[float], str]) -> str:
    return "-" if value is None else show(value)


def render_plan(plan: Plan, console: Console, verbose: bool = False) -> None:
    """The plan: its status, then one row per node with the chosen model (``verbose``: a
    table per node of every candidate and why it was or was not chosen), then the totals
    against the budgets, the machine and the solver."""
    head = {"optimal": "green", "feasible": "yellow"}.get(plan.status, "red")
    console.print(f"[bold {head}]{plan.status.upper()}[/]: {shown(plan.message, True)}")
    if plan.problem.name:
        console.print(f"problem: {shown(plan.problem.name)}")
    if verbose:
        render_candidates(plan, console)
    else:
        render_chosen(plan, console)
    render_totals(plan, console)
    render_machine_and_solver(plan, console)


def render_chosen(plan: Plan, console: Console) -> None:
    """The graph in topological order: node, task, the nodes it waits for, the chosen
    model and its predicted accuracy, latency and energy."""
    preds = plan.problem.graph.predecessors()

    def build(name: Namer) -> Table:
        table = Table(show_edge=False, pad_edge=False)
        table.add_column("node", no_wrap=True)
        table.add_column("task", overflow="fold")
        table.add_column("after", overflow="fold")
        table.add_column("model", no_wrap=True)
        for col in ("accuracy", "latency", "energy"):
            table.add_column(col, justify="right", no_wrap=True)
        for node in plan.nodes:
            p = node.predicted
            table.add_row(
                shown(name(node.id)),
                shown(node.task),
                shown(", ".join(name(x) for x in preds.get(node.id, [])) or "-"),
                shown(name(node.model)) if node.model else "-",
                accuracy(p.accuracy) if p else "-",
                fmt.duration_ms(p.latency_ms) if p else "-",
                fmt.energy_j(p.energy_j) if p else "-",
            )
        return table

    models = [n.model for n in plan.nodes if n.model]
    nodes = [n.id for n in plan.nodes]
    print_fitted(console, build, {"m": models, "n": nodes}, keep=[n.task for n in plan.nodes])
    if plan.critical_path:
        console.print(f"critical path: {shown(' -> '.join(plan.critical_path))}")


def render_candidates(plan: Plan, console: Console) -> None:
    """A table per node of every candidate considered (``*``: chosen) and why."""
    for node in plan.nodes:
        crit = " (critical path)" if node.id in plan.critical_path else ""
        console.print(f"[bold]{shown(node.id)}[/]: {shown(node.task)}{crit}")
        models = [c.model for c in node.candidates]
        print_fitted(console, partial(_candidate_table, node), {"m": models})


def _candidate_table(node: NodePlan, name: Namer) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("model", no_wrap=True)
    for col in ("accuracy", "latency", "energy", "memory"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("why", overflow="fold")
    for c in node.candidates:
        table.add_row(
            "[bold green]*[/]" if c.chosen else "",
            shown(name(c.model)),
            accuracy(c.accuracy),
            fmt.duration_ms(c.latency_ms),
            fmt.energy_j(c.energy_j),
            fmt.memory_mb(c.memory_mb),
            shown(c.reason),
        )
    return table


def render_totals(plan: Plan, console: Console) -> None:
    """Totals against the budgets: value, limit, slack, whether the budget binds."""
    table = Table(title="totals", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("metric", "plan", "budget", "slack", "binds"):
        table.add_column(col, justify="left" if col in ("metric", "binds") else "right")
    t = plan.totals
    checks = {b.name: b for b in plan.budgets}
    if t is not None and t.latency_bound_ms is not None:
        # the simulated schedule first, then the bound the budget limits
        table.add_row("latency (predicted)", fmt.duration_ms(t.latency_ms), "-", "-", "")
    for name in BUDGET_METRICS:
        value = t.for_budget(name) if t else None
        check = checks.get(name)
        if check is None and name == "cost_usd" and not value:
            continue
        label, show = BUDGET_VIEW[name]
        if name == "latency_ms" and t is not None and t.latency_bound_ms is not None:
            label = "latency (bound)"
        binds = "" if check is None or check.binding is None else ("yes" if check.binding else "no")
        table.add_row(
            label,
            _or_dash(value, show),
            _or_dash(check.limit if check else None, show),
            _or_dash(check.slack if check else None, show),
            binds,
        )
    console.print(table)


def render_machine_and_solver(plan: Plan, console: Console) -> None:
    if plan.schedule is not None:
        m = plan.schedule
        cold = (
            f", cold loads {fmt.duration_ms(m.load_ms)} ({shown(', '.join(m.cold_models))})"
            if m.cold_models
            else ""
        )
        console.print(
            f"machine: {m.workers} worker(s), dispatch {fmt.duration_ms(m.dispatch_ms)}, "
            f"start-up {fmt.duration_ms(m.startup_ms)}{cold}; latency bound: {m.bound}"
        )
    s = plan.solver
    time_ms = fmt.duration_ms(s.solve_time_ms) if s.solve_time_ms is not None else "-"
    gap = "" if s.gap is None else f", gap {s.gap:.2%}"
    extra = f", shortcut: {s.shortcut}" if s.shortcut else ""
    objective = "-" if plan.objective is None else fmt.sig(plan.objective, 4)
    console.print(
        f"solver: {s.backend}, {time_ms}{gap}, presolve removed "
        f"{s.presolve_removed} candidate(s){extra}; execution {plan.execution}; "
        f"objective {objective}"
    )
    if s.message.startswith("CBC unavailable"):
        console.print(
            f"[yellow]warning: {shown(s.message.split('; solved with HiGHS')[0])}[/yellow]"
        )
