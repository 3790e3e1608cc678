"""Sample models for the run demos in ``docs/run.md`` (``docs/examples/*.json``), called
through the python adapter as ``planner.samples:echo`` and ``planner.samples:fail``.

They ship in the package so the demos run from any folder with the installed ``planner``
(the test suite's own models in ``tests/run_models.py`` need the repository on the path).
"""

from __future__ import annotations

import time
from typing import Any


def echo(inputs: dict[str, Any], tag: str = "", sleep_s: float = 0.0) -> dict[str, Any]:
    """Sleeps ``sleep_s``, then returns its inputs' text joined by ``+``, with ``|tag``."""
    if sleep_s:
        time.sleep(sleep_s)
    parts = [
        v["text"] if isinstance(v, dict) and "text" in v else str(v)
        for _, v in sorted(inputs.items())
    ]
    return {"text": "+".join(parts) + (f"|{tag}" if tag else "")}


def fail(inputs: dict[str, Any], message: str = "injected failure") -> dict[str, Any]:
    """Always raises: a broken model, for the retry and re-plan demo."""
    raise RuntimeError(message)
