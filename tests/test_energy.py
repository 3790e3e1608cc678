"""Energy meters: RAPL on a fake powercap tree (wrap-around included), the estimate, the
automatic choice, and NVML where an NVIDIA GPU is present."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from profiles.energy import (
    DEFAULT_WATTS_PER_CORE,
    EnergyMeterError,
    EstimateMeter,
    RaplMeter,
    choose_meter,
    default_watts_per_core,
    rapl_zones,
)


def make_zone(root: Path, name: str, energy_uj: int, max_uj: int = 1000_000_000) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (zone / "name").write_text("package-" + name.split(":")[1] + "\n")
    return zone


def set_energy(zone: Path, value: int) -> None:
    (zone / "energy_uj").write_text(f"{value}\n")


def test_rapl_sums_packages_and_skips_subzones(tmp_path: Path) -> None:
    z0 = make_zone(tmp_path, "intel-rapl:0", 5_000_000)
    z1 = make_zone(tmp_path, "intel-rapl:1", 7_000_000)
    sub = make_zone(tmp_path, "intel-rapl:0:0", 1_000_000)  # core sub-zone: inside package 0
    assert [p.name for p in rapl_zones(tmp_path)] == ["intel-rapl:0", "intel-rapl:1"]
    meter = RaplMeter(tmp_path)
    assert meter.read_j() == 0.0
    set_energy(z0, 6_500_000)  # +1.5 J
    set_energy(z1, 7_250_000)  # +0.25 J
    set_energy(sub, 9_000_000)  # ignored
    assert meter.read_j() == pytest.approx(1.75)
    assert meter.describe()["energy_source"] == "rapl"


def test_rapl_counter_wrap_around(tmp_path: Path) -> None:
    zone = make_zone(tmp_path, "intel-rapl:0", 999_000_000, max_uj=1_000_000_000)
    meter = RaplMeter(tmp_path)
    set_energy(zone, 999_900_000)  # +0.9 J
    assert meter.read_j() == pytest.approx(0.9)
    set_energy(zone, 400_000)  # wrapped: +0.1 J to the top, then +0.4 J
    assert meter.read_j() == pytest.approx(1.4)
    set_energy(zone, 1_400_000)  # +1 J
    assert meter.read_j() == pytest.approx(2.4)


def test_rapl_unreadable_or_missing(tmp_path: Path) -> None:
    with pytest.raises(EnergyMeterError, match="no readable RAPL"):
        RaplMeter(tmp_path)
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "energy_uj").write_text("garbage")
    with pytest.raises(EnergyMeterError):
        RaplMeter(tmp_path)


def test_auto_prefers_rapl_then_falls_back_to_estimate(tmp_path: Path) -> None:
    make_zone(tmp_path / "with", "intel-rapl:0", 1)
    assert choose_meter("auto", powercap_root=tmp_path / "with").name == "rapl"
    (tmp_path / "empty").mkdir()
    # the estimate, also on a GPU machine: NVML counts the board, not the CPU models run on
    meter = choose_meter("auto", watts_per_core=7.0, powercap_root=tmp_path / "empty")
    assert meter.name == "estimate"
    assert meter.describe()["watts_per_core"] == 7.0
    with pytest.raises(EnergyMeterError, match="unknown energy meter"):
        choose_meter("joulemeter")


def test_estimate_is_cpu_time_times_watts() -> None:
    meter = EstimateMeter(watts_per_core=20.0)
    t0 = time.process_time()
    e0 = meter.read_j()
    x = 0
    while time.process_time() - t0 < 0.05:  # burn 50 ms of CPU
        x += 1
    cpu = time.process_time() - t0
    energy = meter.read_j() - e0
    assert energy == pytest.approx(cpu * 20.0, rel=0.2)
    assert energy >= 0.05 * 20.0 * 0.9
    assert "20 W" in meter.describe()["energy_note"]
    with pytest.raises(EnergyMeterError):
        EstimateMeter(watts_per_core=0)


def test_watts_per_core_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_WATTS_PER_CORE", raising=False)
    assert default_watts_per_core() == DEFAULT_WATTS_PER_CORE
    monkeypatch.setenv("PLANNER_WATTS_PER_CORE", "4.5")
    assert default_watts_per_core() == 4.5
    monkeypatch.setenv("PLANNER_WATTS_PER_CORE", "lots")
    with pytest.raises(EnergyMeterError, match="not a number"):
        default_watts_per_core()


def _has_nvidia_gpu() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        return bool(pynvml.nvmlDeviceGetCount())
    except Exception:
        return False


@pytest.mark.skipif(not _has_nvidia_gpu(), reason="needs an NVIDIA GPU and nvidia-ml-py")
def test_nvml_meter_reads_gpu_energy() -> None:
    meter = choose_meter("nvml")
    first = meter.read_j()
    time.sleep(0.5)
    second = meter.read_j()
    assert second >= first >= 0.0
    assert second > 0.0  # an idle GPU still draws tens of watts
    assert meter.describe()["energy_source"] == "nvml"


def test_runs_take_the_meter_named_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from planner.errors import ProblemError
    from planner.measure import default_counter

    monkeypatch.setenv("PLANNER_ENERGY_METER", "estimate")
    assert default_counter().source == "estimate"
    monkeypatch.setenv("PLANNER_ENERGY_METER", "joulemeter")
    with pytest.raises(ProblemError, match="PLANNER_ENERGY_METER=joulemeter: unknown energy"):
        default_counter()
    if not _has_nvidia_gpu():
        monkeypatch.setenv("PLANNER_ENERGY_METER", "nvml")
        with pytest.raises(ProblemError, match="PLANNER_ENERGY_METER=nvml"):
            default_counter()  # asked for by name: no silent fallback to the estimate
