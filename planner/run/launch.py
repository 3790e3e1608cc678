"""Launchers: where a node attempt runs. One small protocol, three implementations.

The `Scheduler` decides what runs when; a `Launcher` only starts an attempt somewhere and,
when it ends, posts one typed `AttemptResult` (from any thread). Implementations:
`ThreadLauncher` (worker threads of this process, here), `planner.run.process.ProcessLauncher`
(worker processes) and `planner.run.ray.RayLauncher` (Ray tasks). A fake launcher for tests
needs only these methods (see ``tests/test_run_scheduler.py``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from profiles import ModelProfile


@dataclass(frozen=True)
class Job:
    """One node attempt to start: ``key`` is ``"<node>#<token>"``; ``args`` are resolved
    (upstream outputs and user inputs substituted); ``raw_args``, ``inputs`` and ``preds``
    are there for launchers that pass upstream outputs themselves (Ray)."""

    node: str
    token: int
    profile: ModelProfile
    args: dict[str, Any]
    raw_args: dict[str, Any]
    inputs: dict[str, Any]
    preds: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.node}#{self.token}"


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt ended, on this process's ``time.perf_counter`` clock (seconds):
    ``wall_*`` around everything, ``start``/``end`` around the inference the profile
    measured; ``energy_j`` and ``peak_mb`` attributed to it by the worker's meter."""

    node: str
    token: int
    ok: bool
    output: dict[str, Any] | None
    error: str | None
    start: float
    end: float
    energy_j: float
    peak_mb: float
    wall_start: float
    wall_end: float

    @classmethod
    def of(
        cls,
        node: str,
        token: int,
        output: dict[str, Any] | None,
        error: str | None,
        marks: dict[str, float],
        offset: float = 0.0,
    ) -> AttemptResult:
        """From `planner.runners.attempt`'s ``marks`` read on a clock ``offset`` ahead of
        ``perf_counter``; marks never reached count as now (wall) or the wall times."""
        now = time.perf_counter()
        wall_start = marks["wall_start"] - offset if "wall_start" in marks else now
        wall_end = marks["wall_end"] - offset if "wall_end" in marks else now
        return cls(
            node,
            token,
            output is not None and error is None,
            output,
            error,
            marks["start"] - offset if "start" in marks else wall_start,
            marks["end"] - offset if "end" in marks else wall_end,
            marks.get("energy", 0.0),
            marks.get("peak", 0.0),
            wall_start,
            wall_end,
        )


Post = Callable[[AttemptResult], None]


class Launcher(Protocol):
    """Where attempts run. ``kind`` names it in reports (thread, process, ray)."""

    kind: str

    @property
    def energy_source(self) -> str:
        """What a measurement records as its energy_source."""
        ...

    @property
    def energy_note(self) -> str:
        """How energy was measured, in words."""
        ...

    #: Seconds a fresh attempt may need beyond its inference (worker start, model loading
    #: inside the worker): added to the default per-attempt timeout.
    startup_allowance_s: float

    def start(self, profiles: list[ModelProfile], slots: int, post: Post) -> None:
        """Start ``slots`` workers and load these models (raises `RunError`)."""
        ...

    def load(self, profiles: list[ModelProfile]) -> dict[str, float] | None:
        """Load these models in every worker (raises `RunnerError` naming the model);
        returns each one's load time, ms, where the launcher measures it."""
        ...

    def launch(self, job: Job) -> None:
        """Start ``job`` on an idle worker; its end is posted as an `AttemptResult`."""
        ...

    def abandon(self, job: Job) -> str | None:
        """``job`` timed out: stop it (or leave it to finish alone) and replace its worker;
        returns why that failed, if it did."""
        ...

    def close(self) -> None: ...


class WorkerPool:
    """Long-lived worker threads that run node attempts.

    Reusing threads matters for measurement: the first call of a model in a fresh thread
    pays one-time costs (a new malloc arena, Torch/OpenMP thread state) that can be 10-100x
    a sub-millisecond inference, so models are warmed up once in every worker (`on_each`)
    and nodes then run in warm threads, as the profiler measured them. A worker stuck past
    its node's timeout is abandoned (it exits when its call returns) and replaced.
    """

    def __init__(self, size: int, threads: int | None = None) -> None:
        self.size = size
        self.threads = threads
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.abandoned: set[int] = set()
        self.current: dict[int, str] = {}
        self._lock = threading.Lock()
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> None:
        threading.Thread(target=self._loop, name="planner-worker", daemon=True).start()

    def _loop(self) -> None:
        from planner.runners import limited_threads

        try:
            limits: contextlib.AbstractContextManager[None] = limited_threads(self.threads)
            limits.__enter__()
        except Exception:  # a worker without thread limits still serves its jobs (a dead
            limits = contextlib.nullcontext()  # worker would leave `on_each` waiting forever)
        with contextlib.ExitStack() as stack:
            stack.push(limits)
            me = threading.get_ident()
            while True:
                job = self.jobs.get()
                if job is None:
                    return
                job()
                with self._lock:
                    self.current.pop(me, None)
                    if me in self.abandoned:
                        self.abandoned.discard(me)
                        return

    def submit(self, job: Callable[[], None], tag: str = "") -> None:
        def wrapped() -> None:
            with self._lock:
                self.current[threading.get_ident()] = tag
            job()

        self.jobs.put(wrapped)

    def abandon(self, tag: str) -> None:
        """The worker running ``tag`` is left to finish alone; a new worker replaces it."""
        with self._lock:
            for ident, running in self.current.items():
                if running == tag:
                    self.abandoned.add(ident)
        self._spawn()

    def on_each(self, job: Callable[[], None]) -> None:
        """Run ``job`` once in every worker (they must be idle); re-raises its first error."""
        barrier = threading.Barrier(self.size + 1)
        errors: list[BaseException] = []

        def one() -> None:
            try:
                job()
            except BaseException as exc:
                errors.append(exc)
            finally:
                barrier.wait()

        for _ in range(self.size):
            self.jobs.put(one)
        barrier.wait()
        if errors:
            raise errors[0]

    def close(self) -> None:
        for _ in range(self.size + len(self.abandoned)):
            self.jobs.put(None)


class ThreadLauncher:
    """Attempts run in warm worker threads of this process, with the runners loaded here.

    ``load_model(profile) -> runner`` loads (and warms up once, here) a model; every worker
    thread then warms it up too (see `WorkerPool`). Energy and peak memory are attributed by
    one `planner.measure.Accountant` over ``counter``."""

    kind = "thread"
    startup_allowance_s = 0.0
    #: Prefixed to every attempt's key (accountant and pool tag): launchers that share one
    #: accountant or pool give each run its own, so runs with the same node ids stay apart.
    key_prefix = ""

    def __init__(
        self,
        load_model: Callable[[ModelProfile], Any],
        counter: Any = None,
        threads: int | None = 1,
        warmup: int = 3,
    ) -> None:
        from planner.measure import Accountant

        self.load_model = load_model
        self.threads = threads
        self.warmup = warmup
        self.accountant = Accountant(counter)
        self.runners: dict[str, Any] = {}
        self.load_times: dict[str, float] = {}
        self.pool: WorkerPool | None = None
        self.post: Post = lambda result: None

    @property
    def energy_source(self) -> str:
        return str(self.accountant.counter.source)

    @property
    def energy_note(self) -> str:
        return str(getattr(self.accountant.counter, "note", "") or self.energy_source)

    def start(self, profiles: list[ModelProfile], slots: int, post: Post) -> None:
        self.post = post
        self.pool = WorkerPool(slots, self.threads)
        fresh = self._load_all(profiles)
        self._warm(fresh)

    def _load_all(self, profiles: list[ModelProfile]) -> list[tuple[Any, str]]:
        fresh = []
        for p in profiles:
            if p.id not in self.runners:
                t = time.perf_counter()
                self.runners[p.id] = self.load_model(p)
                self.load_times[p.id] = (time.perf_counter() - t) * 1000.0
                fresh.append((self.runners[p.id], p.task))
        return fresh

    def _warm(self, pairs: list[tuple[Any, str]]) -> None:
        from planner.run.options import RunError
        from planner.runners import inference_parts, warm_up

        pairs = [(r, t) for r, t in pairs if inference_parts(r) is not None]
        if not self.warmup or not pairs or self.pool is None:
            return

        def job() -> None:
            for runner, task in pairs:
                warm_up(runner, task, self.warmup)

        try:
            self.pool.on_each(job)
        except Exception as exc:
            raise RunError(
                f"a model failed its warm-up inference: {type(exc).__name__}: {exc}"
            ) from exc

    def load(self, profiles: list[ModelProfile]) -> dict[str, float]:
        self.load_times = {}
        self._warm(self._load_all(profiles))
        return dict(self.load_times)

    def release(self, keep: set[str]) -> None:
        self.runners = {m: r for m, r in self.runners.items() if m in keep}

    def launch(self, job: Job) -> None:
        from planner.runners import attempt

        assert self.pool is not None
        runner = self.runners[job.profile.id]
        accountant, post = self.accountant, self.post
        key = self.key_prefix + job.key

        def work() -> None:
            out, error, marks = attempt(runner, job.args, accountant, key)
            post(AttemptResult.of(job.node, job.token, out, error, marks))

        self.pool.submit(work, tag=key)

    def abandon(self, job: Job) -> str | None:
        if self.pool is not None:
            self.pool.abandon(self.key_prefix + job.key)
        return None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.accountant.close()
