"""Machine calibration measured here: the per-node dispatch overhead of each pool kind (the
default of ``machine.dispatch_ms``) and each local model's cold load (the ``load_ms`` a cold
plan counts for a row that gives none).

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

A cold load is what a run pays the first time it uses a model in fresh worker processes:
importing the model's libraries, reading or training its weights and the executor's warm-up
calls (`cold_loads`). The profiler's ``load_ms`` is far less: it times ``load()`` after the
libraries were imported (whisper-base 1.7 s there, 4.9 s cold in two workers at once).
`benchmarks/cold_loads.py` measures every local model of the shipped catalog alone, for one
and for the default number of worker slots, and stores the medians in
``planner/data/cold_loads.json``; `cold_loads_default` reads it (``PLANNER_COLD_LOADS_FILE``
points to another file, an empty value turns it off).
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.problem import Problem
    from profiles import ModelProfile

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


COLD_FILE = "data/cold_loads.json"

#: A module the calibration imports for the shared base when at least this many of the
#: catalog's local models import it on their cold load.
SHARED_BY = 8


@dataclass(frozen=True)
class ColdDefaults:
    """The cold loads measured here for one worker count (`cold_loads_default`)."""

    loads: dict[str, float]
    base_ms: float = 0.0
    note: str = ""


def _cold_path() -> Path | None:
    env = os.environ.get("PLANNER_COLD_LOADS_FILE")
    if env is not None:
        return Path(env) if env.strip() else None
    return Path(str(resources.files("planner").joinpath(COLD_FILE)))


def cold_loads_default(workers: int) -> ColdDefaults:
    """The cold loads measured here for a run on ``workers`` worker slots: per model id its
    ``load_ms`` on top of the shared base, the base's ``load_ms`` and a note saying where
    they came from (nothing when there is no file or it cannot be read; a worker count that
    was not measured gets the nearest one that was)."""
    path = _cold_path()
    if path is None or not path.is_file():
        return ColdDefaults({})
    try:
        data = json.loads(path.read_text("utf-8"))
        table = data["workers"]
        counts = sorted(int(k) for k in table)
        nearest = min(counts, key=lambda k: (abs(k - workers), k))
        entry = table[str(nearest)]
        loads = {
            str(m): float(r["load_ms"])
            for m, r in entry["models"].items()
            if isinstance(r.get("load_ms"), int | float) and r["load_ms"] >= 0
        }
        base = float((entry.get("base") or {}).get("load_ms", 0.0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ColdDefaults({})
    note = (
        f"cold load measured here ({path.name}, {data.get('hardware', 'unknown hardware')}, "
        f"{entry.get('measured_at', 'undated')}): median of {entry.get('repeats', '?')} loads "
        f"in {nearest} fresh worker process(es) at once, its imports and the executor's "
        "warm-up included, on top of the shared base (the libraries many models import, "
        f"{base:.0f} ms, counted once per cold plan as machine.cold_base_ms)"
    )
    return ColdDefaults(loads, max(base, 0.0), note)


def new_modules(profile: ModelProfile) -> list[str]:
    """The modules a fresh interpreter imports to load ``profile`` and warm it up as a
    worker does (a subprocess: this process has imported too much to tell)."""
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from planner.runners import RunnerFactory, warm_up\n"
        "from profiles import ModelProfile\n"
        "p = ModelProfile.model_validate_json(sys.stdin.read())\n"
        "before = set(sys.modules)\n"
        "warm_up(RunnerFactory().load(p), p.task, 1)\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=profile.model_dump_json(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return []
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    return [m for m in found if isinstance(m, str) and not m.startswith("_")]


def shared_modules(profiles: list[ModelProfile], shared_by: int = SHARED_BY) -> list[str]:
    """The modules at least ``shared_by`` of ``profiles`` import on a cold load."""
    counts: dict[str, int] = {}
    for profile in profiles:
        for name in new_modules(profile):
            counts[name] = counts.get(name, 0) + 1
    return sorted(m for m, n in counts.items() if n >= shared_by)


def import_modules(modules: list[str] | tuple[str, ...] = (), **_: Any) -> None:
    """The shared base's load: import these modules (one that fails is skipped)."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # a module that needs its parent's context, or a broken one
            continue


def base_noop(inputs: dict[str, Any], **_: Any) -> dict[str, Any]:
    """The shared base's call (the executor's warm-up calls it): returns its input."""
    return noop(inputs)


def base_row(modules: list[str]) -> ModelProfile:
    """A python model whose load imports ``modules``: what `cold_loads` loads first."""
    from profiles import ModelProfile

    return ModelProfile.model_validate(
        {
            "id": "cold-base",
            "task": "T",
            "accuracy": 1.0,
            "latency_ms": 0.0,
            "energy_j": 0.0,
            "adapter": {
                "kind": "python",
                "target": "planner.run.calibration:base_noop",
                "load": "planner.run.calibration:import_modules",
                "options": {"modules": list(modules)},
            },
        }
    )


def cold_loads(
    profiles: list[ModelProfile],
    workers: int,
    repeats: int = 3,
    base: ModelProfile | None = None,
) -> dict[str, dict[str, float]]:
    """Each model's cold load as a run on ``workers`` slots pays it: ``repeats`` times, a
    fresh pool of ``max(workers, 1)`` worker processes (`planner.run.procpool`, started
    before the clock: a run's start-up is timed apart) loads ``base`` first when given
    (untimed: the libraries many models share, counted once per plan) and then just that
    model, in every worker at once (importing its libraries, reading or training its
    weights, the executor's warm-up calls); the time is the slowest worker's. A one-slot
    run loads in the parent's thread pool: it is measured in one fresh worker process,
    whose imports are the same. Returns per model id the median ``load_ms``, ``min_ms``,
    ``max_ms`` and ``runs``."""
    from planner.run.options import RunOptions
    from planner.run.procpool import ProcessPool

    options = RunOptions().model_dump_json()
    out: dict[str, dict[str, float]] = {}
    for profile in profiles:
        samples: list[float] = []
        for _ in range(repeats):
            pool = ProcessPool(max(workers, 1), options, lambda *a: None)
            try:
                pool.wait_ready()
                if base is not None:
                    pool.load([base.model_dump_json()])
                samples.append(pool.load([profile.model_dump_json()])[profile.id])
            finally:
                pool.close()
        out[profile.id] = {
            "load_ms": round(statistics.median(samples), 1),
            "min_ms": round(min(samples), 1),
            "max_ms": round(max(samples), 1),
            "runs": float(repeats),
        }
    return out


def with_cold_loads(problem: Problem) -> Problem:
    """``problem`` with the cold loads a cold plan counts filled in: a local row (zoo or
    python adapter) without ``load_ms`` gets the one measured here for the run's worker
    count (`cold_loads_default`), else the profiler's recorded one; its load energy, when
    not given, is derived from it (`profiles.with_load_costs`, labelled as derived). When a
    row got a measured load, the machine's ``cold_base_ms`` (left at 0) becomes the
    measured shared base. A warm problem, or rows that give their own ``load_ms``, are left
    as they are."""
    from profiles import with_load_costs

    if not problem.machine.cold or isinstance(problem.models, str):
        return problem
    found = cold_loads_default(problem.machine.resolved_workers())
    rows, changed, measured = [], False, False
    for m in problem.models:
        row = m
        if (m.adapter or {}).get("kind") in ("zoo", "python") and m.load_ms is None:
            if m.id in found.loads:
                update: dict[str, Any] = {"load_ms": found.loads[m.id]}
                if m.provenance is not None:
                    update["provenance"] = m.provenance.model_copy(update={"load_note": found.note})
                row = m.model_copy(update=update)
                measured = True
            row = with_load_costs(row)
        rows.append(row)
        changed = changed or row is not m
    if not changed:
        return problem
    update_p: dict[str, Any] = {"models": tuple(rows)}
    if measured and problem.machine.cold_base_ms == 0.0 and found.base_ms > 0:
        update_p["machine"] = problem.machine.model_copy(update={"cold_base_ms": found.base_ms})
    return problem.model_copy(update=update_p)


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
