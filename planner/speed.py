"""The speed check: scale a problem's latency predictions to how fast this machine runs now.

A profile's ``latency_ms`` was measured when the catalog was made. A shared or virtual
machine's speed drifts by tens of percent over minutes (on the 2-core dev VM, two profiles of
the whole zoo taken back to back differed by 4-50%, in the same direction for nearly every
model), which is more than a 25% agreement target allows. The profiler therefore also records
a **speed probe** per model (`profiles.profiler`): the median of isolated calls on the first
few evaluation inputs, ``latency_probe_ms``. Just before solving, `speed_check` repeats those
calls for every candidate of the graph's tasks and multiplies the candidate's ``latency_ms``
by ``now / then``: the same inputs, timed the same way, so the ratio is the machine's speed
for that model today, not a difference of inputs.

Only latency is scaled: energy stays what the catalog says (the CPU-time estimate follows CPU
time, which a busy host's steal time does not add to). A candidate is left as it is, and
listed as skipped with the reason, when its profile has no probe (published or hand-typed
numbers, or an older catalog), when it runs elsewhere (an ``http`` endpoint), or when it
fails to load (the run's own validation then names the failure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from planner.problem import Problem, problem_from_data
from planner.run.probe import Probed, _probe_then, probe_models
from profiles import ModelProfile

#: Adapter kinds whose models run on this machine (others are remote: not probed).
LOCAL_KINDS = ("zoo", "python")


class ModelSpeed(BaseModel):
    """One candidate's probe: then (in its profile) and now."""

    model_config = ConfigDict(frozen=True)

    model: str
    task: str
    probe_then_ms: float = Field(description="The profile's latency_probe_ms.")
    probe_now_ms: float = Field(description="The same calls timed just now.")
    factor: float = Field(description="probe_now_ms / probe_then_ms; latency_ms was scaled by it.")
    latency_catalog_ms: float = Field(description="latency_ms before scaling.")
    latency_ms: float = Field(description="latency_ms after scaling (what the plan predicts).")


class SpeedCheck(BaseModel):
    """What `speed_check` measured and changed."""

    model_config = ConfigDict(frozen=True)

    models: list[ModelSpeed] = Field(default_factory=list)
    skipped: list[str] = Field(
        default_factory=list, description="'model (task): why it was not probed'."
    )
    calls: int = Field(description="Timed calls per probed model.")
    probed_in: str = Field(
        default="this process",
        description="Where the probes ran: 'this process' (a thread pool runs the nodes "
        "there) or 'N worker processes' (all at once, like a parallel run's workers).",
    )
    seconds: float = Field(description="Wall time of the whole check, loading included.")

    def factor(self, model: str, task: str) -> float | None:
        for m in self.models:
            if m.model == model and m.task == task:
                return m.factor
        return None


class ProbeFn(Protocol):
    """``probe(profiles) -> {(id, task): median ms, or why it failed}``; ``where`` says
    where the probes run."""

    where: str

    def __call__(self, profiles: list[ModelProfile]) -> Probed: ...


@dataclass
class _Probe:
    where: str
    fn: Callable[[list[ModelProfile]], Probed]

    def __call__(self, profiles: list[ModelProfile]) -> Probed:
        return self.fn(profiles)


def probe_here(
    load: Callable[[ModelProfile], Any], calls: int, threads: int | None, warmup: int
) -> ProbeFn:
    """Probes run one after the other in this process (where a thread pool runs nodes)."""

    def probe(profiles: list[ModelProfile]) -> Probed:
        return probe_models(profiles, load, calls, threads, warmup)

    return _Probe("this process", probe)


def probe_in_workers(options_json: str, workers: int, calls: int) -> ProbeFn:
    """Probes run in ``workers`` worker processes like the ones that run a parallel plan's
    nodes (`planner.run.procpool`), all at once, so each probe meets the same neighbours a node
    meets; a model's time is the median over the workers."""

    def probe(profiles: list[ModelProfile]) -> Probed:
        import statistics

        from planner.run.procpool import PoolError, ProcessPool

        try:
            pool = ProcessPool(workers, options_json, lambda *args: None)
            try:
                replies = pool.probe([p.model_dump_json() for p in profiles], calls)
            finally:
                pool.close()
        except PoolError as exc:  # the run meets the same failure and reports it
            return {(p.id, p.task): f"the worker processes failed: {exc}" for p in profiles}
        out: Probed = {}
        for profile in profiles:
            key = (profile.id, profile.task)
            got = [r[key] for r in replies if key in r]
            times = [t for t in got if isinstance(t, float)]
            errors = [e for e in got if isinstance(e, str)]
            out[key] = (
                statistics.median(times)
                if times
                else (errors[0] if errors else "no worker answered")
            )
        return out

    return _Probe(f"{workers} worker process{'es' if workers > 1 else ''}", probe)


def _eligible(problem: Problem) -> tuple[list[ModelProfile], list[str]]:
    """The candidates of the graph's tasks that can be probed, and why the others cannot."""
    tasks = {node.task for node in problem.graph.nodes}
    skipped: list[str] = []
    todo: list[ModelProfile] = []
    for profile in problem.candidates:
        if profile.task not in tasks:
            continue
        name = f"{profile.id} ({profile.task})"
        kind = (profile.adapter or {}).get("kind")
        if _probe_then(profile) is None:
            skipped.append(f"{name}: its profile has no speed probe (latency_probe_ms)")
        elif kind not in LOCAL_KINDS:
            skipped.append(f"{name}: a {kind!r} adapter does not run on this machine")
        else:
            todo.append(profile)
    return todo, skipped


def _scaled(
    problem: Problem,
    measured: Probed,
    skipped: list[str],
    probe: ProbeFn,
    calls: int,
    t0: float,
) -> tuple[Problem, SpeedCheck]:
    """``problem`` with the probed candidates' latency scaled, and the check's record."""
    speeds: list[ModelSpeed] = []
    failed: list[str] = []
    for profile in problem.candidates:
        now = measured.get((profile.id, profile.task))
        if now is None:
            continue
        if isinstance(now, str):
            failed.append(f"{profile.id} ({profile.task}): the probe failed ({now})")
            continue
        then = _probe_then(profile)
        assert then is not None
        factor = now / then[0]
        speeds.append(
            ModelSpeed(
                model=profile.id,
                task=profile.task,
                probe_then_ms=then[0],
                probe_now_ms=round(now, 4),
                factor=round(factor, 4),
                latency_catalog_ms=profile.latency_ms,
                latency_ms=round(profile.latency_ms * factor, 4),
            )
        )
    check = SpeedCheck(
        models=speeds,
        skipped=[*skipped, *failed],
        calls=calls,
        probed_in=probe.where,
        seconds=round(time.perf_counter() - t0, 3),
    )
    if not speeds:
        return problem, check
    scaled = {(m.model, m.task): m for m in speeds}
    data = problem.model_dump(mode="json", exclude_none=True)
    for row in data["models"]:
        found = scaled.get((row["id"], row["task"]))
        if found is None:
            continue
        row["latency_ms"] = found.latency_ms
        row.setdefault("provenance", {})["speed_check"] = {
            "factor": found.factor,
            "latency_catalog_ms": found.latency_catalog_ms,
            "probe_now_ms": found.probe_now_ms,
        }
    data.setdefault("metadata", {})["speed_check"] = check.model_dump(mode="json")
    return problem_from_data(data), check


def speed_check(
    problem: Problem,
    probe: ProbeFn,
    calls: int,
    solve: Callable[[Problem], Any] | None = None,
) -> tuple[Problem, SpeedCheck]:
    """Probe the candidates of the graph's tasks that have a profile-time probe and run on
    this machine, with ``probe`` (`probe_here` or `probe_in_workers`), and return the
    problem with their ``latency_ms`` scaled by ``now / then``, plus what was measured.

    Without ``solve`` every such candidate is probed. With ``solve`` (problem -> `Plan`) only
    the models a plan would use are: solve, probe the plan's models not probed yet, scale,
    solve again, until the plan's models are all probed (usually one round). That loads and
    times a handful of models instead of every candidate; candidates never chosen keep the
    catalog's numbers, which only matters if they were close to being chosen."""
    t0 = time.perf_counter()
    todo, skipped = _eligible(problem)
    if solve is None:
        return _scaled(problem, probe(todo) if todo else {}, skipped, probe, calls, t0)
    eligible = {(p.id, p.task): p for p in todo}
    measured: Probed = {}
    current, check = problem, None
    while True:
        plan = solve(current)
        if not plan.has_plan:
            break
        tasks = {node.id: node.task for node in current.graph.nodes}
        want = [
            eligible[key]
            for key in sorted({(m, tasks[n]) for n, m in plan.assignment.items()})
            if key in eligible and key not in measured
        ]
        if not want:
            break
        measured.update(probe(want))
        current, check = _scaled(problem, measured, skipped, probe, calls, t0)
    if check is None:
        current, check = _scaled(problem, measured, skipped, probe, calls, t0)
    return current, check
