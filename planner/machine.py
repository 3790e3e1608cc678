"""`Machine`: what the plan must know of the machine that runs it (worker slots, dispatch
overhead, start-up, which models are resident and which load cold).

The solver uses it to predict and bound latency with the executor's own list schedule
(`solvers.schedule`) and to count the one-off load cost of cold models; the executor uses the
same worker count and priority. See DESIGN.md, "Latency on the real machine".
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


def default_workers() -> int:
    """The CPU cores this process may use (its affinity), at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


class Machine(BaseModel):
    """The executor's resources as the plan counts them. Every field is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workers: int | None = Field(
        default=None,
        ge=1,
        le=1024,
        description="Worker slots the executor runs nodes on; default (null): what "
        "`planner run` uses, the CPU cores this process may use, at most 4.",
    )
    dispatch_ms: float = Field(
        default=0.0,
        ge=0.0,
        allow_inf_nan=False,
        description="Per-node dispatch overhead, ms, added to every node's latency.",
    )
    startup_ms: float = Field(
        default=0.0,
        ge=0.0,
        allow_inf_nan=False,
        description="Executor start-up (worker processes, a Ray cluster), ms, counted in the "
        "plan's latency.",
    )
    cold: bool = Field(
        default=False,
        description="True: models not listed in `resident` load before the run, and each "
        "distinct one counts its load_ms and load_energy_j once. False (warm): loading is "
        "not part of the plan (reported separately by a run).",
    )
    cold_base_ms: float = Field(
        default=0.0,
        ge=0.0,
        allow_inf_nan=False,
        description="When cold: what the workers pay once before their first model, "
        "importing the libraries many local models share (measured here with the cold "
        "loads, `planner.run.calibration`), ms; counted in the plan's loading once.",
    )
    resident: tuple[str, ...] = Field(
        default=(), description="Model ids already loaded (no cold start even when cold)."
    )

    def resolved_workers(self) -> int:
        """The worker count the executor will really use."""
        return self.workers if self.workers is not None else default_workers()

    def base_load_ms(self) -> float:
        """The shared cold base a cold plan pays once (0 when warm)."""
        return self.cold_base_ms if self.cold else 0.0

    def is_cold(self, model_id: str) -> bool:
        return self.cold and model_id not in self.resident
