"""Cold loads of the shipped catalog's local models on this machine (`planner.run.calibration`).

Each model alone, ``--repeats`` times, in a fresh pool of worker processes that all load it
at once (imports, weights, the executor's warm-up), for one worker slot and for the default
number of slots `planner run` uses here. The medians go to ``planner/data/cold_loads.json``,
which `planner solve/plan/run --cold` count as each row's ``load_ms`` when the row gives
none, and a Markdown table to ``benchmarks/results/cold_loads.md``. Measure on a quiet machine:
the load average is recorded before and after.

    python -m benchmarks.cold_loads [--repeats 3] [--workers 1 2] [--only ID ...] [--no-store]
        [--table-only]
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from benchmarks.machine import describe


def fmt(load: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in load)


def main(argv: list[str] | None = None) -> int:
    from planner.machine import default_workers
    from planner.run.calibration import COLD_FILE, SHARED_BY, base_row, cold_loads, shared_modules
    from profiles.hardware import hardware_summary
    from profiles.zoo import code_hash, shipped_catalog

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=None)
    parser.add_argument("--only", nargs="+", default=None, help="Measure only these model ids.")
    parser.add_argument("--no-store", action="store_true", help="Do not write the data file.")
    parser.add_argument(
        "--table-only", action="store_true", help="Measure nothing: the table of the stored file."
    )
    args = parser.parse_args(argv)
    counts = args.workers or sorted({1, default_workers()})
    all_local = [
        m for m in shipped_catalog().models if (m.adapter or {}).get("kind") in ("zoo", "python")
    ]
    models = [m for m in all_local if args.only is None or m.id in args.only]
    path = Path(str(resources.files("planner").joinpath(COLD_FILE)))
    old = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    tables: dict[str, dict[str, Any]] = dict(old.get("workers", {}))
    stored_base = next((t["base"]["modules"] for t in tables.values() if "base" in t), None)
    if args.table_only:
        modules: list[str] = []
    elif args.only and stored_base is not None:  # the base is the whole catalog's: keep it
        modules = list(stored_base)
    else:
        modules = shared_modules(all_local, SHARED_BY)
    base = base_row(modules)
    for k in [] if args.table_only else counts:
        before = os.getloadavg()
        base_load = cold_loads([base], k, args.repeats)[base.id]
        rows = cold_loads(models, k, args.repeats, base=base)
        kept = tables.get(str(k), {}).get("models", {}) if args.only else {}
        tables[str(k)] = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "repeats": args.repeats,
            "load_average": {"before": list(before), "after": list(os.getloadavg())},
            "base": {**base_load, "shared_by": SHARED_BY, "modules": modules},
            "models": {**kept, **rows},
        }
    data = {
        "hardware": hardware_summary(),
        "method": "per worker count k: the median of `repeats` loads of each model in a "
        "fresh pool of k worker processes that load it at once (imports, weights, the "
        "executor's warm-up), the slowest worker's time, after the pool loaded the shared "
        "base (untimed: the modules at least `shared_by` of the catalog's local models import "
        "on a cold load, timed on its own as `base`); pool start-up excluded "
        "(benchmarks/cold_loads.py)",
        "zoo_code_hash": code_hash(),
        "workers": dict(sorted(tables.items())),
    }
    if not (args.no_store or args.table_only):
        path.write_text(json.dumps(data, indent=1) + "\n")
    table = {k: v["models"] for k, v in tables.items()}
    lines = [
        "# Cold loads of the shipped catalog's local models (`python -m benchmarks.cold_loads`)",
        "",
        *[f"- {line}" for line in describe()],
        f"- method: {data['method']}",
        *[
            f"- {k} worker(s): measured {v['measured_at']}, {v['repeats']} loads each, load "
            f"average (1, 5, 15 min) before {fmt(v['load_average']['before'])}, after "
            f"{fmt(v['load_average']['after'])}"
            for k, v in tables.items()
        ],
        "",
        "| model | " + " | ".join(f"{k} worker(s): median (min-max) ms" for k in table) + " |",
        "|---|" + "---|" * len(table),
    ]
    lines.append(
        "| (shared base, once per cold plan) | "
        + " | ".join(
            f"{v['base']['load_ms']:.0f} ({v['base']['min_ms']:.0f}-{v['base']['max_ms']:.0f}), "
            f"{len(v['base']['modules'])} modules"
            if "base" in v
            else "-"
            for v in tables.values()
        )
        + " |"
    )
    for m in models:
        cells = []
        for rows in table.values():
            r = rows.get(m.id)
            cells.append(f"{r['load_ms']:.0f} ({r['min_ms']:.0f}-{r['max_ms']:.0f})" if r else "-")
        lines.append(f"| {m.id} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    Path("benchmarks/results/cold_loads.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
