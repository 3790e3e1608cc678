"""Import and export of HuggingGPT plans and TaskBench records to and from `TaskGraph`.

Node ids. Both formats number their nodes; we name node ``k`` ``"node-k"``, so TaskBench's
``"<node-k>"`` is already a valid `TaskGraph` reference and HuggingGPT's ``"<GENERATED>-k"``
becomes ``"<node-k>"``. Exports renumber the nodes 0..n-1 in the graph's deterministic
topological order.

Arguments. `TaskGraph` args are a dict. HuggingGPT args already are (``{"image": ...}``).
TaskBench huggingface/multimedia arguments are a positional list; on import each gets a key:
a ``<node-k>`` reference is keyed by the data type node k's task produces for this task
(``image``, ``text``...; see `TaskRegistry.feed_type`), a literal by its content type
(``image``/``audio``/``video`` by file extension as TaskBench's evaluate.py does, ``url`` for
http(s) links, else ``text``); repeated keys get ``2``, ``3``... (``text``, ``text2``) and
anything else is ``arg<i>`` (its position). Keys keep the list order, so export writes the
values back in the same order. TaskBench dailylifeapis arguments ``[{"name", "value"}]`` use
``name`` as the key and export back to that form when the task type has named parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tasks.errors import GraphError
from tasks.graph import TaskGraph, TaskNode, node_references
from tasks.registry import TaskRegistry

_GENERATED = re.compile(r"<GENERATED>-(\d+)")
_NODE_K = re.compile(r"<node-(\d+)>")

IMAGE_EXT = ("jpg", "png", "jpeg", "gif", "bmp", "tiff", "svg", "ico", "webp")
AUDIO_EXT = ("mp3", "wav", "wma", "ogg", "aac", "flac", "aiff", "au", "m4a")
VIDEO_EXT = ("mp4", "avi", "mov", "flv", "wmv", "mkv", "webm", "m4v", "mpg", "mpeg")


def content_type(value: str) -> str:
    """``image``/``audio``/``video`` by file extension, ``url`` for http(s) links, else
    ``text`` (TaskBench evaluate.py's ``get_content_type`` plus ``url``)."""
    text = value.strip().strip("'").lower()
    if re.match(r"^https?://", text):
        return "url"
    for kind, exts in (("image", IMAGE_EXT), ("audio", AUDIO_EXT), ("video", VIDEO_EXT)):
        if any(re.search(rf"\.{ext}\b", text) for ext in exts):
            return kind
    return "text"


def _unique_key(key: str, used: set[str]) -> str:
    out, k = key, 2
    while out in used:
        out, k = f"{key}{k}", k + 1
    used.add(out)
    return out


def _snake(name: str) -> str:
    return re.sub(r"[\s\-_]+", "", name).lower()


def _match_task(name: str, registry: TaskRegistry | None) -> str:
    if registry is None:
        return name
    if name in registry:
        return name
    wanted = _snake(name)
    for known in registry.names:
        if _snake(known) == wanted:
            return known
    return name


# --------------------------------------------------------------------------- TaskBench
def taskbench_to_graph(
    record: Mapping[str, Any], registry: TaskRegistry | None = None
) -> TaskGraph:
    """A TaskBench record (``task_nodes``, ``task_links``) as a `TaskGraph`.

    Raises `GraphError` naming the problem for malformed records (``task_nodes`` not a list,
    a reference to a missing node, a cycle...). Links whose task names are ambiguous (the
    same task twice) are carried by the ``<node-k>`` references only.
    """
    raw_nodes = record.get("task_nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise GraphError(
            "TaskBench record needs 'task_nodes' as a non-empty list of "
            "{'task', 'arguments'} objects"
        )
    nodes: list[TaskNode] = []
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("task"), str):
            raise GraphError(f"task_nodes[{i}] must be an object with a string 'task'")
        task = raw["task"]
        arguments = raw.get("arguments", [])
        if isinstance(arguments, str):
            arguments = [arguments]
        if not isinstance(arguments, list):
            raise GraphError(
                f"task_nodes[{i}].arguments must be a list, got {type(arguments).__name__}"
            )
        args: dict[str, Any] = {}
        used: set[str] = set()
        for j, arg in enumerate(arguments):
            if isinstance(arg, Mapping) and "name" in arg and "value" in arg:
                args[_unique_key(str(arg["name"]), used)] = arg["value"]
                continue
            if not isinstance(arg, str | int | float | bool):
                raise GraphError(
                    f"task_nodes[{i}].arguments[{j}] must be a literal, a "
                    f"'<node-k>' reference or a {{'name', 'value'}} object"
                )
            key = f"arg{j}"
            if isinstance(arg, str):
                m = _NODE_K.fullmatch(arg.strip())
                if m is not None:
                    k = int(m.group(1))
                    if k >= len(raw_nodes) or k == i:
                        raise GraphError(
                            f"task_nodes[{i}] refers to '{arg}', which is "
                            f"{'itself' if k == i else 'not a node'}"
                        )
                    src = raw_nodes[k]
                    kind = None
                    if registry is not None and isinstance(src, Mapping):
                        src_task = _match_task(str(src.get("task")), registry)
                        tgt = _match_task(task, registry)
                        if src_task in registry and tgt in registry:
                            kind = (
                                registry.feed_type(src_task, tgt)
                                or (registry.get(src_task).outputs[:1] or (None,))[0]
                            )
                    key = kind or key
                else:
                    key = content_type(arg)
            args[_unique_key(key, used)] = arg
        nodes.append(TaskNode(id=f"node-{i}", task=task, args=args))
    by_task: dict[str, list[str]] = {}
    for node in nodes:
        by_task.setdefault(node.task, []).append(node.id)
    edges: list[tuple[str, str]] = []
    for j, link in enumerate(record.get("task_links") or []):
        if not isinstance(link, Mapping) or "source" not in link or "target" not in link:
            raise GraphError(f"task_links[{j}] must be an object with 'source' and 'target'")
        src_ids, dst_ids = by_task.get(str(link["source"])), by_task.get(str(link["target"]))
        if not src_ids or not dst_ids:
            raise GraphError(
                f"task_links[{j}] joins {link['source']!r} -> {link['target']!r},"
                " but the record has no node with that task"
            )
        if len(src_ids) == 1 and len(dst_ids) == 1 and src_ids != dst_ids:
            edges.append((src_ids[0], dst_ids[0]))
    try:
        return TaskGraph(nodes=tuple(nodes), edges=tuple(dict.fromkeys(edges)))
    except ValueError as exc:
        raise GraphError(f"TaskBench record does not form a valid task graph: {exc}") from exc


def _renumber(graph: TaskGraph) -> dict[str, int]:
    return {node_id: k for k, node_id in enumerate(graph.topological_order())}


def _replace_refs(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list | tuple):
        return [_replace_refs(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _replace_refs(v, fn) for k, v in value.items()}
    return value


def graph_to_taskbench(
    graph: TaskGraph, registry: TaskRegistry | None = None, record_id: str | None = None
) -> dict[str, Any]:
    """A TaskBench record ``{"id"?, "task_nodes", "task_links"}`` for ``graph``."""
    index = _renumber(graph)

    def ref(text: str) -> str:
        return re.sub(
            r"<([^<>\s]+)>",
            lambda m: f"<node-{index[m.group(1)]}>" if m.group(1) in index else m.group(0),
            text,
        )

    task_nodes = []
    for node_id in graph.topological_order():
        node = graph.node(node_id)
        args = _replace_refs(node.args, ref)
        named = (
            registry is not None
            and node.task in registry
            and registry.get(node.task).parameters
            and set(args) <= {p.name for p in registry.get(node.task).parameters}
        )
        if named:
            arguments: list[Any] = [{"name": k, "value": v} for k, v in args.items()]
        else:
            arguments = list(args.values())
        task_nodes.append({"task": node.task, "arguments": arguments})
    task_links = [
        {"source": graph.node(s).task, "target": graph.node(t).task}
        for s, t in sorted(graph.dependency_edges(), key=lambda e: (index[e[0]], index[e[1]]))
    ]
    out: dict[str, Any] = {}
    if record_id is not None:
        out["id"] = record_id
    out["task_nodes"] = task_nodes
    out["task_links"] = task_links
    return out


# --------------------------------------------------------------------------- HuggingGPT
def hugginggpt_task_name(task: str) -> str:
    """``'Image Classification'`` -> ``'image-classification'`` (HuggingGPT's spelling)."""
    return re.sub(r"[\s_]+", "-", task.strip()).lower()


def hugginggpt_to_graph(
    plan: Sequence[Mapping[str, Any]], registry: TaskRegistry | None = None
) -> TaskGraph:
    """A HuggingGPT plan ``[{"task", "id", "dep", "args"}]`` as a `TaskGraph`.

    ``"<GENERATED>-k"`` becomes ``"<node-k>"``; ``dep`` ids other than ``-1`` become edges;
    task names are matched to ``registry`` ignoring case, spaces, hyphens and underscores.
    """
    if isinstance(plan, Mapping) or not isinstance(plan, Sequence) or not plan:
        raise GraphError(
            "a HuggingGPT plan is a non-empty JSON list of {'task', 'id', 'dep', 'args'} objects"
        )
    nodes: list[TaskNode] = []
    edges: list[tuple[str, str]] = []
    for i, step in enumerate(plan):
        if not isinstance(step, Mapping) or "task" not in step or "id" not in step:
            raise GraphError(f"plan[{i}] must be an object with 'task' and 'id'")
        try:
            sid = int(step["id"])
        except (TypeError, ValueError) as exc:
            raise GraphError(f"plan[{i}].id must be an integer, got {step['id']!r}") from exc
        args = step.get("args", {}) or {}
        if not isinstance(args, Mapping):
            raise GraphError(f"plan[{i}].args must be an object like {{'image': 'a.jpg'}}")
        args = _replace_refs(
            dict(args), lambda s: _GENERATED.sub(lambda m: f"<node-{m.group(1)}>", s)
        )
        deps = step.get("dep", [])
        if not isinstance(deps, list):
            raise GraphError(f"plan[{i}].dep must be a list of task ids (-1 for none)")
        for dep in deps:
            try:
                d = int(dep)
            except (TypeError, ValueError) as exc:
                raise GraphError(f"plan[{i}].dep has {dep!r}, not a task id") from exc
            if d >= 0:
                edges.append((f"node-{d}", f"node-{sid}"))
        nodes.append(
            TaskNode(id=f"node-{sid}", task=_match_task(str(step["task"]), registry), args=args)
        )
    try:
        return TaskGraph(nodes=tuple(nodes), edges=tuple(dict.fromkeys(edges)))
    except ValueError as exc:
        raise GraphError(f"HuggingGPT plan does not form a valid task graph: {exc}") from exc


def graph_to_hugginggpt(graph: TaskGraph) -> list[dict[str, Any]]:
    """HuggingGPT plan for ``graph``: ids 0..n-1 in topological order, ``<GENERATED>-k``."""
    index = _renumber(graph)
    preds = graph.predecessors()

    def ref(text: str) -> str:
        return re.sub(
            r"<([^<>\s]+)>",
            lambda m: f"<GENERATED>-{index[m.group(1)]}" if m.group(1) in index else m.group(0),
            text,
        )

    plan = []
    for node_id in graph.topological_order():
        node = graph.node(node_id)
        deps = sorted(index[p] for p in preds[node_id]) or [-1]
        plan.append(
            {
                "task": hugginggpt_task_name(node.task),
                "id": index[node_id],
                "dep": deps,
                "args": _replace_refs(node.args, ref),
            }
        )
    return plan


def graph_to_data(graph: TaskGraph) -> dict[str, Any]:
    """The problem file's ``graph`` shape: ``{"nodes": [{"id","task","args"}], "edges"}``
    with every dependency (explicit or implied by references) listed as an edge."""
    return {
        "nodes": [{"id": n.id, "task": n.task, "args": n.args} for n in graph.nodes],
        "edges": [list(e) for e in graph.dependency_edges()],
    }


# --------------------------------------------------------------------------- any of them
def graph_format(data: Any) -> str | None:
    """Which graph format parsed file data is in: ``"graph"`` (``{"nodes", "edges"}``, what
    ``planner decompose --format graph`` writes), ``"taskbench"`` (a record with
    ``task_nodes``), ``"hugginggpt"`` (a list of ``{"task", "id", "dep", "args"}`` steps), or
    None when it is none of them (a problem or plan file, say)."""
    if isinstance(data, Mapping):
        if "task_nodes" in data:
            return "taskbench"
        if "nodes" in data and not {"graph", "models", "format"} & set(data):
            return "graph"
        return None
    if (
        isinstance(data, Sequence)
        and not isinstance(data, str)
        and data
        and all(isinstance(s, Mapping) and "task" in s and "id" in s for s in data)
    ):
        return "hugginggpt"
    return None


def graph_from_data(data: Any, registry: TaskRegistry | None = None) -> TaskGraph:
    """A `TaskGraph` from file data in any format `graph_format` knows; raises `GraphError`
    naming what is wrong."""
    kind = graph_format(data)
    if kind == "taskbench":
        return taskbench_to_graph(data, registry)
    if kind == "hugginggpt":
        return hugginggpt_to_graph(data, registry)
    if kind == "graph":
        try:
            return TaskGraph.model_validate(data)
        except ValueError as exc:
            raise GraphError(f"the task graph is invalid: {exc}") from exc
    raise GraphError(
        "not a task graph: expected {'nodes', 'edges'}, a TaskBench record with "
        "'task_nodes', or a HuggingGPT list of {'task', 'id', 'dep', 'args'}"
    )


__all__ = [
    "content_type",
    "graph_format",
    "graph_from_data",
    "graph_to_data",
    "graph_to_hugginggpt",
    "graph_to_taskbench",
    "hugginggpt_task_name",
    "hugginggpt_to_graph",
    "node_references",
    "taskbench_to_graph",
]
