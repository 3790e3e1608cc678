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
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner.errors import ProblemError
from profiles.hardware import cpu_model

#: Watts drawn per fully busy core, used when nothing measures energy (see `CpuTimeCounter`);
#: the same value as the profiles package's estimate meter, so predictions and runs agree.
DEFAULT_WATTS_PER_CORE = 10.0


class EnergyCounter(Protocol):
    """A cumulative energy reading; ``source`` is 'rapl', 'nvml' or 'estimate'."""

    source: str
    note: str

    def read_j(self) -> float: ...


class CpuTimeCounter:
    """Estimate: process CPU time (user + system, all threads) x watts per busy core."""

    source = "estimate"
    #: True when a worker process's `default_counter` measures the same way (see there).
    portable = False

    def __init__(self, watts_per_core: float = DEFAULT_WATTS_PER_CORE) -> None:
        self.watts_per_core = watts_per_core
        self.note = f"process CPU time x {watts_per_core:g} W per busy core"

    def read_j(self) -> float:
        return time.process_time() * self.watts_per_core


class FunctionCounter:
    """Adapts any ``() -> joules`` function (e.g. a zoo meter) to `EnergyCounter`."""

    portable = False

    def __init__(self, read: Callable[[], float], source: str, note: str = "") -> None:
        self._read = read
        self.source = source
        self.note = note

    def read_j(self) -> float:
        return float(self._read())


def rss_mb() -> float:
    """Current resident set size of this process, MB (from /proc; falls back to peak RSS)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak_kb / 1e3 if sys.platform != "darwin" else peak_kb / 1e6


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
        self.counter: EnergyCounter = counter or CpuTimeCounter(watts_per_core())
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


def default_counter() -> EnergyCounter:
    """The energy counter for runs: the profiles package's meter named by
    ``PLANNER_ENERGY_METER`` (auto, rapl, nvml or estimate; default auto: RAPL when readable,
    else the CPU-time estimate) when installed, else our CPU-time estimate; both honour
    ``PLANNER_WATTS_PER_CORE``. A meter asked for by name that cannot be read is an error."""
    import importlib

    kind = os.environ.get("PLANNER_ENERGY_METER", "").strip() or "auto"
    try:
        energy = importlib.import_module("profiles.energy")
        meter = energy.choose_meter(kind)
        info = meter.describe()
    except (ImportError, AttributeError, RuntimeError, ValueError) as exc:
        if kind not in ("auto", "estimate"):
            raise ProblemError(
                f"PLANNER_ENERGY_METER={kind}: {exc}; unset it to use the default meter"
            ) from exc
        counter: CpuTimeCounter | FunctionCounter = CpuTimeCounter(watts_per_core())
    else:
        counter = FunctionCounter(
            meter.read_j,
            str(info.get("energy_source", meter.name)),
            str(info.get("energy_note", "")),
        )
    counter.portable = True  # worker processes build the same counter for themselves
    return counter


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
