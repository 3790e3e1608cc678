"""Worker processes for the local executor's parallel branches.

Threads share one interpreter lock: two CPU-bound Python models running "in parallel" in
threads mostly take turns, and each one's measured latency then includes the other's work
(on the 2-core dev VM the demo's nodes measured 1.4-4x their profiles in threads, 1.0-1.3x
alone). Worker processes run concurrently for real, and each measures exactly what the
profiler measured: one call, on its own interpreter, with its own CPU time.

Each worker is a long-lived process started once per run (``forkserver`` where available,
else ``spawn``). It loads every chosen model once and warms it up (`load`), then runs node
attempts (`submit`): the parent resolves the node's arguments (upstream outputs travel by
pipe), the worker times the inference between the same marks as the thread executor, reads
its own energy counter (`planner.measure.default_counter`: the process's CPU time x watts
per core, or RAPL/NVML, which are machine-wide, so concurrent nodes' readings overlap) and
its peak memory, and sends back the output. A worker that dies (a native crash, ``os._exit``)
fails only its node, which the executor then retries or re-plans; a worker abandoned after a
timeout is killed. Either way a fresh worker takes its place and loads the models again.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

#: Seconds a worker may take to start and load the plan's models.
LOAD_TIMEOUT_S = 300.0

Message = tuple[Any, ...]
#: ``(key, ok, output, error, marks)``: marks as `planner.runners.attempt` returns them, on
#: the ``time.time()`` clock; empty when the worker died.
DoneFn = Callable[[str, bool, dict[str, Any] | None, str | None, dict[str, float]], None]


class PoolError(RuntimeError):
    """A worker could not start or load a model; the message says which and why."""


# --------------------------------------------------------------------------- worker side


def _watch_parent(parent_pid: int, interval_s: float = 0.2) -> None:
    """Exit this worker within ``interval_s`` of the run's process dying (even by
    ``kill -9``, which runs no clean-up there): a daemon thread polls whether it is alive."""

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # alive, another user's (cannot happen for our parent)
                pass

    threading.Thread(target=watch, name="planner-parent-watch", daemon=True).start()


def _worker_main(
    conn: Connection, options_json: str, index: int = 0, parent_pid: int | None = None
) -> None:
    """The worker process: load/run requests until ``None`` or the pipe closes."""
    # Ctrl-C and hang-ups go to the whole process group: the run's process decides what
    # happens (it stops the workers itself); a worker starts ignoring them already
    # (`_interrupts_ignored`), this keeps it so whatever started it
    for sig in IGNORED_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)

    from planner.measure import Accountant, default_counter
    from planner.run.options import RunOptions
    from planner.runners import RunnerFactory, warm_up
    from profiles import ModelProfile
    from profiles.hardware import pin_to_core, retain_freed_memory

    if parent_pid is not None:
        _watch_parent(parent_pid)
    options = RunOptions.model_validate_json(options_json)
    retain_freed_memory()  # as the profiler measured: per-call buffers are not page-faulted
    if options.pin_workers:
        # one core per worker: on the 2-core dev VM the demo's nodes agreed with their
        # profiles within 25% in 45/50 measurements pinned and 35/50 not (interleaved runs)
        pin_to_core(index)
    _pin_threads(options.threads)
    factory = RunnerFactory()
    accountant = Accountant(default_counter())
    warmed: set[str] = set()

    def ensure(profile: ModelProfile) -> Any:
        runner = factory.load(profile)
        if profile.id not in warmed:
            _pin_threads(options.threads)  # loading may have imported torch or a BLAS
            warm_up(runner, profile.task, options.warmup)
            warmed.add(profile.id)
        return runner

    accountant.begin("start")  # starts the meter's sampling thread before any timed call
    accountant.end("start")
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        if msg[0] == "load":
            error = None
            times: dict[str, float] = {}
            for profile_json in msg[1]:
                profile = ModelProfile.model_validate_json(profile_json)
                t = time.perf_counter()
                try:
                    ensure(profile)
                except Exception as exc:
                    error = f"model {profile.id!r} ({profile.task}): {type(exc).__name__}: {exc}"
                    break
                times[profile.id] = (time.perf_counter() - t) * 1000.0
            if options.pause_gc:
                gc.collect()
                gc.disable()
            conn.send(("loaded", (error, times)))
            continue
        if msg[0] == "probe":
            conn.send(("probed", _probe(msg[1], msg[2], options, ensure)))
            continue
        _, key, profile_json, args = msg
        reply = _run_one(
            key, ModelProfile.model_validate_json(profile_json), args, ensure, accountant
        )
        try:
            conn.send(reply)
        except Exception as exc:  # an output that cannot be pickled
            conn.send(("done", key, False, None, f"the output cannot be sent: {exc}", reply[5]))
    accountant.close()


def _pin_threads(n: int | None) -> None:
    """Torch and BLAS/OpenMP pools of this worker limited to ``n`` threads (the profiles'
    setting), without importing torch where no model needs it: libraries loaded later read
    the environment, those already loaded are set directly."""
    if n is None:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)


def _run_one(
    key: str, profile: Any, args: dict[str, Any], ensure: Callable[[Any], Any], accountant: Any
) -> Message:
    """One node attempt in the worker: the ``done`` reply (never raises)."""
    from planner.runners import attempt

    out, error, marks = attempt(lambda: ensure(profile), args, accountant, key, clock=time.time)
    return ("done", key, error is None, out, error, marks)


def _probe(profiles_json: list[str], calls: int, options: Any, ensure: Callable[[Any], Any]) -> Any:
    """The speed probe of each model in this worker (`planner.run.probe.probe_models`)."""
    from planner.run.probe import probe_models
    from profiles import ModelProfile

    profiles = [ModelProfile.model_validate_json(p) for p in profiles_json]
    return probe_models(profiles, ensure, calls, options.threads, options.warmup)


# --------------------------------------------------------------------------- parent side


@dataclass
class _Worker:
    process: Any
    conn: Connection
    index: int = 0  # its place in the pool (the core it is pinned to)
    key: str | None = None  # the node attempt it runs
    dead: bool = False
    #: replies to ``load`` (None: loaded, else why not) and ``probe`` requests (a dict, or
    #: why the worker died), handed over by the reader thread
    replies: queue.Queue[Any] = field(default_factory=queue.Queue)


#: Imported once by the fork server, so each worker starts without importing them again
#: (light modules only: the fork server starts before every run's first pool).
PRELOAD = [
    "planner.run.procpool",
    "planner.run.options",
    "planner.runners",
    "planner.measure",
    "profiles.adapters",
    "profiles.energy",
]


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    # no "__main__" (see `_without_main`): workers import what they need
    ctx.set_forkserver_preload(PRELOAD)  # no effect once the server runs
    return ctx


_MAIN_LOCK = threading.Lock()
#: Signals a worker ignores (the run's process decides what happens).
IGNORED_SIGNALS = (signal.SIGINT, signal.SIGHUP)


@contextlib.contextmanager
def _interrupts_ignored() -> Any:
    """Ignore Ctrl-C and hang-ups in this process while a child starts, so that it inherits
    the ignoring: a Ctrl-C during a worker's (or the fork server's) start-up, before
    `_worker_main` ignores it, would otherwise print a KeyboardInterrupt traceback into the
    run's display. Only around the fork and exec (milliseconds; the fork server, which forks
    the workers, keeps ignoring them), and only on the main thread, where handlers are set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old: dict[int, Any] = {}
    for sig in IGNORED_SIGNALS:
        handler = signal.getsignal(sig)
        if handler is not None:  # None: a handler not set from Python, left alone
            old[sig] = signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        for held, previous in old.items():
            signal.signal(held, previous)


@contextlib.contextmanager
def _interrupts_deferred() -> Any:
    """Hold Ctrl-C and hang-ups in this process until the block ends, then deliver them: an
    interruption in the middle of starting a worker would leave the half-started child
    reading a closed pipe (an EOFError traceback from multiprocessing). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        got.append(signum)

    old: dict[int, Any] = {}
    for sig in IGNORED_SIGNALS:
        if signal.getsignal(sig) is not None:
            old[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for held, previous in old.items():
            signal.signal(held, previous)
        for signum in dict.fromkeys(got):
            signal.raise_signal(signum)  # now, to the handler the run had


def _start(ctx: Any, process: Any) -> None:
    """Start ``process`` so that it ignores Ctrl-C from its first instruction
    (`_interrupts_ignored`): for the fork server, by starting the server itself (and its
    resource tracker) ignoring it, its workers inherit that; for spawn, each child. A Ctrl-C
    meanwhile reaches this process once the start is complete (`_interrupts_deferred`)."""
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with _interrupts_ignored(), _without_main():
            forkserver.ensure_running()  # no-op once the server runs
        with _interrupts_deferred(), _without_main():
            process.start()
        return
    with _interrupts_ignored(), _without_main():
        process.start()


@contextlib.contextmanager
def _without_main() -> Any:
    """Start a worker without it re-importing the caller's main module. multiprocessing
    makes every spawned or fork-served child import the parent's ``__main__`` script again
    (for the ``planner`` command: the whole CLI, typer, rich, the solver stack), which was
    most of a pool's 0.8-1.1 s start-up; a worker needs none of it. While the child's
    preparation data is taken, ``__main__`` is an empty module, so there is nothing to
    re-import (adapters name their functions as ``module:function`` and import them)."""
    import types

    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class ProcessPool:
    """``size`` worker processes; ``submit`` runs a node attempt on an idle one and calls
    ``on_done`` (from a reader thread) when it finishes or its worker dies."""

    def __init__(self, size: int, options_json: str, on_done: DoneFn) -> None:
        self.options_json = options_json
        self.on_done = on_done
        self.profiles: list[str] = []  # every model loaded so far (replayed on new workers)
        self.ctx = _context()
        self._lock = threading.Lock()
        self.workers: list[_Worker] = []
        self.closed = False
        try:
            for _ in range(size):
                self.workers.append(self._spawn(len(self.workers)))
        except BaseException:
            self.close()
            raise

    def _spawn(self, index: int) -> _Worker:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(
            target=_worker_main,
            args=(child, self.options_json, index, os.getpid()),
            name="planner-worker",
            daemon=True,
        )
        _start(self.ctx, process)
        child.close()
        worker = _Worker(process, parent, index)
        threading.Thread(
            target=self._reader, args=(worker,), name="planner-pool-reader", daemon=True
        ).start()
        return worker

    def load(self, profiles_json: list[str]) -> dict[str, float]:
        """Load (and warm up) these models in every worker; raises `PoolError`. Returns
        each model's load time (ms, the slowest worker's: they load at the same time)."""
        fresh = [p for p in profiles_json if p not in self.profiles]
        if not fresh:
            return {}
        self.profiles.extend(fresh)
        self._replace_dead()  # a replacement loads every model, these included
        with self._lock:
            live = [w for w in self.workers if not w.dead]
        return self._load_into(live, fresh)

    def wait_ready(self) -> None:
        """Wait until every worker has started (an empty load round trip): start-up ends
        here, so a run's loading is timed apart from it. Raises `PoolError`."""
        with self._lock:
            live = [w for w in self.workers if not w.dead]
        self._load_into(live, [])

    def _ask_all(self, workers: list[_Worker], message: Message, doing: str) -> list[Any]:
        """Send ``message`` to every worker, then wait for each one's reply (raises
        `PoolError` naming what they were ``doing``)."""
        for w in workers:
            try:
                w.conn.send(message)
            except OSError as exc:
                raise PoolError(f"a worker process is gone ({exc})") from exc
        replies = []
        for w in workers:
            try:
                replies.append(w.replies.get(timeout=LOAD_TIMEOUT_S))
            except queue.Empty:
                raise PoolError(
                    f"a worker process did not {doing} in {LOAD_TIMEOUT_S:g} s"
                ) from None
        return replies

    def _load_into(self, workers: list[_Worker], profiles_json: list[str]) -> dict[str, float]:
        times: dict[str, float] = {}
        for reply in self._ask_all(workers, ("load", profiles_json), "load the models"):
            if isinstance(reply, str):  # why the worker died
                raise PoolError(reply)
            error, took = reply
            if error:
                raise PoolError(error)
            for model, ms in took.items():
                times[model] = max(times.get(model, 0.0), ms)
        return times

    def probe(self, profiles_json: list[str], calls: int) -> list[Any]:
        """Every worker times the speed probe of these models at the same time (loading
        them first); one `planner.speed.Probed` per worker. Raises `PoolError`."""
        self._replace_dead()
        with self._lock:
            live = [w for w in self.workers if not w.dead]
        replies = self._ask_all(live, ("probe", profiles_json, calls), "finish the speed probes")
        for reply in replies:
            if not isinstance(reply, dict):  # why the worker died
                raise PoolError(str(reply))
        return replies

    def _reader(self, w: _Worker) -> None:
        while True:
            try:
                msg = w.conn.recv()
            except (EOFError, OSError):
                with self._lock:
                    key, w.key, w.dead = w.key, None, True
                    closing = self.closed
                w.process.join(timeout=1.0)
                code = w.process.exitcode
                if key is None:  # it was loading (or idle): whoever waits for a reply learns why
                    w.replies.put(
                        f"a worker process died while loading models (exit code {code}); a "
                        "script that runs plans must guard its entry point with `if __name__ "
                        "== '__main__':`, as multiprocessing requires, or use pool 'thread'"
                    )
                elif not closing:
                    self.on_done(
                        key, False, None, f"the worker process died (exit code {code})", {}
                    )
                return
            if msg[0] in ("loaded", "probed"):
                w.replies.put(msg[1])
                continue
            _, key, ok, out, error, marks = msg
            with self._lock:
                w.key = None
            self.on_done(key, ok, out, error, marks)

    def _replace(self, w: _Worker) -> None:
        """Kill ``w`` (if alive) and start a loaded replacement."""
        with contextlib.suppress(Exception):
            w.process.kill()
        with contextlib.suppress(Exception):
            w.conn.close()
        fresh = self._spawn(w.index)
        if self.profiles:
            self._load_into([fresh], self.profiles)
        with self._lock:
            self.workers[self.workers.index(w)] = fresh

    def _replace_dead(self) -> None:
        with self._lock:
            dead = [w for w in self.workers if w.dead and w.key is None]
        for w in dead:
            self._replace(w)

    def submit(self, key: str, profile_json: str, args: dict[str, Any]) -> None:
        """Run one node attempt on an idle worker (the caller never has more in flight than
        ``size``); a dead worker is replaced first."""
        self._replace_dead()
        with self._lock:
            idle = next((w for w in self.workers if w.key is None and not w.dead), None)
            if idle is None:
                raise PoolError("no idle worker process (more attempts in flight than workers)")
            idle.key = key
        try:
            idle.conn.send(("run", key, profile_json, args))
        except Exception as exc:
            with self._lock:
                idle.key = None
            raise PoolError(f"cannot send the node's arguments to a worker: {exc}") from exc

    def abandon(self, key: str) -> None:
        """The attempt ``key`` timed out: kill its worker and start a replacement."""
        with self._lock:
            w = next((w for w in self.workers if w.key == key), None)
            if w is None:
                return
            w.key, w.dead = None, True
        self._replace(w)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            workers = list(self.workers)
        for w in workers:
            with contextlib.suppress(Exception):
                w.conn.send(None)
        for w in workers:
            w.process.join(timeout=2.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=2.0)
            with contextlib.suppress(Exception):
                w.conn.close()
