"""Fault-injecting models for the reliability tests (run through the ``python`` adapter)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def die(inputs: dict[str, Any], code: int = 139) -> dict[str, Any]:
    """Kills the whole process at once, as a segfault in native model code would."""
    os._exit(code)


def circular(inputs: dict[str, Any]) -> dict[str, Any]:
    """An output that refers to itself (JSON cannot hold it)."""
    out: dict[str, Any] = {"text": "loop"}
    out["self"] = out
    return out


def tuple_keys(inputs: dict[str, Any]) -> dict[Any, Any]:
    """An output whose keys are tuples (JSON keys are strings)."""
    return {"text": "pairs", ("a", 1): "x", (2, 3): [1, 2]}


def non_finite(inputs: dict[str, Any]) -> dict[str, Any]:
    """An output holding NaN and infinities (not JSON numbers)."""
    return {"text": "odd", "score": float("nan"), "range": [float("-inf"), float("inf")]}


def read_only(inputs: dict[str, Any], path: str, tag: str = "") -> dict[str, Any]:
    """Turns the folder ``path`` read-only (a run directory going read-only mid-run), then
    answers like ``echo``."""
    from tests.run_models import echo

    os.chmod(path, 0o555)
    return echo(inputs, tag=tag)


def pid_file_then_sleep(inputs: dict[str, Any], folder: str, sleep_s: float = 30.0) -> Any:
    """Writes its process id as a file name in ``folder``, then sleeps (to be killed)."""
    import time

    Path(folder, str(os.getpid())).touch()
    time.sleep(sleep_s)
    return {"text": "too late"}
