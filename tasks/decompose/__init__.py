"""Decomposers: request text -> `TaskGraph` (offline rules, or an OpenAI-compatible LLM)."""

from tasks.decompose.offline import OfflineDecomposer

__all__ = ["OfflineDecomposer"]
