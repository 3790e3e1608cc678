"""One self-contained HTML page for a plan or a run report (no network, no CDN).

The page holds: the plan graph as inline SVG (nodes coloured by chosen model, labelled with
predicted and, for run reports, measured metrics; the critical path in red), each node's
candidate table, budgets against totals, the explanation (infeasible plans), alternatives,
and the Pareto front as an inline PNG (matplotlib, Agg, base64).

Input: a plan (``plan/v1``); a ``report.json`` that `planner run` wrote (``report/v1``: its
plan is the ``plan.json`` beside it, its measured numbers ``nodes[*].measured`` and
``totals_measured``); or any JSON object holding the plan under ``plan`` plus measured
numbers, per node under ``nodes[*].measured`` (``nodes`` a list of ``{"id", "measured":
{...}}``) and in total under ``totals.measured`` or ``measured``.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import ValidationError

from planner.errors import ProblemError
from planner.insight_models import ParetoFront
from planner.metrics import BUDGET_METRICS
from planner.plan import Plan
from planner.problem import format_validation_error, read_data_file
from planner.report import is_run_report, plan_file_of_report

PALETTE = [
    "#8ecae6",
    "#ffb703",
    "#95d5b2",
    "#f4a261",
    "#cdb4db",
    "#a8dadc",
    "#e9c46a",
    "#b5e48c",
    "#ffafcc",
    "#90e0ef",
    "#d4a373",
    "#bde0fe",
    "#f7b267",
    "#c7f9cc",
    "#e5989b",
    "#caf0f8",
    "#ffd6a5",
    "#d8e2dc",
    "#fcbf49",
    "#a2d2ff",
]
METRIC_LABELS = {
    "energy_j": "energy (J)",
    "latency_ms": "latency (ms)",
    "accuracy": "accuracy",
    "memory_mb": "memory (MB)",
    "cost_usd": "cost (USD)",
}


@dataclass
class ReportInput:
    """A plan plus, for run reports, measured metrics per node and in total."""

    plan: Plan
    kind: str = "plan"
    measured_nodes: dict[str, dict[str, float]] = field(default_factory=dict)
    measured_totals: dict[str, float] = field(default_factory=dict)


def _numbers(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in value.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def load_report_input(path: str | Path) -> ReportInput:
    """Read a plan or a run report (see the module docstring)."""
    data = read_data_file(Path(path))
    if not isinstance(data, dict):
        raise ProblemError(f"{path}: expected a JSON object (a plan or a run report)")
    kind = "plan"
    plan_data: Any = data
    if is_run_report(data):  # `planner run`'s report.json: its plan.json is beside it
        plan_path = plan_file_of_report(path, data)
        plan_data, kind = read_data_file(plan_path), "report"
        path = plan_path
    elif str(data.get("format", "")).startswith("plan/") or "plan" not in data:
        plan_data = data
    else:
        plan_data, kind = data["plan"], "report"
    try:
        plan = Plan.model_validate(plan_data)
    except ValidationError as exc:
        where = (
            f"{path} (a plan file)" if kind == "plan" or is_run_report(data) else f"{path}: 'plan'"
        )
        raise ProblemError(format_validation_error(exc, where)) from exc
    measured_nodes: dict[str, dict[str, float]] = {}
    measured_totals: dict[str, float] = {}
    if kind == "report":
        nodes = data.get("nodes")
        items = nodes.values() if isinstance(nodes, dict) else nodes or []
        for node in items:
            if isinstance(node, dict) and "id" in node:
                measured_nodes[str(node["id"])] = _numbers(node.get("measured"))
        totals = data.get("totals")
        measured_totals = _numbers(totals.get("measured")) if isinstance(totals, dict) else {}
        if not measured_totals:
            measured_totals = _numbers(data.get("totals_measured"))  # report/v1
        if not measured_totals:
            measured_totals = _numbers(data.get("measured"))
    return ReportInput(plan, kind, measured_nodes, measured_totals)


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- graph (SVG)

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 220, 96, 80, 28, 24


def model_colours(plan: Plan) -> dict[str, str]:
    models = sorted({n.model for n in plan.nodes if n.model})
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def graph_svg(data: ReportInput) -> str:
    """The plan graph, layered left to right; critical path nodes and edges in red."""
    plan = data.plan
    graph = plan.problem.graph.to_networkx()
    layers = [sorted(layer) for layer in nx.topological_generations(graph)]
    pos: dict[str, tuple[float, float]] = {}
    tallest = max(len(layer) for layer in layers)
    height = PAD * 2 + tallest * BOX_H + (tallest - 1) * GAP_Y
    for col, layer in enumerate(layers):
        span = len(layer) * BOX_H + (len(layer) - 1) * GAP_Y
        top = (height - span) / 2
        for row, node_id in enumerate(layer):
            pos[node_id] = (PAD + col * (BOX_W + GAP_X), top + row * (BOX_H + GAP_Y))
    width = PAD * 2 + len(layers) * BOX_W + (len(layers) - 1) * GAP_X
    colours = model_colours(plan)
    crit = plan.critical_path
    crit_nodes = set(crit)
    crit_edges = set(itertools.pairwise(crit))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="plan-graph" role="img" '
        f'aria-label="plan graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#666"/></marker>'
        '<marker id="arrow-crit" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#c0392b"/></marker></defs>',
    ]
    for u, v in plan.problem.graph.dependency_edges():
        (x1, y1), (x2, y2) = pos[u], pos[v]
        sx, sy, tx, ty = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
        mid = (sx + tx) / 2
        critical = (u, v) in crit_edges
        parts.append(
            f'<path class="edge{" critical" if critical else ""}" data-edge="{_e(u)}->{_e(v)}" '
            f'd="M {sx:.1f} {sy:.1f} C {mid:.1f} {sy:.1f}, {mid:.1f} {ty:.1f}, {tx:.1f} '
            f'{ty:.1f}" fill="none" stroke="{"#c0392b" if critical else "#888"}" '
            f'stroke-width="{3 if critical else 1.5}" '
            f'marker-end="url(#{"arrow-crit" if critical else "arrow"})"/>'
        )
    for node in plan.nodes:
        x, y = pos[node.id]
        critical = node.id in crit_nodes
        fill = colours.get(node.model or "", "#eeeeee")
        lines = [(node.id, "bold"), (node.task, ""), (node.model or "(no model)", "model")]
        if node.predicted is not None:
            p = node.predicted
            lines.append(
                (
                    f"pred {_fmt(p.latency_ms, 3)} ms · {_fmt(p.energy_j, 3)} J · "
                    f"acc {_fmt(p.accuracy, 3)}",
                    "pred",
                )
            )
        measured = data.measured_nodes.get(node.id)
        if measured:
            bits = []
            if "latency_ms" in measured:
                bits.append(f"{_fmt(measured['latency_ms'], 3)} ms")
            if "energy_j" in measured:
                bits.append(f"{_fmt(measured['energy_j'], 3)} J")
            if "accuracy" in measured:
                bits.append(f"acc {_fmt(measured['accuracy'], 3)}")
            lines.append(("meas " + " · ".join(bits), "meas"))
        title = f"{node.id} ({node.task}): {node.model or 'no model'}"
        parts.append(
            f'<g class="node{" critical" if critical else ""}" data-node="{_e(node.id)}" '
            f'tabindex="0"><title>{_e(title)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8" '
            f'fill="{fill}" stroke="{"#c0392b" if critical else "#333"}" '
            f'stroke-width="{4 if critical else 1}"/>'
        )
        for k, (text, cls) in enumerate(lines):
            weight = ' font-weight="bold"' if cls == "bold" else ""
            parts.append(
                f'<text x="{x + 10:.1f}" y="{y + 20 + k * 17:.1f}" font-size="12"'
                f'{weight} class="{cls}">{_e(_clip(text, 34))}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- Pareto (PNG)


def pareto_png(front: ParetoFront, chosen: dict[str, float] | None = None) -> bytes:
    """The front as a step plot (PNG bytes); ``chosen`` (metric values) is marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    xs = [getattr(p, front.x) for p in front.points]
    ys = [getattr(p, front.y) for p in front.points]
    if xs:
        ax.step(xs, ys, where="post", color="#1d3557", alpha=0.5, linewidth=1)
        ax.scatter(xs, ys, color="#1d3557", s=24, zorder=3, label=f"Pareto front ({len(xs)} plans)")
    point = (
        chosen
        if chosen is not None
        else (front.chosen.model_dump() if front.chosen is not None else None)
    )
    if point is not None:
        ax.scatter(
            [point[front.x]],
            [point[front.y]],
            marker="*",
            s=260,
            color="#e63946",
            edgecolor="black",
            zorder=4,
            label="chosen plan (file's budgets)",
        )
    ax.set_xlabel(METRIC_LABELS[front.x])
    ax.set_ylabel(METRIC_LABELS[front.y])
    kept = ", ".join(f"{k}={v:g}" for k, v in front.kept_budgets.items()) or "none"
    ax.set_title(
        f"{front.problem or 'plan'}: {front.y} vs {front.x}\nbudgets kept: {kept}", fontsize=9
    )
    ax.grid(True, alpha=0.3)
    if xs or point is not None:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


# --------------------------------------------------------------------------- page

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;
max-width:1400px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid
#ddd;padding-bottom:4px}h3{font-size:14px;margin:16px 0 4px}
.status{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:bold}
.status.optimal{background:#2a9d8f}.status.feasible{background:#e9c46a;color:#222}
.status.bad{background:#c0392b}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.chosen td{background:#e8f6ef;font-weight:600}
.graph{overflow-x:auto;border:1px solid #eee;padding:8px}
g.node{cursor:pointer}g.node.selected rect{stroke:#1d3557;stroke-width:5}
.bar{background:#eee;width:160px;height:10px;display:inline-block;vertical-align:middle}
.bar span{display:block;height:10px;background:#2a9d8f}.bar span.over{background:#c0392b}
.legend span{display:inline-block;padding:1px 8px;margin:2px;border:1px solid #aaa;
border-radius:3px;font-size:12px}
.node-card{scroll-margin-top:12px}.node-card.selected h3{background:#fff3bf}
.muted{color:#666;font-size:12px}
"""

JS = """
(function () {
  var nodes = document.querySelectorAll('g.node');
  function select(id) {
    document.querySelectorAll('.selected').forEach(function (el) {
      el.classList.remove('selected');
    });
    var card = document.getElementById('card-' + id);
    var g = document.querySelector('g.node[data-node="' + CSS.escape(id) + '"]');
    if (g) { g.classList.add('selected'); }
    if (card) { card.classList.add('selected'); card.scrollIntoView({block: 'nearest'}); }
  }
  nodes.forEach(function (g) {
    g.addEventListener('click', function () { select(g.getAttribute('data-node')); });
    g.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter') { select(g.getAttribute('data-node')); }
    });
  });
  var cards = document.querySelectorAll('.node-card');
  document.body.setAttribute('data-nodes-drawn', String(nodes.length));
  document.body.setAttribute('data-ready', nodes.length === cards.length ? 'yes' : 'mismatch');
})();
"""


def _budget_rows(data: ReportInput) -> str:
    plan = data.plan
    t = plan.totals
    values = {name: t.for_budget(name) if t else None for name in BUDGET_METRICS}
    measured_key = {"min_accuracy": "accuracy"}
    checks = {b.name: b for b in plan.budgets}
    rows = []
    for name, value in values.items():
        check = checks.get(name)
        if check is None and name == "cost_usd" and not value:
            continue
        measured = data.measured_totals.get(measured_key.get(name, name))
        bar = ""
        if check is not None and value is not None and check.limit > 0:
            if name == "min_accuracy":
                used = check.limit / value if value > 0 else math.inf
            else:
                used = value / check.limit
            width = max(0.0, min(100.0, 100.0 * used))
            over = ' class="over"' if check.slack is not None and check.slack < 0 else ""
            bar = (
                f'<span class="bar" title="{100 * used:.1f}% of the budget used">'
                f'<span{over} style="width:{width:.1f}%"></span></span> {100 * used:.0f}%'
            )
        binds = "" if check is None or check.binding is None else ("yes" if check.binding else "no")
        label = "accuracy (min)" if name == "min_accuracy" else name
        rows.append(
            f'<tr data-budget="{_e(name)}"><td>{_e(label)}</td><td class="num">{_fmt(value)}'
            f'</td><td class="num">{_fmt(measured)}</td>'
            f'<td class="num">{_fmt(check.limit) if check else "-"}</td>'
            f'<td class="num">{_fmt(check.slack) if check else "-"}</td><td>{binds}</td>'
            f"<td>{bar}</td></tr>"
        )
    return (
        "<table id='budgets'><tr><th>metric</th><th>plan (predicted)</th>"
        "<th>measured</th><th>budget</th><th>slack</th><th>binds</th><th>use</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _candidate_tables(data: ReportInput) -> str:
    plan = data.plan
    out = []
    crit = set(plan.critical_path)
    for node in plan.nodes:
        rows = []
        for c in node.candidates:
            cls = ' class="chosen"' if c.chosen else ""
            rows.append(
                f"<tr{cls}><td>{'★' if c.chosen else ''}</td><td>{_e(c.model)}</td>"
                f'<td class="num">{_fmt(c.accuracy)}</td><td class="num">{_fmt(c.latency_ms)}'
                f'</td><td class="num">{_fmt(c.energy_j)}</td><td class="num">'
                f'{_fmt(c.memory_mb)}</td><td class="num">{_fmt(c.cost_usd)}</td>'
                f"<td>{_e(c.reason)}</td></tr>"
            )
        measured = data.measured_nodes.get(node.id)
        if measured:
            rows.append(
                f"<tr class='measured'><td></td><td>measured ({_e(node.model)})</td>"
                f'<td class="num">{_fmt(measured.get("accuracy"))}</td>'
                f'<td class="num">{_fmt(measured.get("latency_ms"))}</td>'
                f'<td class="num">{_fmt(measured.get("energy_j"))}</td>'
                f'<td class="num">{_fmt(measured.get("memory_mb"))}</td>'
                f'<td class="num">{_fmt(measured.get("cost_usd"))}</td><td></td></tr>'
            )
        timing = ""
        if node.start_ms is not None and node.finish_ms is not None:
            timing = f" · starts {_fmt(node.start_ms)} ms, finishes {_fmt(node.finish_ms)} ms"
        tag = " · critical path" if node.id in crit else ""
        out.append(
            f'<div class="node-card" id="card-{_e(node.id)}" data-node="{_e(node.id)}">'
            f"<h3>{_e(node.id)}: {_e(node.task)} → {_e(node.model or 'no model')}</h3>"
            f'<div class="muted">{len(node.candidates)} candidate(s){timing}{tag}</div>'
            "<table><tr><th></th><th>model</th><th>accuracy</th><th>latency ms</th>"
            "<th>energy J</th><th>memory MB</th><th>cost USD</th><th>why</th></tr>"
            + "".join(rows)
            + "</table></div>"
        )
    return "".join(out)


def build_report(
    data: ReportInput, front: ParetoFront | None = None, pareto_note: str | None = None
) -> str:
    """The whole page as one string (CSS, SVG, PNG and JS inline; no external resource)."""
    plan = data.plan
    title = plan.problem.name or "plan"
    status_cls = plan.status if plan.status in ("optimal", "feasible") else "bad"
    t = plan.totals
    summary = ""
    if t is not None:
        summary = (
            f"{_fmt(t.energy_j)} J · {_fmt(t.latency_ms)} ms ({plan.execution}) · "
            f"accuracy {_fmt(t.accuracy)} · {_fmt(t.memory_mb)} MB"
        )
    colours = model_colours(plan)
    legend = "".join(f'<span style="background:{c}">{_e(m)}</span>' for m, c in colours.items())
    sections = [
        f"<h1>{_e(title)}</h1>",
        f'<p><span class="status {status_cls}">{_e(plan.status)}</span> {_e(plan.message)}</p>',
        f"<p>{_e(summary)}</p>" if summary else "",
        f"<p class='muted'>{_e(plan.problem.description or '')}</p>"
        if plan.problem.description
        else "",
        "<h2>Plan graph</h2>",
        f'<p class="legend">models: {legend or "none"} · <span style="border-color:#c0392b;'
        'border-width:3px">red border: critical path</span></p>',
        f'<div class="graph">{graph_svg(data)}</div>',
        "<p class='muted'>Labels: predicted (pred) latency, energy and accuracy per "
        "inference"
        + ("; measured (meas) from the run report" if data.kind == "report" else "")
        + ". Click a node to jump to its candidates.</p>",
        "<h2>Budgets against totals</h2>",
        _budget_rows(data),
    ]
    if plan.explanation is not None:
        items = "".join(f"<li>{_e(s)}</li>" for s in plan.explanation.sentences.values())
        sections += [
            "<h2>Why there is no plan</h2>",
            f"<p>{_e(plan.explanation.summary)}</p><ul id='explanation'>{items}</ul>",
        ]
    if plan.alternatives:
        rows = "".join(
            f"<tr><td>{a.rank}</td><td class='num'>{_fmt(a.objective, 6)}</td>"
            f"<td class='num'>+{_fmt(a.extra_objective_pct, 3)}%</td>"
            f"<td class='num'>{_fmt(a.totals.energy_j)}</td>"
            f"<td class='num'>{_fmt(a.totals.latency_ms)}</td>"
            f"<td class='num'>{_fmt(a.totals.accuracy)}</td>"
            f"<td>{_e(', '.join(f'{c.node}: {c.before} → {c.after}' for c in a.changes))}"
            "</td></tr>"
            for a in plan.alternatives
        )
        sections += [
            "<h2>Alternatives</h2>",
            "<table><tr><th>rank</th><th>objective</th><th>worse by</th>"
            "<th>energy J</th><th>latency ms</th><th>accuracy</th><th>changes</th>"
            f"</tr>{rows}</table>",
        ]
    sections.append("<h2>Pareto front</h2>")
    if front is not None:
        chosen = (
            {
                "energy_j": t.energy_j,
                "latency_ms": t.latency_ms,
                "accuracy": t.accuracy,
                "memory_mb": t.memory_mb,
                "cost_usd": t.cost_usd,
            }
            if t is not None
            else None
        )
        png = base64.b64encode(pareto_png(front, chosen)).decode("ascii")
        sections.append(
            f'<img id="pareto" alt="Pareto front of {_e(front.y)} against {_e(front.x)}" '
            f'src="data:image/png;base64,{png}">'
            f"<p class='muted'>{len(front.points)} non-dominated plans "
            f"({'complete front' if front.complete else 'sampled'}), "
            f"{front.solves} MILPs; the star is this plan.</p>"
        )
    else:
        sections.append(f"<p class='muted'>{_e(pareto_note or 'not computed')}</p>")
    sections.append("<h2>Candidates per node</h2>")
    sections.append(_candidate_tables(data))
    s = plan.solver
    sections.append(
        f"<p class='muted'>solver {_e(s.backend)}, presolve removed {s.presolve_removed} "
        f"candidate(s), objective {_fmt(plan.objective, 6)}; weights "
        f"{_e(json.dumps(plan.weights))}. Generated by `planner report`.</p>"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}: plan report</title><style>{CSS}</style></head><body>"
        + "".join(sections)
        + f"<script>{JS}</script></body></html>\n"
    )
