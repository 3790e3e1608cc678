"""Per-node dispatch overhead of each pool kind, measured here, as the default of
``machine.dispatch_ms``.

The overhead of a node is what the executor adds around the model's own call: resolving
arguments, handing the attempt to a worker (a thread queue, or pickling through a pipe to a
worker process), the worker's measurement marks, the result's way back and the scheduler's
bookkeeping. `calibrate` measures it as ``(wall makespan - sum of the measured inferences) /
nodes`` over a chain of no-op python nodes on one worker, so nothing overlaps.

`benchmarks/dispatch_overhead.py` runs it and stores the medians in
``planner/data/dispatch_overhead.json`` (with the machine it was measured on);
`dispatch_ms_default` reads that file, and `planner run` uses it for a problem whose machine
does not set ``dispatch_ms``. The environment variable ``PLANNER_DISPATCH_FILE`` points to
another file (an empty value turns the default off).
"""

from __future__ import annotations

import json
import os
import statistics
from importlib import resources
from pathlib import Path
from typing import Any

FILE = "data/dispatch_overhead.json"


def _path() -> Path | None:
    env = os.environ.get("PLANNER_DISPATCH_FILE")
    if env is not None:
        return Path(env) if env.strip() else None
    return Path(str(resources.files("planner").joinpath(FILE)))


def dispatch_ms_default(pool: str) -> float | None:
    """The stored per-node dispatch overhead of ``pool`` (thread, process), ms, or None."""
    path = _path()
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        value = data["pools"][pool]["dispatch_ms"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def chain_problem(n: int, workers: int = 1) -> dict[str, Any]:
    """``n`` no-op python nodes in a chain (problem data)."""
    nodes = [
        {"id": f"n{i}", "task": "T", "args": {"text": "$x" if i == 0 else f"<n{i - 1}>"}}
        for i in range(n)
    ]
    return {
        "name": "dispatch-calibration",
        "graph": {"nodes": nodes},
        "models": [
            {
                "id": "noop",
                "task": "T",
                "accuracy": 1.0,
                "latency_ms": 0.0,
                "energy_j": 0.0,
                "adapter": {"kind": "python", "target": "planner.run.calibration:noop"},
            }
        ],
        "machine": {"workers": workers},
    }


def noop(inputs: dict[str, Any]) -> dict[str, Any]:
    """The calibration model: returns its input."""
    return {"text": str(inputs.get("text", ""))[:16]}


def calibrate(pool: str, nodes: int = 40, repeats: int = 5) -> dict[str, float]:
    """Median per-node overhead (ms) of ``pool`` over ``repeats`` runs of a ``nodes`` chain,
    and the median start-up of the pool (ms)."""
    from planner.problem import problem_from_data
    from planner.run.executor import LocalExecutor
    from planner.run.options import RunOptions
    from planner.solve import solve

    plan = solve(problem_from_data(chain_problem(nodes)))
    per_node, startup = [], []
    for _ in range(repeats):
        ex = LocalExecutor(options=RunOptions(pool=pool, max_workers=1))
        report = ex.execute(plan, {"x": "calibrate"})
        inference = sum(n.measured.latency_ms for n in report.nodes if n.measured)
        per_node.append((report.totals_measured["makespan_ms"] - inference) / nodes)
        startup.append(report.startup_ms)
    return {
        "dispatch_ms": statistics.median(per_node),
        "startup_ms": statistics.median(startup),
        "runs": float(repeats),
        "nodes": float(nodes),
    }
