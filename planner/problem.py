"""`Problem` (format v1): graph + candidate models + budgets + weights, and its loaders."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from planner.errors import ProblemError
from planner.machine import Machine
from profiles import ModelProfile, load_catalog
from profiles.catalog import CatalogError, read_structured
from profiles.schema import MAX_METRIC
from tasks import TaskGraph
from tasks.graph import MAX_NODES
from tasks.registry import suggest_task

Execution = Literal["parallel", "sequential"]
#: Largest budget accepted: above any total a valid problem can reach (at most `MAX_NODES`
#: nodes, each metric at most `MAX_METRIC`), so every sum the solver forms stays finite.
MAX_BUDGET = MAX_METRIC * MAX_NODES
BUDGET_KEYS = ("energy_j", "latency_ms", "min_accuracy", "memory_mb", "cost_usd")


class Budgets(BaseModel):
    """Hard limits on the whole plan. Every one is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    energy_j: float | None = Field(default=None, description="Total energy, joules (sum).")
    latency_ms: float | None = Field(
        default=None, description="End-to-end latency, ms (makespan if parallel, else sum)."
    )
    min_accuracy: float | None = Field(
        default=None, description="Floor on the product of the chosen accuracies, in (0, 1]."
    )
    memory_mb: float | None = Field(
        default=None, description="Memory of the distinct models loaded, MB."
    )
    cost_usd: float | None = Field(default=None, description="Total money cost, USD (sum).")
    node_min_accuracy: dict[str, float] = Field(
        default_factory=dict, description="Per-node accuracy floors {node id: floor}."
    )

    @field_validator("energy_j", "latency_ms", "memory_mb", "cost_usd")
    @classmethod
    def _positive(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise ValueError(
                f"budget {info.field_name} must be a positive finite number, "
                f"got {value}; leave it out for no limit"
            )
        if value is not None and value > MAX_BUDGET:
            raise ValueError(
                f"budget {info.field_name} is {value:g}, above the supported range "
                f"(at most {MAX_BUDGET:g}); leave it out for no limit"
            )
        return value

    @field_validator("min_accuracy")
    @classmethod
    def _accuracy(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or not 0 < value <= 1):
            raise ValueError(f"min_accuracy must be in (0, 1], got {value} (write 90% as 0.9)")
        return value

    @field_validator("node_min_accuracy")
    @classmethod
    def _floors(cls, value: dict[str, float]) -> dict[str, float]:
        for node, floor in value.items():
            if not math.isfinite(floor) or not 0 < floor <= 1:
                raise ValueError(f"node_min_accuracy[{node!r}] must be in (0, 1], got {floor}")
        return value

    def given(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in BUDGET_KEYS if getattr(self, k) is not None}


class Weights(BaseModel):
    """Objective weights, non-negative, not all zero; normalised to sum to 1 when solving.

    The objective is ``w_energy * E / E_ref + w_latency * T / T_ref + w_cost * C / C_ref``,
    where E_ref, T_ref, C_ref are the energy, latency and cost of the worst possible plan
    (each node on its most expensive candidate), so each term is a unit-free fraction.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    energy: float = Field(default=0.5, description="Weight of total energy.")
    latency: float = Field(default=0.5, description="Weight of end-to-end latency.")
    cost: float = Field(default=0.0, description="Weight of money cost.")

    @field_validator("energy", "latency", "cost")
    @classmethod
    def _non_negative(cls, value: float, info: ValidationInfo) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"weight {info.field_name} must be a finite number >= 0, got {value}")
        return value

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if max(self.energy, self.latency, self.cost) <= 0:  # a sum could overflow
            raise ValueError(
                "weights must not all be zero: give energy, latency or cost a positive weight"
            )
        return self


class Problem(BaseModel):
    """A planning problem: which model should serve each node of ``graph``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = Field(default=1, description="Problem format version.")
    name: str | None = Field(default=None, description="Short name.")
    description: str | None = Field(default=None, description="What the request is.")
    source: str | None = Field(default=None, description="Where the graph/numbers come from.")
    graph: TaskGraph = Field(description="The task graph (a DAG).")
    models: tuple[ModelProfile, ...] | str = Field(
        description="Candidate model rows, or the path of a catalog file (relative to this "
        "file) holding them."
    )
    budgets: Budgets = Field(default_factory=Budgets, description="Hard limits.")
    weights: Weights = Field(default_factory=Weights, description="Objective weights.")
    execution: Execution = Field(
        default="parallel", description="'parallel' (latency = makespan) or 'sequential' (sum)."
    )
    machine: Machine = Field(
        default_factory=Machine,
        description="Worker slots, dispatch overhead, start-up and cold/resident models of "
        "the machine that runs the plan (see planner.machine).",
    )
    metadata: dict[str, Any] = Field(default_factory=dict, description="Free-form extras.")

    @model_validator(mode="before")
    @classmethod
    def _resolve_catalog(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and isinstance(data.get("models"), str):
            base = Path((info.context or {}).get("base_dir", "."))
            path = Path(data["models"])
            if not path.is_absolute():
                path = base / path
            try:
                catalog = load_catalog(path)
            except CatalogError as exc:
                raise ValueError(f"models: {exc}") from exc
            data = {**data, "models": [m.model_dump(exclude_none=True) for m in catalog.models]}
        return data

    @model_validator(mode="after")
    def _check_candidates(self) -> Problem:
        if isinstance(self.models, str):
            raise ValueError("models: catalog path could not be resolved")
        if not self.models:
            raise ValueError("models: the candidate list is empty")
        tasks = {m.task for m in self.models}
        for node in self.graph.nodes:
            if node.task not in tasks:
                close = suggest_task(node.task, tasks)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ValueError(
                    f"node {node.id!r} has task {node.task!r}, which no model serves.{hint} "
                    f'Add a model with "task": {node.task!r} or fix the node\'s task '
                    f"(tasks served: {', '.join(sorted(tasks))})"
                )
        seen: set[tuple[str, str]] = set()
        for m in self.models:
            if (m.id, m.task) in seen:
                raise ValueError(f"models: model {m.id!r} is listed twice for task {m.task!r}")
            seen.add((m.id, m.task))
        ids = {n.id for n in self.graph.nodes}
        for node_id in self.budgets.node_min_accuracy:
            if node_id not in ids:
                raise ValueError(f"budgets.node_min_accuracy names unknown node {node_id!r}")
        return self

    @property
    def candidates(self) -> tuple[ModelProfile, ...]:
        assert not isinstance(self.models, str)
        return self.models

    def candidates_for(self, task: str) -> list[ModelProfile]:
        """Rows serving ``task``, sorted by model id (deterministic)."""
        return sorted((m for m in self.candidates if m.task == task), key=lambda m: m.id)

    def with_overrides(
        self,
        budgets: dict[str, float | None] | None = None,
        weights: dict[str, float] | None = None,
        execution: Execution | None = None,
        exclude_models: set[str] | None = None,
        machine: dict[str, Any] | None = None,
    ) -> Problem:
        """A new validated problem with some budgets, weights, the execution or fields of
        the machine replaced."""
        if machine and not (budgets or weights is not None or execution or exclude_models):
            return self.with_machine(**machine)
        data = self.model_dump(mode="json", exclude_none=True)
        if budgets:
            merged = {**data.get("budgets", {}), **budgets}
            data["budgets"] = {k: v for k, v in merged.items() if v is not None}
        if weights is not None:
            data["weights"] = weights
        if execution is not None:
            data["execution"] = execution
        if exclude_models:
            data["models"] = [m for m in data["models"] if m["id"] not in exclude_models]
        if machine:
            data["machine"] = {**data.get("machine", {}), **machine}
        return problem_from_data(data)

    def with_machine(self, **fields: Any) -> Problem:
        """The same problem with some `Machine` fields replaced (only they are validated)."""
        try:
            new = Machine.model_validate({**self.machine.model_dump(), **fields})
        except ValidationError as exc:
            raise ProblemError(format_validation_error(exc, "machine")) from exc
        return self.model_copy(update={"machine": new})


def format_validation_error(exc: ValidationError, where: str) -> str:
    """One line per problem: location, what is wrong."""
    lines = [f"{where} is invalid:"]
    errors = exc.errors()
    rows_failed = any(e["loc"][:2] == ("models", "tuple[ModelProfile, ...]") for e in errors)
    for err in errors:
        if rows_failed and err["loc"] == ("models", "str"):
            continue  # the rows were given: the "or a catalog path" branch is noise
        loc = ".".join(str(p) for p in err["loc"] if p != "tuple[ModelProfile, ...]")
        loc = loc or "(top level)"
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            msg = "unknown field; check its spelling against `planner schema`"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def problem_from_data(data: Any, where: str = "problem", base_dir: Path | None = None) -> Problem:
    """Validate parsed problem data (dict) into a `Problem`; raises `ProblemError`."""
    if not isinstance(data, dict):
        raise ProblemError(
            f"{where}: expected a JSON/YAML object with 'graph' and 'models', "
            f"got {type(data).__name__}"
        )
    try:
        return Problem.model_validate(data, context={"base_dir": str(base_dir or Path("."))})
    except ValidationError as exc:
        raise ProblemError(format_validation_error(exc, where)) from exc


def read_data_file(path: Path) -> Any:
    """Parse a JSON or YAML file (YAML safely), with clear errors and a size limit."""
    try:
        return read_structured(path)
    except CatalogError as exc:
        raise ProblemError(str(exc)) from exc


def load_problem(path: str | Path) -> Problem:
    """Load and validate a problem file (JSON, or YAML loaded safely)."""
    path = Path(path)
    return problem_from_data(read_data_file(path), where=str(path), base_dir=path.parent)
