"""Compare the latency medians of two profile catalogs of the same models (reproducibility).

    python scripts/compare_profiles.py runA.json runB.json [--tolerance 0.2]

Prints, per model, both medians and the relative difference |a-b| / min(a, b), then the share
of models within the tolerance, and the Pareto-front sizes per task of the first catalog."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from profiles import load_catalog
from profiles.profiler import pareto_front


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--tolerance", type=float, default=0.2)
    args = ap.parse_args()
    a, b = load_catalog(args.a), load_catalog(args.b)
    rows_b = {(m.id, m.task): m for m in b.models}
    within = 0
    total = 0
    print(f"{'model':22} {'task':24} {'A ms':>9} {'B ms':>9} {'diff':>7}")
    for m in a.models:
        other = rows_b.get((m.id, m.task))
        if other is None:
            continue
        total += 1
        diff = abs(m.latency_ms - other.latency_ms) / max(min(m.latency_ms, other.latency_ms), 1e-9)
        within += diff <= args.tolerance
        print(f"{m.id:22} {m.task:24} {m.latency_ms:9.4f} {other.latency_ms:9.4f} {diff:7.1%}")
    print(f"{within}/{total} models ({within / max(total, 1):.0%}) within {args.tolerance:.0%}")
    fronts = {t: [m.id for m in pareto_front(a.for_task(t))] for t in a.tasks()}
    print(
        json.dumps(
            {t: {"candidates": len(a.for_task(t)), "pareto": f} for t, f in fronts.items()},
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
