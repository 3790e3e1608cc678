"""`Service`: what `/v1/plan`, `/v1/run` and `/v1/budget` do, without HTTP.

A request is admitted (`Admission`), opened in the tracker (measured from then on), turned
into a `Problem` (decomposed text, a graph over the catalog, or a problem), solved under the
energy the slot still has (`select`), and for `/v1/run` its plan's energy is reserved and the
plan executed on resident models (`Runtime`, `ModelCache`). When no plan fits the slot the
policy decides (`NoFit`: the HTTP layer answers 429 or waits for the next slot; ``degrade``
returns the cheapest plan, flagged).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from planner.errors import PlannerError, ProblemError
from planner.execute import RunError, new_run_id
from planner.measure import EnergyCounter, default_counter
from planner.plan import Plan
from planner.problem import Budgets, Problem, Weights, problem_from_data
from planner.runners import RunnerError, RunnerFactory
from planner.serve.admission import Admission
from planner.serve.cache import CacheFull, ModelCache
from planner.serve.config import ServeConfig
from planner.serve.metrics import ServeMetrics
from planner.serve.runtime import Runtime
from planner.serve.schemas import PlanRequest, RunRequest, ServeInfo
from planner.serve.select import select, select_accurate
from planner.serve.store import SlotStore
from planner.serve.tracker import EnergyBudgetTracker, Reservation
from planner.trust import untrusted_models
from profiles import ModelProfile, with_load_costs
from tasks import TaskGraph

#: Tries to reserve a plan's energy when concurrent requests took the slot's energy first.
RESERVE_TRIES = 3


class ServiceError(PlannerError):
    """A request that cannot be served; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


class NoFit(PlannerError):
    """No plan fits what is left of the slot (the policy decides what happens)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Outcome:
    """A finished request: the JSON body to answer, already encoded (inside the request's
    measured window, so its energy counts)."""

    payload: bytes

    @property
    def body(self) -> dict[str, Any]:
        """The answer, decoded (the service itself only sends ``payload``)."""
        body: dict[str, Any] = json.loads(self.payload)
        return body

    @classmethod
    def of(cls, body: dict[str, Any]) -> Outcome:
        return cls(json.dumps(body, allow_nan=False, default=str).encode("utf-8"))


class Service:
    """The service's state: catalog, tracker, resident models, shared workers."""

    def __init__(
        self,
        config: ServeConfig,
        counter: EnergyCounter | None = None,
        clock: Callable[[], float] = time.time,
        decomposer: Callable[[str], TaskGraph] | None = None,
        factory: RunnerFactory | None = None,
        catalog: list[ModelProfile] | None = None,
    ) -> None:
        self.config = config
        self.cache = ModelCache(config.memory_mb, factory)
        rows = catalog if catalog is not None else _load_catalog(config.catalog)
        if not rows:
            raise ProblemError("the catalog has no models; give --catalog FILE with some")
        self.catalog = [cold_row(m, self.cache.warmup) for m in rows]
        self.by_task: dict[str, list[ModelProfile]] = {}
        for m in self.catalog:
            self.by_task.setdefault(m.task, []).append(m)
        self.state_dir = config.resolved_state_dir()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lockfile = _exclusive_lock(self.state_dir / "serve.lock")
        self.store = SlotStore(self.state_dir / "slots.sqlite")
        self.counter = counter or default_counter()
        self.tracker = EnergyBudgetTracker(
            self.store,
            self.counter,
            config.slot_s,
            config.slot_energy_j,
            sample_s=config.sample_s,
            clock=clock,
        )
        zoo = any((m.adapter or {}).get("kind") == "zoo" for m in self.catalog)
        self.runtime = Runtime(
            self.cache,
            config.workers,
            self.counter,
            node_timeout_s=None,  # the executor's rule: 10 s + 20 x predicted latency
            runs_dir=self.state_dir / "runs",
            keep_runs=config.keep_runs,
            torch_threads=1 if zoo else None,
        )
        self.admission = Admission(config.inflight_limit, config.queue_max)
        self.metrics = ServeMetrics()
        self._decomposer = decomposer
        from tasks.decompose.inputs import InputPolicy

        self.inputs_policy = InputPolicy(config.input_dir)
        self.started_unix = time.time()
        self._local = threading.local()  # per request thread: solver calls made

    # ----------------------------------------------------------------- life

    def start(self) -> None:
        # the workers' start-up (thread limits import torch for zoo models) and the preload
        # happen before the tracker starts counting: they are the service's, not a request's
        self.runtime.ready()
        self.import_libraries()
        self._decompose_ready()
        if self.config.preload:
            lease = self.cache.lease(self.catalog)
            self.cache.release(lease)
        self.tracker.start()

    def import_libraries(self) -> list[str]:
        """Import the shared libraries the catalog's zoo models need (torch, sentence
        transformers, ...), as the profiler does before it times a load: then a cold load
        costs what its profile says (``load_ms``), and the first model of a library does
        not also pay the library's import inside a request. Returns the modules imported."""
        try:
            from profiles.zoo.registry import MODEL_CLASSES
        except ImportError:  # pragma: no cover - the zoo is part of the distribution
            return []
        modules: list[str] = []
        for m in self.catalog:
            adapter = m.adapter or {}
            cls = MODEL_CLASSES.get(str(adapter.get("name", m.id)))
            if adapter.get("kind") == "zoo" and cls is not None and cls.available():
                modules.extend(mod for mod in cls.requires if mod not in modules)
        done = []
        for mod in modules:
            with contextlib.suppress(Exception):  # a broken library fails its model's load
                importlib.import_module(mod)
                done.append(mod)
        return done

    def close(self) -> None:
        self.tracker.close()
        self.runtime.close()
        self.store.close()
        with contextlib.suppress(OSError):
            self._lockfile.close()

    # ----------------------------------------------------------------- views

    def budget(self) -> dict[str, Any]:
        view = self.tracker.snapshot()
        view["policy"] = self.config.policy
        view["history"] = self.tracker.history(10)
        return view

    def health(self) -> dict[str, Any]:
        """Liveness: answered on the event loop, so it takes no lock a request's thread
        may hold, and touches neither the solver nor SQLite."""
        return {
            "status": "ok",
            "uptime_s": round(time.time() - self.started_unix, 3),
            "models": len(self.catalog),
            "resident_models": list(self.cache.resident_ids),
            "workers": self.config.workers,
            "inflight": self.admission.inflight,
            "queued": self.admission.queued,
            "energy_meter": getattr(self.counter, "source", "unknown"),
        }

    def metrics_text(self) -> bytes:
        self.metrics.refresh(
            self.tracker.snapshot(),
            self.cache.stats(),
            self.admission.inflight,
            self.admission.queued,
        )
        return self.metrics.render()

    # -------------------------------------------------------------- requests

    def plan(self, body: PlanRequest, queued_s: float = 0.0) -> Outcome:
        """Answer `/v1/plan` (runs in a worker thread; raises `NoFit` or `ServiceError`)."""
        res = self.tracker.open("plan")
        self._local.solves = 0
        learn = True
        plan: Plan | None = None
        try:
            problem, _ = self.problem_of(body, run=False)
            plan, degraded, available, ms = self._choose(problem, res, body.goal)
            self._record(plan, degraded)
            info = self._info(res, plan, available, degraded, queued_s, ms)
            return Outcome(_plan_payload(plan, info))
        except (NoFit, ServiceError, PlannerError):
            learn = False
            raise
        finally:
            self.tracker.close_request(
                res,
                "planned" if plan is not None else "refused",
                accuracy=plan.totals.accuracy if plan is not None and plan.totals else None,
                models=sorted(set(plan.assignment.values())) if plan is not None else [],
                learn=learn,
            )

    def run(self, body: RunRequest, queued_s: float = 0.0) -> Outcome:
        """Answer `/v1/run`: plan under the slot, reserve, execute on resident models."""
        res = self.tracker.open("run")
        self._local.solves = 0
        learn = False
        plan: Plan | None = None
        outcome = "refused"
        try:
            problem, text = self.problem_of(body, run=True)
            inputs = self._check_inputs(body.inputs)
            plan, degraded, available, ms = self._reserve(problem, res, body.goal)
            bad = untrusted_models(plan, self.catalog)
            if bad:
                raise ServiceError(
                    403,
                    f"the request names model adapters the server's catalog does not declare: "
                    f"{', '.join(bad)}; only catalog models run (give 'models' out to use them)",
                )
            self._record(plan, degraded)
            info = self._info(res, plan, available, degraded, queued_s, ms)
            chosen = _chosen_profiles(plan)
            try:
                lease = self.cache.lease(chosen)
            except CacheFull as exc:
                self.metrics.rejections.labels("memory").inc()
                raise ServiceError(503, str(exc), retry_after_s=1.0) from exc
            except RunnerError as exc:
                raise ServiceError(500, f"a chosen model failed to load: {exc}") from exc
            try:
                run = self.runtime.execute(plan, inputs, lease, request=text, run_id=new_run_id())
            except RunError as exc:
                raise ServiceError(422, str(exc).replace("\n", " ")) from exc
            finally:
                self.cache.release(lease)
            # a cold start's load is planned from its profile, whose error is the load's,
            # not the request's overhead: such a run is counted in the slot, not learned from
            learn = not lease.cold
            outcome = run.report.status
            for node in run.report.nodes:
                if node.measured is not None and node.model is not None:
                    self.metrics.node_seconds.labels(node.model).observe(
                        node.measured.latency_ms / 1000.0
                    )
            plan_body = _plan_body(plan, info)
            answer: dict[str, Any] = {
                "plan": plan_body,
                "serve": plan_body.pop("serve"),
                "outputs": run.outputs,
                "answer": run.answer,
                "report": run.report.model_dump(mode="json"),
            }
            # encoded inside the measured window; the energy is spliced in after it closes
            head = json.dumps(answer, allow_nan=False, default=str).encode("utf-8")
        finally:
            measured = self.tracker.close_request(
                res,
                outcome,
                accuracy=plan.totals.accuracy if plan is not None and plan.totals else None,
                models=sorted(set(plan.assignment.values())) if plan is not None else [],
                learn=learn,
            )
            self.metrics.request_energy.labels("run").inc(measured)
        answer["energy"] = {
            "predicted_j": res.predicted_j,
            "measured_j": measured,
            "source": getattr(self.counter, "source", "unknown"),
        }
        tail = json.dumps(answer["energy"]).encode("utf-8")
        return Outcome(head[:-1] + b', "energy": ' + tail + b"}")

    # ------------------------------------------------------------ selection

    def _choose(
        self, problem: Problem, res: Reservation, goal: str = "accuracy"
    ) -> tuple[Plan, bool, float, float]:
        """(plan, degraded, energy available, selection ms) under the slot; `NoFit` when
        no plan fits the slot and the policy does not degrade."""
        available = self.tracker.available_j(res)
        spent_ms = 0.0
        floor_j = _least_energy(problem)
        if floor_j > available and self.config.policy != "degrade":
            # refused without solving: refusals are energy too, so they must be cheap
            if floor_j + self.tracker.overhead_j[res.kind] > self.tracker.budget_j:
                raise ServiceError(
                    422,
                    f"this request needs at least {floor_j:.4g} J, more than a whole slot's "
                    f"budget ({self.tracker.budget_j:.4g} J); raise --slot-energy-j",
                )
            wait = self.tracker.seconds_to_next_slot()
            raise NoFit(
                f"no plan fits what is left of this slot ({max(0.0, available):.4g} J "
                f"available, the request needs at least {floor_j:.4g} J); retry in the next "
                f"slot, in {wait:.3g} s",
                retry_after_s=wait,
            )
        limited = _with_energy(problem, available)
        if limited is not None:
            plan, ms = self._select(limited, accurate=goal == "accuracy")
            spent_ms += ms
            user = problem.budgets.energy_j
            if plan.has_plan or (user is not None and available >= user):
                return plan, False, available, spent_ms
        # no plan within the slot: is there one at all (the request's own budgets)?
        cheapest, ms = self._select(
            problem.model_copy(update={"weights": Weights(energy=1.0, latency=0.0, cost=0.0)})
        )
        spent_ms += ms
        if not cheapest.has_plan:
            return cheapest, False, available, spent_ms
        assert cheapest.totals is not None
        need = cheapest.totals.energy_j + self.tracker.overhead_j[res.kind]
        if need > self.tracker.budget_j:
            raise ServiceError(
                422,
                f"the cheapest plan for this request needs {need:.4g} J, more than a whole "
                f"slot's budget ({self.tracker.budget_j:.4g} J); relax the request's budgets "
                "or raise --slot-energy-j",
            )
        if self.config.policy == "degrade":
            return cheapest, True, available, spent_ms
        wait = self.tracker.seconds_to_next_slot()
        raise NoFit(
            f"no plan fits what is left of this slot ({max(0.0, available):.4g} J available, "
            f"the cheapest plan needs {cheapest.totals.energy_j:.4g} J); retry in the next "
            f"slot, in {wait:.3g} s",
            retry_after_s=wait,
        )

    def _reserve(
        self, problem: Problem, res: Reservation, goal: str
    ) -> tuple[Plan, bool, float, float]:
        spent = 0.0
        for _ in range(RESERVE_TRIES):
            plan, degraded, available, ms = self._choose(problem, res, goal)
            spent += ms
            if not plan.has_plan:
                raise ServiceError(422, f"no plan meets the request's own budgets: {plan.message}")
            assert plan.totals is not None
            if self.tracker.reserve(res, plan.totals.energy_j, force=degraded):
                return plan, res.degraded, available, spent
        wait = self.tracker.seconds_to_next_slot()
        raise NoFit(
            "concurrent requests took what was left of this slot; retry in the next slot",
            retry_after_s=wait,
        )

    def _select(self, problem: Problem, accurate: bool = False) -> tuple[Plan, float]:
        t0 = time.perf_counter()
        if accurate:
            plan, solves = select_accurate(problem, time_limit_s=self.config.time_limit_s)
        else:
            plan, solves = select(problem, time_limit_s=self.config.time_limit_s), 1
        seconds = time.perf_counter() - t0
        self.metrics.selection_seconds.observe(seconds)
        self._local.solves = getattr(self._local, "solves", 0) + solves
        return plan, seconds * 1000.0

    def _record(self, plan: Plan, degraded: bool) -> None:
        self.metrics.plans.labels(plan.status, str(degraded).lower()).inc()
        if plan.totals is not None:
            self.metrics.plan_energy.observe(plan.totals.energy_j)
            self.tracker.record_plan(
                plan.totals.energy_j,
                plan.totals.accuracy,
                sorted(set(plan.assignment.values())),
                degraded,
            )

    def _info(
        self,
        res: Reservation,
        plan: Plan,
        available: float,
        degraded: bool,
        queued_s: float,
        selection_ms: float,
    ) -> ServeInfo:
        resident = set(self.cache.resident())
        chosen = sorted(set(plan.assignment.values()))
        predicted = res.predicted_j
        if res.kind == "plan" and plan.totals is not None:
            predicted = self.tracker.overhead_j["plan"]
        note = ""
        if degraded:
            note = (
                "no plan fitted what is left of the slot; this is the cheapest plan that "
                "meets the request's own budgets (policy degrade), over the slot's budget"
            )
        return ServeInfo(
            request_id=res.id,
            slot=int(res.slot_start_unix // self.tracker.slot_s),
            energy_available_j=available if math.isfinite(available) else None,
            predicted_energy_j=predicted,
            degraded=degraded,
            queued_s=round(queued_s, 4),
            policy=self.config.policy,
            selection_ms=round(selection_ms, 4),
            solves=getattr(self._local, "solves", 0),
            resident_models=[m for m in chosen if m in resident],
            cold_models=[m for m in chosen if m not in resident],
            note=note,
        )

    # -------------------------------------------------------------- problems

    def problem_of(self, body: PlanRequest, run: bool) -> tuple[Problem, str | None]:
        """The request's `Problem` (and its text, if any), with the request's overrides and
        the models resident now recorded in ``metadata.resident_models``."""
        text: str | None = None
        if body.problem is not None:
            data = dict(body.problem)
            if isinstance(data.get("models"), str):
                raise ServiceError(
                    400,
                    "problem.models names a file; the server reads no files for a request: "
                    "give the models inline, or leave 'models' out to use the server's catalog",
                )
            if "models" not in data and isinstance(data.get("graph"), dict):
                graph = _graph_of(data["graph"])
                data["models"] = [m.model_dump(exclude_none=True) for m in self._rows(graph)]
            if body.budgets is not None:
                data["budgets"] = {
                    **(data.get("budgets") or {}),
                    **body.budgets.model_dump(exclude_none=True, exclude_defaults=True),
                }
            if body.weights is not None:
                data["weights"] = body.weights.model_dump()
            if body.execution is not None:
                data["execution"] = body.execution
            problem = problem_from_data(data, where="problem")
            text = problem.description
        else:
            if body.graph is not None:
                graph = body.graph
            else:
                assert body.request is not None
                text = body.request
                graph = self._decompose(body.request)
            problem = self._problem(graph, body, text)
        if run:
            problem = self._confine_paths(problem)
        if self.config.memory_mb is not None:
            limit = problem.budgets.memory_mb
            if limit is None or limit > self.config.memory_mb:
                problem = problem.model_copy(
                    update={
                        "budgets": problem.budgets.model_copy(
                            update={"memory_mb": self.config.memory_mb}
                        )
                    }
                )
        resident = self.cache.resident()
        metadata = {**problem.metadata, "resident_models": resident}
        # the plan counts a cold start (load_ms, load_energy_j, once per distinct model) for
        # every chosen model that is not resident now (it may still be evicted before the
        # run leases it: then the run loads it, unplanned)
        machine = problem.machine.model_copy(
            update={"cold": True, "resident": tuple(sorted({*problem.machine.resident, *resident}))}
        )
        return problem.model_copy(update={"metadata": metadata, "machine": machine}), text

    def _problem(self, graph: TaskGraph, body: PlanRequest, text: str | None) -> Problem:
        try:
            return Problem(
                name="request",
                description=text,
                graph=graph,
                models=tuple(self._rows(graph)),
                budgets=body.budgets or Budgets(),
                weights=body.weights or Weights(),
                execution=body.execution or "parallel",
            )
        except ValueError as exc:
            raise ProblemError(_first_error(exc)) from exc

    def _rows(self, graph: TaskGraph) -> list[ModelProfile]:
        """The catalog's rows for the graph's tasks (a task none serves is an error)."""
        rows: list[ModelProfile] = []
        for node in graph.nodes:
            if node.task not in self.by_task:
                from tasks.registry import suggest_task

                close = suggest_task(node.task, self.by_task)
                hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ProblemError(
                    f"node {node.id!r} has task {node.task!r}, which no model of the server's "
                    f"catalog serves.{hint} Tasks served: {', '.join(sorted(self.by_task))}"
                )
        for task in graph.task_types():
            rows.extend(self.by_task[task])
        return rows

    def _decompose_ready(self) -> Callable[[str], TaskGraph] | None:
        """The decomposer, built once (at start: building it is not a request's energy)."""
        if self._decomposer is None:
            try:
                from tasks.decompose import make_decomposer
            except ImportError:  # pragma: no cover - part of the distribution
                return None
            self._decomposer = make_decomposer(semantic=self.config.semantic).decompose
        return self._decomposer

    def _decompose(self, text: str) -> TaskGraph:
        if self._decompose_ready() is None:
            raise ServiceError(501, "text requests need the decomposer (tasks.decompose)")
        assert self._decomposer is not None
        try:
            return self._decomposer(text)
        except ValueError as exc:
            raise ProblemError(f"the request could not be decomposed: {exc}") from exc

    def _confine_paths(self, problem: Problem) -> Problem:
        """File arguments of the graph must resolve inside the input directory (see
        `_confine`)."""
        changed = False
        nodes = []
        for node in problem.graph.nodes:
            new_args = _map_strings(node.args, partial(self._confine, where=f"node {node.id!r}"))
            if new_args != node.args:
                changed = True
                nodes.append(node.model_copy(update={"args": new_args}))
            else:
                nodes.append(node)
        if not changed:
            return problem
        graph = problem.graph.model_copy(update={"nodes": tuple(nodes)})
        return problem.model_copy(update={"graph": graph})

    def _check_inputs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if "run_dir" in inputs:
            raise ServiceError(400, "input 'run_dir' is reserved: the server sets it")
        return {
            name: _map_strings(value, partial(self._confine, where=f"input {name!r}"))
            for name, value in inputs.items()
        }

    def _confine(self, text: str, where: str) -> str:
        """A string that looks like a file path must resolve inside the input directory
        (`InputPolicy`: no '..', no '~', no absolute path, no symlink out: else 400); when
        that file exists the string becomes its absolute path, so models find it whatever
        the server's working directory."""
        from tasks.decompose.inputs import InputPathError, looks_like_path

        if not looks_like_path(text):
            return text
        try:
            path = self.inputs_policy.resolve(text, where=where)
        except InputPathError as exc:
            raise ServiceError(400, str(exc)) from exc
        return str(path) if path.exists() else text


# ---------------------------------------------------------------------------- helpers


def _load_catalog(path: Path | None) -> list[ModelProfile]:
    import sys

    from planner.catalogs import load_models
    from planner.io import plain

    return load_models(path, warn=lambda m: print(f"warning: {plain(m)}", file=sys.stderr))


def cold_row(model: ModelProfile, warmup: int) -> ModelProfile:
    """``model`` with the cost of loading it into the service (`ModelCache`): its profile's
    load (`profiles.with_load_costs`: the profiler's timed load, energy derived where not
    measured) plus, for a zoo model whose load came from the profiler, the ``warmup``
    inferences the cache runs after loading it. A row that gives ``load_ms`` itself keeps
    it as given; a row with no recorded load counts none."""
    row = with_load_costs(model)
    zoo = (model.adapter or {}).get("kind") == "zoo"
    if model.load_ms is None and row.load_ms is not None and warmup > 0 and zoo:
        row = row.model_copy(
            update={
                "load_ms": row.load_ms + warmup * row.latency_ms,
                "load_energy_j": (row.load_energy_j or 0.0) + warmup * row.energy_j,
            }
        )
    return row


def _exclusive_lock(path: Path) -> Any:
    """Hold an exclusive lock on ``path`` while the service runs (one service per state
    folder: two would count the same slot's energy twice). Released by the OS on exit."""
    handle = open(path, "a+")  # noqa: SIM115 - held for the service's lifetime
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # pragma: no cover - not POSIX
        return handle
    except OSError as exc:
        handle.close()
        raise ProblemError(
            f"another `planner serve` uses the state folder {path.parent}; stop it or give "
            "--state-dir another folder"
        ) from exc
    return handle


def _with_energy(problem: Problem, available: float) -> Problem | None:
    """``problem`` with the energy budget lowered to ``available`` (None when <= 0)."""
    if math.isinf(available):
        return problem
    if not available > 0:
        return None
    user = problem.budgets.energy_j
    if user is not None and user <= available:
        return problem
    budgets = problem.budgets.model_copy(update={"energy_j": available})
    return problem.model_copy(update={"budgets": budgets})


def _least_energy(problem: Problem) -> float:
    """The least energy any plan of ``problem`` can use (each node on its cheapest model)."""
    cheapest: dict[str, float] = {}
    for m in problem.candidates:
        cheapest[m.task] = min(m.energy_j, cheapest.get(m.task, math.inf))
    return sum(cheapest[node.task] for node in problem.graph.nodes)


def _chosen_profiles(plan: Plan) -> list[ModelProfile]:
    rows = {(m.id, m.task): m for m in plan.problem.candidates}
    return [rows[(plan.assignment[n.id], n.task)] for n in plan.nodes if n.id in plan.assignment]


def _plan_body(plan: Plan, info: ServeInfo) -> dict[str, Any]:
    data = plan.model_dump(mode="json")
    data["serve"] = info.model_dump(mode="json")
    return data


def _plan_payload(plan: Plan, info: ServeInfo) -> bytes:
    """`_plan_body` encoded by pydantic's own serializer: the same JSON values (compact, in
    field order) at a third of the time of ``json.dumps`` over the dumped dict, which
    matters on the `/v1/plan` hot path (a 10-node plan is about 35 kB)."""
    head = plan.model_dump_json().encode("utf-8")
    return head[:-1] + b',"serve":' + info.model_dump_json().encode("utf-8") + b"}"


def _graph_of(data: Any) -> TaskGraph:
    try:
        return TaskGraph.model_validate(data)
    except ValueError as exc:
        raise ProblemError(f"problem.graph is invalid: {_first_error(exc)}") from exc


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            loc = ".".join(str(p) for p in first.get("loc", ())) or "(top level)"
            return f"{loc}: {str(first.get('msg', exc)).removeprefix('Value error, ')}"
        except (IndexError, TypeError):
            pass
    return str(exc).splitlines()[0]


def _map_strings(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_map_strings(v, fn) for v in value]
    return value
