"""`benchmarks.bench_serve`: its synthetic catalog is valid and its report renders (the
benchmark itself is a command, `python -m benchmarks.bench_serve`, not a test)."""

from __future__ import annotations

import argparse

from benchmarks import bench_serve
from profiles import load_catalog_data


def test_the_benchmark_catalog_is_a_valid_catalog_of_synthetic_models() -> None:
    catalog = load_catalog_data(bench_serve.burn_catalog())
    assert {m.task for m in catalog.models} == set(bench_serve.TASKS)
    for m in catalog.models:
        assert m.provenance is not None and m.provenance.source == "synthetic"
        assert m.energy_j == m.adapter["options"]["cpu_s"] * bench_serve.WATTS  # type: ignore[index]
    out = bench_serve.burn({"text": "hi"}, cpu_s=0.001, tag="t")
    assert out == {"text": "hi|t"}


def test_the_report_states_the_ratio_and_the_violations() -> None:
    args = argparse.Namespace(
        clients=2,
        rate=10.0,
        slot_s=2.0,
        slots=3,
        slot_energy_j=8.0,
        plan_repeats=5,
        meter="estimate",
    )
    latency = {
        "objective": {
            "n": 5,
            "p50_ms": 4.0,
            "p99_ms": 9.0,
            "selection_p50_ms": 1.0,
            "solves_mean": 1.0,
            "statuses": ["optimal"],
        },
    }
    phase = {
        "requests": 10,
        "served_rps": 3.0,
        "rejection_rate": 0.2,
        "plan_p50_ms": 5.0,
        "plan_p99_ms": 9.0,
        "run_p50_ms": 20.0,
        "run_p99_ms": 40.0,
        "selection_p50_ms": 1.0,
        "runs_served": 5,
        "mean_accuracy": 0.8,
        "slot_energy_j": [7.0, 7.5, 6.0],
        "violations": 0,
        "accuracy_per_joule": 2.0,
    }
    worse = {**phase, "slot_energy_j": [12.0, 9.0, 7.0], "violations": 2, "accuracy_per_joule": 1.0}
    text = bench_serve.report(
        args, latency, {"tracker + ILP": phase, "always most accurate": worse}
    )
    assert "**2.00x** the accuracy per joule, 0 budget violation(s) against 2" in text
    assert "| tracker + ILP | 10 | 3.0 | 20% |" in text
