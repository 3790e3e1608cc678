"""Per-node dispatch overhead of each pool kind on this machine (`planner.run.calibration`).

Runs a chain of no-op python nodes on one worker slot, ``--repeats`` times per pool (thread,
process), and stores the medians in ``planner/data/dispatch_overhead.json``, the default of
``machine.dispatch_ms`` for `planner run` (a problem that sets ``machine.dispatch_ms`` keeps
its own), and a Markdown summary in ``benchmarks/results/dispatch_overhead.md``.

    python -m benchmarks.dispatch_overhead [--nodes 40] [--repeats 5] [--no-store]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from benchmarks.machine import describe


def main(argv: list[str] | None = None) -> int:
    from planner.run.calibration import FILE, calibrate
    from profiles.hardware import hardware_summary

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-store", action="store_true", help="Do not write the data file.")
    args = parser.parse_args(argv)
    pools = {pool: calibrate(pool, args.nodes, args.repeats) for pool in ("thread", "process")}
    data = {
        "hardware": hardware_summary(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "method": f"median over {args.repeats} runs of (wall makespan - sum of measured "
        f"inferences) / {args.nodes} no-op python nodes in a chain on one worker slot "
        "(benchmarks/dispatch_overhead.py); startup_ms: the pool's start-up (apart from the "
        "makespan)",
        "pools": {p: {k: round(v, 3) for k, v in r.items()} for p, r in pools.items()},
    }
    if not args.no_store:
        path = Path(str(resources.files("planner").joinpath(FILE)))
        path.write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Per-node dispatch overhead (`python -m benchmarks.dispatch_overhead`)",
        "",
        *[f"- {line}" for line in describe()],
        f"- method: {data['method']}",
        "",
        "| pool | dispatch ms per node | pool start-up ms |",
        "|---|---|---|",
        *[f"| {p} | {r['dispatch_ms']:.3f} | {r['startup_ms']:.0f} |" for p, r in pools.items()],
    ]
    text = "\n".join(lines) + "\n"
    Path("benchmarks/results/dispatch_overhead.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
