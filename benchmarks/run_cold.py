"""Cold runs of the built-in demo: is the predicted wall time, loading included, the measured?

By default the benchmark runs what a user runs: ``--runs`` times ``planner run --cold --json
--no-history``, each in a fresh process, on the shipped catalog; the plan counts each model's
cold load from ``planner/data/cold_loads.json`` (measured apart, before, by
``python -m benchmarks.cold_loads``: each model in fresh worker processes, on top of the shared
base of libraries many models import, which a cold plan counts once). Predicted
wall time: the plan's start-up + cold loading + the executor's list schedule on the run's
slots (``report.predicted_schedule.latency_ms``, equal to the plan's own total); measured:
``totals_measured.latency_ms`` (makespan + loading, as ``latency_counts`` says). Counted: runs
within ``--tolerance`` (issue 17: 30%).

``--calibrations N`` instead profiles the demo's cold loads in the benchmark (tuning, before
the runs): in ``k`` fresh worker processes at once (``k``: the run's worker slots), load the
plan's models one at a time in the order the executor loads them, ``N`` times, the median of
the slowest worker's time, written to a copy of the shipped catalog the runs then use
(``--catalog``). ``--interleave`` (with ``--calibrations``) profiles again (once) just before
each run, so that the machine's drift hits the profile and the run alike.

    python -m benchmarks.run_cold [--runs 10] [--calibrations N [--interleave]]
        [--tolerance 0.3] [-o FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import describe


def calibrate(calibrations: int) -> tuple[dict[str, float], list[str], int, Path]:
    """Median cold load ms per chosen model, the models in load order, the slots, and the
    calibrated catalog's path."""
    from planner.cli.run import base_catalog, demo_problem
    from planner.run.budget import cold_models
    from planner.run.executor import LocalExecutor
    from planner.run.options import RunOptions
    from planner.run.procpool import ProcessPool
    from planner.solve import solve

    problem = demo_problem()
    problem = problem.model_copy(
        update={"machine": problem.machine.model_copy(update={"cold": True})}
    )
    plan = solve(problem)
    order = cold_models(plan.problem, plan.assignment)
    options = RunOptions()
    slots = LocalExecutor(options=options).slots_for(plan)
    samples: dict[str, list[float]] = {p.id: [] for p in order}
    for _ in range(calibrations):
        pool = ProcessPool(slots, options.model_dump_json(), lambda *a: None)
        pool.wait_ready()  # as a run: worker start-up is apart from loading
        try:
            for profile in order:
                took = pool.load([profile.model_dump_json()])
                samples[profile.id].append(took[profile.id])
        finally:
            pool.close()
    load = {m: statistics.median(v) for m, v in samples.items()}
    catalog = base_catalog(None)
    data = catalog.model_dump(mode="json", exclude_none=True)
    for row in data["models"]:
        if row["id"] in load:
            row["load_ms"] = round(load[row["id"]], 1)
            row.setdefault("provenance", {})["load_note"] = (
                f"cold load measured by benchmarks.run_cold: median of {calibrations} loads in "
                f"{slots} fresh worker processes, in the executor's load order {', '.join(load)}"
            )
    path = Path(tempfile.mkdtemp(prefix="run-cold-")) / "catalog.json"
    path.write_text(json.dumps(data, indent=1))
    return load, [p.id for p in order], slots, path


def shipped_loads() -> tuple[dict[str, float], list[str], int, str]:
    """The cold loads the shipped files give the demo's cold plan, in load order, the slots,
    and where they came from."""
    from planner.cli.options import apply_overrides
    from planner.cli.run import demo_problem
    from planner.run.budget import cold_models
    from planner.run.calibration import cold_loads_default
    from planner.run.executor import LocalExecutor
    from planner.run.options import RunOptions
    from planner.solve import solve

    problem = apply_overrides(demo_problem(), cold=True, measured_dispatch=True)
    plan = solve(problem)
    order = cold_models(plan.problem, plan.assignment)
    slots = LocalExecutor(options=RunOptions()).slots_for(plan)
    defaults = cold_loads_default(slots)
    load = {"(shared base)": plan.problem.machine.base_load_ms()}
    load.update({p.id: p.load_ms or 0.0 for p in order})
    return load, list(load), slots, defaults.note


def run_once(catalog: Path | None) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="run-cold-out-")) / "run"
    cmd = [sys.executable, "-m", "planner", "run", "--cold"]
    if catalog is not None:
        cmd += ["--catalog", str(catalog)]
    cmd += ["--json", "--no-history", "-q", "--out", str(out)]
    load1 = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"planner run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(proc.stdout)
    plan = json.loads((out / "plan.json").read_text())
    report["_plan_latency_ms"] = (plan.get("totals") or {}).get("latency_ms")
    report["_process_s"] = elapsed
    report["_load1"] = (load1 + os.getloadavg()[0]) / 2
    return report


def summarise(
    load: dict[str, float],
    order: list[str],
    slots: int,
    reports: list[dict[str, Any]],
    tol: float,
    source: str,
) -> str:
    rows = []
    ok = 0
    for i, r in enumerate(reports, 1):
        pred = r["predicted_schedule"]["latency_ms"]
        meas = r["totals_measured"]["latency_ms"]
        ratio = meas / pred if pred else float("nan")
        ok += abs(ratio - 1) <= tol
        rows.append(
            f"| {i} | {pred:.0f} | {r['predicted_schedule']['load_ms']:.0f} | "
            f"{r['_plan_latency_ms']:.4g} | {meas:.0f} | {r['totals_measured']['load_ms']:.0f} | "
            f"{r['totals_measured']['makespan_ms']:.0f} | {r['startup_ms']:.0f} | {ratio:.2f} | "
            f"{r['_load1']:.1f} |"
        )
    ratios = [
        r["totals_measured"]["latency_ms"] / r["predicted_schedule"]["latency_ms"] for r in reports
    ]
    lines = [
        "# Cold demo runs: predicted wall time with loading vs measured "
        "(`python -m benchmarks.run_cold`)",
        "",
        *[f"- {line}" for line in describe()],
        f"- pool: {reports[0].get('pool')}, {slots} worker slot(s); latency counts "
        f"`{reports[0].get('latency_counts')}`",
        f"- cold loads the plan counts ({source}): "
        + ", ".join(f"{m} {load[m]:.0f} ms" for m in order),
        f"- runs: {len(reports)} x `planner run --cold"
        + (" --catalog <profiled copy>" if "tuning" in source else "")
        + " --json --no-history -q`, each a fresh process",
        "",
        f"**{ok}/{len(reports)} runs within {tol:.0%}** of the predicted wall time; median "
        f"measured / predicted {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max "
        f"{max(ratios):.2f}). Start-up of the worker processes is outside the plan and "
        "reported apart (last column).",
        "",
        "| run | predicted ms | of which loading | plan total ms (solver) | measured ms | "
        "of which loading | makespan | start-up (apart) | measured / predicted | "
        "load average (1 min, mean of start and end) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--calibrations", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.3)
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--interleave", action="store_true")
    args = parser.parse_args(argv)
    if args.interleave and args.calibrations < 1:
        parser.error("--interleave profiles again before each run: give --calibrations N")
    if args.interleave:
        reports = []
        for _ in range(args.runs):
            load, order, slots, catalog = calibrate(1)
            reports.append(run_once(catalog))
        source = "tuning: profiled again before each run (`--interleave`), the last"
    elif args.calibrations:
        load, order, slots, catalog = calibrate(args.calibrations)
        reports = [run_once(catalog) for _ in range(args.runs)]
        source = f"tuning: profiled in the benchmark before the runs, {args.calibrations} times"
    else:
        load, order, slots, source = shipped_loads()
        reports = [run_once(None) for _ in range(args.runs)]
    text = summarise(load, order, slots, reports, args.tolerance, source)
    if args.output:
        args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
