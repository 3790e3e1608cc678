"""The run wing's `Scheduler` with a fake launcher (milliseconds, no models, no workers), and
its pure functions: slots, priority, retries, timeouts, the budget guard, overruns, accuracy."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from planner import problem_from_data, solve
from planner.plan import Plan
from planner.report import Report
from planner.run.budget import (
    Spent,
    accuracy_view,
    budgets_left,
    predicted_timing,
    remaining_problem,
    slots,
)
from planner.run.hooks import RunHook
from planner.run.launch import AttemptResult, Job, Post
from planner.run.options import RunOptions
from planner.run.scheduler import Scheduler
from profiles import ModelProfile
from solvers.schedule import list_schedule


class FakeLauncher:
    """Ends each attempt after ``delay_s[node]`` (default at once) with ``energy_j[node]``;
    the first ``fail[node]`` attempts of a node fail; nodes in ``hang`` never end."""

    kind = "fake"
    energy_source = "estimate"
    energy_note = "fake"
    startup_allowance_s = 0.0

    def __init__(
        self,
        delay_s: dict[str, float] | None = None,
        energy_j: dict[str, float] | None = None,
        fail: dict[str, int] | None = None,
        hang: set[str] | None = None,
    ) -> None:
        self.delay_s = delay_s or {}
        self.energy_j = energy_j or {}
        self.fail = dict(fail or {})
        self.hang = hang or set()
        self.launched: list[str] = []
        self.loaded: list[str] = []
        self.abandoned: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False
        self.post: Post = lambda r: None
        self._lock = threading.Lock()

    def start(self, profiles: list[ModelProfile], slots: int, post: Post) -> None:
        self.slots = slots
        self.post = post

    def load(self, profiles: list[ModelProfile]) -> None:
        self.loaded += [p.id for p in profiles]

    def launch(self, job: Job) -> None:
        with self._lock:
            self.launched.append(job.node)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if job.node in self.hang:
            return
        failing = self.fail.get(job.node, 0) > 0
        if failing:
            self.fail[job.node] -= 1

        def finish() -> None:
            with self._lock:
                self.in_flight -= 1
            now = time.perf_counter()
            marks = {"wall_start": now, "wall_end": now, "energy": self.energy_j.get(job.node, 0.0)}
            out = None if failing else {"text": f"{job.node}:{job.profile.id}"}
            self.post(
                AttemptResult.of(job.node, job.token, out, "boom" if failing else None, marks)
            )

        delay = self.delay_s.get(job.node, 0.0)
        if delay:
            threading.Timer(delay, finish).start()
        else:
            finish()

    def abandon(self, job: Job) -> str | None:
        self.abandoned.append(job.key)
        with self._lock:
            self.in_flight -= 1
        return None

    def close(self) -> None:
        self.closed = True


def row(
    mid: str, task: str, latency_ms: float, energy_j: float = 1.0, accuracy: float = 0.9
) -> dict[str, Any]:
    return {
        "id": mid,
        "task": task,
        "accuracy": accuracy,
        "latency_ms": latency_ms,
        "energy_j": energy_j,
        "memory_mb": 1.0,
        "adapter": {"kind": "python", "target": "tests.run_models:echo"},
    }


def fan(latencies: list[float], budgets: dict[str, float] | None = None, **extra: Any) -> Plan:
    """Independent nodes t0..tN (task Ti, one model each) and a join j."""
    n = len(latencies)
    nodes = [{"id": f"t{i}", "task": f"T{i}"} for i in range(n)]
    nodes.append({"id": "j", "task": "J", "args": {f"a{i}": f"<t{i}>" for i in range(n)}})
    models = [row(f"m{i}", f"T{i}", lat) for i, lat in enumerate(latencies)]
    models.append(row("mj", "J", 1.0))
    data = {"name": "fan", "graph": {"nodes": nodes}, "models": models, "budgets": budgets or {}}
    data.update(extra)
    plan = solve(problem_from_data(data))
    assert plan.has_plan, plan.message
    return plan


def schedule(plan: Plan, launcher: FakeLauncher, k: int, **options: Any) -> Report:
    return Scheduler(plan, launcher, RunOptions(**options), slots=k).run()


def test_dispatch_follows_the_plans_priority_on_the_plans_slots() -> None:
    latencies = [10.0, 50.0, 30.0, 40.0, 20.0, 60.0]
    plan = fan(latencies)
    launcher = FakeLauncher()
    report = schedule(plan, launcher, 2)
    assert report.status == "succeeded" and report.workers == 2
    # highest bottom level first: the longest nodes, the join last
    by_priority = [f"t{i}" for i in sorted(range(6), key=lambda i: -latencies[i])]
    assert launcher.launched == [*by_priority, "j"]
    # the same order as the simulated schedule the plan predicts
    timing = predicted_timing(plan.problem, plan.assignment, 2)
    sim = list_schedule(timing.durations_ms, timing.edges, 2, timing.priority)
    assert [timing.order[v] for v in sim.order] == launcher.launched
    assert launcher.max_in_flight <= 2 and launcher.closed


def test_ties_go_to_the_lower_topological_index() -> None:
    launcher = FakeLauncher()
    schedule(fan([5.0, 5.0, 5.0]), launcher, 1)
    assert launcher.launched == ["t0", "t1", "t2", "j"]


def test_slots_follow_the_machine_and_never_exceed_the_width() -> None:
    plan = fan([1.0] * 3)  # width 3, 4 nodes
    assert slots(plan.problem, sequential=False, requested=32) == 3
    assert slots(plan.problem, sequential=True, requested=32) == 1
    wide = fan([1.0] * 3, machine={"workers": 2})
    assert slots(wide.problem, sequential=False) == 2
    chain = problem_from_data(
        {
            "graph": {
                "nodes": [
                    {"id": "a", "task": "T0"},
                    {"id": "b", "task": "T1", "args": {"x": "<a>"}},
                ]
            },
            "models": [row("m0", "T0", 1), row("m1", "T1", 1)],
            "machine": {"workers": 8},
        }
    )
    assert slots(chain, sequential=False) == 1  # a chain keeps one worker busy


def test_the_executor_starts_no_more_workers_than_the_graph_can_use() -> None:
    from planner.run.executor import LocalExecutor

    plan = fan([1.0] * 3)
    assert LocalExecutor(options=RunOptions(max_workers=32)).slots_for(plan) == 3
    assert LocalExecutor(options=RunOptions(max_workers=32, sequential=True)).slots_for(plan) == 1


def test_a_failed_attempt_is_retried_then_replanned_without_the_model() -> None:
    plan = fan([5.0, 5.0])
    problem = plan.problem.model_dump(mode="json", exclude_none=True)
    problem["models"].append(row("m0b", "T0", 9.0))
    plan = solve(problem_from_data(problem))
    assert plan.assignment["t0"] == "m0"
    launcher = FakeLauncher(fail={"t0": 2})
    report = schedule(plan, launcher, 2)
    assert report.status == "succeeded", report.message
    node = report.node("t0")
    assert node.model == "m0b" and [a.ok for a in node.attempts] == [False, False, True]
    assert report.replans[0].excluded_models == ["m0"] and "m0b" in launcher.loaded


def test_a_hanging_attempt_times_out_and_is_abandoned() -> None:
    launcher = FakeLauncher(hang={"t1"})
    report = schedule(fan([1.0, 1.0]), launcher, 2, node_timeout_s=0.05, retries=0, replan=False)
    assert report.status == "partial"
    assert launcher.abandoned == ["t1#1"]
    assert "timed out" in (report.node("t1").error or "")
    assert report.node("j").status == "not_run"


def test_breaking_a_hard_budget_on_the_last_node_is_over_budget_not_success() -> None:
    plan = fan([1.0, 1.0], budgets={"energy_j": 4.0})
    launcher = FakeLauncher(energy_j={"t0": 1.0, "t1": 1.0, "j": 5.0})
    report = schedule(plan, launcher, 1)
    assert report.status == "over_budget"
    (overrun,) = report.overruns
    assert overrun.budget == "energy_j" and overrun.node == "j"
    assert overrun.overrun == pytest.approx(3.0)
    assert "energy_j 7 J > 4 J by 3 J" in overrun.line() and "at node 'j'" in report.message


def test_energy_running_ahead_replans_the_rest() -> None:
    plan = fan([1.0, 1.0], budgets={"energy_j": 100.0})
    data = plan.problem.model_dump(mode="json", exclude_none=True)
    data["models"].append({**row("mj2", "J", 2.0), "energy_j": 0.5})
    data["weights"] = {"energy": 0, "latency": 1}
    plan = solve(problem_from_data(data))
    assert plan.assignment["j"] == "mj"
    launcher = FakeLauncher(energy_j={"t0": 30.0, "t1": 30.0})
    report = schedule(plan, launcher, 1)
    assert report.replans and "energy_j runs ahead" in report.replans[0].reason
    assert report.status == "succeeded"


def test_elapsed_time_running_ahead_replans_under_a_latency_budget() -> None:
    plan = fan([20.0, 20.0], budgets={"latency_ms": 5000.0})
    launcher = FakeLauncher(delay_s={"t0": 0.15})  # predicted 20 ms, takes 150
    report = schedule(plan, launcher, 2)
    assert report.replans and "elapsed time runs ahead" in report.replans[0].reason
    assert report.replans[0].node == "t0"


def test_a_spent_latency_budget_stops_the_run_before_the_rest() -> None:
    plan = fan([1.0, 1.0], budgets={"latency_ms": 20.0})
    launcher = FakeLauncher(delay_s={"t0": 0.03, "t1": 0.03})
    report = schedule(plan, launcher, 2)
    assert report.status == "partial" and report.node("j").status == "not_run"
    assert "latency_ms" in report.message


def test_hooks_see_every_lifecycle_point() -> None:
    seen: list[str] = []

    class Spy(RunHook):
        def before_run(self, run: Scheduler) -> None:
            seen.append("before")

        def node_state(self, node: str, state: str, detail: str) -> None:
            if state == "succeeded":
                seen.append(node)

        def after_node(self, run: Scheduler, node: Any) -> None:
            seen.append(f"after:{node.id}")

        def after_run(self, run: Scheduler, report: Report) -> None:
            seen.append(f"end:{report.status}")

    Scheduler(fan([1.0]), FakeLauncher(), hooks=[Spy()], slots=1).run()
    assert seen == ["before", "after:t0", "t0", "after:j", "j", "end:succeeded"]


# --------------------------------------------------------------------------- pure functions


def test_accuracy_per_sink_and_path_and_missing_nodes() -> None:
    plan = fan([1.0, 1.0])
    problem = plan.problem
    view = accuracy_view(problem, {"t0": 0.5, "t1": 0.8, "j": 0.9})
    assert view.end_to_end == pytest.approx(0.36)
    assert [(s.sink, round(s.accuracy, 6)) for s in view.sinks] == [("j", 0.36)]
    assert sorted(round(p.accuracy, 6) for p in view.paths) == [0.45, 0.72]
    assert view.paths_total == 2
    nothing = accuracy_view(problem, {})
    assert nothing.end_to_end == 0.0 and nothing.missing == ["t0", "t1", "j"]
    assert nothing.sinks[0].missing == ["t0", "t1", "j"]


def test_a_run_where_no_node_ran_reports_accuracy_zero() -> None:
    launcher = FakeLauncher(fail={"t0": 9, "t1": 9})
    report = schedule(fan([1.0, 1.0]), launcher, 2, replan=False, retries=0)
    assert report.status in ("failed", "partial")
    assert report.totals_measured["accuracy"] == 0.0
    assert report.accuracy is not None and "t0" in report.accuracy.missing


def test_budgets_left_and_remaining_problem_are_pure() -> None:
    plan = fan([1.0, 1.0], budgets={"energy_j": 10, "latency_ms": 100, "min_accuracy": 0.5})
    before = plan.problem.model_dump_json()
    left = budgets_left(
        plan.problem, Spent(energy_j=4, elapsed_ms=30, accuracy=0.8, overhead_ms=10)
    )
    assert left["energy_j"] == 6 and left["latency_ms"] == 60
    assert left["min_accuracy"] == pytest.approx(0.625)
    sub = remaining_problem(plan.problem, ["j"], {"energy_j": 6}, {"m0"}, resident=["mj"])
    assert [n.id for n in sub.graph.nodes] == ["j"]
    assert sub.machine.resident == ("mj",) and sub.machine.startup_ms == 0
    assert "m0" not in {m.id for m in sub.candidates}
    assert plan.problem.model_dump_json() == before


def test_cold_loading_and_startup_count_in_the_predicted_latency() -> None:
    plan = fan([10.0, 10.0], machine={"cold": True, "startup_ms": 7.0, "dispatch_ms": 1.0})
    data = plan.problem.model_dump(mode="json", exclude_none=True)
    for m in data["models"]:
        m["load_ms"] = 100.0 if m["id"] == "m0" else 0.0
        m["load_energy_j"] = 2.0 if m["id"] == "m0" else 0.0
    problem = problem_from_data(data)
    timing = predicted_timing(problem, plan.assignment, 1)
    assert timing.makespan_ms == pytest.approx(11 + 11 + 2)
    assert timing.latency_ms == pytest.approx(7 + 100 + 24)
    assert timing.load_energy_j == 2.0
    warm = predicted_timing(
        problem.model_copy(update={"machine": problem.machine.model_copy(update={"cold": False})}),
        plan.assignment,
        1,
    )
    assert warm.load_ms == 0.0
