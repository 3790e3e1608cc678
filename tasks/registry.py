"""Task-type registry: names, descriptions, input/output data types, and which can feed which.

The default registry is TaskBench's HuggingFace tool graph (23 task types, shipped as
``tasks/data/huggingface_graph_desc.json``; see ``tasks/data/README.md`` for its source and
licence). Any TaskBench ``graph_desc.json`` (multimedia, dailylifeapis, ...) loads the same way,
and extra types can be registered (`TaskRegistry.with_types`).

Compatibility: when the tool graph lists links, ``can_feed(a, b)`` is true iff the graph has a
link ``a -> b`` (that is TaskBench's definition). Types added later (or graphs without links)
use data types: ``a`` feeds ``b`` when one of ``a``'s outputs is one of ``b``'s inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from tasks.safeio import InputError, parse_json, read_input_text

#: Data types of the TaskBench tool graphs; others are allowed when registering.
DATA_TYPES = ("text", "image", "audio", "video", "url")


class TaskParameter(BaseModel):
    """A named parameter of an API-style task type (TaskBench dailylifeapis)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: str = "string"
    description: str = ""


class TaskType(BaseModel):
    """One task type: what it does and which data types it consumes and produces."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Task type name, e.g. 'Image Classification'.")
    description: str = ""
    inputs: tuple[str, ...] = Field(default=(), description="Input data types, in order.")
    outputs: tuple[str, ...] = Field(default=(), description="Output data types.")
    parameters: tuple[TaskParameter, ...] = Field(
        default=(), description="Named parameters (API-style tools); empty for HF tasks."
    )
    source: str = Field(default="registered", description="Where this type was defined.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip() or value != value.strip():
            raise ValueError(f"task type name {value!r} must be non-empty, without outer spaces")
        return value

    def arg_keys(self) -> list[str]:
        """Argument keys for this type: parameter names, else its input types (deduplicated
        as ``text``, ``text2``...); ``arg0`` when it declares neither."""
        if self.parameters:
            return [p.name for p in self.parameters]
        keys: list[str] = []
        for kind in self.inputs:
            key, k = kind, 2
            while key in keys:
                key, k = f"{kind}{k}", k + 1
            keys.append(key)
        return keys or ["arg0"]


class RegistryError(ValueError):
    """A task-type file or registration is malformed."""


class TaskRegistry(BaseModel):
    """An immutable set of task types plus the tool graph's feed links."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "custom"
    types: tuple[TaskType, ...]
    links: tuple[tuple[str, str], ...] = Field(
        default=(), description="(source, target) pairs from the tool graph."
    )
    any_order: bool = Field(
        default=False,
        description="True for temporal graphs (TaskBench 'complete' links): any type may "
        "follow any other.",
    )
    _link_cache: frozenset[tuple[str, str]] = PrivateAttr(default_factory=frozenset)

    def model_post_init(self, __context: Any) -> None:
        seen: set[str] = set()
        for t in self.types:
            if t.name in seen:
                raise RegistryError(f"task type {t.name!r} is defined twice")
            seen.add(t.name)
        for src, dst in self.links:
            for end in (src, dst):
                if end not in seen:
                    raise RegistryError(
                        f"tool-graph link [{src!r}, {dst!r}] names unknown task type {end!r}"
                    )

    # lookups -----------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [t.name for t in self.types]

    def __contains__(self, name: object) -> bool:
        return any(t.name == name for t in self.types)

    def get(self, name: str) -> TaskType:
        for t in self.types:
            if t.name == name:
                return t
        close = suggest_task(name, self.names)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise KeyError(f"unknown task type {name!r}{hint}")

    def can_feed(self, source: str, target: str) -> bool:
        """Can the output of ``source`` be an input of ``target``?"""
        if source == target and not self.any_order:
            return False
        if self.any_order:
            return source in self and target in self
        if (source, target) in self._link_set():
            return True
        src, dst = self.get(source), self.get(target)
        if src.source == self.name and dst.source == self.name and self.links:
            return False  # both from the tool graph: its links are the definition
        return any(o in dst.inputs for o in src.outputs)

    def feed_type(self, source: str, target: str) -> str | None:
        """The data type passed along ``source -> target``, or None if it cannot feed."""
        if not self.can_feed(source, target):
            return None
        src, dst = self.get(source), self.get(target)
        for o in src.outputs:
            if o in dst.inputs:
                return o
        return src.outputs[0] if src.outputs else None

    def _link_set(self) -> frozenset[tuple[str, str]]:
        if len(self._link_cache) != len(set(self.links)):
            self._link_cache = frozenset(self.links)
        return self._link_cache

    def with_types(self, extra: Iterable[TaskType | Mapping[str, Any]]) -> TaskRegistry:
        """A new registry with more task types (new names only)."""
        added = [t if isinstance(t, TaskType) else TaskType.model_validate(t) for t in extra]
        for t in added:
            if t in self.types:
                continue
            if t.name in self:
                raise RegistryError(
                    f"task type {t.name!r} already exists in registry "
                    f"{self.name!r}; pick another name"
                )
        types = self.types + tuple(t for t in added if t not in self.types)
        return _make(name=self.name, types=types, links=self.links, any_order=self.any_order)

    def describe(self) -> str:
        """One line per type: ``name: inputs -> outputs. description`` (for LLM prompts)."""
        lines = []
        for t in self.types:
            if t.parameters:
                sig = ", ".join(f"{p.name}: {p.type}" for p in t.parameters)
                lines.append(f"- {t.name}({sig}): {t.description}")
            else:
                ins = ", ".join(t.inputs) or "nothing"
                outs = ", ".join(t.outputs) or "nothing"
                lines.append(f"- {t.name}: {ins} -> {outs}. {t.description}")
        return "\n".join(lines)


def registry_from_graph_desc(data: Mapping[str, Any], name: str = "custom") -> TaskRegistry:
    """Build a registry from a TaskBench ``graph_desc.json`` / ``tool_desc.json`` mapping."""
    nodes = data.get("nodes") if isinstance(data, Mapping) else None
    if not isinstance(nodes, list) or not nodes:
        raise RegistryError(
            "a tool graph needs a non-empty 'nodes' list (TaskBench graph_desc.json format)"
        )
    types: list[TaskType] = []
    try:
        for i, node in enumerate(nodes):
            if not isinstance(node, Mapping) or "id" not in node:
                raise RegistryError(f"nodes[{i}] must be an object with an 'id'")
            params = tuple(
                TaskParameter(
                    name=str(p["name"]),
                    type=str(p.get("type", "string")),
                    description=str(p.get("desc", "")),
                )
                for p in node.get("parameters", []) or []
            )
            types.append(
                TaskType(
                    name=str(node["id"]),
                    description=str(node.get("desc", "")),
                    inputs=tuple(node.get("input-type", []) or []),
                    outputs=tuple(node.get("output-type", []) or []),
                    parameters=params,
                    source=name,
                )
            )
    except (ValidationError, KeyError, TypeError) as exc:
        raise RegistryError(f"malformed tool graph {name!r}: {exc}") from exc
    raw_links = data.get("links", []) or []
    complete = bool(raw_links) and all(
        isinstance(link, Mapping) and link.get("type") == "complete" for link in raw_links
    )
    links: list[tuple[str, str]] = []
    if not complete:
        for i, link in enumerate(raw_links):
            if not isinstance(link, Mapping) or "source" not in link or "target" not in link:
                raise RegistryError(f"links[{i}] must be an object with 'source' and 'target'")
            links.append((str(link["source"]), str(link["target"])))
    return _make(
        name=name, types=tuple(types), links=tuple(dict.fromkeys(links)), any_order=complete
    )


def _make(**fields: Any) -> TaskRegistry:
    try:
        return TaskRegistry(**fields)
    except ValidationError as exc:
        msgs = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise RegistryError(msgs) from exc


def load_registry(path: str | Path, name: str | None = None) -> TaskRegistry:
    """Load a TaskBench-format tool graph file (JSON)."""
    path = Path(path)
    if not path.exists():
        raise RegistryError(f"tool graph file {path} does not exist")
    try:
        data = parse_json(read_input_text(path, what="tool graph file"), f"tool graph file {path}")
    except InputError as exc:
        raise RegistryError(str(exc)) from exc
    return registry_from_graph_desc(data, name=name or path.parent.name or path.stem)


@lru_cache(maxsize=1)
def default_registry() -> TaskRegistry:
    """TaskBench's HuggingFace tool graph: the 23 task types the planner knows by default."""
    text = (
        resources.files("tasks")
        .joinpath("data/huggingface_graph_desc.json")
        .read_text(encoding="utf-8")
    )
    return registry_from_graph_desc(json.loads(text), name="huggingface")


#: Task types the built-in model zoo serves beyond TaskBench's 23 (names as the zoo's published
#: catalogs use them; see profiles/published.py ``TASK_MAP``).
ZOO_TYPES: tuple[TaskType, ...] = (
    TaskType(
        name="Video Classification",
        description="Assign a label to a whole video.",
        inputs=("video",),
        outputs=("text",),
        source="zoo",
    ),
    TaskType(
        name="Pose Estimation",
        description="Find people and their body keypoints (joints) in an image.",
        inputs=("image",),
        outputs=("text",),
        source="zoo",
    ),
    TaskType(
        name="Oriented Object Detection",
        description="Detect objects with rotated "
        "bounding boxes, e.g. in aerial or satellite images.",
        inputs=("image",),
        outputs=("text",),
        source="zoo",
    ),
    TaskType(
        name="Video Chat",
        description="Answer questions or chat about a video.",
        inputs=("video", "text"),
        outputs=("text",),
        source="zoo",
    ),
)


@lru_cache(maxsize=1)
def planner_registry() -> TaskRegistry:
    """The HuggingFace types plus the built-in zoo's extra types (`ZOO_TYPES`): what
    ``planner decompose`` uses by default. TaskBench scoring uses `default_registry`."""
    return default_registry().with_types(ZOO_TYPES)


def _folded(name: str) -> str:
    return re.sub(r"[\s_\-]+", "-", name.strip().lower())


def suggest_task(
    name: str, choices: Iterable[str], known: Iterable[str] | None = None
) -> list[str]:
    """The task types of ``choices`` that ``name`` is probably a misspelling of, for a
    "did you mean" hint: one that differs only in case or separators
    (``image-to-text`` -> ``Image-to-Text``), else the closest spelling(s) (a ratio of at
    least 0.8 on the folded names, only those as close as the best). A ``name`` that is
    itself a task type (of ``known``, default `planner_registry`, or of ``choices``) is no
    misspelling: a neighbouring type (``Image-to-Image`` for ``Image-to-Text``) is another
    task, so nothing is suggested."""
    import difflib

    options = sorted(set(choices))
    folded = _folded(name)
    same = [c for c in options if _folded(c) == folded and c != name]
    if same:
        return same[:3]
    names = set(options) | set(planner_registry().names if known is None else known)
    if name in names or folded in {_folded(n) for n in names}:
        return []
    scored = sorted(
        ((difflib.SequenceMatcher(None, folded, _folded(c)).ratio(), c) for c in options),
        reverse=True,
    )
    if not scored or scored[0][0] < 0.8:
        return []
    best = scored[0][0]
    return [c for ratio, c in scored if ratio >= best - 0.02][:3]
