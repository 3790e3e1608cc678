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
    """Per-inference (node) or end-to-end (totals) metrics."""

    model_config = ConfigDict(frozen=True)

    accuracy: float
    latency_ms: float
    energy_j: float
    memory_mb: float
    cost_usd: float = 0.0

    @classmethod
    def of(cls, source: HasMetrics) -> Metrics:
        """The metrics of a profile row (`ModelProfile`) or of plan totals (`solvers.Totals`)."""
        return cls(
            accuracy=source.accuracy,
            latency_ms=source.latency_ms,
            energy_j=source.energy_j,
            memory_mb=source.memory_mb,
            cost_usd=source.cost_usd,
        )

    def for_budget(self, name: str) -> float:
        """The value the budget ``name`` limits (``min_accuracy`` limits ``accuracy``)."""
        return float(getattr(self, BUDGET_METRICS[name]))
