"""The profiler: measures each candidate's quality, latency (median and p95, batch 1, after
warm-up), energy per inference, peak memory and load time on this machine, and writes rows
with the same fields as `ModelProfile` plus a ``provenance`` that says how.

Per candidate, in this order:

1. the libraries it needs are imported and garbage is collected, then the resident memory
   (RSS) is read as the baseline;
2. ``prepare()`` (training and caching, once per machine; not timed) and ``load()`` (timed:
   ``load_ms``);
3. ``warmup`` inferences on the first evaluation input (not measured);
4. one pass over the evaluation set: the predictions give the quality;
5. timed inferences (batch 1, garbage collector paused) cycling through the evaluation
   inputs, at least ``repeats`` of them and at least ``min_time_s`` seconds in all, split in
   ``rounds`` rounds interleaved over all the candidates of one run: latency
   median (the row's ``latency_ms``) and p95; energy per inference = the sum of the meter's
   differences around each call / the number of calls.

   By default each timed call is **isolated**, the way a plan calls a model: once, after
   its worker waited for upstream nodes. Before every timed call the profiler sweeps a
   buffer larger than the CPU caches (``evict_mb``) and sleeps ``gap_s`` (10 ms, a typical
   upstream node), so the call starts with cold caches on a CPU that idled. Both matter on
   the 2-core dev VM: after a sweep, the median of sim-tfidf was 0.95-1.0 ms with a 2 ms
   pause and 1.3-1.8 ms with 10-100 ms (0.7 ms back to back); digits-mlp-16 went from
   0.05 ms back to back to 0.32-0.37 ms (2 ms pause) and 0.52-0.58 ms (10-100 ms). A short
   back-to-back burst per round is still timed and kept as ``latency_warm_median_ms`` in
   the provenance (what a model serving a stream of requests would see).
   ``isolated=False`` profiles back-to-back calls only (the steady state).
6. the **speed probe** (isolated timing only): after each round's timed calls, isolated calls
   on the first ``probe_items`` evaluation inputs, ``probe_calls`` in all; their median is
   ``latency_probe_ms`` in the provenance. `speed_probe` repeats exactly these calls later
   (``planner run``'s speed check): the ratio of the two medians says how much faster or
   slower this machine runs the model now than when it was profiled, on the same inputs.

``memory_mb`` is the peak RSS read after loading and after every evaluation inference, minus
the
baseline: memory the model added, not counting shared libraries already imported. Torch and
BLAS run with ``threads`` threads (default 1) so batch-1 latencies are reproducible on a
shared machine."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import importlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiles.energy import EnergyMeter
from profiles.hardware import (
    MMAP_THRESHOLD_MB,
    RETAIN_FREE_MB,
    hardware_summary,
    library_versions,
    pin_to_core,
    release_freed_memory,
    restore_cores,
    retain_freed_memory,
    rss_mb,
)
from profiles.schema import ModelProfile

ProgressFn = Callable[[str, int, int], None]


class ProfileError(ValueError):
    """A candidate cannot be profiled; the message names it."""


@dataclass(frozen=True)
class ProfileSettings:
    """``repeats`` timed inferences at least, and more until ``min_time_s`` of timed calls
    (at most ``max_repeats``): sub-millisecond models get thousands of samples, so their
    medians are stable on a busy machine. ``warmup`` calls at least, and more until
    ``warmup_s`` seconds."""

    repeats: int = 30
    warmup: int = 3
    eval_limit: int | None = None
    threads: int = 1
    min_time_s: float = 1.0
    warmup_s: float = 0.2
    max_repeats: int = 20000
    rounds: int = 3
    isolated: bool = True
    gap_s: float = 0.01
    evict_mb: float = 16.0
    warm_calls: int = 50
    probe_items: int = 5
    probe_calls: int = 15
    pin_core: bool = True

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ProfileError(f"repeats must be >= 1, got {self.repeats}")
        if self.warmup < 0:
            raise ProfileError(f"warmup must be >= 0, got {self.warmup}")
        if self.eval_limit is not None and self.eval_limit < 1:
            raise ProfileError(f"the evaluation limit must be >= 1, got {self.eval_limit}")
        if self.threads < 1:
            raise ProfileError(f"threads must be >= 1, got {self.threads}")
        if self.min_time_s < 0 or self.warmup_s < 0:
            raise ProfileError("min_time_s and warmup_s must be >= 0")
        if self.rounds < 1:
            raise ProfileError(f"rounds must be >= 1, got {self.rounds}")
        if self.gap_s < 0 or self.evict_mb < 0 or self.warm_calls < 0:
            raise ProfileError("gap_s, evict_mb and warm_calls must be >= 0")
        if self.probe_items < 1 or self.probe_calls < 0:
            raise ProfileError("probe_items must be >= 1 and probe_calls >= 0")
        if self.max_repeats < self.repeats:
            raise ProfileError(f"max_repeats ({self.max_repeats}) < repeats ({self.repeats})")


@contextlib.contextmanager
def on_one_core(pin: bool) -> Iterator[None]:
    """This process on one core while measuring (``ProfileSettings.pin_core``), as the run's
    worker processes are, then back on all the cores it had."""
    before = pin_to_core(0) if pin else None
    try:
        yield
    finally:
        restore_cores(before)


@contextlib.contextmanager
def limited_threads(n: int) -> Iterator[None]:
    """Torch intra-op threads and BLAS/OpenMP pools limited to ``n`` (restored after)."""
    stack = contextlib.ExitStack()
    try:
        from threadpoolctl import threadpool_limits

        stack.enter_context(threadpool_limits(limits=n))
    except ImportError:
        pass
    torch = None
    try:
        import torch as _torch

        torch = _torch
        before = torch.get_num_threads()
        torch.set_num_threads(n)
    except ImportError:
        pass
    try:
        with stack:
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in [0, 100])."""
    data = sorted(values)
    if not data:
        raise ValueError("no values")
    k = (len(data) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def prime_libraries(modules: Sequence[str]) -> None:
    """Import the libraries a model needs and run one tiny operation of each heavy runtime,
    so their one-time allocations are not counted as the first model's memory."""
    for mod in modules:
        importlib.import_module(mod)
    if any(m.split(".")[0] == "torch" for m in modules):
        import torch

        with torch.inference_mode():
            x = torch.zeros(1, 1, 8, 8)
            torch.nn.functional.conv2d(x, torch.zeros(2, 1, 3, 3), padding=1).relu().sum()
            torch.nn.functional.linear(x.flatten(1), torch.zeros(4, 64)).softmax(1)


def _measure_call(runner: Any, task_eval: Any) -> Callable[[Any], Any]:
    """The measured call: a zoo model's native predict, or run() on the JSON form for
    user adapters (whose output is read back for scoring)."""
    if hasattr(runner, "predict"):
        return runner.predict

    def call(item: Any) -> Any:
        idx, native = item
        out = runner.run(task_eval.json_inputs(idx) if task_eval is not None else native)
        return task_eval.from_json_output(out) if task_eval is not None else out

    return call


@dataclass
class _Measurement:
    """One candidate between its quality pass and its timing rounds."""

    row: dict[str, Any]
    runner: Any
    task_eval: Any
    call: Callable[[Any], Any]
    items: list[Any]
    quality: float | None
    load_ms: float
    prepare_s: float
    memory_mb: float
    warmup: int
    times: list[float]
    energy_j: float = 0.0
    warm_times: list[float] = field(default_factory=list)
    probe_times: list[float] = field(default_factory=list)
    child_cpu_s: float = 0.0


def _child_cpu(runner: Any) -> float:
    """CPU seconds the runner's child processes used so far (command-line models)."""
    value = getattr(runner, "child_cpu_s", 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


def _items(row: dict[str, Any], runner: Any, task_eval: Any) -> list[Any]:
    name = row["id"]
    example_inputs = (row.get("adapter") or {}).get("profile_inputs")
    if task_eval is not None:
        native = hasattr(runner, "predict")
        items = list(task_eval.inputs) if native else list(enumerate(task_eval.inputs))
    elif example_inputs:
        items = list(enumerate(example_inputs))
    else:
        raise ProfileError(
            f"model {name!r}: the zoo has no evaluation set for task "
            f"{row['task']!r}; give example inputs in the row's adapter "
            "('profile_inputs': [{...}, ...])"
        )
    if not items:
        raise ProfileError(f"model {name!r}: the evaluation set is empty")
    return items


def _load_and_score(
    runner: Any,
    row: dict[str, Any],
    task_eval: Any,
    settings: ProfileSettings,
    progress: ProgressFn | None,
) -> _Measurement:
    """Steps 1-4: baseline memory, prepare, load, warm-up, quality pass."""
    name = row["id"]
    items = _items(row, runner, task_eval)
    n = len(items)
    call = _measure_call(runner, task_eval)
    prime_libraries(getattr(runner, "requires", ()))
    gc.collect()
    release_freed_memory()  # the baseline counts live memory only (see the function)
    base = rss_mb()
    peak = base
    t0 = time.perf_counter()
    runner.prepare()
    prepare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    runner.load()
    load_ms = (time.perf_counter() - t0) * 1e3
    peak = max(peak, rss_mb())
    t_end = time.perf_counter() + settings.warmup_s
    w = 0
    while w < settings.warmup or time.perf_counter() < t_end:
        call(items[w % n])
        w += 1
    predictions = []
    for i, item in enumerate(items):
        predictions.append(call(item))
        peak = max(peak, rss_mb())
        if progress and (i % 10 == 0 or i == n - 1):
            progress(name, i + 1, n)
    quality = task_eval.score(predictions) if task_eval is not None else None
    return _Measurement(
        row,
        runner,
        task_eval,
        call,
        items,
        quality,
        load_ms,
        prepare_s,
        max(peak - base, 0.0),
        w,
        [],
    )


class CacheEvictor:
    """Sweeps a buffer larger than the CPU caches, then sleeps: the state a model meets when
    a plan calls it once, after other nodes ran (see the module docstring)."""

    def __init__(self, evict_mb: float, gap_s: float) -> None:
        import numpy as np

        self.buffer = np.ones(max(int(evict_mb * 2**20 / 8), 1))
        self.gap_s = gap_s

    def __call__(self) -> None:
        self.buffer.sum()
        if self.gap_s:
            time.sleep(self.gap_s)


def _time_calls(
    m: _Measurement,
    meter: EnergyMeter,
    min_calls: int,
    min_time_s: float,
    max_calls: int,
    evict: Callable[[], None] | None = None,
    warm_calls: int = 0,
) -> None:
    """Step 5 (one round): timed batch-1 calls, garbage collector paused. With ``evict``
    each call is isolated (``evict()`` runs before it, untimed) and ``min_time_s`` counts
    wall time, evictions included; without it calls run back to back and ``min_time_s``
    counts the timed calls only. ``warm_calls`` back-to-back calls are then timed into
    ``m.warm_times``."""
    n = len(m.items)
    spent = 0.0
    r = 0
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: no collector pauses inside timed calls
    started = time.perf_counter()
    try:
        while r < max_calls and (r < min_calls or spent < min_time_s):
            item = m.items[len(m.times) % n]
            if evict is not None:
                evict()
            c0 = _child_cpu(m.runner)
            e0 = meter.read_j()
            t0 = time.perf_counter()
            m.call(item)
            t1 = time.perf_counter()
            m.energy_j += meter.read_j() - e0
            m.child_cpu_s += _child_cpu(m.runner) - c0
            m.times.append((t1 - t0) * 1e3)
            spent = t1 - started if evict is not None else spent + (t1 - t0)
            r += 1
        for k in range(warm_calls):
            item = m.items[k % n]
            t0 = time.perf_counter()
            m.call(item)
            m.warm_times.append((time.perf_counter() - t0) * 1e3)
    finally:
        if gc_was_enabled:
            gc.enable()


def _probe_calls(
    call: Callable[[Any], Any],
    items: Sequence[Any],
    settings: ProfileSettings,
    calls: int,
    evict: Callable[[], None],
    into: list[float],
) -> None:
    """``calls`` isolated, timed calls cycling through the first ``probe_items`` inputs
    (garbage collector paused), appended to ``into`` in ms: the speed probe."""
    k = min(settings.probe_items, len(items))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(calls):
            item = items[len(into) % k]
            evict()
            t0 = time.perf_counter()
            call(item)
            into.append((time.perf_counter() - t0) * 1e3)
    finally:
        if gc_was_enabled:
            gc.enable()


def speed_probe(
    runner: Any,
    row: dict[str, Any],
    task_eval: Any,
    settings: ProfileSettings,
    calls: int,
) -> float:
    """The median (ms) of ``calls`` isolated calls of a loaded ``runner`` on the inputs the
    profiler's probe used (the first ``probe_items`` of the task's evaluation set, or the
    row's ``profile_inputs``), after ``settings.warmup`` warm-up calls: compare it with the
    profile's ``latency_probe_ms`` to see how fast this machine runs the model now."""
    if calls < 1:
        raise ProfileError(f"a speed probe needs at least 1 call, got {calls}")
    retain_freed_memory()
    items = _items(row, runner, task_eval)[: settings.probe_items]
    call = _measure_call(runner, task_eval)
    times: list[float] = []
    with limited_threads(settings.threads), on_one_core(settings.pin_core):
        for w in range(settings.warmup):
            call(items[w % len(items)])
        _probe_calls(
            call, items, settings, calls, CacheEvictor(settings.evict_mb, settings.gap_s), times
        )
    return statistics.median(times)


def _timing(settings: ProfileSettings, rounds: int = 1) -> dict[str, Any]:
    """The keyword arguments of `_time_calls` that ``settings`` asks for, per round."""
    if not settings.isolated:
        return {}
    return {
        "evict": CacheEvictor(settings.evict_mb, settings.gap_s),
        "warm_calls": -(-settings.warm_calls // rounds),
    }


def _allocator() -> str:
    if retain_freed_memory():
        return (
            f"glibc, freed memory retained (mmap threshold {MMAP_THRESHOLD_MB} MB, trim "
            f"threshold {RETAIN_FREE_MB} MB)"
        )
    return "the C library's defaults"


def _finish(m: _Measurement, meter: EnergyMeter, settings: ProfileSettings) -> ModelProfile:
    row, times, task_eval = m.row, m.times, m.task_eval
    name = row["id"]
    repeats = len(times)
    median = statistics.median(times)
    accuracy = m.quality if m.quality is not None else row.get("accuracy")
    if accuracy is None:
        raise ProfileError(
            f"model {name!r}: no evaluation set for {row['task']!r} and no "
            "'accuracy' in the row to keep"
        )
    desc = meter.describe()
    energy_j = m.energy_j
    energy_note = desc.get("energy_note")
    if m.child_cpu_s > 0 and "watts_per_core" in desc:
        # this process's CPU time misses the programs the model runs: add theirs
        energy_j += m.child_cpu_s * float(desc["watts_per_core"])
        energy_note = (
            f"{energy_note}; plus the CPU time of the model's child processes (os.wait4 "
            f"rusage, {m.child_cpu_s / repeats * 1e3:.2f} ms per call) x the same watts"
        )
    provenance: dict[str, Any] = {
        "source": "measured",
        "hardware": hardware_summary(),
        "energy_source": desc["energy_source"],
        "energy_note": energy_note,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "metric": task_eval.metric if task_eval is not None else None,
        "dataset": task_eval.dataset if task_eval is not None else None,
        "accuracy_measured": m.quality is not None,
        "eval_size": len(m.items),
        "repeats": repeats,
        "rounds": settings.rounds,
        "warmup": m.warmup,
        "threads": settings.threads,
        "batch_size": 1,
        "latency_median_ms": round(median, 4),
        "latency_p95_ms": round(percentile(times, 95), 4),
        "latency_p10_ms": round(percentile(times, 10), 4),
        "latency_min_ms": round(min(times), 4),
        "latency_timing": (
            f"isolated calls (cache sweep of {settings.evict_mb:g} MB + {settings.gap_s * 1e3:g}"
            " ms pause before each)"
            if settings.isolated
            else "back-to-back calls"
        ),
        "allocator": _allocator(),
        "load_ms": round(m.load_ms, 2),
        "prepare_s": round(m.prepare_s, 3),
        "peak_memory_mb": round(m.memory_mb, 2),
        "libraries": library_versions(),
    }
    if m.warm_times:
        provenance["latency_warm_median_ms"] = round(statistics.median(m.warm_times), 4)
    if m.probe_times:
        provenance["latency_probe_ms"] = round(statistics.median(m.probe_times), 4)
        provenance["latency_probe_items"] = min(settings.probe_items, len(m.items))
        provenance["latency_probe"] = (
            f"median of {len(m.probe_times)} isolated calls on the first "
            f"{min(settings.probe_items, len(m.items))} evaluation inputs, spread over the "
            "timing rounds (the speed check of `planner run` repeats them)"
        )
    if "watts_per_core" in desc:
        provenance["watts_per_core"] = desc["watts_per_core"]
    if m.child_cpu_s > 0:
        provenance["child_cpu_ms_per_call"] = round(m.child_cpu_s / repeats * 1e3, 4)
    licence = getattr(m.runner, "licence", None) or (row.get("provenance") or {}).get("licence")
    if isinstance(licence, str):
        provenance["licence"] = licence
    if m.quality is None:
        provenance["metric"] = "accuracy kept from the catalog (no evaluation set for this task)"
    return ModelProfile.model_validate(
        {
            "id": name,
            "task": row["task"],
            "accuracy": round(max(min(float(accuracy), 1.0), 1e-6), 6),
            "latency_ms": round(median, 4),
            "energy_j": round(max(energy_j / repeats, 0.0), 8),
            "memory_mb": round(m.memory_mb, 2),
            "cost_usd": row.get("cost_usd", 0.0),
            "provenance": provenance,
            "adapter": row.get("adapter"),
        }
    )


def profile_runner(
    runner: Any,
    row: dict[str, Any],
    task_eval: Any,
    meter: EnergyMeter,
    settings: ProfileSettings,
    progress: ProgressFn | None = None,
) -> ModelProfile:
    """Measure one candidate and return its profile row (``row`` gives id, task, adapter and,
    when the task has no evaluation set, the accuracy to keep)."""
    retain_freed_memory()
    timing = _timing(settings)
    with limited_threads(settings.threads), on_one_core(settings.pin_core):
        m = _load_and_score(runner, row, task_eval, settings, progress)
        _time_calls(
            m,
            meter,
            settings.repeats,
            settings.min_time_s,
            settings.max_repeats,
            **timing,
        )
        _probe_round(m, settings, settings.probe_calls, timing)
    return _finish(m, meter, settings)


def _probe_round(
    m: _Measurement, settings: ProfileSettings, calls: int, timing: dict[str, Any]
) -> None:
    """One round's share of the speed probe (isolated timing only: ``timing`` has the
    evictor)."""
    if "evict" in timing and calls > 0:
        _probe_calls(m.call, m.items, settings, calls, timing["evict"], m.probe_times)


def zoo_rows(
    task: str | None = None, model: str | None = None, available_only: bool = False
) -> list[dict[str, Any]]:
    """Catalog rows (id, task, adapter) of the zoo models matching the filters
    (``available_only``: only those this machine can run)."""
    from profiles.zoo import MODEL_CLASSES

    rows = [
        {"id": n, "task": c.task, "adapter": {"kind": "zoo", "name": n}}
        for n, c in MODEL_CLASSES.items()
        if (task is None or c.task == task)
        and (model is None or n == model)
        and (not available_only or c.available())
    ]
    return rows


def profile_rows(
    rows: Sequence[dict[str, Any]],
    meter: EnergyMeter,
    settings: ProfileSettings,
    base_dir: str | Path | None = None,
    progress: ProgressFn | None = None,
    on_row: Callable[[ModelProfile], None] | None = None,
) -> list[ModelProfile]:
    """Profile catalog rows (zoo or user adapters); evaluation sets come from the zoo, by
    task. Each zoo model gets its own instance. Memory and quality are measured one model at
    a time; the timed calls then run in ``settings.rounds`` interleaved rounds over all the
    models (each round 1/rounds of ``repeats`` and ``min_time_s``), so a burst of load from
    other processes spreads over every model instead of skewing one."""
    from profiles.adapters import load_adapter
    from profiles.zoo import task_eval

    retain_freed_memory()
    evals: dict[str, Any] = {}
    measured: list[_Measurement] = []
    rounds = settings.rounds
    with limited_threads(settings.threads), on_one_core(settings.pin_core):
        for row in rows:
            if "id" not in row or "task" not in row:
                raise ProfileError(f"catalog row {str(row)[:80]!r} needs 'id' and 'task'")
            runner = load_adapter(row, base_dir=base_dir, fresh=True)
            task = row["task"]
            if task not in evals:
                evals[task] = task_eval(task, settings.eval_limit)
            measured.append(_load_and_score(runner, row, evals[task], settings, progress))
        per_round_calls = -(-settings.repeats // rounds)
        per_round_max = -(-settings.max_repeats // rounds)
        timing = _timing(settings, rounds)
        for k in range(rounds):
            for m in measured:
                _time_calls(
                    m,
                    meter,
                    per_round_calls,
                    settings.min_time_s / rounds,
                    per_round_max,
                    **timing,
                )
                _probe_round(m, settings, -(-settings.probe_calls // rounds), timing)
                if progress:
                    progress(f"timing round {k + 1}/{rounds}", 1, 1)
    out = []
    for m in measured:
        profile = _finish(m, meter, settings)
        out.append(profile)
        if on_row:
            on_row(profile)
    measured.clear()
    gc.collect()
    return out


def catalog_document(profiles: Sequence[ModelProfile], zoo_only: bool) -> dict[str, Any]:
    """``{"models": [...], "zoo": {version, code_hash}, "generated": {...}}``."""
    from profiles.zoo import ZOO_VERSION, code_hash

    doc: dict[str, Any] = {
        "models": [p.model_dump(mode="json", exclude_none=True) for p in profiles],
        "generated": {
            "by": "planner profile",
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hardware": hardware_summary(),
        },
    }
    if zoo_only:
        doc["zoo"] = {"version": ZOO_VERSION, "code_hash": code_hash()}
    return doc


def pareto_front(models: Sequence[ModelProfile]) -> list[ModelProfile]:
    """The rows no other row dominates (accuracy at least as high, energy and latency at
    most as high, one of them strictly better)."""

    def dominates(a: ModelProfile, b: ModelProfile) -> bool:
        no_worse = (
            a.accuracy >= b.accuracy and a.energy_j <= b.energy_j and a.latency_ms <= b.latency_ms
        )
        better = a.accuracy > b.accuracy or a.energy_j < b.energy_j or a.latency_ms < b.latency_ms
        return no_worse and better

    return [m for m in models if not any(dominates(o, m) for o in models if o is not m)]
