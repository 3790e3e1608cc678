"""Per-node measurement while nodes run concurrently: energy and peak memory attribution.

An `EnergyCounter` is a cumulative reading in joules (RAPL, NVML, or an estimate from the
process's CPU time x watts per busy core). Counters are process- or machine-wide, so the
`Accountant` samples the counter (every ``interval_s`` and at every node start and end) and
splits each increment equally among the nodes running at that moment. With one node at a
time this is exactly the counter's difference over the node; with overlapping nodes it is a
fair share. It also records the peak resident memory of the process while each node runs.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from planner.errors import ProblemError
from profiles.energy import EnergyMeter, EstimateMeter, FunctionMeter
from profiles.hardware import cpu_model, rss_mb

__all__ = ["Accountant", "EnergyCounter", "FunctionCounter", "default_counter", "rss_mb"]

#: Watts drawn per fully busy core, used when nothing measures energy (see `CpuTimeCounter`);
#: the same value as the profiles package's estimate meter, so predictions and runs agree.
DEFAULT_WATTS_PER_CORE = 10.0


#: The one energy-meter abstraction is `profiles.energy.EnergyMeter` (``source``, ``note``,
#: ``read_j``); these names are kept for callers of the run's API.
EnergyCounter = EnergyMeter
FunctionCounter = FunctionMeter


def CpuTimeCounter(watts_per_core: float = DEFAULT_WATTS_PER_CORE) -> EstimateMeter:
    """The estimate meter (process CPU time x watts per busy core)."""
    return EstimateMeter(watts_per_core)


@dataclass
class _Slot:
    energy_j: float = 0.0
    peak_rss_mb: float = 0.0
    start: float = field(default_factory=time.perf_counter)


class Accountant:
    """Attributes energy and peak RSS to the nodes running; thread-safe.

    Use ``begin(key)`` just before a node's inference and ``end(key)`` just after; a background
    thread samples every ``interval_s`` while any node runs.
    """

    def __init__(self, counter: EnergyCounter | None = None, interval_s: float = 0.01) -> None:
        self.counter: EnergyMeter = counter or EstimateMeter(watts_per_core())
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._active: dict[str, _Slot] = {}
        self._last = self.counter.read_j()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample_locked(self) -> None:
        now = self.counter.read_j()
        delta = max(0.0, now - self._last)
        self._last = now
        if self._active:
            share = delta / len(self._active)
            rss = rss_mb()
            for slot in self._active.values():
                slot.energy_j += share
                slot.peak_rss_mb = max(slot.peak_rss_mb, rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                self._sample_locked()

    def begin(self, key: str) -> None:
        with self._lock:
            self._sample_locked()
            self._active[key] = _Slot(peak_rss_mb=rss_mb())
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="planner-meter", daemon=True
                )
                self._thread.start()

    def end(self, key: str) -> tuple[float, float]:
        """(energy_j, peak_rss_mb) of ``key`` since ``begin``."""
        with self._lock:
            self._sample_locked()
            slot = self._active.pop(key)
            return slot.energy_j, slot.peak_rss_mb

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


def default_counter() -> EnergyMeter:
    """The energy meter for runs: `profiles.energy.choose_meter` of ``PLANNER_ENERGY_METER``
    (auto, rapl, nvml or estimate; default auto: RAPL when readable, else the CPU-time
    estimate, honouring ``PLANNER_WATTS_PER_CORE``). A meter asked for by name that cannot
    be read is an error. ``portable``: worker processes build the same meter for themselves."""
    from profiles.energy import EnergyMeterError, choose_meter

    kind = os.environ.get("PLANNER_ENERGY_METER", "").strip() or "auto"
    try:
        meter: Any = choose_meter(kind, watts_per_core=watts_per_core())
    except (EnergyMeterError, ValueError) as exc:
        if kind not in ("auto", "estimate"):
            raise ProblemError(
                f"PLANNER_ENERGY_METER={kind}: {exc}; unset it to use the default meter"
            ) from exc
        meter = EstimateMeter(watts_per_core())
    meter.portable = True
    return meter


def watts_per_core() -> float:
    """``PLANNER_WATTS_PER_CORE`` if set and valid, else the default."""
    try:
        value = float(os.environ.get("PLANNER_WATTS_PER_CORE", DEFAULT_WATTS_PER_CORE))
    except ValueError:
        return DEFAULT_WATTS_PER_CORE
    return value if value > 0 else DEFAULT_WATTS_PER_CORE


def _memory_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return None


def hardware_info() -> dict[str, Any]:
    """Where a run happened: CPU model, cores, memory, OS. (No GPU probing: it needs heavy
    imports; the energy counter's source says whether a GPU meter was used.)"""
    mem = _memory_gb()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(mem, 1) if mem else None,
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "hostname": platform.node(),
    }


def hardware_label(info: dict[str, Any] | None = None) -> str:
    """Short hardware string used to match history rows: '<cpu> x<cores>'."""
    info = info or hardware_info()
    return f"{info.get('cpu')} x{info.get('cores')}"


def versions() -> dict[str, str]:
    """Versions of Python, this package and the numeric libraries already imported."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    try:
        out["cost-aware-planner"] = metadata.version("cost-aware-planner")
    except metadata.PackageNotFoundError:
        out["cost-aware-planner"] = "unknown"
    for name in ("numpy", "scikit-learn", "torch", "ray", "pulp", "highspy"):
        module = {"scikit-learn": "sklearn"}.get(name, name)
        if module in sys.modules:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
    return out
