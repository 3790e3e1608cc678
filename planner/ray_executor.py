"""Running a plan on Ray: each node a Ray task with its profile's resources, outputs passed
as object references along the edges.

Same semantics as `LocalExecutor` (retry once, re-plan the rest on failures and overruns, stop
with a partial report), because the scheduling loop is shared; only the launch differs: a node
is submitted as a task whose arguments are the object references of its upstream outputs, so
data moves through Ray's object store, and the driver fetches each output once to write it to
the run directory. Models are loaded inside the workers (once per worker process).

Resources of a node's task: ``num_cpus`` (default 1) and ``num_gpus`` (default 0) from the
profile's ``adapter`` (keys ``num_cpus``, ``num_gpus``), and ``memory`` = the profile's
``memory_mb``. ``ray`` is imported only here (the optional ``ray`` extra).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from planner.execute import LocalExecutor, ProgressFn, RunError, RunOptions, _Done, _NodeState, _Run
from planner.plan import Plan
from planner.report import Report
from planner.runners import Runner, RunnerFactory
from profiles import ModelProfile

_WORKER_FACTORY: RunnerFactory | None = None
#: Seconds allowed for a Ray task to start (worker process, imports, model loading).
RAY_STARTUP_ALLOWANCE_S = 120.0


def _worker_factory() -> RunnerFactory:
    global _WORKER_FACTORY
    if _WORKER_FACTORY is None:
        _WORKER_FACTORY = RunnerFactory()
    return _WORKER_FACTORY


def run_node(
    profile_json: str,
    options_json: str,
    args: dict[str, Any],
    inputs: dict[str, Any],
    upstream_ids: list[str],
    *upstream: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The body of a node's Ray task: resolve arguments, run, measure (in the worker)."""
    from planner.execute import resolve_args
    from planner.measure import Accountant, default_counter
    from planner.runners import call_runner, limited_threads, warm_up

    profile = ModelProfile.model_validate_json(profile_json)
    options = RunOptions.model_validate_json(options_json)
    factory = _worker_factory()
    fresh = profile.id not in factory.loaded_ids()
    runner = factory.load(profile)  # cached: once per worker process
    resolved = resolve_args(args, dict(zip(upstream_ids, upstream, strict=True)), inputs)
    accountant = Accountant(default_counter())
    accountant.begin("start")  # starts the meter's sampling thread before the timed call
    accountant.end("start")
    marks: dict[str, float] = {}

    def begin() -> None:
        accountant.begin("node")
        marks["start"] = time.time()

    def end() -> None:
        marks["end"] = time.time()
        marks["energy"], marks["peak"] = accountant.end("node")

    with limited_threads(options.threads):
        if fresh:
            warm_up(runner, profile.task, options.warmup)
        wall_start = time.time()
        try:
            out = call_runner(runner, resolved, begin, end)
        finally:
            accountant.close()
        wall_end = time.time()
    if not isinstance(out, dict):
        raise TypeError(f"the model returned {type(out).__name__}, not a dict")
    return out, {**marks, "wall_start": wall_start, "wall_end": wall_end, "pid": os.getpid()}


class _RayRun(_Run):
    ex: RayExecutor

    def go(self) -> Report:
        self.refs: dict[str, Any] = {}
        self.inflight: dict[tuple[str, int], Any] = {}
        self.t0_wall = time.time()
        return super().go()

    def _launch(self, st: _NodeState) -> None:
        import ray

        assert st.profile is not None
        if not hasattr(self, "wall_offset"):
            self.wall_offset = time.time() - time.perf_counter()
        preds = self.preds[st.id]
        adapter = st.profile.adapter or {}
        task = self.ex.remote_fn.options(
            num_cpus=float(adapter.get("num_cpus", 1)),
            num_gpus=float(adapter.get("num_gpus", 0)),
            memory=max(1, int(st.profile.memory_mb * 1e6)) if st.profile.memory_mb else None,
            num_returns=2,
            max_retries=0,
            retry_exceptions=False,
            name=f"node-{st.id}",
        )
        out_ref, meta_ref = task.remote(
            st.profile.model_dump_json(),
            self.opt.model_dump_json(),
            self.problem.graph.node(st.id).args,
            self.inputs,
            preds,
            *[self.refs[p] for p in preds],
        )
        token = st.token
        self.inflight[(st.id, token)] = out_ref
        events, offset = self.events, self.wall_offset

        def watch() -> None:
            try:
                out, meta = ray.get([out_ref, meta_ref])
                events.put(_Done.of(st.id, token, out, None, meta, offset))
            except Exception as exc:
                for ref in (out_ref, meta_ref):  # mark both errors handled (no Ray warning)
                    with contextlib.suppress(Exception):
                        ray.get(ref)
                cause = getattr(exc, "cause", None) or exc
                events.put(_Done.of(st.id, token, None, f"{type(cause).__name__}: {cause}", {}))

        threading.Thread(target=watch, name=f"ray-{st.id}", daemon=True).start()

    def _timeout_s(self, st: _NodeState) -> float:
        """Default per attempt on Ray: 120 s + 20 x predicted, since a task's time includes
        starting a worker process and loading the model in it."""
        if self.opt.node_timeout_s is not None:
            return self.opt.node_timeout_s
        predicted = st.profile.latency_ms / 1000.0 if st.profile else 0.0
        return RAY_STARTUP_ALLOWANCE_S + 20.0 * predicted

    def _start_workers(self) -> None:
        """Ray schedules the tasks; models load and warm up in its workers."""

    def _stop_workers(self) -> None:
        pass

    def _warm_workers(self, runners: list[tuple[str, Any]]) -> None:
        """Models warm up in the Ray workers, on their first task."""

    def _abandon(self, st: _NodeState) -> None:
        import ray

        ref = self.inflight.pop((st.id, st.token), None)
        if ref is not None:
            ray.cancel(ref, force=True)

    def _on_success(self, st: _NodeState, done: _Done) -> None:
        ref = self.inflight.pop((st.id, done.token), None)
        if ref is not None:
            self.refs[st.id] = ref


class RayExecutor(LocalExecutor):
    """Runs plans on a Ray cluster (``address``; None starts or joins a local instance)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        options: RunOptions | None = None,
        progress: ProgressFn | None = None,
        factory: RunnerFactory | None = None,
    ) -> None:
        super().__init__(factory=factory, options=options, progress=progress)
        try:
            import ray
        except ImportError as exc:
            raise RunError(
                "--executor ray needs Ray: pip install 'cost-aware-planner[ray]'"
            ) from exc
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                # local workers import our packages the way this process does
                path = os.pathsep.join(p for p in sys.path if p)
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise RunError(
                    f"cannot connect to Ray at {address or 'a local instance'}: {exc}"
                ) from exc
        self.remote_fn = ray.remote(run_node)

    def load_model(self, profile: ModelProfile) -> Runner:
        """Models load in the workers; here only check the adapter can be built."""
        return self.factory.runner_for(profile)

    def _make_run(
        self,
        plan: Plan,
        inputs: dict[str, Any],
        run_dir: str | Path | None,
        request: str | None,
        run_id: str | None,
    ) -> _Run:
        return _RayRun(self, plan, inputs, run_dir, request, run_id)
