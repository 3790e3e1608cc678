"""Compatibility name: ``from planner.ray_executor import RayExecutor`` (now in
`planner.run.executor`; the launcher is `planner.run.ray`)."""

from __future__ import annotations

from planner.run.executor import RayExecutor
from planner.run.ray import RAY_STARTUP_ALLOWANCE_S, run_node

__all__ = ["RAY_STARTUP_ALLOWANCE_S", "RayExecutor", "run_node"]
