"""TaskBench-style evaluation of decomposers: node F1, link F1 and exact-graph match.

Metrics follow TaskBench's ``evaluate.py`` (microsoft/JARVIS, ``taskbench/evaluate.py``):

- **Node F1**: per request, the *set* of task names of the gold and of the prediction; over the
  union, a name in both is a true positive, only predicted a false positive, only gold a false
  negative. Names that are not task types of the tool graph count for neither side (TaskBench
  labels them 0, outside the scored labels). Counts are summed over requests (micro average).
- **Link F1**: the same with the set of ``(source task, target task)`` pairs (binary, no
  tool-graph filter). Gold pairs come from ``task_links``; TaskBench's script by default
  rebuilds them from ``<node-k>`` arguments, which agrees on well-formed records.
- **Exact match**: the share of requests whose predicted task-name multiset and link set
  both equal the gold ones.

The published gold data is noisy (see ``../shared/data/README.md``). `normalise_record`
repairs the shapes it can (``task_nodes`` as a dict, ``arguments`` as a string or under
``parameters``, ``destination`` for ``target``, integer link endpoints as node indices,
self-links dropped) and says what it did; records it cannot read are skipped and counted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tasks.safeio import parse_json, read_input_text


class GoldRecord(BaseModel):
    """A TaskBench record after normalisation."""

    model_config = ConfigDict(frozen=True)

    id: str
    instruction: str
    type: str | None = None
    nodes: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class LoadReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int
    used: int
    skipped: dict[str, str] = Field(default_factory=dict, description="line -> why")
    normalised: dict[str, list[str]] = Field(default_factory=dict, description="id -> fixes")


def normalise_record(raw: Mapping[str, Any]) -> tuple[GoldRecord, list[str]]:
    """Repair known shape errors of TaskBench gold records; raise ValueError if hopeless."""
    fixes: list[str] = []
    if not isinstance(raw, Mapping):
        raise ValueError("a record must be a JSON object")
    rid, instruction = raw.get("id"), raw.get("instruction")
    if rid is None or not isinstance(instruction, str) or not instruction.strip():
        raise ValueError("a record needs 'id' and a non-empty 'instruction'")
    nodes_raw = raw.get("task_nodes")
    if isinstance(nodes_raw, Mapping):
        nodes_raw = list(nodes_raw.values())
        fixes.append("task_nodes was a dict; took its values in order")
    if not isinstance(nodes_raw, list):
        raise ValueError("'task_nodes' is not a list")
    names: list[str] = []
    for i, node in enumerate(nodes_raw):
        if not isinstance(node, Mapping) or not isinstance(node.get("task"), str):
            raise ValueError(f"task_nodes[{i}] has no string 'task'")
        names.append(node["task"])
        if "arguments" not in node and "parameters" in node:
            fixes.append(f"task_nodes[{i}] had 'parameters' instead of 'arguments'")
        if isinstance(node.get("arguments"), str):
            fixes.append(f"task_nodes[{i}].arguments was a string")
    links: list[tuple[str, str]] = []
    for j, link in enumerate(raw.get("task_links") or []):
        if not isinstance(link, Mapping):
            fixes.append(f"task_links[{j}] is not an object; dropped")
            continue
        src = link.get("source")
        dst = link.get("target", link.get("destination"))
        if "target" not in link and "destination" in link:
            fixes.append(f"task_links[{j}] used 'destination'")
        ends = []
        for end in (src, dst):
            if isinstance(end, int) and not isinstance(end, bool) and 0 <= end < len(names):
                ends.append(names[end])
                fixes.append(f"task_links[{j}] endpoint {end} read as node index")
            elif isinstance(end, str):
                ends.append(end)
            else:
                ends.append("")
        if not ends[0] or not ends[1]:
            fixes.append(f"task_links[{j}] has no usable source/target; dropped")
            continue
        if ends[0] == ends[1]:
            fixes.append(f"task_links[{j}] is a self-link; dropped")
            continue
        links.append((ends[0], ends[1]))
    rec = GoldRecord(
        id=str(rid),
        instruction=instruction,
        type=raw.get("type"),
        nodes=tuple(names),
        links=tuple(dict.fromkeys(links)),
        raw=dict(raw),
    )
    return rec, fixes


def load_records(path: str | Path, split: str = "all") -> tuple[list[GoldRecord], LoadReport]:
    """Read a TaskBench JSONL file. ``split``: ``all``, ``first-half`` or ``second-half``
    (by line order; the first half has ``n // 2`` lines)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"data file {path} does not exist")
    lines = read_input_text(path, what="JSONL data file").splitlines()
    numbered = [(k + 1, line) for k, line in enumerate(lines) if line.strip()]
    half = len(numbered) // 2
    if split == "first-half":
        numbered = numbered[:half]
    elif split == "second-half":
        numbered = numbered[half:]
    elif split != "all":
        raise ValueError(f"split must be all, first-half or second-half, got {split!r}")
    records: list[GoldRecord] = []
    skipped: dict[str, str] = {}
    normalised: dict[str, list[str]] = {}
    for lineno, line in numbered:
        try:
            raw = parse_json(line, f"{path.name}:{lineno}")
            rec, fixes = normalise_record(raw)
        except (json.JSONDecodeError, ValueError) as exc:
            skipped[f"{path.name}:{lineno}"] = str(exc)
            continue
        if fixes:
            normalised[rec.id] = fixes
        records.append(rec)
    if not records and numbered:
        raise ValueError(
            f"no usable TaskBench record in {path} ({len(skipped)} skipped); "
            "each line must be a JSON object with id, instruction, task_nodes"
        )
    return records, LoadReport(
        total=len(numbered), used=len(records), skipped=skipped, normalised=normalised
    )


class Score(BaseModel):
    model_config = ConfigDict(frozen=True)

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int


def _prf(tp: int, fp: int, fn: int) -> Score:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Score(precision=p, recall=r, f1=f, tp=tp, fp=fp, fn=fn)


class EvalResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    requests: int
    node: Score
    link: Score
    exact_match: float
    failures: int = Field(description="requests where the decomposer raised (scored as empty)")


def score(
    gold: Sequence[tuple[Sequence[str], Sequence[tuple[str, str]]]],
    pred: Sequence[tuple[Sequence[str], Sequence[tuple[str, str]]]],
    known_types: Iterable[str],
    failures: int = 0,
) -> EvalResult:
    """Micro node/link scores over aligned (nodes, links) pairs, as TaskBench computes them."""
    if len(gold) != len(pred):
        raise ValueError("gold and predictions must be aligned")
    known = set(known_types)
    ntp = nfp = nfn = ltp = lfp = lfn = exact = 0
    for (gn, gl), (pn, pl) in zip(gold, pred, strict=True):
        gs, ps = set(gn) & known, set(pn) & known
        ntp += len(gs & ps)
        nfp += len(ps - gs)
        nfn += len(gs - ps)
        gls, pls = set(map(tuple, gl)), set(map(tuple, pl))
        ltp += len(gls & pls)
        lfp += len(pls - gls)
        lfn += len(gls - pls)
        exact += int(Counter(gn) == Counter(pn) and gls == pls)
    return EvalResult(
        requests=len(gold),
        node=_prf(ntp, nfp, nfn),
        link=_prf(ltp, lfp, lfn),
        exact_match=exact / len(gold) if gold else 0.0,
        failures=failures,
    )


def evaluate(
    records: Sequence[GoldRecord],
    predict: Callable[[GoldRecord], dict[str, Any] | None],
    known_types: Iterable[str],
) -> tuple[EvalResult, list[dict[str, Any]]]:
    """Run ``predict`` (record -> TaskBench dict with task_nodes/task_links, or None on
    failure) over ``records``; return the scores and the prediction records."""
    gold, pred, out = [], [], []
    failures = 0
    for rec in records:
        result = predict(rec)
        if result is None:
            failures += 1
            result = {"task_nodes": [], "task_links": []}
        names = [str(n["task"]) for n in result["task_nodes"]]
        links = [(str(link["source"]), str(link["target"])) for link in result["task_links"]]
        gold.append((rec.nodes, rec.links))
        pred.append((names, links))
        out.append({"id": rec.id, **result})
    return score(gold, pred, known_types, failures), out
