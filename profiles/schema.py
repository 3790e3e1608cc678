"""`ModelProfile` and `Catalog`: one row per (model, task type) with units in field names."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

EnergySource = Literal[
    "rapl", "nvml", "estimate", "published", "unknown", "remote-unmeasured", "remote-reported"
]
Source = Literal["measured", "published", "user", "synthetic"]


class Provenance(BaseModel):
    """Where a profile's numbers came from, and whether energy was measured or estimated."""

    model_config = ConfigDict(frozen=True, extra="allow")

    source: Source = Field(
        description="'measured' here by the profiler, 'published' by a third party, "
        "'user' typed in by hand, 'synthetic' generated for tests/benchmarks."
    )
    reference: str | None = Field(
        default=None, description="Who published it / file and commit it was read from."
    )
    hardware: str | None = Field(default=None, description="Hardware the numbers were taken on.")
    energy_source: EnergySource = Field(
        default="unknown",
        description="How energy was obtained: rapl/nvml (measured), estimate (CPU time x "
        "watts or derived from throughput x power), published, unknown; for a remote model "
        "(http), remote-reported (its server's figure) or remote-unmeasured (nobody measured "
        "it: the number is the profile's, never this machine's client CPU time).",
    )
    energy_note: str | None = Field(default=None, description="How energy was derived.")
    date: str | None = Field(default=None, description="When the numbers were taken.")
    metric: str | None = Field(default=None, description="What 'accuracy' measures.")
    dataset: str | None = Field(default=None, description="Evaluation dataset of 'accuracy'.")


#: Largest latency (ms), energy (J), memory (MB) or cost (USD) a row may carry: 1e12 (31
#: years, 278 MWh, an exabyte, a trillion dollars). With at most 10,000 nodes a plan's totals
#: then stay below 1e16, so no sum the solver forms can overflow to infinity.
MAX_METRIC = 1e12


def _finite_non_negative(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if value > MAX_METRIC:
        raise ValueError(
            f"{name} is {value:g}, above the supported range (at most {MAX_METRIC:g}); "
            "check the unit"
        )
    return value


class ModelProfile(BaseModel):
    """A candidate model for one task type with its predicted per-inference metrics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(
        min_length=1,
        description="Model id; the same id under several tasks is "
        "one model serving several tasks (its memory counts once).",
    )
    task: str = Field(min_length=1, description="Task type this row serves.")
    accuracy: float = Field(description="Quality in (0, 1] on the named metric.")
    latency_ms: float = Field(description="Latency per inference, milliseconds.")
    energy_j: float = Field(description="Energy per inference, joules.")
    memory_mb: float = Field(default=0.0, description="Resident memory when loaded, MB.")
    cost_usd: float = Field(default=0.0, description="Money cost per inference, USD.")
    load_ms: float | None = Field(
        default=None,
        description="One-off time to load the model cold (weights, warm-up), ms; null: not "
        "measured (counted as 0).",
    )
    load_energy_j: float | None = Field(
        default=None,
        description="One-off energy to load the model cold, joules; null: not measured "
        "(counted as 0).",
    )
    provenance: Provenance | None = Field(default=None, description="Where the numbers came from.")
    adapter: dict[str, Any] | None = Field(
        default=None, description="How to run it (built-in zoo, module:function, HTTP endpoint)."
    )

    @field_validator("accuracy")
    @classmethod
    def _check_accuracy(cls, value: float) -> float:
        if not math.isfinite(value) or not 0.0 < value <= 1.0:
            raise ValueError(
                f"accuracy must be in (0, 1], got {value} (write 42% as 0.42; "
                "a zero-accuracy model can never be part of a plan)"
            )
        return value

    @field_validator("latency_ms", "energy_j", "memory_mb", "cost_usd", "load_ms", "load_energy_j")
    @classmethod
    def _check_metric(cls, value: float | None, info: Any) -> float | None:
        return None if value is None else _finite_non_negative(str(info.field_name), value)

    @field_validator("adapter")
    @classmethod
    def _check_adapter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not isinstance(value.get("kind"), str):
            raise ValueError(
                "adapter needs a string 'kind' (zoo, python or http), got "
                f"{type(value.get('kind')).__name__}"
            )
        return value


class Catalog(BaseModel):
    """A list of model profiles: ``{"models": [rows]}``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    models: tuple[ModelProfile, ...] = Field(description="The profile rows.")

    def tasks(self) -> list[str]:
        return sorted({m.task for m in self.models})

    def for_task(self, task: str) -> list[ModelProfile]:
        return [m for m in self.models if m.task == task]
