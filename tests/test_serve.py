"""`planner serve` in process: the Energy Budget Tracker, policies, admission, resident models,
auth, limits and paths (FastAPI's TestClient; energy from `tests.run_models.spend`, exact)."""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="planner serve needs the 'serve' extra")

from fastapi.testclient import TestClient

from planner import problem_from_data
from planner.cli import main
from planner.measure import FunctionCounter
from planner.runners import RunnerFactory
from planner.serve import select as select_module
from planner.serve.app import build
from planner.serve.cache import CacheFull, ModelCache
from planner.serve.config import ServeConfig
from planner.serve.service import Service
from planner.serve.store import SlotStore
from planner.serve.tracker import EnergyBudgetTracker
from profiles import ModelProfile, load_catalog_data
from tests import run_models

TASKS = ("Summarization", "Translation", "Text-to-Speech")
#: (name, accuracy, joules) of the three models per task: the larger, the better and costlier
SIZES = (("large", 0.95, 3.0), ("medium", 0.85, 1.5), ("small", 0.7, 0.5))


def slug(task: str) -> str:
    return task.lower().replace("-", "").replace(" ", "")


def spend_rows(sleep_s: float = 0.0, memory_mb: float = 10.0) -> list[dict[str, Any]]:
    """Models that add exactly their profile's joules to `run_models.JOULES` when they run."""
    rows = []
    for task in TASKS:
        for size, accuracy, joules in SIZES:
            mid = f"{slug(task)}-{size}"
            rows.append(
                {
                    "id": mid,
                    "task": task,
                    "accuracy": accuracy,
                    "latency_ms": 5.0 + 1000 * sleep_s,
                    "energy_j": joules,
                    "memory_mb": memory_mb,
                    "adapter": {
                        "kind": "python",
                        "target": "tests.run_models:spend",
                        "options": {"joules": joules, "tag": mid, "after_s": sleep_s},
                    },
                }
            )
    return rows


def catalog(rows: list[dict[str, Any]]) -> list[ModelProfile]:
    return list(load_catalog_data({"models": rows}).models)


def joules_counter() -> FunctionCounter:
    return FunctionCounter(lambda: run_models.JOULES[0], "estimate", "test joules")


def one_node(task: str = "Summarization") -> dict[str, Any]:
    return {"nodes": [{"id": "n", "task": task, "args": {"text": "$x"}}]}


def make_service(tmp_path: Path, rows: list[dict[str, Any]] | None = None, **cfg: Any) -> Service:
    settings: dict[str, Any] = {
        "state_dir": tmp_path / "state",
        "input_dir": tmp_path,
        "slot_s": 600.0,
        "workers": 2,
        **cfg,
    }
    return Service(
        ServeConfig(**settings), counter=joules_counter(), catalog=catalog(rows or spend_rows())
    )


def client(service: Service) -> TestClient:
    return TestClient(build(service))


def run_body(graph: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"graph": graph or one_node(), "inputs": {"x": "hi"}, **extra}


# --------------------------------------------------------------------------- tracker


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Meter:
    source = "estimate"
    note = "a test meter"

    def __init__(self) -> None:
        self.j = 0.0

    def read_j(self) -> float:
        return self.j


def test_reservation_is_replaced_by_what_was_measured(tmp_path: Path) -> None:
    meter, clock = Meter(), Clock()
    tracker = EnergyBudgetTracker(SlotStore(tmp_path / "s.db"), meter, 10.0, 10.0, clock=clock)
    res = tracker.open("run")
    assert tracker.available_j(res) == pytest.approx(10.0)
    assert tracker.reserve(res, 4.0)
    view = tracker.snapshot()
    assert view["reserved_j"] == pytest.approx(4.0) and view["remaining_j"] == pytest.approx(6.0)
    other = tracker.open("run")
    assert tracker.available_j(other) == pytest.approx(6.0)
    assert not tracker.reserve(other, 6.5)  # does not fit next to the first reservation
    tracker.close_request(other, "refused", learn=False)
    meter.j = 3.0  # the run used 3 J so far: 1 J of its prediction is still reserved
    view = tracker.snapshot()
    assert view["used_j"] == pytest.approx(3.0) and view["reserved_j"] == pytest.approx(1.0)
    assert tracker.close_request(res, "succeeded") == pytest.approx(3.0)
    view = tracker.snapshot()
    assert view["reserved_j"] == 0 and view["remaining_j"] == pytest.approx(7.0)
    assert view["margin_j"] == 0.0  # it used less than predicted: no margin needed
    assert tracker.overhead_j["run"] == 0.0  # measured under the plan: no overhead


def test_serving_power_is_the_window_s_joules_over_its_span(tmp_path: Path) -> None:
    # the tracker keeps the window's joules as a running sum: it must equal the samples'
    meter, clock = Meter(), Clock()
    tracker = EnergyBudgetTracker(
        SlotStore(tmp_path / "s.db"), meter, 100.0, 100.0, clock=clock, window_s=2.0
    )
    for step in range(40):
        clock.t += 0.25
        meter.j += 0.1 * (step % 3)
        tracker.sample()
        samples = list(tracker._serving)
        span = samples[-1][1] - samples[0][0]
        expected = sum(j for _, _, j in samples) / max(span, min(tracker.window_s, 1.0))
        assert tracker.serving_w == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert samples[0][1] >= clock.t - 2.0  # old samples left the window


def test_concurrent_requests_share_the_meter_equally(tmp_path: Path) -> None:
    meter, clock = Meter(), Clock()
    tracker = EnergyBudgetTracker(SlotStore(tmp_path / "s.db"), meter, 10.0, 100.0, clock=clock)
    a = tracker.open("run")
    meter.j = 1.0
    b = tracker.open("run")
    meter.j = 3.0
    assert tracker.close_request(a, "ok") == pytest.approx(2.0)
    assert tracker.close_request(b, "ok") == pytest.approx(1.0)
    assert tracker.snapshot()["used_j"] == pytest.approx(3.0)


def test_slots_roll_over_and_a_straddling_sample_is_split(tmp_path: Path) -> None:
    meter, clock = Meter(), Clock(1005.0)
    store = SlotStore(tmp_path / "s.db")
    tracker = EnergyBudgetTracker(store, meter, 10.0, 50.0, clock=clock)
    assert tracker.slot.start_unix == 1000.0
    meter.j, clock.t = 2.0, 1008.0
    tracker.sample()
    meter.j, clock.t = 6.0, 1012.0  # 4 J over 4 s: 2 s in the old slot, 2 s in the new
    tracker.sample()
    assert tracker.slot.start_unix == 1010.0
    assert tracker.snapshot()["used_j"] == pytest.approx(2.0)
    assert tracker.seconds_to_next_slot() == pytest.approx(8.0)
    old = {s.start_unix: s.used_j for s in store.recent_slots(10.0)}
    assert old[1000.0] == pytest.approx(4.0)


def test_restart_keeps_the_slot_and_does_not_double_count(tmp_path: Path) -> None:
    meter, clock = Meter(), Clock(1001.0)
    db = tmp_path / "s.db"
    first = EnergyBudgetTracker(SlotStore(db), meter, 10.0, 50.0, clock=clock)
    done = first.open("run")
    meter.j = 3.0
    first.close_request(done, "ok")
    running = first.open("run")
    assert first.reserve(running, 5.0)
    meter.j = 4.0
    first.sample()  # persisted: 4 J; then the process dies (no close)
    # a new process: its meter starts from zero, the slot's energy comes from the file
    meter2, clock.t = Meter(), 1003.0
    second = EnergyBudgetTracker(SlotStore(db), meter2, 10.0, 50.0, clock=clock)
    assert second.store.lost == 1  # the run that was in flight
    view = second.snapshot()
    assert view["used_j"] == pytest.approx(4.0) and view["reserved_j"] == 0
    meter2.j = 1.0
    second.sample()
    second.sample()
    assert second.snapshot()["used_j"] == pytest.approx(5.0)
    states = [r["state"] for r in second.store.requests_in_slot(10.0, 1000.0)]
    assert sorted(states) == ["done", "lost"]
    # a day later the request rows are pruned at a slot change; the slot's totals stay
    clock.t = 1000.0 + 86_400 + 10
    second.sample()
    assert second.store.requests_in_slot(10.0, 1000.0) == []
    assert {s.start_unix for s in second.store.recent_slots(10.0, 100)} >= {1000.0}


# --------------------------------------------------------------------------- selection


def test_select_uses_the_lean_path_when_the_solver_offers_it() -> None:
    import inspect

    from planner.solve import solve

    assert ("explain" in inspect.signature(solve).parameters) == select_module.LEAN


@pytest.mark.parametrize("seed", range(12))
def test_select_accurate_finds_the_most_accurate_plan_within_the_energy(seed: int) -> None:
    rng = random.Random(seed)
    tasks = ["T0", "T1", "T2"]
    models = [
        {
            "id": f"{t}-m{i}",
            "task": t,
            "accuracy": round(rng.uniform(0.5, 1.0), 3),
            "latency_ms": round(rng.uniform(1, 50), 1),
            "energy_j": round(rng.uniform(0.1, 5), 2),
        }
        for t in tasks
        for i in range(4)
    ]
    nodes = [{"id": f"n{v}", "task": rng.choice(tasks)} for v in range(4)]
    rows = [[m for m in models if m["task"] == n["task"]] for n in nodes]
    energies = [sum(m["energy_j"] for m in pick) for pick in itertools.product(*rows)]
    budget = rng.uniform(min(energies), max(energies))
    best = max(
        math.prod(m["accuracy"] for m in pick)
        for pick in itertools.product(*rows)
        if sum(m["energy_j"] for m in pick) <= budget
    )
    problem = problem_from_data(
        {"graph": {"nodes": nodes}, "models": models, "budgets": {"energy_j": budget}}
    )
    plan, solves = select_module.select_accurate(problem)
    assert plan.has_plan and plan.totals is not None
    assert plan.totals.energy_j <= budget + 1e-9
    assert plan.totals.accuracy >= best * (1 - select_module.ACCURACY_TOL) - 1e-12
    assert solves <= 2 + select_module.MAX_PROBES


# --------------------------------------------------------------------------- policies


def test_plans_move_to_cheaper_models_as_the_slot_fills_then_429(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=10.0)
    energies = []
    with client(service) as c:
        for _ in range(8):
            r = c.post("/v1/run", json=run_body())
            if r.status_code == 429:
                break
            assert r.status_code == 200, r.text
            body = r.json()
            energies.append(body["plan"]["totals"]["energy_j"])
            assert body["answer"].startswith("hi|")
            assert body["energy"]["measured_j"] == pytest.approx(energies[-1])
        assert r.status_code == 429
        retry = int(r.headers["Retry-After"])
        assert 1 <= retry <= 600
        assert "next slot" in r.json()["error"]
        budget = c.get("/v1/budget").json()
    assert energies == [3.0, 3.0, 3.0, 0.5, 0.5]
    assert budget["used_j"] == pytest.approx(10.0) and budget["remaining_j"] == pytest.approx(0)
    assert budget["rejected"] == 1
    assert [p["energy_j"] for p in budget["plans"]] == energies


def test_plan_requests_see_the_slot_but_reserve_nothing(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=4.0)
    with client(service) as c:
        first = c.post("/v1/plan", json={"graph": one_node()}).json()
        assert first["assignment"] == {"n": "summarization-large"}
        assert first["serve"]["energy_available_j"] == pytest.approx(4.0)
        assert c.post("/v1/run", json=run_body()).status_code == 200  # 3 J
        second = c.post("/v1/plan", json={"graph": one_node()}).json()
        assert second["assignment"] == {"n": "summarization-small"}
        assert c.get("/v1/budget").json()["used_j"] == pytest.approx(3.0)


def test_degrade_policy_returns_the_cheapest_plan_and_says_so(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=3.2, policy="degrade")
    with client(service) as c:
        assert c.post("/v1/run", json=run_body()).json()["plan"]["totals"]["energy_j"] == 3.0
        r = c.post("/v1/run", json=run_body())
        assert r.status_code == 200
        body = r.json()
        assert body["serve"]["degraded"] is True and "degrade" in body["serve"]["note"]
        assert body["plan"]["assignment"] == {"n": "summarization-small"}
        assert c.get("/v1/budget").json()["degraded"] == 1


def test_queue_policy_waits_for_the_next_slot(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=3.2, policy="queue", slot_s=1.0)
    with client(service) as c:
        first = c.post("/v1/run", json=run_body())
        assert first.status_code == 200
        slot = first.json()["serve"]["slot"]
        c.post("/v1/run", json=run_body())  # may still fit (small) or queue
        r = c.post("/v1/run", json=run_body(budgets={"min_accuracy": 0.9}))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["serve"]["slot"] > slot and body["serve"]["queued_s"] > 0


def test_queue_policy_is_bounded(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=3.2, policy="queue", queue_max=0, slot_s=20.0)
    with client(service) as c:
        c.post("/v1/run", json=run_body(budgets={"min_accuracy": 0.9}))
        r = c.post("/v1/run", json=run_body(budgets={"min_accuracy": 0.9}))
        assert r.status_code == 429 and "queue" in r.json()["error"]
        assert "Retry-After" in r.headers


def test_a_request_needing_more_than_a_whole_slot_is_422(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=2.0)
    with client(service) as c:
        r = c.post("/v1/run", json=run_body(budgets={"min_accuracy": 0.9}))
        assert r.status_code == 422 and "whole slot" in r.json()["error"]


def test_the_requests_own_budgets_can_be_infeasible(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=100.0)
    with client(service) as c:
        plan = c.post("/v1/plan", json={"graph": one_node(), "budgets": {"energy_j": 0.1}})
        assert plan.status_code == 200 and plan.json()["status"] == "infeasible"
        run = c.post("/v1/run", json=run_body(budgets={"energy_j": 0.1}))
        assert run.status_code == 422 and "own budgets" in run.json()["error"]


# --------------------------------------------------------------------------- admission


def test_overload_is_answered_503_at_once(tmp_path: Path) -> None:
    service = make_service(tmp_path, rows=spend_rows(sleep_s=1.0), max_inflight=1, workers=1)
    with client(service) as c:
        slow = threading.Thread(target=lambda: c.post("/v1/run", json=run_body()))
        slow.start()
        deadline = time.time() + 5
        while service.admission.inflight == 0 and time.time() < deadline:
            time.sleep(0.01)
        t0 = time.perf_counter()
        r = c.post("/v1/plan", json={"graph": one_node()})
        elapsed = time.perf_counter() - t0
        slow.join()
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert elapsed < 0.5
    assert 'planner_rejections_total{reason="overload"} 1.0' in service.metrics.render().decode()


def test_timeout_answers_504_and_the_run_is_still_counted(tmp_path: Path) -> None:
    service = make_service(tmp_path, rows=spend_rows(sleep_s=0.6), request_timeout_s=0.2)
    with client(service) as c:
        r = c.post("/v1/run", json=run_body())
        assert r.status_code == 504
        deadline = time.time() + 5
        while c.get("/v1/budget").json()["in_flight"] and time.time() < deadline:
            time.sleep(0.05)
        view = c.get("/v1/budget").json()
    assert view["in_flight"] == 0 and view["used_j"] == pytest.approx(3.0)


# --------------------------------------------------------------------------- resident models


def test_models_load_once_and_stay_resident(tmp_path: Path) -> None:
    rows = spend_rows()
    for row in rows:
        row["adapter"]["load"] = "tests.run_models:count_load"
    service = make_service(tmp_path, rows=rows)
    run_models.LOADS.clear()
    with client(service) as c:
        first = c.post("/v1/run", json=run_body()).json()
        assert first["serve"]["cold_models"] == ["summarization-large"]
        second = c.post("/v1/run", json=run_body()).json()
        assert second["serve"]["resident_models"] == ["summarization-large"]
        assert second["serve"]["cold_models"] == []
        assert second["plan"]["problem"]["metadata"]["resident_models"] == ["summarization-large"]
        assert c.get("/healthz").json()["resident_models"] == ["summarization-large"]
    assert run_models.LOADS == {"summarization-large": 1}


def test_model_cache_evicts_the_least_recently_used_unheld_model() -> None:
    rows = catalog(spend_rows(memory_mb=10.0))
    a, b, c = rows[0], rows[1], rows[2]
    cache = ModelCache(memory_mb=25.0, factory=RunnerFactory(), warmup=0)
    la = cache.lease([a])
    lb = cache.lease([b])
    cache.release(la)
    cache.release(lb)
    cache.lease([a])  # a is now the most recently used
    lc = cache.lease([c])  # evicts b
    assert cache.resident() == sorted([a.id, c.id]) and cache.evictions == 1
    with pytest.raises(CacheFull, match="held by requests"):
        cache.lease([b])  # a and c are both held
    cache.release(lc)
    cache.lease([b])
    assert cache.resident() == sorted([a.id, b.id])


# --------------------------------------------------------------------------- security


def test_bearer_token_is_required_when_configured(tmp_path: Path) -> None:
    service = make_service(tmp_path, token="s3cret")
    with client(service) as c:
        assert c.get("/healthz").status_code == 200
        for path in ("/v1/budget", "/metrics"):
            r = c.get(path)
            assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
        assert c.get("/v1/budget", headers={"Authorization": "Bearer nope"}).status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert c.get("/v1/budget", headers=ok).status_code == 200
        assert c.post("/v1/plan", json={"graph": one_node()}).status_code == 401
        assert c.post("/v1/plan", json={"graph": one_node()}, headers=ok).status_code == 200


def test_non_loopback_needs_a_token_and_cli_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="bearer token"):
        ServeConfig(host="0.0.0.0")
    assert ServeConfig(host="0.0.0.0", token="t").token == "t"
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "needs a bearer token" in capsys.readouterr().err
    monkeypatch.delenv("NO_SUCH_TOKEN_VAR", raising=False)
    assert main(["serve", "--token-env", "NO_SUCH_TOKEN_VAR"]) == 2
    assert "unset or empty" in capsys.readouterr().err
    assert main(["serve", "--policy", "maybe"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --policy") and "Traceback" not in err


def test_body_size_limit(tmp_path: Path) -> None:
    service = make_service(tmp_path, max_body_bytes=2048)
    with client(service) as c:
        r = c.post("/v1/plan", content=b'{"request": "' + b"x" * 5000 + b'"}')
        assert r.status_code == 413 and "max-body-bytes" in r.json()["error"]

        def chunks() -> Any:
            yield b'{"request": "'
            yield b"y" * 4000
            yield b'"}'

        assert c.post("/v1/plan", content=chunks()).status_code == 413
        assert c.post("/v1/plan", json={"graph": one_node()}).status_code == 200


def test_file_arguments_must_stay_inside_the_input_directory(tmp_path: Path) -> None:
    (tmp_path / "inside.txt").write_text("hello")
    service = make_service(tmp_path)
    graph = {"nodes": [{"id": "n", "task": "Summarization", "args": {"text": "$doc"}}]}
    with client(service) as c:
        for bad in ("../outside.txt", "/etc/passwd", "~/secret.txt", "a/../../b.txt"):
            r = c.post("/v1/run", json={"graph": graph, "inputs": {"doc": bad}})
            assert r.status_code == 400, (bad, r.text)
            assert "input 'doc'" in r.json()["error"]
        escaping = {"nodes": [{"id": "n", "task": "Summarization", "args": {"f": "../x.jpg"}}]}
        r = c.post("/v1/run", json={"graph": escaping})
        assert r.status_code == 400 and "node 'n'" in r.json()["error"]
        r = c.post("/v1/run", json={"graph": graph, "inputs": {"doc": "inside.txt"}})
        assert r.status_code == 200
        assert r.json()["outputs"]["n"]["text"].startswith(str(tmp_path / "inside.txt"))
        assert c.post("/v1/run", json={"graph": graph, "inputs": {"run_dir": "x"}}).status_code
        assert (
            c.post("/v1/plan", json={"problem": {"graph": graph, "models": "cat.json"}}).status_code
            == 400
        )


def test_only_catalog_adapters_run(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    evil = {
        "id": "evil",
        "task": "Summarization",
        "accuracy": 0.99,
        "latency_ms": 1,
        "energy_j": 0.01,
        "adapter": {"kind": "python", "target": "os:getcwd"},
    }
    problem = {"graph": one_node(), "models": [evil]}
    with client(service) as c:
        assert c.post("/v1/plan", json={"problem": problem}).json()["assignment"] == {"n": "evil"}
        r = c.post("/v1/run", json={"problem": problem, "inputs": {"x": "hi"}})
        assert r.status_code == 403 and "evil" in r.json()["error"]
        # without models, the problem is planned over the server's catalog
        r = c.post("/v1/run", json={"problem": {"graph": one_node()}, "inputs": {"x": "hi"}})
        assert r.status_code == 200 and r.json()["plan"]["assignment"]["n"].startswith("summ")


# --------------------------------------------------------------------------- views


def test_text_requests_are_decomposed(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    with client(service) as c:
        r = c.post("/v1/plan", json={"request": "Translate 'hello world' into French"})
        assert r.status_code == 200, r.text
        assert [n["task"] for n in r.json()["nodes"]] == ["Translation"]
        r = c.post("/v1/plan", json={"request": "Draw a horse riding an astronaut"})
        assert r.status_code == 400 and "which no model of the server" in r.json()["error"]


def test_budget_metrics_health_and_docs(tmp_path: Path) -> None:
    service = make_service(tmp_path, slot_energy_j=50.0)
    with client(service) as c:
        c.post("/v1/run", json=run_body())
        c.post("/v1/plan", json={"graph": one_node()})
        budget = c.get("/v1/budget").json()
        for key in (
            "slot",
            "used_j",
            "reserved_j",
            "remaining_j",
            "seconds_to_next_slot",
            "plans",
            "history",
            "meter",
        ):
            assert key in budget
        assert budget["budget_j"] == 50.0 and budget["requests"] == 2
        text = c.get("/metrics").text
        for name in (
            'planner_requests_total{endpoint="/v1/run",status="200"} 1.0',
            "planner_plans_total",
            "planner_selection_seconds_bucket",
            'planner_node_seconds_count{model="summarization-large"} 1.0',
            'planner_slot_energy_joules{kind="used"} 3.0',
            'planner_slot_energy_joules{kind="budget"} 50.0',
            "planner_rejections_total",
            "planner_queue_depth 0.0",
            "planner_slot_last_plan_energy_joules 3.0",
        ):
            assert name in text, name
        assert c.get("/healthz").json()["status"] == "ok"
        paths = c.get("/openapi.json").json()["paths"]
        assert {"/v1/plan", "/v1/run", "/v1/budget", "/metrics", "/healthz"} <= set(paths)


def test_one_service_per_state_folder(tmp_path: Path) -> None:
    first = make_service(tmp_path)
    with pytest.raises(ValueError, match="another `planner serve`"):
        make_service(tmp_path)
    first.close()
    make_service(tmp_path).close()
