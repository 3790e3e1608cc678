"""Compatibility names for the run wing (`planner.run`): ``from planner.execute import
LocalExecutor`` keeps working. New code imports from `planner.run`."""

from __future__ import annotations

from planner.machine import default_workers
from planner.run.args import input_names, resolve_args
from planner.run.budget import budgets_left, remaining_problem
from planner.run.executor import LocalExecutor
from planner.run.hooks import SWITCH_INTERVAL_S, ProgressFn
from planner.run.launch import WorkerPool
from planner.run.options import RunError, RunOptions
from planner.run.scheduler import RunInterrupted, new_run_id

__all__ = [
    "SWITCH_INTERVAL_S",
    "LocalExecutor",
    "ProgressFn",
    "RunError",
    "RunInterrupted",
    "RunOptions",
    "WorkerPool",
    "budgets_left",
    "default_workers",
    "input_names",
    "new_run_id",
    "remaining_problem",
    "resolve_args",
]
