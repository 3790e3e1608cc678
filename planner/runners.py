"""From a `ModelProfile` to something that runs: the `Runner` protocol and `RunnerFactory`.

A runner has ``load()`` (idempotent; heavy work such as reading weights happens here, outside
the measured inference) and ``run(inputs) -> outputs`` with JSON-able dicts on both sides, so
one node's output can feed the next node and be written to the run directory.

A profile says how to run it in its ``adapter`` dict, by ``kind``:

Every adapter kind (``python``, ``zoo``, ``http``, and whatever kinds ``profiles.adapters``
registers) is built by ``profiles.adapters.load_adapter``, which owns them: one set of fields
per kind, the same for the profiler and for runs. The `Runner` protocol is
``profiles.adapters.Runner`` (re-exported here). An application may add builders for its own
kinds (`RunnerFactory(builders=...)`); those runners exist in this process only.

The factory caches one runner per model id, so a model used by several nodes is loaded once.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from planner.errors import PlannerError
from profiles import ModelProfile
from profiles.adapters import Runner

__all__ = ["Runner", "RunnerError", "RunnerFactory", "attempt", "call_runner", "warm_up"]


class RunnerError(PlannerError, RuntimeError):
    """A model cannot be found, loaded or called (names the model and how to fix it)."""


RunnerBuilder = Callable[[ModelProfile, dict[str, Any]], Runner]


def _adapter_runner(profile: ModelProfile, adapter: dict[str, Any]) -> Runner:
    """Delegate to the profiles package's adapters (zoo models, HTTP endpoints)."""
    try:
        adapters = importlib.import_module("profiles.adapters")
    except ImportError as exc:
        raise RunnerError(
            f"model {profile.id!r}: adapter kind {adapter.get('kind')!r} needs the built-in "
            f"model zoo's adapters (profiles.adapters), which are not available ({exc})"
        ) from exc
    try:
        runner: Runner = adapters.load_adapter(profile)
    except PlannerError:
        raise
    except (ValueError, LookupError, RuntimeError, ImportError) as exc:
        raise RunnerError(f"model {profile.id!r}: {exc}") from exc
    return runner


BUILTIN_BUILDERS: dict[str, RunnerBuilder] = {}


class RunnerFactory:
    """Maps profiles to runners, one cached runner per model id (thread-safe).

    ``builders`` maps an adapter ``kind`` to a constructor; kinds it does not know go to the
    zoo. ``overrides`` maps a model id to a ready runner (tests, embedding applications).
    """

    def __init__(
        self,
        builders: dict[str, RunnerBuilder] | None = None,
        overrides: dict[str, Runner] | None = None,
    ) -> None:
        self.builders = {**BUILTIN_BUILDERS, **(builders or {})}
        self._runners: dict[str, Runner] = dict(overrides or {})
        #: Another process can rebuild these runners from the profiles alone (no custom
        #: builders or ready-made runners, which only exist in this process).
        self.portable = not builders and not overrides
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def runner_for(self, profile: ModelProfile) -> Runner:
        key = json.dumps(profile.adapter or {}, sort_keys=True, default=str)
        with self._lock:
            runner = self._runners.get(profile.id)
            if runner is not None and self._keys.get(profile.id, key) == key:
                return runner
            runner = self._build(profile)
            self._runners[profile.id] = runner
            self._keys[profile.id] = key
            return runner

    def _build(self, profile: ModelProfile) -> Runner:
        adapter = profile.adapter
        if not adapter:
            raise RunnerError(
                f"model {profile.id!r} ({profile.task}) has no 'adapter', so it cannot be run; "
                'give it one, e.g. {"kind": "python", "target": "mypkg.models:caption"}'
            )
        kind = adapter.get("kind")
        builder = self.builders.get(str(kind)) if kind is not None else None
        if builder is None:
            return _adapter_runner(profile, adapter)
        return builder(profile, adapter)

    def load(self, profile: ModelProfile) -> Runner:
        """The runner of ``profile``, loaded (errors name the model)."""
        runner = self.runner_for(profile)
        try:
            runner.load()
        except PlannerError:
            raise
        except Exception as exc:
            raise RunnerError(
                f"model {profile.id!r} ({profile.task}) failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        return runner

    def release(self, model_ids: set[str]) -> None:
        """Forget the runners of ``model_ids`` (their memory can be reclaimed)."""
        with self._lock:
            for model_id in model_ids:
                self._runners.pop(model_id, None)
                self._keys.pop(model_id, None)

    def loaded_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._runners)


# --------------------------------------------------------------------------- measured calls

Hook = Callable[[], None]


def inference_parts(
    runner: Any,
) -> (
    tuple[
        Callable[[dict[str, Any]], Any],
        Callable[[Any], Any],
        Callable[[Any, dict[str, Any]], dict[str, Any]],
    ]
    | None
):
    """(decode, predict, encode) when ``runner`` is a zoo model, whose profile measures the
    native ``predict`` alone; None for other runners (their profile measures ``run``)."""
    predict = getattr(runner, "predict", None)
    task = getattr(runner, "task", None)
    if predict is None or not isinstance(task, str):
        return None
    try:
        registry = importlib.import_module("profiles.zoo.registry")
    except ImportError:
        return None
    decode = getattr(registry, "decode_inputs", None)
    encode = getattr(registry, "encode_output", None)
    if decode is None or encode is None:
        return None
    return (
        lambda inputs: decode(task, inputs),
        predict,
        lambda out, inputs: encode(task, out, inputs),
    )


def call_runner(runner: Runner, inputs: dict[str, Any], begin: Hook, end: Hook) -> Any:
    """Run one inference, calling ``begin``/``end`` around exactly what the model's profile
    measured: the native ``predict`` for zoo models (decoding the JSON inputs and encoding
    the output happen outside), the whole ``run`` otherwise."""
    parts = inference_parts(runner)
    if parts is None:
        begin()
        try:
            return runner.run(inputs)
        finally:
            end()
    decode, predict, encode = parts
    runner.load()
    native = decode(inputs)
    begin()
    try:
        prediction = predict(native)
    finally:
        end()
    return encode(prediction, inputs)


class Meter(Protocol):
    """What `attempt` needs of `planner.measure.Accountant`."""

    def begin(self, key: str) -> None: ...

    def end(self, key: str) -> tuple[float, float]: ...


def attempt(
    runner: Runner | Callable[[], Runner],
    inputs: dict[str, Any],
    meter: Meter,
    key: str,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict[str, Any] | None, str | None, dict[str, float]]:
    """One measured node attempt; never raises. Returns ``(output, error, marks)``: the
    output dict (None on failure), the error as ``"Type: message"``, and the ``clock``
    readings ``wall_start``/``wall_end`` around everything and ``start``/``end`` around the
    inference (`call_runner`), with the ``energy`` and ``peak`` memory ``meter`` attributes
    to it. ``runner`` may be a callable that returns it (its errors count as the attempt's)."""
    marks: dict[str, float] = {"wall_start": clock()}

    def begin() -> None:
        meter.begin(key)
        marks["start"] = clock()

    def end() -> None:
        marks["end"] = clock()
        marks["energy"], marks["peak"] = meter.end(key)

    out: dict[str, Any] | None = None
    error: str | None = None
    try:
        ready: Runner = runner if isinstance(runner, Runner) else runner()
        result = call_runner(ready, inputs, begin, end)
        if not isinstance(result, dict):
            raise TypeError(f"the model returned {type(result).__name__}, not a dict")
        out = result
    except BaseException as exc:  # the node fails; the caller decides what happens next
        error = f"{type(exc).__name__}: {exc}"
    marks["wall_end"] = clock()
    return out, error, marks


def warm_up(runner: Runner, task: str, times: int) -> int:
    """Warm a zoo model up like the profiler does (``times`` inferences on the first input of
    the zoo's evaluation set for ``task``); returns how many ran (0 for other runners)."""
    if times <= 0 or inference_parts(runner) is None:
        return 0
    try:
        zoo = importlib.import_module("profiles.zoo")
        sample = zoo.task_eval(task, limit=1)
    except (ImportError, AttributeError, ValueError, RuntimeError):
        return 0
    if sample is None or not len(sample):
        return 0
    predict = getattr(runner, "predict")  # noqa: B009 - checked by inference_parts
    for _ in range(times):
        predict(sample.inputs[0])
    return times


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def limited_threads(n: int | None) -> Iterator[None]:
    """Torch and BLAS/OpenMP thread pools limited to ``n`` during a run (the zoo's profiles
    are measured with 1 thread); ``None`` leaves them alone. Imports nothing heavy: torch is
    limited only when it is already imported (a process that loads a torch model later reads
    the environment variables set here, and the workers that load one set it themselves)."""
    if n is None:
        yield
        return
    env = {var: os.environ.get(var) for var in THREAD_VARS}
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    stack = contextlib.ExitStack()
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        stack.enter_context(threadpool_limits(limits=n))
    torch = sys.modules.get("torch")
    if torch is not None and getattr(getattr(torch, "__spec__", None), "_initializing", False):
        torch = None  # another thread is importing it right now: its functions are not there yet
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None and before != n:
        torch.set_num_threads(n)
    try:
        with stack:
            yield
    finally:
        if torch is not None and before is not None and torch.get_num_threads() != before:
            torch.set_num_threads(before)
        for var, value in env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
