"""The selection-quality benchmark's core on a few real requests (`--quick`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench_selection as bs
from planner import problem_from_data
from planner.solve import Compiled
from solvers import SelectionProblem, violations

EXCERPTS = Path(__file__).parent / "data" / "profiles-public"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> bs.Report:
    out = tmp_path_factory.mktemp("sel") / "selection.md"
    rep = bs.main(["--quick", "--data", str(EXCERPTS), "--out", str(out)])
    rep.text = out.read_text(encoding="utf-8")
    return rep


def test_quick_runs_three_requests(report: bs.Report) -> None:
    assert report.requests.total == 298
    assert len(report.requests.kept) == 3
    assert len(report.results) + len(report.infeasible) == 3
    assert len(report.results) >= 2


def test_ilp_plans_meet_budgets(report: bs.Report) -> None:
    for r in report.results:
        for mode in (bs.ILP_ACC, bs.ILP_COST):
            (o,) = r.outcomes[mode]
            assert o.broken == [], (r.request, mode, o.broken)
            assert o.accuracy >= r.budgets["min_accuracy"] * (1 - 1e-9)
            assert o.energy_j <= r.budgets["energy_j"] * (1 + 1e-9)
            assert o.latency_ms <= r.budgets["latency_ms"] * (1 + 1e-9)


def test_ilp_accuracy_mode_beats_every_budget_respecting_baseline(report: bs.Report) -> None:
    for r in report.results:
        best = r.outcomes[bs.ILP_ACC][0].accuracy
        assert best >= r.outcomes[bs.ILP_COST][0].accuracy * (1 - 1e-9)
        for name in bs.BASELINES:
            for o in r.outcomes[name]:
                if not o.broken:
                    assert best >= o.accuracy * (1 - 1e-9), (r.request, name)
    for name in bs.SELECTORS:
        assert bs.summarise(report.results, name).ilp_worse == 0


def test_markdown_written(report: bs.Report) -> None:
    text = report.text
    assert text.startswith("# Selection quality")
    assert "CPU:" in text
    assert "| vs description-based | ILP, accuracy mode | ILP, cost mode |" in text
    assert "accuracy-per-joule gain" in text
    for name in bs.SELECTORS:
        assert f"| {name} |" in text
    assert "tests/data/profiles-public" in text


def _problem() -> SelectionProblem:
    models = [
        # task a: big/accurate/dear, mid, small/cheap
        {"id": "a-big", "task": "a", "accuracy": 0.9, "latency_ms": 30, "energy_j": 30,
         "memory_mb": 900},
        {"id": "a-mid", "task": "a", "accuracy": 0.95, "latency_ms": 10, "energy_j": 8,
         "memory_mb": 300},
        {"id": "a-small", "task": "a", "accuracy": 0.6, "latency_ms": 1, "energy_j": 1,
         "memory_mb": 10},
        {"id": "b-big", "task": "b", "accuracy": 0.8, "latency_ms": 20, "energy_j": 20,
         "memory_mb": 800},
        {"id": "b-small", "task": "b", "accuracy": 0.7, "latency_ms": 2, "energy_j": 2,
         "memory_mb": 20},
    ]  # fmt: skip
    data = {
        "graph": {"nodes": [{"id": "x", "task": "a"}, {"id": "y", "task": "b"}]},
        "models": models,
        "budgets": {"energy_j": 20.0},
    }
    return Compiled(problem_from_data(data)).selection


def test_baseline_selectors_pick_as_documented() -> None:
    sel = _problem()
    ids = lambda choice: [sel.candidates[v][i].key for v, i in enumerate(choice)]  # noqa: E731
    assert ids(bs.select_description(sel)) == ["a-big", "b-big"]
    assert ids(bs.select_most_accurate(sel)) == ["a-mid", "b-big"]
    assert ids(bs.select_cheapest(sel)) == ["a-small", "b-small"]
    choice, fallbacks = bs.select_per_node_pareto(sel)  # 10 J per node
    assert ids(choice) == ["a-mid", "b-small"] and fallbacks == 0
    assert violations(sel, choice) == []
    assert bs.select_random(sel, 1) == bs.select_random(sel, 1)
    budgets = bs.request_budgets(sel, 0.5, 0.0, 1.0)
    assert budgets["energy_j"] == pytest.approx((3 + 50) / 2)
    assert budgets["latency_ms"] == pytest.approx(2)  # parallel, no edge: max of the fastest
    assert budgets["min_accuracy"] == pytest.approx(0.95 * 0.8)


def test_llm_proxy_rows_say_they_are_a_proxy() -> None:
    plain, _ = bs.load_catalog_from_tables(EXCERPTS)
    proxied, used = bs.load_catalog_from_tables(EXCERPTS, bs.PROXY_TASKS)
    llm = {m.id: m for m in plain.models if m.task == "Text Generation"}
    assert llm and not {m.task for m in plain.models} & set(bs.PROXY_TASKS)
    for task in bs.PROXY_TASKS:
        rows = [m for m in proxied.models if m.task == task]
        assert {m.id for m in rows} == set(llm)
        for m in rows:
            assert m.accuracy == llm[m.id].accuracy
            assert m.provenance is not None and m.provenance.metric is not None
            assert f"proxy for {task}" in m.provenance.metric
    assert any("also offered" in line for line in used)
