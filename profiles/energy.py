"""Energy meters behind one interface: RAPL (Intel/AMD powercap counters), NVML (NVIDIA GPU
counters) and an estimate (process CPU time x watts per core) for machines with neither.

Every meter exposes ``read_j()``, a cumulative energy in joules since the meter was made
(differences of two reads give the energy of what ran between them), and ``describe()``, the
fields a profile's provenance records. ``choose_meter("auto")`` picks RAPL when readable, else
the estimate. NVML is used only when asked for (``nvml``, or ``PLANNER_ENERGY_METER=nvml`` for
runs): it counts the whole GPU board, not the CPU where the built-in zoo runs, and it moves in
steps far coarser than a millisecond-scale call. On an H200 machine without RAPL (2026-11-28),
``auto`` used to pick NVML and the demo's CPU-only nodes read 0 J or ~8.2 J each (one step of
the board's counter at ~80 W idle), while the same meter read 79 W idle and 609 W under a
bf16 matrix-product load, as it should for GPU work."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

#: Default watts per fully busy core for the estimate. A server CPU package draws roughly
#: 5-15 W per busy core under load (e.g. a 200 W TDP, 32-core part is ~6 W/core; laptop and
#: desktop parts with few cores are ~10-15 W/core); 10 W is a middle value. Override with
#: ``--watts-per-core`` or the environment variable ``PLANNER_WATTS_PER_CORE``.
DEFAULT_WATTS_PER_CORE = 10.0
POWERCAP_ROOT = Path("/sys/class/powercap")


class EnergyMeterError(RuntimeError):
    """The requested meter is not available on this machine."""


class EnergyMeter(Protocol):
    """The one energy-meter abstraction of the project (the profiler and the executor use
    it): ``read_j()`` is cumulative joules; ``source`` is what a measurement records as its
    ``energy_source`` (rapl, nvml, estimate); ``note`` says how, in words."""

    name: str

    @property
    def source(self) -> str: ...

    @property
    def note(self) -> str: ...

    def read_j(self) -> float: ...

    def describe(self) -> dict[str, Any]: ...


class _Described:
    """``source`` and ``note`` from ``describe()``."""

    def describe(self) -> dict[str, Any]:  # pragma: no cover - every meter overrides it
        raise NotImplementedError

    @property
    def source(self) -> str:
        return str(self.describe().get("energy_source", getattr(self, "name", "estimate")))

    @property
    def note(self) -> str:
        return str(self.describe().get("energy_note", ""))


class FunctionMeter:
    """Any ``() -> joules`` function as an `EnergyMeter` (tests, embedding applications).
    ``portable`` is False: a worker process cannot rebuild it."""

    def __init__(self, read: Any, source: str, note: str = "") -> None:
        self._read = read
        self.name = source
        self.source = source
        self.note = note
        self.portable = False

    def read_j(self) -> float:
        return float(self._read())

    def describe(self) -> dict[str, Any]:
        return {"energy_source": self.source, "energy_note": self.note}


# --------------------------------------------------------------------------- estimate


@dataclass
class EstimateMeter(_Described):
    """Energy = CPU time of this process (user + system, all threads) x watts per core.

    It counts only this process's work, not idle power or other processes, and assumes every
    busy core draws the same power."""

    watts_per_core: float = DEFAULT_WATTS_PER_CORE
    name: str = "estimate"

    def __post_init__(self) -> None:
        if not self.watts_per_core > 0:
            raise EnergyMeterError(f"watts per core must be positive, got {self.watts_per_core}")
        self._t0 = time.process_time()

    def read_j(self) -> float:
        return (time.process_time() - self._t0) * self.watts_per_core

    def describe(self) -> dict[str, Any]:
        return {
            "energy_source": "estimate",
            "watts_per_core": self.watts_per_core,
            "energy_note": f"process CPU time (user+system) x {self.watts_per_core:g} W per "
            "busy core; idle power and other processes not counted",
        }


def default_watts_per_core() -> float:
    env = os.environ.get("PLANNER_WATTS_PER_CORE")
    if env is None:
        return DEFAULT_WATTS_PER_CORE
    try:
        value = float(env)
    except ValueError as exc:
        raise EnergyMeterError(f"PLANNER_WATTS_PER_CORE={env!r} is not a number") from exc
    if not value > 0:
        raise EnergyMeterError(f"PLANNER_WATTS_PER_CORE must be positive, got {env}")
    return value


# --------------------------------------------------------------------------- RAPL


@dataclass
class _RaplZone:
    path: Path
    name: str
    max_range_uj: int
    last_uj: int
    total_uj: int = 0


def rapl_zones(root: Path = POWERCAP_ROOT) -> list[Path]:
    """Top-level RAPL zones (``intel-rapl:N``, one per package; sub-zones such as
    ``intel-rapl:0:0`` are inside their package and would double count) whose
    ``energy_uj`` is readable."""
    zones = []
    for p in sorted(root.glob("intel-rapl:*")):
        if p.name.count(":") != 1:
            continue
        try:
            int((p / "energy_uj").read_text().strip())
        except (OSError, ValueError):
            continue
        zones.append(p)
    return zones


@dataclass
class RaplMeter(_Described):
    """Sum of the package counters ``energy_uj``; a counter that went down wrapped around at
    ``max_energy_range_uj``. Counts the whole package (all processes), so profile on a quiet
    machine. Read at least once per wrap period (minutes at full load)."""

    root: Path = POWERCAP_ROOT
    name: str = "rapl"
    _zones: list[_RaplZone] = field(default_factory=list)

    def __post_init__(self) -> None:
        paths = rapl_zones(self.root)
        if not paths:
            raise EnergyMeterError(
                f"no readable RAPL counters under {self.root}/intel-rapl:*/energy_uj "
                "(not an Intel/AMD machine, a VM, or the files are root-only: run as root or "
                "use --energy estimate)"
            )
        for p in paths:
            raw = int((p / "energy_uj").read_text().strip())
            try:
                max_range = int((p / "max_energy_range_uj").read_text().strip())
            except (OSError, ValueError):
                max_range = 2**32
            try:
                zone_name = (p / "name").read_text().strip()
            except OSError:
                zone_name = p.name
            self._zones.append(_RaplZone(p, zone_name, max_range, raw))

    def read_j(self) -> float:
        for z in self._zones:
            raw = int((z.path / "energy_uj").read_text().strip())
            delta = raw - z.last_uj
            if delta < 0:  # the counter wrapped around
                delta += z.max_range_uj
            z.total_uj += delta
            z.last_uj = raw
        return sum(z.total_uj for z in self._zones) / 1e6

    def describe(self) -> dict[str, Any]:
        names = ", ".join(f"{z.path.name} ({z.name})" for z in self._zones)
        return {
            "energy_source": "rapl",
            "energy_note": f"RAPL package counters {names}: whole package, all processes",
        }


# --------------------------------------------------------------------------- NVML


@dataclass
class NvmlMeter(_Described):
    """Sum of ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since driver load, Volta and newer)
    over the visible NVIDIA GPUs. GPU energy only: add CPU energy separately if it matters."""

    name: str = "nvml"

    def __post_init__(self) -> None:
        try:
            import pynvml
        except ImportError as exc:
            raise EnergyMeterError(
                "NVML needs the nvidia-ml-py package: pip install 'cost-aware-planner[gpu]'"
            ) from exc
        try:
            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self._names = [str(pynvml.nvmlDeviceGetName(h)) for h in self._handles]
            self._start = [pynvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles]
        except pynvml.NVMLError as exc:
            raise EnergyMeterError(f"NVML is not usable here: {exc}") from exc
        if not self._handles:
            raise EnergyMeterError("NVML found no NVIDIA GPU")
        self._nvml = pynvml

    def read_j(self) -> float:
        now = [self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles]
        return sum(n - s for n, s in zip(now, self._start, strict=True)) / 1e3

    def describe(self) -> dict[str, Any]:
        return {
            "energy_source": "nvml",
            "energy_note": f"NVML total energy of {', '.join(self._names)} (GPU only)",
        }


# --------------------------------------------------------------------------- choice

METERS = ("auto", "rapl", "nvml", "estimate")


def choose_meter(
    kind: str = "auto",
    watts_per_core: float | None = None,
    powercap_root: Path | None = None,
) -> EnergyMeter:
    """``auto``: RAPL if readable, else the CPU-time estimate (NVML only when asked for: see
    the module docstring)."""
    root = POWERCAP_ROOT if powercap_root is None else powercap_root
    if kind not in METERS:
        raise EnergyMeterError(f"unknown energy meter {kind!r}; use one of {', '.join(METERS)}")
    if kind == "rapl":
        return RaplMeter(root)
    if kind == "nvml":
        return NvmlMeter()
    if kind == "auto":
        try:
            return RaplMeter(root)
        except EnergyMeterError:
            pass
    return EstimateMeter(watts_per_core if watts_per_core is not None else default_watts_per_core())
