"""Worker threads survive thread limits that cannot be set: a worker that died while
another thread imported torch left `WorkerPool.on_each` waiting forever (the run hung)."""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

import pytest


def test_thread_limits_skip_a_torch_that_another_thread_is_importing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from planner.runners import limited_threads

    half = types.ModuleType("torch")
    half.__spec__ = types.SimpleNamespace(_initializing=True)  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "torch", half)
    with limited_threads(1):
        pass


def test_a_worker_whose_thread_limits_fail_still_serves_jobs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import planner.runners
    from planner.run.launch import WorkerPool

    def broken(n: int | None) -> Any:
        raise RuntimeError("no limits here")

    monkeypatch.setattr(planner.runners, "limited_threads", broken)
    pool = WorkerPool(2, threads=1)
    ran: list[int] = []
    done = threading.Event()

    def warm() -> None:
        pool.on_each(lambda: ran.append(1))
        done.set()

    threading.Thread(target=warm, daemon=True).start()
    assert done.wait(10), "on_each waited forever on a dead worker"
    assert ran == [1, 1]
    pool.close()
