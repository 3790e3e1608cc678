"""A short description of the machine a benchmark ran on."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from profiles.hardware import cpu_model


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cbc() -> str:
    """Which CBC binary the planner's cbc backend runs (see solvers.cbc.cbc_command)."""
    version = _version("cbcbox")
    return "PuLP's bundled CBC" if version == "not installed" else f"CBC from cbcbox {version}"


def describe() -> list[str]:
    """Lines: CPU, cores, OS, Python, solver library versions, load when started."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"CPU: {cpu_model()} ({os.cpu_count()} logical cores)",
        f"OS: {platform.platform()}",
        f"Python: {sys.version.split()[0]}",
        f"PuLP {_version('pulp')} (backend cbc: {_cbc()}; straightforward baseline: "
        f"PuLP's bundled CBC), highspy {_version('highspy')}, numpy {_version('numpy')}",
        f"load average (1, 5, 15 min) at start: {load}",
    ]
