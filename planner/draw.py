"""Plan graphs for people: terminal view, matplotlib drawing (PNG/SVG) and Graphviz DOT."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import networkx as nx
from rich.console import Console
from rich.table import Table

from planner import fmt
from planner.io import shown, write_atomic
from planner.plan import NodePlan, Plan
from planner.tables import Namer, print_fitted

#: Longest line of a node label in the drawing; longer ids wrap (never cut).
LABEL_WIDTH = 28


def _wrap(text: str, width: int = LABEL_WIDTH) -> list[str]:
    """Wrap at '/', '-', '_' or spaces where possible, else hard; every character kept."""
    lines: list[str] = []
    rest = text
    while len(rest) > width:
        cut = max(rest.rfind(ch, 1, width) for ch in "/-_ ")
        cut = cut + 1 if cut > 0 else width
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    lines.append(rest)
    return lines


def _label(node: NodePlan) -> str:
    head = [*_wrap(node.id), *_wrap(node.task)]
    if node.predicted is None:
        return "\n".join([*head, "(no model)"])
    p = node.predicted
    metrics = f"{fmt.duration_ms(p.latency_ms)}, {fmt.energy_j(p.energy_j)}"
    return "\n".join([*head, *_wrap(node.model or "-"), metrics])


def _layers(plan: Plan) -> nx.DiGraph:
    graph = plan.problem.graph.to_networkx()
    for depth, layer in enumerate(nx.topological_generations(graph)):
        for node in layer:
            graph.nodes[node]["layer"] = depth
    return graph


def render_graph(plan: Plan, console: Console) -> None:
    """Terminal view: one row per node in topological order, with its inputs."""
    graph = _layers(plan)
    crit = set(plan.critical_path)
    console.print(
        f"[bold]{plan.status}[/] plan, {len(plan.nodes)} nodes, execution "
        f"{plan.execution}; critical path: {shown(' -> '.join(plan.critical_path) or '-')}"
    )

    def build(name: Namer) -> Table:
        table = Table(show_edge=False, pad_edge=False)
        for col in ("step", "node", "task", "model", "after", "start", "finish", "energy"):
            right = col in ("step", "start", "finish", "energy")
            wraps = col in ("task", "after")  # words fold, never cut; ids stay whole
            table.add_column(
                col,
                no_wrap=not wraps,
                overflow="fold" if wraps else "ellipsis",
                justify="right" if right else "left",
            )
        for node in plan.nodes:
            preds = ", ".join(name(p) for p in sorted(graph.predecessors(node.id))) or "-"
            table.add_row(
                str(graph.nodes[node.id]["layer"]),
                shown(name(node.id)),
                shown(node.task),
                shown(name(node.model)) if node.model else "-",
                shown(preds),
                fmt.duration_ms(node.start_ms) if node.start_ms is not None else "-",
                fmt.duration_ms(node.finish_ms) if node.finish_ms is not None else "-",
                fmt.energy_j(node.predicted.energy_j) if node.predicted else "-",
                style="bold red" if node.id in crit else "",
            )
        return table

    models = [n.model for n in plan.nodes if n.model]
    nodes = [n.id for n in plan.nodes]
    print_fitted(console, build, {"m": models, "n": nodes}, keep=[n.task for n in plan.nodes])
    if plan.totals is not None:
        t = plan.totals
        console.print(
            f"totals: {fmt.energy_j(t.energy_j)}, {fmt.duration_ms(t.latency_ms)}, accuracy "
            f"{fmt.accuracy(t.accuracy)}, {fmt.memory_mb(t.memory_mb)}"
        )


def _pale(rgba: tuple[float, ...], amount: float = 0.55) -> tuple[float, float, float]:
    """Mix a colour with white so black label text stays readable on it."""
    r, g, b = rgba[:3]
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def draw_plan(plan: Plan, path: Path, fmt_name: str) -> Path:
    """Draw the plan graph (layered left to right; critical path in red) to PNG or SVG.

    Every node is a text box sized to its label (long ids wrap, nothing is cut), arrows end
    at the boxes' edges, and the saved figure is cropped to everything drawn, so no label is
    clipped at the border."""
    import matplotlib.pyplot as plt

    fig = plan_figure(plan)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt_name, dpi=120, bbox_inches="tight", pad_inches=0.2)
    plt.close(fig)
    return path


def plan_figure(plan: Plan) -> Any:
    """The matplotlib figure `draw_plan` saves (the caller closes it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = _layers(plan)
    layers = list(nx.topological_generations(graph))
    models = sorted({n.model for n in plan.nodes if n.model})
    cmap = plt.get_cmap("tab20")
    colour = {m: _pale(cmap(i % 20)) for i, m in enumerate(models)}
    crit = set(plan.critical_path)
    crit_edges = set(itertools.pairwise(plan.critical_path))
    nodes = {n.id: n for n in plan.nodes}
    labels = {v: _label(nodes[v]) for v in graph.nodes}
    tallest = max((label.count("\n") + 1 for label in labels.values()), default=1)
    # one column per layer, rows spread evenly; spacing in inches from the label sizes
    col_w, row_h = 0.085 * LABEL_WIDTH + 1.0, 0.17 * tallest + 0.6
    pos: dict[str, tuple[float, float]] = {}
    for depth, layer in enumerate(layers):
        for row, v in enumerate(sorted(layer)):
            pos[v] = (depth * col_w, -(row - (len(layer) - 1) / 2) * row_h)
    fig, ax = plt.subplots(
        figsize=(max(4.0, col_w * len(layers)), max(2.5, row_h * max(map(len, layers))))
    )
    boxes = {}
    for v in graph.nodes:
        on_path = v in crit
        boxes[v] = ax.text(
            *pos[v],
            labels[v],
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.45",
                "facecolor": colour.get(nodes[v].model or "", "#eeeeee"),
                "edgecolor": "#c0392b" if on_path else "#333333",
                "linewidth": 2.6 if on_path else 1.0,
            },
        )
    for u, v in graph.edges:
        on_path = (u, v) in crit_edges
        # from the right edge of u's box to the left edge of v's (layers run left to right)
        ax.annotate(
            "",
            xy=(0.0, 0.5),
            xycoords=boxes[v],
            xytext=(1.0, 0.5),
            textcoords=boxes[u],
            zorder=2,
            arrowprops={
                "arrowstyle": "-|>",
                "mutation_scale": 16,
                "color": "#c0392b" if on_path else "#888888",
                "linewidth": 2.4 if on_path else 1.2,
                "shrinkA": 6,
                "shrinkB": 6,
            },
        )
    xs = [x for x, _ in pos.values()] or [0.0]
    ys = [y for _, y in pos.values()] or [0.0]
    ax.set_xlim(min(xs) - col_w / 2, max(xs) + col_w / 2)
    ax.set_ylim(min(ys) - row_h / 2, max(ys) + row_h / 2)
    t = plan.totals
    title = f"{plan.problem.name or 'plan'} ({plan.status})"
    if t is not None:
        title += (
            f": {fmt.energy_j(t.energy_j)}, {fmt.duration_ms(t.latency_ms)}, "
            f"accuracy {fmt.accuracy(t.accuracy)}"
        )
    ax.set_title(title + "  (red: critical path)", fontsize=9)
    ax.axis("off")
    return fig


def plan_to_dot(plan: Plan) -> str:
    """Graphviz DOT text of the plan (critical path in red)."""
    crit = plan.critical_path
    crit_edges = set(itertools.pairwise(crit))
    lines = ["digraph plan {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    for node in plan.nodes:
        colour = ', color="red", penwidth=2' if node.id in crit else ""
        lines.append(f"  {json.dumps(node.id)} [label={json.dumps(_label(node))}{colour}];")
    for u, v in plan.problem.graph.dependency_edges():
        colour = ' [color="red", penwidth=2]' if (u, v) in crit_edges else ""
        lines.append(f"  {json.dumps(u)} -> {json.dumps(v)}{colour};")
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = ["draw_plan", "plan_to_dot", "render_graph", "write_atomic"]
