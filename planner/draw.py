"""Plan graphs for people: terminal view, matplotlib drawing (PNG/SVG) and Graphviz DOT."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import networkx as nx
from rich.console import Console
from rich.table import Table

from planner.io import shown, write_atomic
from planner.plan import NodePlan, Plan


def _label(node: NodePlan) -> str:
    if node.predicted is None:
        return f"{node.id}\n{node.task}\n(no model)"
    p = node.predicted
    return f"{node.id}\n{node.task}\n{node.model}\n{p.latency_ms:.3g} ms, {p.energy_j:.3g} J"


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
    table = Table(show_edge=False, pad_edge=False)
    for col in ("step", "node", "task", "model", "after", "start ms", "finish ms", "energy J"):
        table.add_column(col)
    for node in plan.nodes:
        preds = ", ".join(sorted(graph.predecessors(node.id))) or "-"
        style = "bold red" if node.id in crit else ""
        table.add_row(
            str(graph.nodes[node.id]["layer"]),
            shown(node.id),
            shown(node.task),
            shown(node.model or "-"),
            shown(preds),
            f"{node.start_ms:.4g}" if node.start_ms is not None else "-",
            f"{node.finish_ms:.4g}" if node.finish_ms is not None else "-",
            f"{node.predicted.energy_j:.4g}" if node.predicted else "-",
            style=style,
        )
    console.print(table)
    if plan.totals is not None:
        t = plan.totals
        console.print(
            f"totals: {t.energy_j:.4g} J, {t.latency_ms:.4g} ms, accuracy "
            f"{t.accuracy:.4g}, {t.memory_mb:.4g} MB"
        )


def draw_plan(plan: Plan, path: Path, fmt: str) -> Path:
    """Draw the plan graph (layered left to right; critical path in red) to PNG or SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graph = _layers(plan)
    pos = nx.multipartite_layout(graph, subset_key="layer")
    models = sorted({n.model for n in plan.nodes if n.model})
    cmap = plt.get_cmap("tab20")
    colour = {m: cmap(i % 20) for i, m in enumerate(models)}
    crit = plan.critical_path
    crit_edges = set(itertools.pairwise(crit))
    width = max(6.0, 3.2 * (max(nx.get_node_attributes(graph, "layer").values()) + 1))
    height = max(3.5, 1.6 * max(len(layer) for layer in nx.topological_generations(graph)))
    fig, ax = plt.subplots(figsize=(width, height))
    nodes = {n.id: n for n in plan.nodes}
    nx.draw_networkx_edges(
        graph,
        pos,
        ax=ax,
        arrows=True,
        arrowsize=18,
        node_size=4200,
        edge_color=["#c0392b" if e in crit_edges else "#888888" for e in graph.edges],
        width=[2.8 if e in crit_edges else 1.2 for e in graph.edges],
    )
    nx.draw_networkx_nodes(
        graph,
        pos,
        ax=ax,
        node_size=4200,
        node_shape="s",
        node_color=[colour.get(nodes[n].model or "", "#dddddd") for n in graph.nodes],
        edgecolors=["#c0392b" if n in crit else "#333333" for n in graph.nodes],
        linewidths=[3.0 if n in crit else 1.0 for n in graph.nodes],
    )
    nx.draw_networkx_labels(
        graph, pos, ax=ax, font_size=7, labels={n: _label(nodes[n]) for n in graph.nodes}
    )
    t = plan.totals
    title = f"{plan.problem.name or 'plan'} ({plan.status})"
    if t is not None:
        title += f": {t.energy_j:.3g} J, {t.latency_ms:.3g} ms, accuracy {t.accuracy:.3g}"
    ax.set_title(title + "  (red: critical path)", fontsize=9)
    ax.margins(0.2)
    ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, dpi=120)
    plt.close(fig)
    return path


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
