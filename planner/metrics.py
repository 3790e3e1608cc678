"""`Metrics`: the five predicted metrics of a node or a whole plan, shared by every artifact."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict


class HasMetrics(Protocol):
    """Anything with the five metrics as (read-only) attributes."""

    @property
    def accuracy(self) -> float: ...
    @property
    def latency_ms(self) -> float: ...
    @property
    def energy_j(self) -> float: ...
    @property
    def memory_mb(self) -> float: ...
    @property
    def cost_usd(self) -> float: ...


#: Budget name -> the metric it limits (in `Metrics` and `Budgets.given()` order).
BUDGET_METRICS = {
    "energy_j": "energy_j",
    "latency_ms": "latency_ms",
    "min_accuracy": "accuracy",
    "memory_mb": "memory_mb",
    "cost_usd": "cost_usd",
}


class Metrics(BaseModel):
    """Per-inference (node) or end-to-end (totals) metrics.

    For plan totals, ``latency_ms`` is the *predicted* latency (start-up + cold loads + the
    makespan of the executor's simulated list schedule) and ``latency_bound_ms`` the bound
    the latency budget and the objective use (Graham's bound or the critical path, see
    `solvers.formulation`): a plan may be refused although its simulated schedule would
    fit, never the reverse. ``energy_j`` includes the load energy of cold models."""

    model_config = ConfigDict(frozen=True)

    accuracy: float
    latency_ms: float
    energy_j: float
    memory_mb: float
    cost_usd: float = 0.0
    latency_bound_ms: float | None = None

    @classmethod
    def of(cls, source: HasMetrics) -> Metrics:
        """The metrics of a profile row (`ModelProfile`) or of plan totals (`solvers.Totals`)."""
        if isinstance(source, BaseModel):
            # a pydantic row: its field or extra, looked up without raising (a missing
            # attribute costs a raised AttributeError in pydantic's __getattr__)
            extra = source.__pydantic_extra__ or {}
            bound = source.__dict__.get("latency_bound_ms", extra.get("latency_bound_ms"))
        else:
            bound = getattr(source, "latency_bound_ms", None)
        return cls(
            accuracy=source.accuracy,
            latency_ms=source.latency_ms,
            energy_j=source.energy_j,
            memory_mb=source.memory_mb,
            cost_usd=source.cost_usd,
            latency_bound_ms=bound,
        )

    def for_budget(self, name: str) -> float:
        """The value the budget ``name`` limits (``min_accuracy`` limits ``accuracy``; the
        latency budget limits the latency bound where there is one)."""
        if name == "latency_ms" and self.latency_bound_ms is not None:
            return self.latency_bound_ms
        return float(getattr(self, BUDGET_METRICS[name]))
