"""`Report` (format report/v1): what a run promised (the plan) against what it measured."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from planner.plan import Metrics
from planner.speed import SpeedCheck

RunStatus = Literal["succeeded", "failed", "partial"]
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
    load_ms: float = Field(description="Time spent loading models (validate + re-plans).")
    execution: Literal["parallel", "sequential"]
    executor: str
    pool: Literal["thread", "process"] | None = Field(
        default=None, description="Local executor: where the nodes ran."
    )
    nodes: list[NodeReport]
    totals_predicted: Metrics | None
    totals_measured: dict[str, float] = Field(
        description="energy_j (sum), latency_ms (wall makespan), latency_sum_ms, "
        "peak_memory_mb, accuracy (product of profile accuracies of the models that ran)."
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
        return json.dumps(self.model_dump(mode="json"), indent=2) + "\n"

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
    return "-" if value is None else f"{value:.{digits}g}"


def _ratio(measured: float | None, predicted: float | None) -> str:
    if measured is None or not predicted:
        return "-"
    return f"{measured / predicted:.2f}x"


def render_report(report: Report, console: Console) -> None:
    """Human view: per node predicted vs measured, then totals against budgets."""
    colour = {"succeeded": "green", "partial": "yellow"}.get(report.status, "red")
    console.print(f"[bold {colour}]{report.status.upper()}[/]: {report.message}")
    table = Table(
        title=f"run {report.run_id} ({report.execution}, {report.executor}"
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
            node.id,
            node.model or "-",
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
    for r in report.replans:
        if r.status not in ("optimal", "feasible"):
            console.print(f"stopped at {r.at_ms:.0f} ms ({r.reason}): {r.status}")
            continue
        changes = ", ".join(f"{n}: {a} -> {b}" for n, (a, b) in r.changes.items()) or "no change"
        console.print(f"re-plan at {r.at_ms:.0f} ms ({r.reason}): {r.status}; {changes}")
    ok, n = report.latency_agreement()
    console.print(
        f"latency within 25% of the prediction: {ok}/{n} node(s); energy: "
        f"{report.energy_note}; models loaded in {report.load_ms:.0f} ms"
    )
    if report.speed_check is not None:
        console.print(speed_summary(report.speed_check, [n.model for n in report.nodes]))
    if report.run_dir:
        console.print(f"outputs and report: {report.run_dir}")


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
