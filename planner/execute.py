"""Running a `Plan`: validate, execute in topological order, measure, retry, re-plan.

`LocalExecutor.execute(plan, inputs, run_dir)` returns a `Report`:

1. ``validate`` first: the plan has an assignment, every ``$input`` the nodes use is given,
   the distinct chosen models fit the memory budget, and every chosen model loads (each model
   once, reused by every node that uses it).
2. Nodes start when all their predecessors succeeded; with ``parallel`` execution up to
   ``max_workers`` run at once (in worker processes or threads, ``RunOptions.pool``), else
   one at a time in topological order.
3. Arguments: a string ``"<node-id>"`` is that node's output: the value under the same key
   when the output has it (``"image": "<denoise>"`` takes the output's ``image``), else its
   ``text`` summary, else the whole output; ``"... <node-id> ..."`` inside longer text is
   replaced by the output's ``text`` (or its JSON); ``"$name"`` is the user input ``name``
   (``"$$x"`` is the literal ``"$x"``). The input ``$run_dir`` is built in: the run's
   ``outputs`` folder, where models may write files.
4. A node that raises or exceeds its timeout is retried once; if it fails again the nodes not
   yet finished are re-planned without that model, under what is left of the budgets (energy
   minus the energy measured so far, latency minus the elapsed wall time, accuracy floor
   divided by the accuracy already committed, cost minus the cost spent). When measured cost
   runs ahead of the plan by more than ``tolerance`` on a budgeted metric, the same re-plan
   happens (energy is compared only while no node runs, because concurrent nodes share the
   counter's readings evenly until they have all finished). If no plan remains the run
   stops: finished outputs stay in the run directory and the report is ``partial``.
"""

from __future__ import annotations

import contextlib
import gc
import math
import queue
import re
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from planner.errors import PlannerError, ProblemError
from planner.io import write_atomic
from planner.machine import default_workers
from planner.measure import Accountant, EnergyCounter, hardware_info, versions
from planner.plan import Metrics, Plan
from planner.problem import BUDGET_KEYS, Problem, problem_from_data
from planner.report import Attempt, BudgetUse, Measured, NodeReport, Replan, Report
from planner.runners import (
    Runner,
    RunnerError,
    RunnerFactory,
    attempt,
    limited_threads,
    warm_up,
)
from planner.speed import SpeedCheck
from profiles import ModelProfile
from profiles.hardware import retain_freed_memory

_INPUT = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_REF = re.compile(r"<([^<>\s]+)>")


#: GIL switch interval during a run (see `_Run.go`).
SWITCH_INTERVAL_S = 0.0002


class RunError(PlannerError, RuntimeError):
    """The plan cannot be run as given (no assignment, missing inputs, model fails to load)."""


class RunOptions(BaseModel):
    """How to execute. Defaults suit a laptop; every field is a CLI flag of `planner run`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sequential: bool = Field(
        default=False, description="Run one node at a time even if the plan says parallel."
    )
    max_workers: int = Field(
        default_factory=lambda: default_workers(),
        ge=1,
        description="Nodes running at once (parallel); default: the CPU cores this process "
        "may use, at most 4 (more CPU-bound nodes than cores only slow each other down).",
    )
    pool: Literal["auto", "process", "thread"] = Field(
        default="auto",
        description="Where parallel nodes run: worker processes (no shared interpreter lock, "
        "so concurrent nodes do not slow each other down) or threads. auto: processes when "
        "more than one node may run at once and the models and energy counter are not "
        "Python objects given to the executor (those only exist in this process).",
    )
    node_timeout_s: float | None = Field(
        default=None, gt=0, description="Per attempt; default 10 s + 20 x predicted latency."
    )
    retries: int = Field(default=1, ge=0, description="Retries of a failed node (same model).")
    tolerance: float = Field(
        default=0.25,
        ge=0,
        description="Measured/predicted overrun that "
        "triggers a re-plan of a budgeted metric (0.25 = 25%).",
    )
    replan: bool = Field(default=True, description="Re-plan on failures and overruns.")
    backend: str = Field(default="cbc", description="Solver backend for re-plans.")
    time_limit_s: float | None = Field(default=None, description="Solver time limit.")
    threads: int | None = Field(
        default=1,
        ge=1,
        description="Torch/BLAS threads during the run (the zoo's profiles "
        "are measured with 1); None leaves them alone.",
    )
    pin_workers: bool = Field(
        default=True,
        description="Pin each worker process to its own CPU core (round robin over the cores "
        "this process may use), so concurrent nodes do not migrate across each other's "
        "cores (Linux; ignored elsewhere).",
    )
    pause_gc: bool = Field(
        default=True,
        description="Pause Python's cyclic garbage collector while nodes run "
        "(as the profiler does while timing); it runs again after.",
    )
    warmup: int = Field(
        default=3,
        ge=0,
        description="Warm-up inferences per zoo model at "
        "load time, as the profiler does (not measured).",
    )


# --------------------------------------------------------------------------- arguments


def _text_of(output: Any) -> str:
    import json

    if isinstance(output, dict):
        for key in ("text", "label", "output"):
            if isinstance(output.get(key), str):
                return str(output[key])
    if isinstance(output, str):
        return output
    return json.dumps(output, sort_keys=True, default=str)


def input_names(args: Any) -> set[str]:
    """User inputs (``"$name"``) used anywhere in ``args``."""
    names: set[str] = set()
    if isinstance(args, str):
        match = _INPUT.match(args)
        if match:
            names.add(match.group(1))
    elif isinstance(args, dict):
        for value in args.values():
            names |= input_names(value)
    elif isinstance(args, list | tuple):
        for value in args:
            names |= input_names(value)
    return names


def resolve_args(
    args: dict[str, Any], outputs: dict[str, dict[str, Any]], inputs: dict[str, Any]
) -> dict[str, Any]:
    """Substitute upstream outputs and user inputs into a node's ``args`` (pure)."""

    def value(key: str | None, item: Any) -> Any:
        if isinstance(item, str):
            match = _INPUT.match(item)
            if match:
                return inputs[match.group(1)]
            if item.startswith("$$"):
                return item[1:]
            whole = _REF.fullmatch(item)
            if whole and whole.group(1) in outputs:
                out = outputs[whole.group(1)]
                if isinstance(out, dict):
                    if key is not None and key in out:
                        return out[key]
                    if "text" in out:
                        return out["text"]
                return out
            return _REF.sub(
                lambda m: _text_of(outputs[m.group(1)]) if m.group(1) in outputs else m.group(0),
                item,
            )
        if isinstance(item, dict):
            return {k: value(k, v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [value(key, v) for v in item]
        return item

    return {k: value(k, v) for k, v in args.items()}


# --------------------------------------------------------------------------- re-planning


def remaining_problem(
    problem: Problem, remaining: list[str], budgets: dict[str, float], exclude: set[str]
) -> Problem:
    """``problem`` restricted to the ``remaining`` nodes (edges among them; arguments dropped,
    they only matter for execution), with ``budgets`` and without the ``exclude``d models."""
    keep = set(remaining)
    data = problem.model_dump(mode="json", exclude_none=True)
    nodes = [{"id": n.id, "task": n.task} for n in problem.graph.nodes if n.id in keep]
    edges = [[u, v] for u, v in problem.graph.dependency_edges() if u in keep and v in keep]
    data["graph"] = {"nodes": nodes, "edges": edges}
    floors = {k: v for k, v in problem.budgets.node_min_accuracy.items() if k in keep}
    data["budgets"] = {**budgets, **({"node_min_accuracy": floors} if floors else {})}
    data["models"] = [m for m in data["models"] if m["id"] not in exclude]
    return problem_from_data(data, where="the re-planned problem")


# --------------------------------------------------------------------------- state


@dataclass
class _NodeState:
    id: str
    task: str
    model: str | None
    profile: ModelProfile | None
    status: str = "pending"  # pending, running, succeeded, failed
    attempts: list[Attempt] = field(default_factory=list)
    tries_on_model: int = 0
    measured: Measured | None = None
    start_ms: float | None = None
    finish_ms: float | None = None
    output: dict[str, Any] | None = None
    output_path: str | None = None
    error: str | None = None
    token: int = 0
    deadline: float | None = None


@dataclass(frozen=True)
class _Done:
    node: str
    token: int
    ok: bool
    output: dict[str, Any] | None
    error: str | None
    start: float
    end: float
    energy_j: float
    peak_mb: float
    wall_start: float = 0.0
    wall_end: float = 0.0

    @classmethod
    def of(
        cls,
        node: str,
        token: int,
        output: dict[str, Any] | None,
        error: str | None,
        marks: dict[str, float],
        offset: float = 0.0,
    ) -> _Done:
        """An attempt's result from `runners.attempt`'s ``marks``, read on a clock ``offset``
        ahead of this process's ``perf_counter``; marks an attempt never reached count as
        now (wall) or as its wall times (inference)."""
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


ProgressFn = Callable[[str, str, str], None]


def _now_ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


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
        with limited_threads(self.threads):
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


class LocalExecutor:
    """Runs plans on this machine (worker processes or threads, see `pool_for`). See the
    module docstring for the semantics."""

    name = "local"

    def __init__(
        self,
        factory: RunnerFactory | None = None,
        options: RunOptions | None = None,
        counter: EnergyCounter | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        self.factory = factory or RunnerFactory()
        self.options = options or RunOptions()
        self.counter = counter
        self.progress = progress or (lambda node, state, detail: None)

    # ----------------------------------------------------------------- validate

    def validate(self, plan: Plan, inputs: dict[str, Any], load: bool = True) -> dict[str, Runner]:
        """Check the plan can run and load every chosen model once; returns the runners by
        model id. Raises `RunError` listing every problem found. ``load=False`` only builds
        the runners (worker processes load the models themselves)."""
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
        for node in problem.graph.nodes:
            if node.id not in plan.assignment:
                errors.append(f"node {node.id!r} has no model in the plan")
        profiles = self._profiles(problem)
        chosen: dict[str, ModelProfile] = {}
        for node in problem.graph.nodes:
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

    @staticmethod
    def _profiles(problem: Problem) -> dict[tuple[str, str], ModelProfile]:
        return {(m.id, m.task): m for m in problem.candidates}

    # ----------------------------------------------------------------- execute

    def execute(
        self,
        plan: Plan,
        inputs: dict[str, Any] | None = None,
        run_dir: str | Path | None = None,
        request: str | None = None,
        run_id: str | None = None,
    ) -> Report:
        """Validate, then run the plan; never raises for node failures (see the report)."""
        return self._make_run(plan, dict(inputs or {}), run_dir, request, run_id).go()

    def _make_run(
        self,
        plan: Plan,
        inputs: dict[str, Any],
        run_dir: str | Path | None,
        request: str | None,
        run_id: str | None,
    ) -> _Run:
        if self.pool_for(plan) == "process":
            from planner.process_run import ProcessRun

            return ProcessRun(self, plan, inputs, run_dir, request, run_id)
        retain_freed_memory()  # nodes run in this process: the allocator the profiler used
        return _Run(self, plan, inputs, run_dir, request, run_id)

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
        concurrent = plan.execution == "parallel" and not opt.sequential and opt.max_workers > 1
        if not (concurrent and portable):
            return "thread"
        # every worker holds every chosen model: keep threads when that breaks the budget
        limit = plan.problem.budgets.memory_mb
        chosen = set(plan.assignment.values())
        memory = sum(
            {m.id: m.memory_mb for m in plan.problem.candidates if m.id in chosen}.values()
        )
        if limit is not None and opt.max_workers * memory > limit:
            return "thread"
        return "process"


class _Run:
    """The state of one execution (single use)."""

    #: Models are loaded in this process (threads); worker processes load their own.
    loads_here = True
    pool_kind = "thread"

    def __init__(
        self,
        ex: LocalExecutor,
        plan: Plan,
        inputs: dict[str, Any],
        run_dir: str | Path | None,
        request: str | None,
        run_id: str | None,
    ) -> None:
        self.ex = ex
        self.opt = ex.options
        self.plan = plan
        self.problem = plan.problem
        self.inputs = inputs
        self.request = request
        self.run_id = run_id or new_run_id()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.profiles = LocalExecutor._profiles(self.problem)
        self.order = self.problem.graph.topological_order()
        self.preds = self.problem.graph.predecessors()
        self.parallel = plan.execution == "parallel" and not self.opt.sequential
        self.excluded: set[str] = set()
        self.replans: list[Replan] = []
        self.window: list[str] = []  # nodes finished since the last (re)plan
        self.spent_energy = 0.0
        self.load_ms = 0.0
        self.stop_reason: str | None = None
        self.events: queue.Queue[_Done] = queue.Queue()
        self.runners: dict[str, Any] = {}
        self.nodes: dict[str, _NodeState] = {}
        for n in plan.nodes:
            model = plan.assignment.get(n.id)
            self.nodes[n.id] = _NodeState(
                id=n.id,
                task=n.task,
                model=model,
                profile=self.profiles.get((model, n.task)) if model else None,
            )

    # ------------------------------------------------------------- helpers

    def _emit(self, node: str, state: str, detail: str = "") -> None:
        with contextlib.suppress(Exception):  # a display must never break a run
            self.ex.progress(node, state, detail)

    def _elapsed_ms(self) -> float:
        return _now_ms(self.t0)

    def _timeout_s(self, st: _NodeState) -> float:
        if self.opt.node_timeout_s is not None:
            return self.opt.node_timeout_s
        predicted = st.profile.latency_ms / 1000.0 if st.profile else 0.0
        return 10.0 + 20.0 * predicted

    def _ready(self) -> list[str]:
        out = []
        for node_id in self.order:
            st = self.nodes[node_id]
            if st.status == "pending" and all(
                self.nodes[p].status == "succeeded" for p in self.preds[node_id]
            ):
                out.append(node_id)
        return out

    def _running(self) -> list[_NodeState]:
        return [st for st in self.nodes.values() if st.status == "running"]

    # ------------------------------------------------------------- run

    def go(self) -> Report:
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        if "run_dir" not in self.inputs:
            folder = (
                self.run_dir / "outputs"
                if self.run_dir is not None
                else Path(tempfile.mkdtemp(prefix="planner-run-"))
            )
            folder.mkdir(parents=True, exist_ok=True)
            self.inputs["run_dir"] = str(folder)
        threads = limited_threads(self.opt.threads)
        threads.__enter__()
        switch = sys.getswitchinterval()
        # threads waiting for the GIL wait up to the switch interval (5 ms by default): far
        # longer than the sub-millisecond inferences measured while other nodes run
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
        try:
            return self._go()
        finally:
            sys.setswitchinterval(switch)
            threads.__exit__(None, None, None)

    def _go(self) -> Report:
        t_load = time.perf_counter()
        self.runners = self.ex.validate(self.plan, self.inputs, load=self.loads_here)
        self._start_workers()
        self.load_ms += _now_ms(t_load)
        if self.run_dir is not None:
            write_atomic(self.run_dir / "plan.json", self.plan.to_json())
        self.accountant = Accountant(self.ex.counter)
        gc_was_enabled = gc.isenabled()
        if self.opt.pause_gc:  # like the profiler: no collector pauses inside a timed call
            gc.collect()
            gc.disable()
        self.t0 = time.perf_counter()
        interrupted = False
        try:
            self._loop()
        except KeyboardInterrupt:
            interrupted = True
            self.stop_reason = "interrupted (Ctrl-C)"
            for st in self._running():
                st.status = "pending"
                st.error = "interrupted while running"
        finally:
            self.wall_ms = self._elapsed_ms()
            if gc_was_enabled:
                gc.enable()
            self.accountant.close()
            self._stop_workers()
        report = self._report()
        if self.run_dir is not None:
            write_atomic(self.run_dir / "report.json", report.to_json())
        if interrupted:
            raise RunInterrupted(report)
        return report

    def _loop(self) -> None:
        for node_id in self.order:
            self._emit(node_id, "waiting", self.nodes[node_id].model or "")
        while True:
            if self.stop_reason is None:
                limit = self.opt.max_workers if self.parallel else 1
                for node_id in self._ready():
                    if len(self._running()) >= limit:
                        break
                    self._start(self.nodes[node_id])
            running = self._running()
            if not running:
                break
            trigger = self._wait_one(running)
            if trigger is not None and self.stop_reason is None:
                while self._running():  # drain: re-plan only with nothing in flight
                    self._wait_one(self._running())
                self._replan(*trigger)

    def _start(self, st: _NodeState) -> None:
        assert st.profile is not None and st.model is not None
        st.status = "running"
        st.token += 1
        st.tries_on_model += 1
        st.deadline = time.perf_counter() + self._timeout_s(st)
        self._emit(st.id, "running", st.model)
        self._launch(st)

    def _launch(self, st: _NodeState) -> None:
        """Start one attempt in a thread that posts a `_Done` to ``self.events``."""
        assert st.model is not None
        runner = self.runners[st.model]
        assert runner is not None
        args = self._args(st)
        token, key = st.token, f"{st.id}#{st.token}"
        accountant, events = self.accountant, self.events

        def work() -> None:
            out, error, marks = attempt(runner, args, accountant, key)
            events.put(_Done.of(st.id, token, out, error, marks))

        self.pool.submit(work, tag=key)

    def _args(self, st: _NodeState) -> dict[str, Any]:
        """The node's arguments with the finished nodes' outputs and the user inputs in."""
        return resolve_args(
            self.problem.graph.node(st.id).args,
            {k: v.output for k, v in self.nodes.items() if v.output is not None},
            self.inputs,
        )

    def _start_workers(self) -> None:
        size = self.opt.max_workers if self.parallel else 1
        self.pool = WorkerPool(size, self.opt.threads)
        self._warm_workers(list(self.runners.items()))

    def _warm_workers(self, runners: list[tuple[str, Any]]) -> None:
        """Warm every chosen zoo model up in every worker thread (see `WorkerPool`)."""
        pairs = [(r, self.nodes_task(m)) for m, r in runners if r is not None]
        if not self.opt.warmup or not pairs:
            return

        def job() -> None:
            for runner, task in pairs:
                warm_up(runner, task, self.opt.warmup)

        try:
            self.pool.on_each(job)
        except Exception as exc:
            raise RunError(
                f"a model failed its warm-up inference: {type(exc).__name__}: {exc}"
            ) from exc

    def nodes_task(self, model: str) -> str:
        for st in self.nodes.values():
            if st.model == model:
                return st.task
        return ""

    def _abandon(self, st: _NodeState) -> None:
        self.pool.abandon(f"{st.id}#{st.token}")

    def _stop_workers(self) -> None:
        self.pool.close()

    def _load(self, profile: ModelProfile) -> Any:
        """Load a model chosen by a re-plan (raises `RunnerError`)."""
        return self.ex.load_model(profile)

    def _on_success(self, st: _NodeState, done: _Done) -> None:
        """Hook for executors that keep more per finished node (e.g. object references)."""

    def _wait_one(self, running: list[_NodeState]) -> tuple[str, str | None, set[str]] | None:
        """Wait for one node event (or a timeout) and apply it; returns a re-plan trigger."""
        deadline = min(st.deadline or math.inf for st in running)
        wait = max(0.0, min(deadline - time.perf_counter(), 0.2))
        try:
            done = self.events.get(timeout=wait)
        except queue.Empty:
            now = time.perf_counter()
            for st in running:
                if st.deadline is not None and now >= st.deadline:
                    self._abandon(st)
                    st.token += 1  # the late result, if it ever comes, is ignored
                    assert st.model is not None
                    elapsed = self._timeout_s(st) * 1000.0
                    return self._failed(st, f"timed out after {elapsed / 1000:.3g} s", elapsed)
            return None
        st = self.nodes[done.node]
        if done.token != st.token or st.status != "running":
            return None
        latency = (done.end - done.start) * 1000.0
        self.spent_energy += done.energy_j
        if not done.ok:
            return self._failed(st, done.error or "failed", latency)
        assert st.model is not None
        st.attempts.append(Attempt(model=st.model, ok=True, latency_ms=latency))
        st.measured = Measured(
            latency_ms=latency,
            energy_j=done.energy_j,
            energy_source=self.accountant.counter.source,
            peak_memory_mb=done.peak_mb,
            wall_ms=(done.wall_end - done.wall_start) * 1000.0,
        )
        st.start_ms = (done.wall_start - self.t0) * 1000.0
        st.finish_ms = (done.wall_end - self.t0) * 1000.0
        st.output = done.output
        st.status = "succeeded"
        self._on_success(st, done)
        st.error = None
        if self.run_dir is not None:
            import json

            path = self.run_dir / "outputs" / f"{st.id}.json"
            write_atomic(path, json.dumps(done.output, indent=2, default=_json_default) + "\n")
            st.output_path = str(path)
        self.window.append(st.id)
        self._emit(st.id, "succeeded", f"{st.model} {latency:.0f} ms")
        return self._guard(st)

    def _failed(
        self, st: _NodeState, error: str, latency: float
    ) -> tuple[str, str | None, set[str]] | None:
        assert st.model is not None
        st.attempts.append(Attempt(model=st.model, ok=False, error=error, latency_ms=latency))
        st.error = f"{st.model}: {error}"
        if st.tries_on_model <= self.opt.retries:
            st.status = "pending"  # retried at once with the same model
            self._emit(st.id, "retrying", error)
            return None
        st.status = "failed"
        self._emit(st.id, "failed", error)
        if not self.opt.replan:
            self.stop_reason = f"node {st.id!r} failed on {st.model}: {error}"
            return None
        return (f"node {st.id!r} failed twice on {st.model}: {error}", st.id, {st.model})

    def _guard(self, st: _NodeState) -> tuple[str, str | None, set[str]] | None:
        """Budget guard after a success: exhausted budgets stop, overruns re-plan."""
        pending = [n for n in self.order if self.nodes[n].status in ("pending", "failed")]
        if not pending:
            return None
        left = self._budgets_left()
        spent = [k for k, v in left.items() if v <= 0]
        if spent:
            return (
                f"budget exhausted ({', '.join(spent)}) with {len(pending)} node(s) left",
                st.id,
                set(),
            )
        if not self.opt.replan:
            return None
        given = self.problem.budgets.given()
        overlapping = any(other.status == "running" for other in self.nodes.values())
        for metric, unit in (("energy_j", "J"), ("latency_ms", "ms")):
            if metric not in given:
                continue
            if metric == "energy_j" and overlapping:
                # a shared counter's readings are split evenly between the nodes running
                # together, so one node's share is only right once they have all finished
                continue
            pred = sum(getattr(self.nodes[n].profile, metric) for n in self.window)
            meas = sum(getattr(self.nodes[n].measured, metric) for n in self.window)
            if pred > 0 and meas > pred * (1 + self.opt.tolerance):
                return (
                    f"measured {metric} runs ahead of the plan: {meas:.4g} {unit} vs "
                    f"{pred:.4g} {unit} predicted for {', '.join(self.window)}",
                    st.id,
                    set(),
                )
        return None

    def _budgets_left(self) -> dict[str, float]:
        b = self.problem.budgets
        done = [st for st in self.nodes.values() if st.status == "succeeded"]
        left: dict[str, float] = {}
        if b.energy_j is not None:
            left["energy_j"] = b.energy_j - self.spent_energy
        if b.latency_ms is not None:
            left["latency_ms"] = b.latency_ms - self._elapsed_ms()
        if b.cost_usd is not None:
            left["cost_usd"] = b.cost_usd - sum(st.profile.cost_usd for st in done if st.profile)
        if b.memory_mb is not None:
            left["memory_mb"] = b.memory_mb
        if b.min_accuracy is not None:
            committed = math.prod(st.profile.accuracy for st in done if st.profile)
            floor = b.min_accuracy / committed if committed > 0 else math.inf
            # a floor above 1 cannot be met by the rest: reported as an exhausted budget
            left["min_accuracy"] = floor if floor <= 1 + 1e-12 else 1 - floor
        return left

    def _replan(self, reason: str, node: str | None, exclude: set[str]) -> None:
        while True:
            self.excluded |= exclude
            remaining = [n for n in self.order if self.nodes[n].status in ("pending", "failed")]
            left = self._budgets_left()
            record = {
                "at_ms": self._elapsed_ms(),
                "reason": reason,
                "node": node,
                "excluded_models": sorted(self.excluded),
                "remaining_nodes": remaining,
                "budgets": left,
            }
            spent = [k for k, v in left.items() if v <= 0]
            if spent:
                self._stop(
                    record,
                    "exhausted",
                    f"{reason}; nothing left of the "
                    f"{', '.join(spent)} budget for {len(remaining)} node(s)",
                )
                return
            budgets = {k: min(v, 1.0) if k == "min_accuracy" else v for k, v in left.items()}
            from planner.solve import solve

            try:
                sub = remaining_problem(self.problem, remaining, budgets, self.excluded)
                new = solve(sub, backend=self.opt.backend, time_limit_s=self.opt.time_limit_s)
            except ProblemError as exc:
                detail = str(exc).splitlines()[-1].strip(" -")
                self._stop(record, "infeasible", f"{reason}; no candidate left: {detail}")
                return
            if not new.has_plan:
                self._stop(
                    record,
                    new.status,
                    f"{reason}; re-planning found no plan within "
                    f"what is left of the budgets ({new.message})",
                )
                return
            changes: dict[str, list[str | None]] = {}
            for node_id in remaining:
                st = self.nodes[node_id]
                model = new.assignment[node_id]
                if model != st.model:
                    changes[node_id] = [st.model, model]
                    st.tries_on_model = 0
                st.model = model
                st.profile = self.profiles[(model, st.task)]
                if st.status == "failed":
                    st.status = "pending"
                    st.tries_on_model = 0
            self.replans.append(Replan(**record, status=new.status, changes=changes))
            self.window = []
            for node_id, change in changes.items():
                self._emit(node_id, "replanned", str(change[1]))
            # load the newly chosen models; one that fails to load is excluded in turn
            needed = {self.nodes[n].model for n in remaining}
            self.ex.factory.release({m for m in self.runners if m not in needed})
            self.runners = {m: r for m, r in self.runners.items() if m in needed}
            failed_load: set[str] = set()
            warmed = set(self.runners)
            t_load = time.perf_counter()
            for node_id in remaining:
                st = self.nodes[node_id]
                assert st.model is not None and st.profile is not None
                if st.model in self.runners or st.model in failed_load:
                    continue
                try:
                    self.runners[st.model] = self._load(st.profile)
                except RunnerError as exc:
                    failed_load.add(st.model)
                    reason = str(exc)
            fresh = [(m, r) for m, r in self.runners.items() if m not in warmed]
            self._warm_workers(fresh)
            self.load_ms += _now_ms(t_load)
            if not failed_load:
                return
            node, exclude = None, failed_load

    def _stop(self, record: dict[str, Any], status: str, message: str) -> None:
        self.replans.append(Replan(**record, status=status))
        self.stop_reason = message
        for node_id in record["remaining_nodes"]:
            self._emit(node_id, "not_run", "stopped")

    # ------------------------------------------------------------- report

    def _report(self) -> Report:
        nodes = []
        for node_id in self.order:
            st = self.nodes[node_id]
            p = st.profile
            predicted = Metrics.of(p) if p else None
            status = {"succeeded": "succeeded", "failed": "failed"}.get(st.status, "not_run")
            nodes.append(
                NodeReport(
                    id=node_id,
                    task=st.task,
                    status=status,
                    model=st.model,
                    predicted=predicted,
                    measured=st.measured,
                    start_ms=st.start_ms,
                    finish_ms=st.finish_ms,
                    attempts=st.attempts,
                    output_path=st.output_path,
                    error=None if status == "succeeded" else st.error,
                )
            )
        ok = [n for n in nodes if n.status == "succeeded"]
        if len(ok) == len(nodes):
            status, message = "succeeded", f"all {len(nodes)} node(s) ran"
        else:
            status = "partial" if ok else "failed"
            message = (
                f"{len(ok)}/{len(nodes)} node(s) ran; stopped: "
                f"{self.stop_reason or 'a node failed'}"
            )
        if self.replans and status == "succeeded":
            message += f" after {len(self.replans)} re-plan(s)"
        measured: dict[str, float] = {
            "energy_j": self.spent_energy,
            "latency_ms": max((n.finish_ms or 0.0 for n in ok), default=0.0),
            "latency_sum_ms": sum(n.measured.latency_ms for n in ok if n.measured),
            "peak_memory_mb": max(
                (n.measured.peak_memory_mb for n in ok if n.measured), default=0.0
            ),
            "accuracy": math.prod(n.predicted.accuracy for n in ok if n.predicted),
        }
        used = {n.model: n.predicted.memory_mb for n in ok if n.model and n.predicted}
        measured["models_memory_mb"] = sum(used.values())
        totals = self.plan.totals
        budgets = []
        given = self.problem.budgets.given()
        for name in BUDGET_KEYS:
            limit = given.get(name)
            if name == "cost_usd" and limit is None:
                continue
            pred = totals.for_budget(name) if totals is not None else None
            meas = {
                "energy_j": measured["energy_j"],
                "latency_ms": measured["latency_ms"],
                "min_accuracy": measured["accuracy"],
                "memory_mb": measured["models_memory_mb"],
                "cost_usd": sum(n.predicted.cost_usd for n in ok if n.predicted),
            }[name]
            within: bool | None = None
            if limit is not None:
                within = meas >= limit if name == "min_accuracy" else meas <= limit
            if status != "succeeded" and name == "min_accuracy":
                within = None  # the floor is about the whole graph
            budgets.append(
                BudgetUse(name=name, limit=limit, predicted=pred, measured=meas, within=within)
            )
        return Report(
            run_id=self.run_id,
            status=status,
            message=message,
            request=self.request,
            problem=self.problem.name,
            started_at=self.started_at,
            wall_ms=self.wall_ms,
            load_ms=self.load_ms,
            execution="parallel" if self.parallel else "sequential",
            executor=self.ex.name,
            pool=self.pool_kind if self.ex.name == "local" else None,
            nodes=nodes,
            totals_predicted=totals,
            totals_measured=measured,
            budgets=budgets,
            replans=self.replans,
            run_dir=str(self.run_dir) if self.run_dir is not None else None,
            outputs={n.id: n.output_path for n in nodes if n.output_path},
            hardware=hardware_info(),
            versions=versions(),
            energy_note=getattr(self.accountant.counter, "note", "")
            or self.accountant.counter.source,
            speed_check=self._speed_check(),
        )

    def _speed_check(self) -> SpeedCheck | None:
        """The speed check the plan's problem records (`planner.speed`), if any."""
        found = self.plan.problem.metadata.get("speed_check")
        if found is None:
            return None
        try:
            return SpeedCheck.model_validate(found)
        except ValueError:  # a hand-edited problem: the report does without it
            return None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; carries the partial report (already written to the run dir)."""

    def __init__(self, report: Report) -> None:
        super().__init__("interrupted")
        self.report = report


def _json_default(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)


def new_run_id() -> str:
    """Sortable and unique: UTC time plus 6 random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
