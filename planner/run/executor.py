"""`LocalExecutor` and `RayExecutor`: ``validate`` then ``execute`` a `Plan` (Hamilton's
shape). They check the plan, pick a launcher and the worker slots, and hand the run to one
`Scheduler`; see `planner.run.scheduler` for the semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from planner.plan import Plan
from planner.report import Report
from planner.run.args import input_names
from planner.run.budget import profiles_of, slots
from planner.run.files import missing_input_file
from planner.run.hooks import (
    OutputWriter,
    Progress,
    ProgressFn,
    QuietRuntime,
    ReportWriter,
    RunHook,
)
from planner.run.launch import Launcher, ThreadLauncher
from planner.run.options import RunError, RunOptions
from planner.run.scheduler import Scheduler, with_run_dir
from planner.runners import Runner, RunnerError, RunnerFactory, warm_up
from profiles import ModelProfile


class LocalExecutor:
    """Runs plans on this machine, in worker processes or threads (see `pool_for`).

    API (stable; `planner serve` builds on it): ``validate(plan, inputs, load=True)`` ->
    runners by model id (raises `RunError` listing every problem), ``load_model(profile)``
    -> a loaded, warmed-up runner, ``execute(plan, inputs, run_dir, request, run_id,
    hooks=())`` -> `Report`, ``pool_for(plan)`` -> 'thread' or 'process',
    ``slots_for(plan)`` -> the worker slots a run uses."""

    name = "local"

    def __init__(
        self,
        factory: RunnerFactory | None = None,
        options: RunOptions | None = None,
        counter: Any = None,
        progress: ProgressFn | None = None,
    ) -> None:
        self.factory = factory or RunnerFactory()
        self.options = options or RunOptions()
        self.counter = counter
        self.progress = progress

    # ----------------------------------------------------------------- validate

    def validate(self, plan: Plan, inputs: dict[str, Any], load: bool = True) -> dict[str, Runner]:
        """Check the plan can run and load every chosen model once; returns the runners by
        model id. Raises `RunError` listing every problem found. ``load=False`` only builds
        the runners (the launcher loads the models, in its workers)."""
        if not plan.has_plan:
            raise RunError(
                f"the plan has no assignment (status {plan.status}: {plan.message});"
                " relax a budget and solve again"
            )
        problem = plan.problem
        errors: list[str] = []
        missing = sorted(
            set().union(*(input_names(n.args) for n in problem.graph.nodes)) - set(inputs)
        )
        if missing:
            errors.append(
                "missing user input(s) "
                + ", ".join(f"${m}" for m in missing)
                + ": give them with --input NAME=VALUE"
            )
        else:
            absent = missing_input_file(problem.graph, inputs)
            if absent is not None:
                errors.append(absent)
        for node in problem.graph.nodes:
            if node.id not in plan.assignment:
                errors.append(f"node {node.id!r} has no model in the plan")
        chosen = self._chosen(plan, errors)
        limit = problem.budgets.memory_mb
        memory = sum(p.memory_mb for p in chosen.values())
        if limit is not None and memory > limit * (1 + 1e-9):
            errors.append(
                f"the chosen models need {memory:g} MB, over the memory budget {limit:g} MB"
            )
        if errors:
            raise RunError("the plan cannot run:\n  - " + "\n  - ".join(errors))
        runners: dict[str, Runner] = {}
        for model, profile in sorted(chosen.items()):
            try:
                runners[model] = (
                    self.load_model(profile) if load else self.factory.runner_for(profile)
                )
            except RunnerError as exc:
                errors.append(str(exc))
        if errors:
            raise RunError("the plan cannot run:\n  - " + "\n  - ".join(errors))
        return runners

    @staticmethod
    def _chosen(plan: Plan, errors: list[str]) -> dict[str, ModelProfile]:
        profiles = profiles_of(plan.problem)
        chosen: dict[str, ModelProfile] = {}
        for node in plan.problem.graph.nodes:
            model = plan.assignment.get(node.id)
            if model is None:
                continue
            profile = profiles.get((model, node.task))
            if profile is None:
                errors.append(
                    f"node {node.id!r}: model {model!r} is not a candidate for "
                    f"{node.task!r} in the plan's problem"
                )
            else:
                chosen.setdefault(model, profile)
        return chosen

    def load_model(self, profile: ModelProfile) -> Runner:
        """Make, load and warm up the runner of a chosen model (zoo models get the profiler's
        warm-up: ``options.warmup`` inferences on the zoo's first evaluation input)."""
        runner = self.factory.load(profile)
        try:
            warm_up(runner, profile.task, self.options.warmup)
        except Exception as exc:
            raise RunnerError(
                f"model {profile.id!r} ({profile.task}) failed its warm-up "
                f"inference: {type(exc).__name__}: {exc}"
            ) from exc
        return runner

    # ----------------------------------------------------------------- execute

    def slots_for(self, plan: Plan) -> int:
        """Worker slots of a run of ``plan``: 1 when sequential, else ``max_workers`` or the
        plan's machine, capped at the DAG's width (`planner.run.budget.slots`)."""
        sequential = plan.execution == "sequential" or self.options.sequential
        return slots(plan.problem, sequential, self.options.max_workers)

    def pool_for(self, plan: Plan) -> str:
        """'process' or 'thread': where this plan's nodes would run (see `RunOptions.pool`)."""
        opt = self.options
        portable = self.factory.portable and (
            self.counter is None or getattr(self.counter, "portable", False)
        )
        if opt.pool == "thread":
            return "thread"
        if opt.pool == "process":
            if not portable:
                raise RunError(
                    "pool 'process' runs models in worker processes, which cannot use runners "
                    "or an energy counter given to the executor as Python objects; use pool "
                    "'thread'"
                )
            return "process"
        size = self.slots_for(plan)
        if not (size > 1 and portable):
            return "thread"
        # every worker holds every chosen model: keep threads when that breaks the budget
        limit = plan.problem.budgets.memory_mb
        chosen = set(plan.assignment.values())
        memory = sum(
            {m.id: m.memory_mb for m in plan.problem.candidates if m.id in chosen}.values()
        )
        if limit is not None and size * memory > limit:
            return "thread"
        return "process"

    def launcher_for(self, plan: Plan) -> Launcher:
        from planner.measure import default_counter

        if self.pool_for(plan) == "process":
            from planner.run.process import ProcessLauncher

            meter = self.counter if self.counter is not None else default_counter()
            return ProcessLauncher(
                self.options.model_dump_json(),
                str(meter.source),
                str(getattr(meter, "note", "") or meter.source),
            )
        return ThreadLauncher(
            self.load_model, self.counter, self.options.threads, self.options.warmup
        )

    def hooks_for(self, run_dir: Path | None, extra: tuple[RunHook, ...] = ()) -> list[RunHook]:
        hooks: list[RunHook] = [QuietRuntime(self.options.threads, self.options.pause_gc)]
        if self.progress is not None:
            hooks.append(Progress(self.progress))
        if run_dir is not None:
            hooks += [OutputWriter(run_dir), ReportWriter(run_dir)]
        return [*hooks, *extra]

    def execute(
        self,
        plan: Plan,
        inputs: dict[str, Any] | None = None,
        run_dir: str | Path | None = None,
        request: str | None = None,
        run_id: str | None = None,
        hooks: tuple[RunHook, ...] = (),
    ) -> Report:
        """Validate, then run the plan; never raises for node failures (see the report).
        ``hooks`` run after the executor's own (progress, outputs, report files)."""
        folder = Path(run_dir) if run_dir is not None else None
        inputs = with_run_dir(dict(inputs or {}), folder)
        self.validate(plan, inputs, load=False)
        launcher = self.launcher_for(plan)
        prepare = None
        if launcher.kind == "thread":
            from profiles.hardware import retain_freed_memory

            prepare = retain_freed_memory  # nodes run here: the allocator the profiler used
        return Scheduler(
            plan,
            launcher,
            options=self.options,
            hooks=self.hooks_for(folder, hooks),
            inputs=inputs,
            slots=self.slots_for(plan),
            executor=self.name,
            run_id=run_id,
            request=request,
            run_dir=folder,
            prepare=prepare,
        ).run()


class RayExecutor(LocalExecutor):
    """Runs plans on a Ray cluster (``address``; None starts or joins a local instance).
    Connecting happens here, before any run: its time is not a run's."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        options: RunOptions | None = None,
        progress: ProgressFn | None = None,
        factory: RunnerFactory | None = None,
    ) -> None:
        super().__init__(factory=factory, options=options, progress=progress)
        from planner.run.ray import connect

        self.remote_fn = connect(address)

    def load_model(self, profile: ModelProfile) -> Runner:
        """Models load in the workers; here only check the adapter can be built."""
        return self.factory.runner_for(profile)

    def pool_for(self, plan: Plan) -> str:
        return "ray"

    def launcher_for(self, plan: Plan) -> Launcher:
        from planner.measure import default_counter
        from planner.run.ray import RayLauncher

        meter = default_counter()
        return RayLauncher(
            self.remote_fn,
            self.options.model_dump_json(),
            str(meter.source),
            str(getattr(meter, "note", "") or meter.source),
        )
