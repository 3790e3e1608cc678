"""`Scheduler`: runs one plan with a `Launcher`; the only class that owns the run's loop.

1. The launcher starts its worker slots (timed: ``startup_ms``) and loads every chosen model
   once (timed: ``load_ms``); then the clock starts.
2. Nodes start when all their predecessors succeeded, greedily on ``slots`` worker slots, the
   ready node with the highest priority first: the bottom level of the predicted durations
   (``latency_ms + machine.dispatch_ms``), ties to the lower index in the graph's
   topological order. This is the policy `solvers.schedule.list_schedule` simulates for the
   plan, on the same slots (`planner.run.budget.slots`), so prediction and execution agree
   up to the models' own noise.
3. A node that raises or exceeds its timeout is retried (``retries``, same model); if it
   fails again the nodes not yet finished are re-planned without that model, under what is
   left of the budgets (`budgets_left`, `remaining_problem`). The budget guard re-plans the
   same way when, after a node, measured energy runs ahead of the plan by more than
   ``tolerance`` (compared only while no node runs: a shared counter splits its readings
   between concurrent nodes until they all finish), or when elapsed time runs ahead of the
   node's predicted finish in the schedule by more than ``tolerance`` under a latency
   budget. A budget already spent stops the run.
4. The report compares the measured totals with the hard budgets: a run that broke one is
   ``over_budget`` (never plain success), with a line naming the budget, the overrun and
   the node where the running total crossed it.

Measurement inside an attempt is the launcher's (it runs where the model runs); outputs,
progress, plan/report files and history are hooks (`planner.run.hooks`). Ctrl-C, SIGTERM
and SIGHUP end the run with status ``interrupted``: the report is built, the hooks run
(report.json, history) and `RunInterrupted` carries it; further signals meanwhile are
ignored so that nothing is lost.
"""

from __future__ import annotations

import contextlib
import math
import queue
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planner.errors import OutputError, PlannerError, ProblemError
from planner.plan import Metrics, Plan
from planner.problem import BUDGET_KEYS, Problem
from planner.report import Attempt, BudgetUse, Measured, NodeReport, Replan, Report
from planner.run.args import resolve_args
from planner.run.budget import (
    NodeUse,
    Spent,
    Timing,
    accuracy_view,
    budget_overruns,
    budgets_left,
    predicted_timing,
    profiles_of,
    remaining_problem,
)
from planner.run.hooks import RunHook
from planner.run.launch import AttemptResult, Job, Launcher
from planner.run.options import RunError, RunOptions
from planner.runners import RunnerError
from profiles import ModelProfile

#: Elapsed time counts as running ahead of a node's predicted finish only beyond this much
#: (ms) on top of the tolerance: dispatch jitter of a few ms is no reason to re-plan.
GUARD_SLACK_MS = 5.0

#: ``solve(problem, backend, time_limit_s) -> Plan`` for re-plans.
SolveFn = Callable[[Problem], Plan]


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM/SIGHUP) during a run; carries the report (already through the
    hooks: written to the run dir, recorded)."""

    def __init__(self, report: Report) -> None:
        super().__init__("interrupted")
        self.report = report


class RunAborted(PlannerError):
    """The run stopped because something it must write could not be (a full disk, a run
    directory turned read-only): carries the report (through the hooks as far as they
    could go) and says what was kept and what was not."""

    def __init__(self, report: Report, cause: BaseException, kept: list[str], lost: list[str]):
        parts = [f"the run stopped: {cause}"]
        parts.append(f"report status {report.status}")
        if kept:
            parts.append("kept: " + ", ".join(kept))
        if lost:
            parts.append("not written: " + "; ".join(lost))
        super().__init__("; ".join(parts))
        self.report = report
        self.cause = cause


def new_run_id() -> str:
    """Sortable and unique: UTC time plus 6 random hex digits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def with_run_dir(inputs: dict[str, Any], run_dir: Path | None) -> dict[str, Any]:
    """``inputs`` with the built-in ``run_dir`` (the run's ``outputs`` folder, made; a fresh
    temporary folder without a run directory) unless given."""
    if "run_dir" in inputs:
        return inputs
    folder = (
        run_dir / "outputs"
        if run_dir is not None
        else Path(tempfile.mkdtemp(prefix="planner-run-"))
    )
    folder.mkdir(parents=True, exist_ok=True)
    return {**inputs, "run_dir": str(folder)}


@dataclass
class NodeState:
    id: str
    task: str
    model: str | None
    profile: ModelProfile | None
    index: int = 0
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
    job: Job | None = None


Trigger = tuple[str, str | None, set[str]]


def _energy_of(item: ModelProfile | Measured | None) -> float:
    return item.energy_j if item is not None else 0.0


def _default_solve(options: RunOptions) -> SolveFn:
    def solve(problem: Problem) -> Plan:
        from planner.solve import solve as run_solve

        return run_solve(problem, backend=options.backend, time_limit_s=options.time_limit_s)

    return solve


class Scheduler:
    """One execution of ``plan`` (single use): `run` returns the `Report`."""

    def __init__(
        self,
        plan: Plan,
        launcher: Launcher,
        options: RunOptions | None = None,
        hooks: Sequence[RunHook] = (),
        inputs: dict[str, Any] | None = None,
        slots: int = 1,
        executor: str = "local",
        run_id: str | None = None,
        request: str | None = None,
        run_dir: Path | None = None,
        solve: SolveFn | None = None,
        prepare: Callable[[], object] | None = None,
    ) -> None:
        self.plan = plan
        self.problem = plan.problem
        self.launcher = launcher
        self.opt = options or RunOptions()
        self.hooks = list(hooks)
        self.inputs = dict(inputs or {})
        self.slots = max(1, slots)
        self.executor = executor
        self.run_id = run_id or new_run_id()
        self.request = request
        self.run_dir = run_dir
        self.solve = solve or _default_solve(self.opt)
        self.prepare = prepare
        self.profiles = profiles_of(self.problem)
        self.order = self.problem.graph.topological_order()
        self.preds = self.problem.graph.predecessors()
        self.parallel = plan.execution == "parallel" and not self.opt.sequential
        self.excluded: set[str] = set()
        self.replans: list[Replan] = []
        self.window: list[str] = []  # nodes finished since the last (re)plan
        self.spent_energy = 0.0
        self.startup_ms = 0.0
        self.load_ms = 0.0
        self.model_load_ms: dict[str, float] = {}
        self.wall_ms = 0.0
        self.stop_reason: str | None = None
        self.events: queue.Queue[AttemptResult] = queue.Queue()
        self.nodes: dict[str, NodeState] = {}
        self.t0 = time.perf_counter()
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        for i, node_id in enumerate(self.order):
            node = self.problem.graph.node(node_id)
            model = plan.assignment.get(node_id)
            self.nodes[node_id] = NodeState(
                id=node_id,
                task=node.task,
                model=model,
                profile=self.profiles.get((model, node.task)) if model else None,
                index=i,
            )
        self.timing = self._timing()
        self.timing_offset_ms = 0.0
        self.initial_timing = self.timing

    # ------------------------------------------------------------- helpers

    def _emit(self, node: str, state: str, detail: str = "") -> None:
        for hook in self.hooks:
            with contextlib.suppress(Exception):  # a display must never break a run
                hook.node_state(node, state, detail)

    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0

    def _assignment(self) -> dict[str, str]:
        return {n: st.model for n, st in self.nodes.items() if st.model is not None}

    def _timing(self) -> Timing:
        return predicted_timing(self.problem, self._assignment(), self.slots)

    def _timeout_s(self, st: NodeState) -> float:
        if self.opt.node_timeout_s is not None:
            return self.opt.node_timeout_s
        predicted = st.profile.latency_ms / 1000.0 if st.profile else 0.0
        base = self.launcher.startup_allowance_s or 10.0
        return base + 20.0 * predicted

    def _ready(self) -> list[NodeState]:
        """Ready nodes, highest priority (bottom level) first, ties by topological index."""
        ready = [
            st
            for st in self.nodes.values()
            if st.status == "pending"
            and all(self.nodes[p].status == "succeeded" for p in self.preds[st.id])
        ]
        prio = self.timing.priority
        return sorted(ready, key=lambda st: (-prio[st.index], st.index))

    def _running(self) -> list[NodeState]:
        return [st for st in self.nodes.values() if st.status == "running"]

    def _chosen(self, node_ids: Sequence[str] | None = None) -> list[ModelProfile]:
        out: dict[str, ModelProfile] = {}
        for node_id in node_ids if node_ids is not None else self.order:
            st = self.nodes[node_id]
            if st.model is not None and st.profile is not None:
                out.setdefault(st.model, st.profile)
        return list(out.values())

    def _overhead_ms(self) -> float:
        """Start-up and loading measured before the clock started, as far as the plan's
        latency counts them (start-up when the machine declares it, loading when cold)."""
        machine = self.problem.machine
        return (self.startup_ms if machine.startup_ms > 0 else 0.0) + (
            self.load_ms if machine.cold else 0.0
        )

    def _spent(self) -> Spent:
        done = [st for st in self.nodes.values() if st.status == "succeeded" and st.profile]
        return Spent(
            energy_j=self.spent_energy + self.initial_timing.load_energy_j,
            elapsed_ms=self._elapsed_ms(),
            cost_usd=sum(st.profile.cost_usd for st in done if st.profile),
            accuracy=math.prod(st.profile.accuracy for st in done if st.profile),
            overhead_ms=self._overhead_ms(),
        )

    # ------------------------------------------------------------- run

    def run(self) -> Report:
        """Start, load, run, report; never raises for node failures (see the report).
        Raises `RunError` when the plan cannot start, `RunInterrupted` on a signal."""
        self.inputs = with_run_dir(self.inputs, self.run_dir)
        interrupted = False
        started = False
        with _signals_interrupt() as quiet:
            try:
                if self.prepare is not None:
                    self.prepare()
                for node_id in self.order:  # a display shows loading, not "waiting"
                    self._emit(node_id, "loading", self.nodes[node_id].model or "")
                t = time.perf_counter()
                self.launcher.start([], self.slots, self.events.put)
                self.startup_ms = (time.perf_counter() - t) * 1000.0
                t = time.perf_counter()
                try:
                    self.model_load_ms.update(self.launcher.load(self._chosen()) or {})
                except RunnerError as exc:
                    raise RunError(f"the plan cannot run:\n  - {exc}") from exc
                self.load_ms = (time.perf_counter() - t) * 1000.0
                for hook in self.hooks:
                    hook.before_run(self)
                started = True
                self.t0 = time.perf_counter()
                self._loop()
            except KeyboardInterrupt:
                quiet()
                interrupted = True
                self.stop_reason = "interrupted"
                for st in self._running():
                    st.status = "pending"
                    st.error = "interrupted while running"
            except BaseException as exc:
                quiet()
                self.launcher.close()
                if not started:
                    raise
                storage = isinstance(exc, OSError | OutputError)  # not a bug: say what is kept
                self.wall_ms = self._elapsed_ms()
                report = self._report(False, error=str(exc) if storage else None)
                errors = self._finish(report, raise_first=not storage)
                if storage:
                    kept = [h.done for h in self.hooks if h.done]
                    raise RunAborted(report, exc, kept, [str(e) for e in errors]) from exc
                raise
            quiet()
            self.wall_ms = self._elapsed_ms() if started else 0.0
            self.launcher.close()
            report = self._report(interrupted)
            self._finish(report)
        if interrupted:
            raise RunInterrupted(report)
        return report

    def _finish(self, report: Report, raise_first: bool = True) -> list[BaseException]:
        errors: list[BaseException] = []
        for hook in self.hooks:
            try:
                hook.after_run(self, report)
            except Exception as exc:  # every hook runs; the first error is raised after
                errors.append(exc)
        if errors and raise_first:
            raise errors[0]
        return errors

    def _loop(self) -> None:
        for node_id in self.order:
            self._emit(node_id, "waiting", self.nodes[node_id].model or "")
        limit = self.slots if self.parallel else 1
        while True:
            if self.stop_reason is None:
                for st in self._ready():
                    if len(self._running()) >= limit:
                        break
                    self._start(st)
            running = self._running()
            if not running:
                break
            trigger = self._wait_one(running)
            if trigger is not None and self.stop_reason is None:
                while self._running():  # drain: re-plan only with nothing in flight
                    self._wait_one(self._running())
                self._replan(*trigger)

    def _start(self, st: NodeState) -> None:
        assert st.profile is not None and st.model is not None
        st.status = "running"
        st.token += 1
        st.tries_on_model += 1
        st.deadline = time.perf_counter() + self._timeout_s(st)
        self._emit(st.id, "running", st.model)
        raw = self.problem.graph.node(st.id).args
        outputs = {k: v.output for k, v in self.nodes.items() if v.output is not None}
        st.job = Job(
            node=st.id,
            token=st.token,
            profile=st.profile,
            args=resolve_args(raw, outputs, self.inputs),
            raw_args=raw,
            inputs=self.inputs,
            preds=tuple(self.preds[st.id]),
        )
        self.launcher.launch(st.job)

    def _wait_one(self, running: list[NodeState]) -> Trigger | None:
        """Wait for one node event (or a timeout) and apply it; returns a re-plan trigger."""
        deadline = min(st.deadline or math.inf for st in running)
        wait = max(0.0, min(deadline - time.perf_counter(), 0.2))
        try:
            done = self.events.get(timeout=wait)
        except queue.Empty:
            now = time.perf_counter()
            for st in running:
                if st.deadline is not None and now >= st.deadline:
                    assert st.job is not None
                    problem = self.launcher.abandon(st.job)
                    if problem:
                        self.stop_reason = problem
                    st.token += 1  # the late result, if it ever comes, is ignored
                    elapsed = self._timeout_s(st) * 1000.0
                    return self._failed(st, f"timed out after {elapsed / 1000:.3g} s", elapsed)
            return None
        st = self.nodes[done.node]
        if done.token != st.token or st.status != "running":
            return None
        latency = (done.end - done.start) * 1000.0
        energy, source = self._energy(st, done)
        self.spent_energy += energy
        if not done.ok:
            return self._failed(st, done.error or "failed", latency)
        assert st.model is not None
        st.attempts.append(Attempt(model=st.model, ok=True, latency_ms=latency))
        st.measured = Measured(
            latency_ms=latency,
            energy_j=energy,
            energy_source=source,
            peak_memory_mb=done.peak_mb,
            wall_ms=(done.wall_end - done.wall_start) * 1000.0,
        )
        st.start_ms = (done.wall_start - self.t0) * 1000.0
        st.finish_ms = (done.wall_end - self.t0) * 1000.0
        st.output = done.output
        st.status = "succeeded"
        st.error = None
        for hook in self.hooks:
            hook.after_node(self, st)
        self.window.append(st.id)
        self._emit(st.id, "succeeded", f"{st.model} {latency:.0f} ms")
        return self._guard(st)

    def _energy(self, st: NodeState, done: AttemptResult) -> tuple[float, str]:
        """A remote model's energy is not this machine's: the server's figure when it gives
        one, else the profile's, labelled ``remote-unmeasured`` (never the client's CPU)."""
        from profiles.adapters import SERVER_ENERGY_KEY, is_remote

        profile = st.profile
        if profile is not None and is_remote(profile.adapter):
            reported = (done.output or {}).get(SERVER_ENERGY_KEY)
            if isinstance(reported, int | float) and not isinstance(reported, bool):
                return float(reported), "remote-reported"
            return (profile.energy_j if done.ok else 0.0), "remote-unmeasured"
        return done.energy_j, str(self.launcher.energy_source)

    def _failed(self, st: NodeState, error: str, latency: float) -> Trigger | None:
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

    def _guard(self, st: NodeState) -> Trigger | None:
        """Budget guard after a success: exhausted budgets stop, overruns re-plan."""
        pending = [n for n in self.order if self.nodes[n].status in ("pending", "failed")]
        if not pending:
            return None
        left = budgets_left(self.problem, self._spent())
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
        if "energy_j" in given and not overlapping:
            # a shared counter's readings are split evenly between the nodes running
            # together, so one node's share is only right once they have all finished
            pred = sum(_energy_of(self.nodes[n].profile) for n in self.window)
            meas = sum(_energy_of(self.nodes[n].measured) for n in self.window)
            if pred > 0 and meas > pred * (1 + self.opt.tolerance):
                return (
                    f"measured energy_j runs ahead of the plan: {meas:.4g} J vs "
                    f"{pred:.4g} J predicted for {', '.join(self.window)}",
                    st.id,
                    set(),
                )
        if "latency_ms" in given:
            due = self.timing_offset_ms + self.timing.finish_ms(st.id)
            now = st.finish_ms or self._elapsed_ms()
            if due > 0 and now > due * (1 + self.opt.tolerance) + GUARD_SLACK_MS:
                return (
                    f"elapsed time runs ahead of the plan: node {st.id!r} finished at "
                    f"{now:.4g} ms, predicted by {due:.4g} ms",
                    st.id,
                    set(),
                )
        return None

    def _replan(self, reason: str, node: str | None, exclude: set[str]) -> None:
        while True:
            self.excluded |= exclude
            remaining = [n for n in self.order if self.nodes[n].status in ("pending", "failed")]
            left = budgets_left(self.problem, self._spent())
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
            loaded = [p.id for p in self._chosen()]
            try:
                sub = remaining_problem(self.problem, remaining, budgets, self.excluded, loaded)
                new = self.solve(sub)
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
            self.timing = self._timing()
            done_by = max(
                (self.timing.finish_ms(n) for n in self.order if n not in remaining), default=0
            )
            self.timing_offset_ms = self._elapsed_ms() - done_by
            for node_id, change in changes.items():
                self._emit(node_id, "replanned", str(change[1]))
            # load the newly chosen models; one that fails to load is excluded in turn
            needed = self._chosen(remaining)
            release = getattr(self.launcher, "release", None)
            if release is not None:
                release({p.id for p in self._chosen()})
            failed_load: set[str] = set()
            t_load = time.perf_counter()
            for profile in needed:
                try:
                    self.model_load_ms.update(self.launcher.load([profile]) or {})
                except RunnerError as exc:
                    failed_load.add(profile.id)
                    reason = str(exc)
            self.load_ms += (time.perf_counter() - t_load) * 1000.0
            if not failed_load:
                return
            node, exclude = None, failed_load

    def _stop(self, record: dict[str, Any], status: str, message: str) -> None:
        self.replans.append(Replan(**record, status=status))
        self.stop_reason = message
        for node_id in record["remaining_nodes"]:
            self._emit(node_id, "not_run", "stopped")

    # ------------------------------------------------------------- report

    def _report(self, interrupted: bool, error: str | None = None) -> Report:
        nodes = []
        for node_id in self.order:
            st = self.nodes[node_id]
            p = st.profile
            status = {"succeeded": "succeeded", "failed": "failed"}.get(st.status, "not_run")
            nodes.append(
                NodeReport(
                    id=node_id,
                    task=st.task,
                    status=status,
                    model=st.model,
                    predicted=Metrics.of(p) if p else None,
                    measured=st.measured,
                    start_ms=st.start_ms,
                    finish_ms=st.finish_ms,
                    attempts=st.attempts,
                    output_path=st.output_path,
                    error=None if status == "succeeded" else st.error,
                )
            )
        ok = [n for n in nodes if n.status == "succeeded"]
        accuracy = accuracy_view(
            self.problem,
            {n.id: (n.predicted.accuracy if n.predicted else None) for n in ok},
        )
        makespan = max((n.finish_ms or 0.0 for n in ok), default=0.0)
        overhead = self._overhead_ms()
        cold_energy = self.initial_timing.load_energy_j if self.problem.machine.cold else 0.0
        used = {n.model: n.predicted.memory_mb for n in ok if n.model and n.predicted}
        measured: dict[str, float] = {
            "energy_j": self.spent_energy + cold_energy,
            "latency_ms": makespan + overhead,
            "makespan_ms": makespan,
            "startup_ms": self.startup_ms,
            "load_ms": self.load_ms,
            "load_energy_j": cold_energy,
            "latency_sum_ms": sum(n.measured.latency_ms for n in ok if n.measured),
            "peak_memory_mb": max(
                (n.measured.peak_memory_mb for n in ok if n.measured), default=0.0
            ),
            "accuracy": accuracy.end_to_end,
            "models_memory_mb": sum(used.values()),
            "cost_usd": sum(n.predicted.cost_usd for n in ok if n.predicted),
        }
        overruns = budget_overruns(
            self.problem,
            measured,
            [
                NodeUse(
                    n.id,
                    n.finish_ms or 0.0,
                    n.measured.energy_j if n.measured else 0.0,
                    n.predicted.cost_usd if n.predicted else 0.0,
                    n.model or "",
                    n.predicted.memory_mb if n.predicted else 0.0,
                )
                for n in ok
            ],
            overhead_ms=overhead,
            overhead_energy_j=cold_energy,
        )
        if len(ok) < len(nodes):
            # the accuracy floor is about the whole graph: a missing node is reported as
            # missing, not as an accuracy overrun
            overruns = [o for o in overruns if o.budget != "min_accuracy"]
        if error is not None:  # the run itself could not go on (it could not write)
            status = "failed"
            message = f"{len(ok)}/{len(nodes)} node(s) ran; stopped: {error}"
        elif interrupted:
            status = "interrupted"
            message = f"{len(ok)}/{len(nodes)} node(s) ran; stopped: interrupted"
        elif len(ok) == len(nodes):
            status = "over_budget" if overruns else "succeeded"
            message = f"all {len(nodes)} node(s) ran"
        else:
            status = "partial" if ok else "failed"
            message = (
                f"{len(ok)}/{len(nodes)} node(s) ran; stopped: "
                f"{self.stop_reason or 'a node failed'}"
            )
        if self.replans and len(ok) == len(nodes):
            message += f" after {len(self.replans)} re-plan(s)"
        if overruns:
            message += "; " + "; ".join(o.line() for o in overruns)
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
                "cost_usd": measured["cost_usd"],
            }[name]
            within: bool | None = None
            if limit is not None:
                within = meas >= limit if name == "min_accuracy" else meas <= limit * (1 + 1e-9)
            if len(ok) < len(nodes) and name == "min_accuracy":
                within = None  # the floor is about the whole graph
            budgets.append(
                BudgetUse(name=name, limit=limit, predicted=pred, measured=meas, within=within)
            )
        from planner.measure import hardware_info, versions

        machine = self.problem.machine
        timing = self.initial_timing
        return Report(
            run_id=self.run_id,
            status=status,
            message=message,
            request=self.request,
            problem=self.problem.name,
            started_at=self.started_at,
            wall_ms=self.wall_ms,
            load_ms=self.load_ms,
            model_load_ms=self.model_load_ms,
            startup_ms=self.startup_ms,
            latency_counts=(
                "makespan"
                + (" + start-up" if machine.startup_ms > 0 else "")
                + (" + cold loading" if machine.cold else "")
            ),
            workers=self.slots if self.parallel else 1,
            predicted_schedule={
                "workers": float(timing.workers),
                "makespan_ms": timing.makespan_ms,
                "startup_ms": timing.startup_ms,
                "load_ms": timing.load_ms,
                "latency_ms": timing.latency_ms,
            },
            execution="parallel" if self.parallel else "sequential",
            executor=self.executor,
            pool=self.launcher.kind if self.launcher.kind in ("thread", "process") else None,
            nodes=nodes,
            totals_predicted=totals,
            totals_measured=measured,
            accuracy=accuracy,
            overruns=overruns,
            budgets=budgets,
            replans=self.replans,
            run_dir=str(self.run_dir) if self.run_dir is not None else None,
            outputs={n.id: n.output_path for n in nodes if n.output_path},
            hardware=hardware_info(),
            versions=versions(),
            energy_note=str(getattr(self.launcher, "energy_note", "") or "")
            or str(self.launcher.energy_source),
            speed_check=self._speed_check(),
        )

    def _speed_check(self) -> Any:
        """The speed check the plan's problem records (`planner.speed`), if any."""
        found = self.plan.problem.metadata.get("speed_check")
        if found is None:
            return None
        from planner.speed import SpeedCheck

        try:
            return SpeedCheck.model_validate(found)
        except ValueError:  # a hand-edited problem: the report does without it
            return None


@contextlib.contextmanager
def _signals_interrupt() -> Any:
    """SIGTERM and SIGHUP interrupt like Ctrl-C (main thread only). The context's value,
    ``quiet()``, ignores further SIGINT/SIGTERM/SIGHUP until the context ends, so that a
    second Ctrl-C cannot cut the report and the history short."""
    main = threading.current_thread() is threading.main_thread()
    handled: list[signal.Signals] = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGHUP"):
        handled.append(signal.SIGHUP)
    before: dict[signal.Signals, Any] = {}

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def quiet() -> None:
        if main:
            for sig in handled:
                with contextlib.suppress(ValueError, OSError):
                    signal.signal(sig, signal.SIG_IGN)

    if main:
        for sig in handled:
            with contextlib.suppress(ValueError, OSError):
                before[sig] = signal.getsignal(sig)
                if sig != signal.SIGINT or before[sig] is signal.default_int_handler:
                    signal.signal(sig, interrupt)
    try:
        yield quiet
    finally:
        for sig, handler in before.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)
