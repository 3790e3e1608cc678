"""Strict validation of an untrusted decomposer reply (JSON text) into a `TaskGraph`.

The reply must be one JSON object ``{"nodes": [{"id", "task", "args"}], "edges": [[src, dst]]}``
(optionally inside a Markdown code fence). Everything is checked: JSON syntax, the shape
(unknown keys are errors), sizes, task types known to the registry, ``<node-id>`` references
and edges that resolve, and acyclicity. Argument values are data only: strings, numbers,
booleans, or lists of those; nothing in a reply is ever evaluated.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.graph import TaskGraph, TaskNode
from tasks.registry import TaskRegistry
from tasks.safeio import MAX_DEPTH, InputError, check_tree

MAX_REPLY_CHARS = 200_000
MAX_NODES = 64

Scalar = str | int | float | bool
ArgValue = Scalar | list[Scalar]


class ReplyError(ValueError):
    """The reply is not a valid task graph; the message says exactly why (it is fed back to
    the LLM in the repair round)."""


class ReplyNode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    id: str = Field(min_length=1, max_length=64)
    task: str = Field(min_length=1, max_length=200)
    args: dict[str, ArgValue] = Field(default_factory=dict)


class GraphReply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    nodes: list[ReplyNode] = Field(min_length=1, max_length=MAX_NODES)
    edges: list[list[str]] = Field(default_factory=list, max_length=MAX_NODES * MAX_NODES)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; numbers must be finite")


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)


def reply_json_schema(registry: TaskRegistry) -> dict[str, Any]:
    """JSON Schema for the reply (used as the server's ``response_format``)."""
    scalar: dict[str, Any] = {"type": ["string", "number", "boolean"]}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["nodes", "edges"],
        "properties": {
            "nodes": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_NODES,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "task", "args"],
                    "properties": {
                        "id": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]+$"},
                        "task": {"type": "string", "enum": registry.names},
                        "args": {
                            "type": "object",
                            "additionalProperties": {
                                "anyOf": [scalar, {"type": "array", "items": scalar}]
                            },
                        },
                    },
                },
            },
            "edges": {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        },
    }


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (and {exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(parts) + more


def parse_graph_reply(text: str, registry: TaskRegistry) -> TaskGraph:
    """Validate ``text`` as a task graph over ``registry``'s task types."""
    if not isinstance(text, str) or not text.strip():
        raise ReplyError("the reply is empty; expected one JSON object with 'nodes' and 'edges'")
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(
            f"the reply has {len(text)} characters, more than the limit {MAX_REPLY_CHARS}"
        )
    fenced = _FENCE.match(text)
    body = fenced.group("body") if fenced else text.strip()
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ReplyError(
            f"the reply is not valid JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno}); reply with one JSON object only, no prose"
        ) from exc
    except RecursionError:
        raise ReplyError(
            f"the reply is nested more than {MAX_DEPTH} levels deep; a task graph is flat"
        ) from None
    except ValueError as exc:  # NaN/Infinity, integers with too many digits
        raise ReplyError(f"the reply is not valid JSON: {exc}") from exc
    try:
        check_tree(data, "the reply")
    except InputError as exc:
        raise ReplyError(str(exc)) from exc
    if not isinstance(data, dict):
        raise ReplyError(
            f"the reply is a JSON {type(data).__name__}; expected an object "
            '{"nodes": [...], "edges": [...]}'
        )
    try:
        reply = GraphReply.model_validate(data)
    except ValidationError as exc:
        raise ReplyError(
            f"the reply does not have the required shape: {_pydantic_message(exc)}"
        ) from exc
    unknown = sorted({n.task for n in reply.nodes if n.task not in registry})
    if unknown:
        raise ReplyError(
            f"unknown task type(s) {', '.join(repr(u) for u in unknown)}; "
            f"use only: {', '.join(registry.names)}"
        )
    for k, edge in enumerate(reply.edges):
        if len(edge) != 2:
            raise ReplyError(f"edges[{k}] must be a [source, target] pair, got {edge!r}")
    try:
        return TaskGraph(
            nodes=tuple(TaskNode(id=n.id, task=n.task, args=dict(n.args)) for n in reply.nodes),
            edges=tuple((e[0], e[1]) for e in reply.edges),
        )
    except ValidationError as exc:
        raise ReplyError(f"the reply is not a valid task graph: {_pydantic_message(exc)}") from exc
