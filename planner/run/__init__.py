"""The run wing: executing a `Plan` on this machine (threads, processes) or on Ray.

- `Scheduler` (`planner.run.scheduler`): the one loop (dispatch by the plan's list-schedule
  priority on the plan's worker slots, retries, timeouts, the budget guard, re-plans,
  the report);
- `Launcher` (`planner.run.launch`): where an attempt runs, `ThreadLauncher`,
  `planner.run.process.ProcessLauncher`, `planner.run.ray.RayLauncher`, each posting one
  `AttemptResult` per attempt;
- hooks (`planner.run.hooks`): progress, outputs, plan/report files, history, measurement
  conditions;
- pure functions (`planner.run.budget`): `predicted_timing`, `slots`, `budgets_left`,
  `remaining_problem`, `budget_overruns`, `accuracy_view`;
- `LocalExecutor` / `RayExecutor` (`planner.run.executor`): validate, pick the launcher, run.

Import from the submodules: this package imports nothing, so a worker process importing
`planner.run.procpool` does not pay for the rest.
"""
