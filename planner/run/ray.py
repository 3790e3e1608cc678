"""`RayLauncher`: each node a Ray task with its profile's resources, outputs passed as object
references along the edges.

A node is submitted as a task whose arguments are the object references of its upstream
outputs, so data moves through Ray's object store (the driver still receives each output
once, to write it to the run directory). Models load inside the workers (once per worker
process). Resources of a node's task: ``num_cpus`` (default 1) and ``num_gpus`` (default 0)
from the profile's ``adapter`` (keys ``num_cpus``, ``num_gpus``), and ``memory`` = the
profile's ``memory_mb``. ``ray`` is imported only here (the optional ``ray`` extra).

Start-up (``ray.init``, and a first task that starts the worker processes) is timed by the
executor and reported as ``startup_ms``, apart from the makespan.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any

from planner.run.launch import AttemptResult, Job, Post
from planner.run.options import RunError, RunOptions
from planner.runners import RunnerFactory
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
    from planner.measure import Accountant, default_counter
    from planner.run.args import resolve_args
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


def preload(profiles_json: list[str], options_json: str) -> int:
    """A Ray task that loads and warms up models in the worker it lands on (before the run's
    clock, so that the first node does not pay for it); returns the worker's pid."""
    from planner.runners import warm_up

    options = RunOptions.model_validate_json(options_json)
    factory = _worker_factory()
    for profile_json in profiles_json:
        profile = ModelProfile.model_validate_json(profile_json)
        fresh = profile.id not in factory.loaded_ids()
        runner = factory.load(profile)
        if fresh:
            warm_up(runner, profile.task, options.warmup)
    return os.getpid()


def connect(address: str | None) -> Any:
    """``ray.init`` (a local instance when ``address`` is None) unless already connected;
    returns the remote function of `run_node`."""
    try:
        import ray
    except ImportError as exc:
        raise RunError("--executor ray needs Ray: pip install 'cost-aware-planner[ray]'") from exc
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
    return ray.remote(run_node)


class RayLauncher:
    kind = "ray"
    startup_allowance_s = RAY_STARTUP_ALLOWANCE_S

    def __init__(self, remote_fn: Any, options_json: str, energy_source: str, note: str) -> None:
        self.remote_fn = remote_fn
        self.options_json = options_json
        self.energy_source = energy_source
        self.energy_note = note
        self.refs: dict[str, Any] = {}
        self.inflight: dict[str, Any] = {}
        self.post: Post = lambda result: None
        self._lock = threading.Lock()

    def start(self, profiles: list[ModelProfile], slots: int, post: Post) -> None:
        """Start ``slots`` Ray workers (one small task each), so their start-up is timed as
        the run's start-up, not inside the first nodes."""
        import ray

        self.post = post
        self.slots = slots
        self._preload = ray.remote(preload)
        ray.get([self._preload.remote([], self.options_json) for _ in range(slots)])

    def load(self, profiles: list[ModelProfile]) -> dict[str, float] | None:
        """Load and warm the models up in the workers, one task per slot (best effort: Ray
        places the tasks; a worker that gets none loads a model on its first node)."""
        import ray

        if profiles:
            payload = [p.model_dump_json() for p in profiles]
            ray.get([self._preload.remote(payload, self.options_json) for _ in range(self.slots)])
        return None

    def launch(self, job: Job) -> None:
        import ray

        offset = time.time() - time.perf_counter()
        adapter = job.profile.adapter or {}
        memory = job.profile.memory_mb
        task = self.remote_fn.options(
            num_cpus=float(adapter.get("num_cpus", 1)),
            num_gpus=float(adapter.get("num_gpus", 0)),
            memory=max(1, int(memory * 1e6)) if memory else None,
            num_returns=2,
            max_retries=0,
            retry_exceptions=False,
            name=f"node-{job.node}",
        )
        with self._lock:
            upstream = [self.refs[p] for p in job.preds]
        out_ref, meta_ref = task.remote(
            job.profile.model_dump_json(),
            self.options_json,
            job.raw_args,
            job.inputs,
            list(job.preds),
            *upstream,
        )
        with self._lock:
            self.inflight[job.key] = out_ref
        post, refs, lock = self.post, self.refs, self._lock

        def watch() -> None:
            try:
                out, meta = ray.get([out_ref, meta_ref])
            except Exception as exc:
                for ref in (out_ref, meta_ref):  # mark both errors handled (no Ray warning)
                    with contextlib.suppress(Exception):
                        ray.get(ref)
                cause = getattr(exc, "cause", None) or exc
                error = f"{type(cause).__name__}: {cause}"
                post(AttemptResult.of(job.node, job.token, None, error, {}))
                return
            with lock:
                refs[job.node] = out_ref
            post(AttemptResult.of(job.node, job.token, out, None, meta, offset))

        threading.Thread(target=watch, name=f"ray-{job.node}", daemon=True).start()

    def abandon(self, job: Job) -> str | None:
        import ray

        with self._lock:
            ref = self.inflight.pop(job.key, None)
        if ref is not None:
            ray.cancel(ref, force=True)
        return None

    def close(self) -> None:
        pass
