"""Test models for the executor, run through the ``python`` adapter (``tests.run_models:f``).

They do real work of a known shape (sleep, burn CPU, fail), so tests can check overlap,
retries and re-planning without depending on the built-in zoo.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def echo(inputs: dict[str, Any], tag: str = "", sleep_s: float = 0.0) -> dict[str, Any]:
    """Sleeps ``sleep_s`` then returns its inputs' text with ``tag`` appended, and timestamps."""
    start = time.time()
    if sleep_s:
        time.sleep(sleep_s)
    parts = [
        v["text"] if isinstance(v, dict) and "text" in v else str(v)
        for _, v in sorted(inputs.items())
    ]
    return {
        "text": "+".join(parts) + (f"|{tag}" if tag else ""),
        "start": start,
        "end": time.time(),
        "pid": os.getpid(),
        "cores": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [],
        "types": {k: type(v).__name__ for k, v in inputs.items()},
    }


def burn(inputs: dict[str, Any], cpu_s: float = 0.05, tag: str = "") -> dict[str, Any]:
    """Busy-loops for ``cpu_s`` seconds of CPU (so energy estimates grow with it)."""
    end = time.process_time() + cpu_s
    x = 0
    while time.process_time() < end:
        x += 1
    return echo(inputs, tag=tag)


def fail(inputs: dict[str, Any], message: str = "injected failure") -> dict[str, Any]:
    """Always raises (an injected broken model)."""
    raise RuntimeError(message)


def fail_once(inputs: dict[str, Any], marker: str, tag: str = "") -> dict[str, Any]:
    """Raises the first time (creates ``marker``), succeeds afterwards: a flaky model."""
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError("flaky failure")
    return echo(inputs, tag=tag)


def hang(inputs: dict[str, Any], sleep_s: float = 30.0) -> dict[str, Any]:
    """Sleeps far past any sensible timeout."""
    time.sleep(sleep_s)
    return {"text": "too late"}


def not_a_dict(inputs: dict[str, Any]) -> Any:
    return [1, 2, 3]


def broken_load(**options: Any) -> None:
    raise OSError("weights file missing")


#: Joules "spent" by `spend`; tests read it through a `FunctionCounter` for exact energy.
JOULES = [0.0]
#: How many times `count_load` ran (a model must be loaded once per run).
LOADS: dict[str, int] = {}


def spend(
    inputs: dict[str, Any],
    joules: float = 1.0,
    tag: str = "",
    before_s: float = 0.0,
    after_s: float = 0.0,
) -> dict[str, Any]:
    """Adds ``joules`` to `JOULES` (a deterministic energy counter for tests), after sleeping
    ``before_s`` and before sleeping ``after_s``."""
    time.sleep(before_s)
    JOULES[0] += joules
    time.sleep(after_s)
    return echo(inputs, tag=tag)


def count_load(**options: Any) -> None:
    """A ``load`` hook counting calls per ``tag`` option."""
    tag = str(options.get("tag", ""))
    LOADS[tag] = LOADS.get(tag, 0) + 1


def torch_threads(inputs: dict[str, Any]) -> dict[str, Any]:
    """Imports torch at inference time and reports its intra-op thread count."""
    import torch

    return {"text": str(torch.get_num_threads()), "pid": os.getpid()}


def pid_then_sleep(inputs: dict[str, Any], path: str, sleep_s: float = 30.0) -> dict[str, Any]:
    """Writes this process's id to ``path``, then sleeps (a worker to kill the parent of)."""
    Path(path).write_text(str(os.getpid()))
    time.sleep(sleep_s)
    return {"text": "woke up"}


def make_file(inputs: dict[str, Any], suffix: str = ".wav", key: str = "audio") -> dict[str, Any]:
    """Writes a file the way the zoo's media models do (a fresh temporary name in the node's
    ``output_dir``, else in a ``planner-zoo-`` temporary folder) and returns its path under
    ``key`` and as ``text``."""
    import tempfile

    folder = Path(inputs.get("output_dir") or tempfile.mkdtemp(prefix="planner-zoo-"))
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="speech-", suffix=suffix, dir=folder)
    with os.fdopen(fd, "w") as f:
        f.write(str(inputs.get("text", "")))
    return {key: name, "text": name}


def read_file(inputs: dict[str, Any]) -> dict[str, Any]:
    """The text of the file ``inputs['audio']`` names (so a test sees which path it got)."""
    path = Path(str(inputs["audio"]))
    return {"text": f"{path.name}:{path.read_text()}"}
