"""`Report` (format report/v1): what a run promised (the plan) against what it measured."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from planner import fmt
from planner.io import shown
from planner.plan import Metrics
from planner.speed import SpeedCheck

RunStatus = Literal["succeeded", "over_budget", "partial", "failed", "interrupted"]
NodeStatus = Literal["succeeded", "failed", "not_run"]


class Measured(BaseModel):
    """What one node's inference measured."""

    model_config = ConfigDict(frozen=True)

    latency_ms: float = Field(
        description="Wall time of the inference, measured like the profile's latency: a zoo "
        "model's native predict (JSON decoding/encoding excluded), else the whole call."
    )
    wall_ms: float = Field(
        default=0.0,
        description="Wall time of the whole node: inference "
        "plus decoding inputs and encoding/writing outputs.",
    )
    energy_j: float = Field(description="Energy attributed to the call (see energy_source).")
    energy_source: str = Field(description="rapl, nvml or estimate.")
    peak_memory_mb: float = Field(
        description="Peak resident memory of the process during the "
        "call, MB (process-wide: models and data loaded so far)."
    )


class Attempt(BaseModel):
    """One try of a node (a node is retried once before re-planning)."""

    model_config = ConfigDict(frozen=True)

    model: str
    ok: bool
    error: str | None = None
    latency_ms: float


class NodeReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    task: str
    status: NodeStatus
    model: str | None = Field(
        description="The model that produced the output (or was last planned for the node)."
    )
    predicted: Metrics | None = Field(description="The profile's numbers for that model.")
    measured: Measured | None
    start_ms: float | None = Field(default=None, description="Start, ms after the run began.")
    finish_ms: float | None = Field(default=None, description="Finish, ms after the run began.")
    attempts: list[Attempt] = Field(default_factory=list)
    output_path: str | None = Field(default=None, description="The node's output JSON file.")
    error: str | None = None


class BudgetUse(BaseModel):
    """A metric (budgeted or not) against what the plan predicted and the run measured."""

    model_config = ConfigDict(frozen=True)

    name: str
    limit: float | None
    predicted: float | None = Field(description="The initial plan's total.")
    measured: float | None = Field(
        description="The run's total (latency: wall makespan; "
        "accuracy: product of the profile accuracies used)."
    )
    within: bool | None = Field(description="Measured within the limit (null if no limit).")


class Replan(BaseModel):
    """One re-plan of the nodes not yet run."""

    model_config = ConfigDict(frozen=True)

    at_ms: float
    reason: str
    node: str | None = Field(default=None, description="The node that triggered it.")
    excluded_models: list[str] = Field(default_factory=list)
    remaining_nodes: list[str]
    budgets: dict[str, float] = Field(description="What was left of each budget.")
    status: str = Field(description="The new plan's status (optimal, infeasible, ...).")
    changes: dict[str, list[str | None]] = Field(
        default_factory=dict, description="{node: [old model, new model]} for changed nodes."
    )


class Overrun(BaseModel):
    """A hard budget the run's measured totals broke."""

    model_config = ConfigDict(frozen=True)

    budget: str
    limit: float
    measured: float
    overrun: float = Field(description="How far past the limit (in the budget's unit).")
    node: str | None = Field(description="The node at which the running total crossed it.")

    def line(self) -> str:
        unit = {"energy_j": " J", "latency_ms": " ms", "memory_mb": " MB", "cost_usd": " USD"}
        u = unit.get(self.budget, "")
        where = f" at node {self.node!r}" if self.node else ""
        if self.budget == "min_accuracy":
            return (
                f"over budget: accuracy {self.measured:.4g} below the floor {self.limit:.4g} "
                f"by {self.overrun:.4g}{where}"
            )
        pct = f" ({100 * self.overrun / self.limit:.0f}%)" if self.limit > 0 else ""
        return (
            f"over budget: {self.budget} {self.measured:.4g}{u} > {self.limit:.4g}{u} "
            f"by {self.overrun:.4g}{u}{pct}{where}"
        )


class SinkAccuracy(BaseModel):
    """The accuracy a result (a sink: a node nothing depends on) carries: the product of the
    accuracies of the sink and all its ancestors (independence), 0 when one of them did not
    run (``missing`` names them: the result does not exist)."""

    model_config = ConfigDict(frozen=True)

    sink: str
    accuracy: float
    nodes: list[str]
    missing: list[str] = Field(default_factory=list)


class PathAccuracy(BaseModel):
    """The product of the accuracies along one source-to-sink path (0 if a node is missing)."""

    model_config = ConfigDict(frozen=True)

    path: list[str]
    accuracy: float
    missing: list[str] = Field(default_factory=list)


class AccuracyView(BaseModel):
    """Accuracy three ways. ``end_to_end`` is the product over every node (what the
    ``min_accuracy`` budget constrains: the chance that every step is right); ``sinks`` and
    ``paths`` say what each result carries. Nodes that did not run deliver nothing: every sink
    and path through them, and the end-to-end figure, are 0, and ``missing`` names them."""

    model_config = ConfigDict(frozen=True)

    end_to_end: float
    sinks: list[SinkAccuracy]
    paths: list[PathAccuracy]
    paths_total: int = Field(description="Source-to-sink paths (only the first few listed).")
    missing: list[str] = Field(default_factory=list, description="Nodes that did not run.")


class Report(BaseModel):
    """The result of `planner run`."""

    model_config = ConfigDict(frozen=True)

    format: Literal["report/v1"] = "report/v1"
    run_id: str
    status: RunStatus
    message: str = Field(description="One sentence: what happened.")
    request: str | None = Field(default=None, description="The request text, if any.")
    problem: str | None = Field(default=None, description="The problem's name.")
    started_at: str = Field(description="UTC ISO time.")
    wall_ms: float = Field(description="Execution wall time (after loading models).")
    load_ms: float = Field(description="Time spent loading models (before the run + re-plans).")
    model_load_ms: dict[str, float] = Field(
        default_factory=dict,
        description="Each model's load time (ms; worker processes: the slowest worker, "
        "they load at once), imports it triggered and warm-up included, where measured.",
    )
    startup_ms: float = Field(
        default=0.0,
        description="Executor start-up before loading (worker processes, Ray): outside the "
        "makespan; inside the measured latency only when the plan's machine counts it "
        "(machine.startup_ms > 0), see latency_counts.",
    )
    latency_counts: str = Field(
        default="makespan",
        description="What totals_measured.latency_ms (and the latency budget check) counts: "
        "the makespan, plus start-up when the plan counts it, plus cold loading when cold.",
    )
    workers: int = Field(default=1, description="Worker slots the nodes ran on.")
    predicted_schedule: dict[str, float] = Field(
        default_factory=dict,
        description="The executor's own prediction of the initial plan (solvers.schedule on "
        "`workers` slots): workers, makespan_ms, startup_ms, load_ms, latency_ms.",
    )
    execution: Literal["parallel", "sequential"]
    executor: str
    pool: Literal["thread", "process"] | None = Field(
        default=None, description="Local executor: where the nodes ran."
    )
    nodes: list[NodeReport]
    totals_predicted: Metrics | None
    totals_measured: dict[str, float] = Field(
        description="energy_j (nodes, plus cold loading from the profiles when cold), "
        "latency_ms (as latency_counts says), makespan_ms (wall, first start to last "
        "finish), startup_ms, load_ms, load_energy_j, latency_sum_ms, peak_memory_mb, "
        "accuracy (end to end: product of the profile accuracies, 0 when a node did not "
        "run; see `accuracy`), models_memory_mb, cost_usd."
    )
    accuracy: AccuracyView | None = Field(
        default=None, description="Accuracy per sink, per path and end to end."
    )
    overruns: list[Overrun] = Field(
        default_factory=list, description="Hard budgets the measured totals broke."
    )
    budgets: list[BudgetUse]
    replans: list[Replan]
    run_dir: str | None
    outputs: dict[str, str] = Field(description="{node id: output file}.")
    hardware: dict[str, Any]
    versions: dict[str, str]
    energy_note: str = Field(description="How energy was measured or estimated.")
    speed_check: SpeedCheck | None = Field(
        default=None,
        description="The speed check made before solving (`planner run`), if any: each "
        "candidate's latency prediction was scaled by how fast this machine ran its probe.",
    )
    answer: str | None = Field(
        default=None,
        description="The run's final outputs in plain language (`planner.answer`): text "
        "inline, files as paths with their type and size.",
    )

    def to_json(self) -> str:
        from planner.io import dumps_strict

        return dumps_strict(self.model_dump(mode="json"), "report", indent=2) + "\n"

    def node(self, node_id: str) -> NodeReport:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def latency_agreement(self, tolerance: float = 0.25) -> tuple[int, int]:
        """(nodes whose measured latency is within ``tolerance`` of the prediction, nodes
        measured)."""
        ok = n = 0
        for node in self.nodes:
            if node.measured is None or node.predicted is None:
                continue
            n += 1
            pred = node.predicted.latency_ms
            if pred > 0 and abs(node.measured.latency_ms - pred) <= tolerance * pred:
                ok += 1
        return ok, n


def _f(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else fmt.sig(value, digits)


def _ratio(measured: float | None, predicted: float | None) -> str:
    if measured is None or not predicted:
        return "-"
    return f"{measured / predicted:.2f}x"


def render_report(report: Report, console: Console) -> None:
    """Human view: per node predicted vs measured, then totals against budgets."""
    colour = {"succeeded": "green", "partial": "yellow", "interrupted": "yellow"}.get(
        report.status, "red"
    )
    console.print(f"[bold {colour}]{report.status.upper()}[/]: {shown(report.message, True)}")
    table = Table(
        title=f"run {shown(report.run_id)} ({report.execution}, {report.executor}"
        + (f", {report.pool}es" if report.pool == "process" else "")
        + ")",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for col in ("node", "model", "status"):
        table.add_column(col)
    for col in ("pred ms", "meas ms", "ratio", "pred J", "meas J", "peak MB"):
        table.add_column(col, justify="right")
    for node in report.nodes:
        p, m = node.predicted, node.measured
        state = {
            "succeeded": "[green]ok[/]",
            "failed": "[red]failed[/]",
            "not_run": "[yellow]not run[/]",
        }[node.status]
        if len(node.attempts) > 1:
            state += f" ({len(node.attempts)} tries)"
        table.add_row(
            shown(node.id),
            shown(node.model or "-"),
            state,
            _f(p.latency_ms if p else None),
            _f(m.latency_ms if m else None),
            _ratio(m.latency_ms if m else None, p.latency_ms if p else None),
            _f(p.energy_j if p else None),
            _f(m.energy_j if m else None),
            _f(m.peak_memory_mb if m else None),
        )
    width = console.width
    console.width = max(width, 110)  # model names must not be cut in pipes and logs
    try:
        console.print(table)
    finally:
        console.width = width
    budgets = Table(title="totals", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("metric", "predicted", "measured", "budget", "within"):
        budgets.add_column(col)
    for b in report.budgets:
        within = "-" if b.within is None else ("[green]yes[/]" if b.within else "[red]no[/]")
        label = "accuracy" if b.name == "min_accuracy" else b.name
        budgets.add_row(label, _f(b.predicted), _f(b.measured), _f(b.limit), within)
    console.print(budgets)
    for o in report.overruns:
        console.print(f"[red]{o.line()}[/]")
    if report.accuracy is not None:
        acc = report.accuracy
        sinks = ", ".join(
            f"{s.sink} {fmt.sig(s.accuracy, 4)}"
            + (f" (missing {', '.join(s.missing)})" if s.missing else "")
            for s in acc.sinks
        )
        console.print(
            f"accuracy per result (sink and its ancestors): {sinks}; end to end (every node): "
            f"{fmt.sig(acc.end_to_end, 4)}"
            + (f"; did not run: {', '.join(acc.missing)}" if acc.missing else "")
        )
    ps = report.predicted_schedule
    if ps:
        console.print(
            f"schedule on {report.workers} worker(s): predicted makespan "
            f"{fmt.duration_ms(ps.get('makespan_ms', 0))}, measured "
            f"{fmt.duration_ms(report.totals_measured.get('makespan_ms', 0))}; start-up "
            f"{report.startup_ms:.0f} ms and loading {report.load_ms:.0f} ms "
            f"before the clock; latency counts {report.latency_counts}"
        )
    for r in report.replans:
        if r.status not in ("optimal", "feasible"):
            console.print(f"stopped at {r.at_ms:.0f} ms ({shown(r.reason)}): {r.status}")
            continue
        changes = ", ".join(f"{n}: {a} -> {b}" for n, (a, b) in r.changes.items()) or "no change"
        console.print(
            f"re-plan at {r.at_ms:.0f} ms ({shown(r.reason)}): {r.status}; {shown(changes)}"
        )
    ok, n = report.latency_agreement()
    console.print(
        f"latency within 25% of the prediction: {ok}/{n} node(s); energy: "
        f"{shown(report.energy_note)}; models loaded in {report.load_ms:.0f} ms"
    )
    if report.speed_check is not None:
        console.print(speed_summary(report.speed_check, [n.model for n in report.nodes]))
    if report.run_dir:
        console.print(f"outputs and report: {shown(report.run_dir)}")


def speed_summary(check: SpeedCheck, chosen: list[str | None]) -> str:
    """One line: how the speed check scaled the predictions of the models that ran."""
    used = {m for m in chosen if m}
    factors = ", ".join(f"{m.model} x{m.factor:.2f}" for m in check.models if m.model in used)
    return (
        f"speed check ({len(check.models)} model(s) probed in {check.probed_in} in "
        f"{check.seconds:.1f} s, "
        f"{len(check.skipped)} skipped): predictions scaled by this machine's speed now"
        + (f": {factors}" if factors else "")
    )


def is_run_report(data: Any) -> bool:
    """Whether ``data`` (a read JSON/YAML file) is a run report (format report/v1)."""
    return isinstance(data, dict) and data.get("format") == "report/v1"


def plan_file_of_report(path: Any, data: dict[str, Any]) -> Any:
    """The ``plan.json`` a run wrote next to its ``report.json`` (a report holds no plan):
    beside ``path``, else in the report's ``run_dir``. Raises `ProblemError` when neither
    is there. The plan is the one the run started with (re-plans are in ``replans``)."""
    from pathlib import Path

    from planner.errors import ProblemError

    candidates = [Path(path).parent / "plan.json"]
    run_dir = data.get("run_dir")
    if isinstance(run_dir, str) and run_dir:
        candidates.append(Path(run_dir) / "plan.json")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ProblemError(
        f"{path} is a run report, which holds no plan; the plan.json its run wrote was not "
        f"found in {' or '.join(str(c.parent) for c in candidates)}: give that plan.json"
    )
