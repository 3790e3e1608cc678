"""`ServeConfig`: every setting of `planner serve` (each one is a CLI flag)."""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Policy = Literal["reject", "degrade", "queue"]
POLICIES: tuple[str, ...] = ("reject", "degrade", "queue")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServeConfig(BaseModel):
    """How the service runs. Energy is in joules, times in seconds, memory in MB."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    catalog: Path | None = Field(
        default=None,
        description="Catalog of the models the service may plan and run "
        "(default: the built-in zoo's shipped catalog).",
    )
    host: str = Field(default="127.0.0.1", description="Address to bind (loopback default).")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0: any free one).")
    slot_s: float = Field(default=60.0, gt=0, description="Length of an energy slot, s.")
    slot_energy_j: float = Field(
        default=math.inf, gt=0, description="Energy budget of every slot, J (inf: no limit)."
    )
    workers: int = Field(default=2, ge=1, description="Worker slots shared by all requests.")
    policy: Policy = Field(
        default="reject",
        description="When no plan fits the slot: reject (429), degrade "
        "(the cheapest plan, flagged) or queue (wait for the next slot, bounded).",
    )
    token: str | None = Field(
        default=None,
        description="Bearer token every request must carry (required when "
        "binding a non-loopback address).",
    )
    state_dir: Path | None = Field(
        default=None,
        description="Slot state (SQLite) and run folders (default: 'serve' in "
        "the user's data directory).",
    )
    input_dir: Path = Field(
        default=Path("."), description="File arguments and inputs must resolve inside it."
    )
    sample_s: float = Field(default=0.1, gt=0, description="Energy sampling period, s.")
    max_inflight: int | None = Field(
        default=None,
        ge=1,
        description="Requests admitted at once (default 4 x workers); more are answered 503.",
    )
    request_threads: int | None = Field(
        default=None,
        ge=1,
        description="Threads that plan and run admitted requests (default: workers); the "
        "other admitted requests wait for one, without a thread.",
    )
    queue_max: int = Field(
        default=16,
        ge=0,
        description="Requests waiting for the next slot (policy queue); more are answered 429.",
    )
    request_timeout_s: float = Field(default=30.0, gt=0, description="Per request, s.")
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Request body limit.")
    memory_mb: float | None = Field(
        default=None, gt=0, description="Memory budget of the resident models (LRU beyond)."
    )
    preload: bool = Field(default=False, description="Load every catalog model at start.")
    semantic: bool | None = Field(
        default=False,
        description="Decomposer's MiniLM fallback for text requests (None: when installed).",
    )
    time_limit_s: float = Field(default=2.0, gt=0, description="Solver time limit per plan.")
    keep_runs: int = Field(default=200, ge=1, description="Run folders kept (oldest pruned).")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("host must not be empty (use 127.0.0.1 for loopback)")
        return value.strip()

    @model_validator(mode="after")
    def _token_off_loopback(self) -> ServeConfig:
        if not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"binding {self.host} (not loopback) needs a bearer token: put one in an "
                "environment variable and pass --token-env VAR"
            )
        return self

    @property
    def inflight_limit(self) -> int:
        return self.max_inflight or 4 * self.workers

    @property
    def thread_limit(self) -> int:
        """Requests planned or run at once: a small pool, because all their Python work
        shares one interpreter lock with the event loop (answering, accepting,
        ``/healthz``), which waits behind every thread that wants it."""
        return min(self.request_threads or self.workers, self.inflight_limit)

    def resolved_state_dir(self) -> Path:
        if self.state_dir is not None:
            return self.state_dir
        import platformdirs

        return Path(platformdirs.user_data_dir("cost-aware-planner", appauthor=False)) / "serve"
