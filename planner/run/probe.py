"""The speed probe of a model here and now (`planner.speed` scales predictions by it; worker
processes run it in `planner.run.procpool`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from profiles import ModelProfile


def _probe_then(profile: ModelProfile) -> tuple[float, int] | None:
    extra = (profile.provenance.model_extra or {}) if profile.provenance else {}
    then = extra.get("latency_probe_ms")
    if not isinstance(then, int | float) or then <= 0:
        return None
    items = extra.get("latency_probe_items", 5)
    return float(then), int(items) if isinstance(items, int) and items > 0 else 5


_EVALS: dict[tuple[str, int], Any] = {}


def probe_one(
    runner: Any, profile: ModelProfile, calls: int, threads: int | None, warmup: int
) -> float:
    """The speed probe of one loaded model here and now (median ms of ``calls`` isolated
    calls on the inputs its profile's probe used)."""
    from profiles.profiler import ProfileSettings, speed_probe

    found = _probe_then(profile)
    items = found[1] if found else 5
    key = (profile.task, items)
    if key not in _EVALS:
        try:
            from profiles.zoo import task_eval
        except ImportError:  # no zoo extra: only a row's profile_inputs can be probed
            _EVALS[key] = None
        else:
            # the first `items` inputs of the evaluation set, as the profiler probed them
            # (every zoo evaluation set is built so that a shorter one is its prefix)
            _EVALS[key] = task_eval(profile.task, items)
    settings = ProfileSettings(threads=threads or 1, warmup=warmup, probe_items=items, repeats=1)
    row = {"id": profile.id, "task": profile.task, "adapter": profile.adapter}
    return speed_probe(runner, row, _EVALS[key], settings, calls)


#: ``{(model id, task): median ms of its probe, or why it failed}``
Probed = dict[tuple[str, str], float | str]


def probe_models(
    profiles: list[ModelProfile],
    load: Callable[[ModelProfile], Any],
    calls: int,
    threads: int | None,
    warmup: int,
) -> Probed:
    """`probe_one` for each model, loaded by ``load``, one after the other in this process;
    a model that fails to load or to run gets the error instead of a time."""
    out: Probed = {}
    for profile in profiles:
        try:
            out[(profile.id, profile.task)] = probe_one(
                load(profile), profile, calls, threads, warmup
            )
        except Exception as exc:  # the run's own validation reports load errors
            out[(profile.id, profile.task)] = f"{type(exc).__name__}: {exc}"
    return out
