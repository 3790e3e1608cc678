"""`TaskGraph`: validated, immutable DAG of typed sub-tasks with a deterministic order.

A node is ``{"id", "task", "args"}``. ``args`` are data: a string argument of the exact
form ``"<node-id>"`` (or containing it) references the output of that node and implies a
dependency edge ``node-id -> this node``. Explicit ``edges`` are ``[source, target]`` pairs.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from typing import Any

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_REF = re.compile(r"<([^<>\s]+)>")
_ID = re.compile(r"[A-Za-z0-9_.:\-]+")  # used with fullmatch: "$" would accept a final "\n"
#: Longest node id: a node's output file is ``<id>.json`` (plus a temporary-file prefix while
#: it is written), which must fit the 255-byte file-name limit of common file systems.
MAX_ID_CHARS = 128
#: Most nodes in one graph (so the solver's sums stay in range; see profiles' MAX_METRIC).
MAX_NODES = 10_000
MAX_TASK_CHARS = 200


def _iter_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _iter_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _iter_strings(item)


def node_references(args: Any) -> list[str]:
    """Node ids referenced as ``<node-id>`` anywhere inside ``args`` (sorted, unique)."""
    refs: set[str] = set()
    for text in _iter_strings(args):
        refs.update(_REF.findall(text))
    return sorted(refs)


class TaskNode(BaseModel):
    """One sub-task: a unique ``id``, a task type name, and its arguments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Unique node id (letters, digits, '_', '-', '.', ':').")
    task: str = Field(description="Task type, e.g. 'Image Classification'.")
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="Arguments; '<node-id>' inside a string refers to that node's output.",
    )

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if len(value) > MAX_ID_CHARS:
            raise ValueError(
                f"node id {value[:40]!r}... has {len(value)} characters; at most "
                f"{MAX_ID_CHARS} are allowed"
            )
        if not _ID.fullmatch(value):
            raise ValueError(
                f"node id {value!r} must be non-empty and use only letters, digits, '_', '-', "
                "'.' or ':'"
            )
        return value

    @field_validator("task")
    @classmethod
    def _check_task(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("task type must be a non-empty string")
        if len(value) > MAX_TASK_CHARS:
            raise ValueError(
                f"task type {value[:40]!r}... has {len(value)} characters; at most "
                f"{MAX_TASK_CHARS} are allowed"
            )
        return value


class TaskGraph(BaseModel):
    """A directed acyclic graph of `TaskNode`s.

    Validation: unique ids, edges between known nodes, no self-loops, no duplicate edges,
    references ``<id>`` to known nodes, and no cycle (the error names one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    nodes: tuple[TaskNode, ...] = Field(
        min_length=1, max_length=MAX_NODES, description="The sub-tasks."
    )
    edges: tuple[tuple[str, str], ...] = Field(
        default=(), description="Dependencies as [source, target] pairs."
    )

    @model_validator(mode="after")
    def _validate(self) -> TaskGraph:
        ids: set[str] = set()
        for node in self.nodes:
            if node.id in ids:
                raise ValueError(f"duplicate node id {node.id!r}: node ids must be unique")
            ids.add(node.id)
        seen: set[tuple[str, str]] = set()
        for src, dst in self.edges:
            for end in (src, dst):
                if end not in ids:
                    raise ValueError(
                        f"edge [{src!r}, {dst!r}] refers to unknown node {end!r}; "
                        f"known nodes: {', '.join(sorted(ids))}"
                    )
            if src == dst:
                raise ValueError(f"self-loop on node {src!r}: a node cannot depend on itself")
            if (src, dst) in seen:
                raise ValueError(f"duplicate edge [{src!r}, {dst!r}]")
            seen.add((src, dst))
        for node in self.nodes:
            for ref in node_references(node.args):
                if ref not in ids:
                    raise ValueError(
                        f"node {node.id!r} refers to '<{ref}>', which is not a node of the graph"
                    )
                if ref == node.id:
                    raise ValueError(f"node {node.id!r} refers to its own output '<{ref}>'")
        if len(self.topological_order()) == len(self.nodes):  # every node ordered: acyclic
            return self
        graph = self._build_nx()
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:  # pragma: no cover - the order above found a cycle
            return self
        path = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
        raise ValueError(f"the graph has a cycle: {path}; remove one of these edges")

    def _build_nx(self) -> nx.DiGraph:
        graph: nx.DiGraph = nx.DiGraph()
        for node in self.nodes:
            graph.add_node(node.id, task=node.task)
        graph.add_edges_from(self.dependency_edges())
        return graph

    def dependency_edges(self) -> list[tuple[str, str]]:
        """Explicit edges plus those implied by ``<id>`` references, sorted, unique."""
        edges = set(self.edges)
        for node in self.nodes:
            for ref in node_references(node.args):
                edges.add((ref, node.id))
        return sorted(edges)

    def to_networkx(self) -> nx.DiGraph:
        """A fresh `networkx.DiGraph` (node attribute ``task``); mutating it is harmless."""
        return self._build_nx()

    def node(self, node_id: str) -> TaskNode:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def topological_order(self, edges: list[tuple[str, str]] | None = None) -> list[str]:
        """Deterministic topological order: the smallest ready node id first (the order of
        `networkx.lexicographical_topological_sort`, computed without building a graph).
        ``edges``: `dependency_edges` when the caller has them already."""
        succs: dict[str, list[str]] = {node.id: [] for node in self.nodes}
        waiting = dict.fromkeys(succs, 0)
        for src, dst in self.dependency_edges() if edges is None else edges:
            succs[src].append(dst)
            waiting[dst] += 1
        ready = [node_id for node_id, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            node_id = heapq.heappop(ready)
            order.append(node_id)
            for dst in succs[node_id]:
                waiting[dst] -= 1
                if waiting[dst] == 0:
                    heapq.heappush(ready, dst)
        return order

    def predecessors(self) -> dict[str, list[str]]:
        graph = self._build_nx()
        return {n: sorted(graph.predecessors(n)) for n in graph.nodes}

    def task_types(self) -> list[str]:
        return sorted({node.task for node in self.nodes})
