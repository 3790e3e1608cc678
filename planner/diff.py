"""Compare two JSON artifacts (plans, run reports, ...) by assignment, totals and nodes.

Any JSON object works as long as it has at least one of:

- ``assignment``: ``{node id: model id}``;
- ``totals``: an object of numbers (nested objects allowed, e.g. ``{"predicted": {...},
  "measured": {...}}``: leaves are compared under dotted keys such as ``measured.energy_j``);
- ``nodes``: a list of objects with ``id`` (and e.g. ``model``, ``predicted``, ``measured``).

Top-level scalars (``status``, ``objective``, ``format``, ...) are compared too. Lists other
than ``nodes`` and the fields in `IGNORED` (per-candidate tables, the embedded problem,
timings) are skipped: they are inputs or noise, not the outcome.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from planner.errors import ProblemError
from planner.insight_models import NodeChange
from planner.problem import read_data_file

#: Keys never compared (inputs, per-candidate detail, wall-clock noise).
IGNORED = frozenset(
    {
        "candidates",
        "problem",
        "solve_time_ms",
        "solver",
        "explanation",
        "alternatives",
        "weights",
        "scales",
        "budgets",
        "critical_path",
        "message",
    }
)
Scalar = float | str | bool | None


class ValueDelta(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    a: Scalar
    b: Scalar
    delta: float | None = Field(description="b - a when both are numbers.")
    pct: float | None = Field(description="100 * (b - a) / |a| when a is a non-zero number.")


class ArtifactDiff(BaseModel):
    """What differs between artifact A and artifact B (B relative to A)."""

    model_config = ConfigDict(frozen=True)

    format: str = "diff/v1"
    a: str
    b: str
    same: bool
    fields: list[ValueDelta] = Field(description="Top-level scalars that differ.")
    assignment: list[NodeChange] = Field(description="Nodes whose model differs.")
    totals: list[ValueDelta] = Field(description="Every total (equal ones have delta 0).")
    nodes: dict[str, list[ValueDelta]] = Field(description="Per node, the values that differ.")


def load_artifact(path: str | Path) -> dict[str, Any]:
    data = read_data_file(Path(path))
    if not isinstance(data, dict) or not any(k in data for k in ("assignment", "totals", "nodes")):
        raise ProblemError(
            f"{path}: not a plan or report: expected a JSON object with "
            "'assignment', 'totals' or 'nodes'"
        )
    return data


def _flatten(value: Any, prefix: str = "") -> dict[str, Scalar]:
    out: dict[str, Scalar] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if key in IGNORED:
                continue
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, bool | str) or value is None:
        out[prefix] = value
    elif isinstance(value, int | float):
        out[prefix] = float(value)
    return out


def _delta(key: str, a: Scalar, b: Scalar) -> ValueDelta:
    delta = pct = None
    numeric = (
        isinstance(a, float)
        and isinstance(b, float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )
    if numeric:
        assert isinstance(a, float) and isinstance(b, float)
        delta = b - a
        pct = 100.0 * delta / abs(a) if a else None
    return ValueDelta(key=key, a=a, b=b, delta=delta, pct=pct)


def _equal(a: Scalar, b: Scalar) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


def _compare(a: dict[str, Scalar], b: dict[str, Scalar], keep_equal: bool) -> list[ValueDelta]:
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if keep_equal or not _equal(va, vb):
            out.append(_delta(key, va, vb))
    return out


def _nodes(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nodes = data.get("nodes")
    if isinstance(nodes, dict):
        return {str(k): v for k, v in nodes.items() if isinstance(v, dict)}
    if isinstance(nodes, list):
        return {str(n["id"]): n for n in nodes if isinstance(n, dict) and "id" in n}
    return {}


def diff_artifacts(
    a: dict[str, Any], b: dict[str, Any], name_a: str = "A", name_b: str = "B"
) -> ArtifactDiff:
    """B relative to A: changed models, totals (all, with deltas), changed node values."""
    top_a = {k: v for k, v in _flatten(a).items() if "." not in k}
    top_b = {k: v for k, v in _flatten(b).items() if "." not in k}
    fields = _compare(top_a, top_b, keep_equal=False)
    assign_a = a.get("assignment") or {}
    assign_b = b.get("assignment") or {}
    if not assign_a:
        assign_a = {k: n.get("model") for k, n in _nodes(a).items()}
    if not assign_b:
        assign_b = {k: n.get("model") for k, n in _nodes(b).items()}
    changes = [
        NodeChange(node=node, before=assign_a.get(node), after=assign_b.get(node))
        for node in sorted(set(assign_a) | set(assign_b))
        if assign_a.get(node) != assign_b.get(node)
    ]
    totals = _compare(
        _flatten(a.get("totals") or {}), _flatten(b.get("totals") or {}), keep_equal=True
    )
    nodes_a, nodes_b = _nodes(a), _nodes(b)
    nodes: dict[str, list[ValueDelta]] = {}
    for node in sorted(set(nodes_a) | set(nodes_b)):
        fa = _flatten({k: v for k, v in nodes_a.get(node, {}).items() if k not in ("id",)})
        fb = _flatten({k: v for k, v in nodes_b.get(node, {}).items() if k not in ("id",)})
        changed = _compare(fa, fb, keep_equal=False)
        if changed:
            nodes[node] = changed
    same = not fields and not changes and not nodes and all(_equal(t.a, t.b) for t in totals)
    return ArtifactDiff(
        a=name_a, b=name_b, same=same, fields=fields, assignment=changes, totals=totals, nodes=nodes
    )
