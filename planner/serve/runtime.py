"""The one adapter between the service and the executor (`planner.run.executor.LocalExecutor`).

`Runtime.execute(plan, inputs, lease)` runs a plan with three differences from `planner run`:

- runners come from the `ModelCache` (resident models: no load, no warm-up per request);
  re-plans that switch models lease them from the cache too, and never evict anything;
- nodes of every request run on one shared pool of ``workers`` threads (the executor's
  `WorkerPool`), so concurrent requests share the worker slots instead of each starting its
  own threads; a run still starts at most ``workers`` of its own nodes at once;
- one `Accountant` measures the nodes of every request: the meter is the process's (or the
  machine's), so a reading is shared among all the nodes running, whichever request they
  belong to, and the nodes' energies add up to the meter's (a run of its own would give
  every concurrent node the whole increment: double counting);
- the process-wide settings the executor changes per run (garbage-collector pause, thread
  limits) are set once for the service instead, since runs overlap.

Everything else (argument passing, retries, re-planning, the report) is the executor's.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.measure import Accountant, EnergyCounter
from planner.plan import Plan
from planner.report import Report
from planner.run.executor import LocalExecutor
from planner.run.hooks import RunHook
from planner.run.launch import Launcher, ThreadLauncher, WorkerPool
from planner.run.options import RunOptions
from planner.run.scheduler import NodeState, Scheduler
from planner.runners import Runner, RunnerFactory
from planner.serve.cache import Lease, ModelCache
from profiles import ModelProfile


@dataclass(frozen=True)
class RunOutcome:
    """What one execution gives back."""

    outputs: dict[str, Any]
    answer: str | None
    report: Report


class _LeasedFactory(RunnerFactory):
    """A `RunnerFactory` view of the cache for one run: loads lease, releases do nothing."""

    def __init__(self, cache: ModelCache, lease: Lease) -> None:
        super().__init__()
        self.cache = cache
        self.lease = lease
        self.portable = False  # runners live in this process

    def runner_for(self, profile: ModelProfile) -> Runner:
        return self.cache.runner(profile, self.lease)

    def load(self, profile: ModelProfile) -> Runner:
        return self.cache.runner(profile, self.lease)

    def release(self, model_ids: set[str]) -> None:
        """The cache decides what stays loaded."""

    def loaded_ids(self) -> list[str]:
        return sorted(self.lease.models)


class _SharedLauncher(ThreadLauncher):
    """A thread launcher whose attempts go to the service's shared worker pool; the cache
    warmed resident models up when it loaded them, and the pool outlives the run."""

    def __init__(
        self,
        load_model: Any,
        shared_pool: WorkerPool,
        shared_accountant: Accountant,
        key_prefix: str,
    ) -> None:
        super().__init__(load_model, shared_accountant.counter, threads=None, warmup=0)
        self.shared_pool = shared_pool
        self.accountant = shared_accountant
        self.key_prefix = key_prefix

    def start(self, profiles: list[ModelProfile], slots: int, post: Any) -> None:
        self.post = post
        self.pool = self.shared_pool
        self._load_all(profiles)

    def close(self) -> None:
        self.pool = None  # neither is closed: shared by every request


class _Outputs(RunHook):
    """Collects the outputs of the nodes that succeeded."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    def after_node(self, run: Scheduler, node: NodeState) -> None:
        if node.status == "succeeded" and node.output is not None:
            from planner.run.args import json_safe

            self.seen[node.id] = json_safe(node.output)  # answered as strict JSON


class _ServeExecutor(LocalExecutor):
    def __init__(
        self,
        factory: RunnerFactory,
        options: RunOptions,
        counter: EnergyCounter | None,
        shared_pool: WorkerPool,
        shared_accountant: Accountant,
    ) -> None:
        super().__init__(factory=factory, options=options, counter=counter)
        self.shared_pool = shared_pool
        self.shared_accountant = shared_accountant

    def launcher_for(self, plan: Plan) -> Launcher:
        prefix = f"{uuid.uuid4().hex[:12]}:"  # this run's attempts, apart from other runs'
        return _SharedLauncher(self.load_model, self.shared_pool, self.shared_accountant, prefix)

    def hooks_for(self, run_dir: Path | None, extra: tuple[RunHook, ...] = ()) -> list[RunHook]:
        # no QuietRuntime: runs overlap, so the service sets those process-wide settings once
        hooks = super().hooks_for(run_dir, extra)
        return [h for h in hooks if type(h).__name__ != "QuietRuntime"]


class Runtime:
    """Executes plans for the service (thread-safe: one executor per call)."""

    def __init__(
        self,
        cache: ModelCache,
        workers: int,
        counter: EnergyCounter | None = None,
        node_timeout_s: float | None = None,
        runs_dir: Path | None = None,
        keep_runs: int = 200,
        torch_threads: int | None = None,
    ) -> None:
        self.cache = cache
        self.workers = workers
        self.counter = counter
        self.node_timeout_s = node_timeout_s
        self.runs_dir = runs_dir
        self.keep_runs = keep_runs
        self.pool = WorkerPool(workers, torch_threads)
        self.accountant = Accountant(counter)
        self.options = RunOptions(
            pool="thread",
            max_workers=workers,
            node_timeout_s=node_timeout_s,
            threads=None,  # the shared workers set their thread limits once
            pause_gc=False,  # overlapping runs would pause and resume it for each other
            warmup=0,  # the cache warmed models up when it loaded them
        )
        # the executor lowers the interpreter's switch interval for each run and restores it
        # after; runs overlap here, so it is set once for the service
        from planner.run.hooks import SWITCH_INTERVAL_S

        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))

    def execute(
        self,
        plan: Plan,
        inputs: dict[str, Any],
        lease: Lease,
        request: str | None = None,
        run_id: str | None = None,
    ) -> RunOutcome:
        """Run ``plan`` (its models held by ``lease``); raises `RunError` if it cannot start."""
        factory = _LeasedFactory(self.cache, lease)
        ex = _ServeExecutor(factory, self.options, self.counter, self.pool, self.accountant)
        run_dir = None
        if self.runs_dir is not None and run_id is not None:
            run_dir = self.runs_dir / run_id
        collect = _Outputs()
        report = ex.execute(
            plan, inputs, run_dir=run_dir, request=request, run_id=run_id, hooks=(collect,)
        )
        outputs = dict(collect.seen)
        if self.runs_dir is not None:
            self._prune()
        return RunOutcome(outputs=outputs, answer=answer_of(plan, outputs), report=report)

    def _prune(self) -> None:
        """Keep the newest ``keep_runs`` run folders (run ids sort by time)."""
        assert self.runs_dir is not None
        try:
            folders = sorted(p for p in self.runs_dir.iterdir() if p.is_dir())
        except OSError:
            return
        for old in folders[: max(0, len(folders) - self.keep_runs)]:
            shutil.rmtree(old, ignore_errors=True)

    def ready(self) -> None:
        """Wait until every shared worker has started (and set its thread limits)."""
        self.pool.on_each(lambda: None)

    def close(self) -> None:
        self.pool.close()
        self.accountant.close()


def answer_of(plan: Plan, outputs: dict[str, Any]) -> str | None:
    """The request's answer: the text of its final node(s) (those nothing depends on), each
    prefixed by its id when there are several; None when one of them did not run."""
    graph = plan.problem.graph
    has_successor = {u for u, _ in graph.dependency_edges()}
    sinks = [n for n in graph.topological_order() if n not in has_successor]
    texts = []
    for node in sinks:
        if node not in outputs:
            return None
        texts.append((node, _text(outputs[node])))
    if len(texts) == 1:
        return texts[0][1]
    return "\n".join(f"{node}: {text}" for node, text in texts)


def _text(output: Any) -> str:
    import json

    if isinstance(output, dict):
        for key in ("text", "label", "output", "answer"):
            if isinstance(output.get(key), str):
                return str(output[key])
    if isinstance(output, str):
        return output
    from planner.run.args import json_safe

    return json.dumps(json_safe(output), sort_keys=True)
