"""`benchmarks.demo_agreement`: the agreement summary and the machine baseline."""

from __future__ import annotations

from typing import Any

from benchmarks.demo_agreement import history_baseline, summarise


def report(measured: dict[str, float], check: bool = False) -> dict[str, Any]:
    nodes = [
        {
            "id": node,
            "model": "m-" + node[0],
            "predicted": {"latency_ms": 10.0},
            "measured": {"latency_ms": ms},
        }
        for node, ms in measured.items()
    ]
    out: dict[str, Any] = {"nodes": nodes, "pool": "process", "execution": "parallel"}
    out["_process_s"] = 5.0
    if check:
        out["speed_check"] = {
            "probed_in": "2 worker processes",
            "seconds": 1.5,
            "models": [{"model": "m-a", "factor": 1.2}],
        }
    return out


def test_summary_counts_nodes_within_the_tolerance_and_the_speed_check() -> None:
    reports = [report({"a": 10.0, "b": 13.0}), report({"a": 11.0, "b": 20.0}, check=True)]
    text = summarise(reports, 0.25, ["--speed-check"])
    assert "**2/4 node measurements (50%) within 25%**" in text  # b: 1.3x and 2x
    assert "runs with at least 80% of their nodes within: 0/2" in text
    assert "`planner run --json --no-history -q --speed-check`" in text
    assert "Speed check (2 worker processes): median 1.5 s per run" in text
    assert "| a | m-a | 10 | 1.00, 1.10 | 2/2 |" in text


def test_machine_baseline_predicts_each_node_from_the_previous_runs() -> None:
    # model m-a: 10, 10, 10, then 12 (within 25% of 10) and 20 (not)
    runs = [report({"a": v}) for v in (10.0, 10.0, 10.0, 12.0, 20.0)]
    assert history_baseline(runs, 0.25, k=3) == (1, 2)
    assert history_baseline(runs[:3], 0.25, k=3) == (0, 0)
