"""`planner serve` plans count cold starts: a model not resident counts its load once, a
resident one does not, an evicted one is cold again, and a slot too tight for a load steers
the plan to a model that is resident or cheaper to load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="planner serve needs the 'serve' extra")

from fastapi.testclient import TestClient

from planner.serve.app import build
from planner.serve.service import cold_row
from profiles import ModelProfile, with_load_costs
from tests import run_models
from tests.test_serve import catalog, make_service, one_node, run_body, spend_rows

LOAD_J = {"large": 6.0, "medium": 0.5, "small": 0.1}


def loading_rows(load_j: dict[str, float] = LOAD_J) -> list[dict[str, Any]]:
    rows = spend_rows()
    for row in rows:
        size = row["id"].rsplit("-", 1)[1]
        row["load_ms"] = 100.0 * load_j[size]
        row["load_energy_j"] = load_j[size]
    return rows


def schedule(answer: dict[str, Any]) -> dict[str, Any]:
    return answer["plan"]["schedule"] if "plan" in answer else answer["schedule"]


def test_first_request_plans_cold_then_warm_and_eviction_makes_it_cold_again(
    tmp_path: Path,
) -> None:
    # room for one model: a Translation request evicts the Summarization model
    service = make_service(tmp_path, rows=loading_rows(), memory_mb=15.0)
    with TestClient(build(service)) as c:
        first = c.post("/v1/run", json=run_body()).json()
        sched = schedule(first)
        assert first["plan"]["assignment"] == {"n": "summarization-large"}
        assert sched["cold_models"] == ["summarization-large"]
        assert sched["load_energy_j"] == pytest.approx(6.0)
        assert first["plan"]["totals"]["energy_j"] == pytest.approx(3.0 + 6.0)
        assert first["plan"]["problem"]["machine"]["cold"] is True

        second = c.post("/v1/run", json=run_body()).json()
        assert schedule(second)["cold_models"] == []
        assert second["plan"]["totals"]["energy_j"] == pytest.approx(3.0)
        assert second["plan"]["problem"]["machine"]["resident"] == ["summarization-large"]
        # /v1/plan sees the same residency
        planned = c.post("/v1/plan", json={"graph": one_node()}).json()
        assert planned["schedule"]["cold_models"] == []

        other = c.post("/v1/run", json=run_body(one_node("Translation"))).json()
        assert schedule(other)["cold_models"] == ["translation-large"]
        assert service.cache.resident() == ["translation-large"]

        third = c.post("/v1/run", json=run_body()).json()
        assert schedule(third)["cold_models"] == ["summarization-large"]
        assert third["plan"]["totals"]["energy_j"] == pytest.approx(9.0)


def test_a_slot_too_tight_for_a_load_steers_the_first_request_away(tmp_path: Path) -> None:
    # the large model's run (3 J) fits 8 J, its run plus its load (3 + 6 J) does not
    service = make_service(tmp_path, rows=loading_rows(), slot_energy_j=8.0)
    run_models.JOULES[0] = 0.0
    with TestClient(build(service)) as c:
        first = c.post("/v1/run", json=run_body()).json()
        assert first["plan"]["assignment"] == {"n": "summarization-medium"}
        assert schedule(first)["cold_models"] == ["summarization-medium"]
        assert first["plan"]["totals"]["energy_j"] == pytest.approx(1.5 + 0.5)
        assert first["energy"]["predicted_j"] <= 8.0


def test_the_large_model_is_chosen_once_resident(tmp_path: Path) -> None:
    # same slot, but the large model is already loaded: no load, and its 3 J fit
    service = make_service(tmp_path, rows=loading_rows(), slot_energy_j=8.0, preload=True)
    with TestClient(build(service)) as c:
        answer = c.post("/v1/run", json=run_body()).json()
    assert answer["plan"]["assignment"] == {"n": "summarization-large"}
    assert schedule(answer)["cold_models"] == []


def zoo_row(**extra: Any) -> ModelProfile:
    row: dict[str, Any] = {
        "id": "sim-tfidf",
        "task": "Sentence Similarity",
        "accuracy": 0.8,
        "latency_ms": 2.0,
        "energy_j": 0.02,
        "provenance": {
            "source": "measured",
            "energy_source": "estimate",
            "load_ms": 500.0,
            "watts_per_core": 10.0,
        },
        "adapter": {"kind": "zoo", "name": "sim-tfidf"},
        **extra,
    }
    return ModelProfile.model_validate(row)


def test_load_costs_come_from_the_profilers_record_and_are_labelled() -> None:
    row = with_load_costs(zoo_row())
    assert row.load_ms == 500.0 and row.load_energy_j == pytest.approx(5.0)
    assert row.provenance is not None
    assert "derived, not measured" in str(row.provenance.model_dump()["load_energy_note"])
    # the service adds the cache's warm-up inferences to a load the profiler timed
    served = cold_row(zoo_row(), warmup=3)
    assert served.load_ms == pytest.approx(506.0)
    assert served.load_energy_j == pytest.approx(5.06)
    # a row's own values are kept (its load_ms already says what a load costs)
    own = cold_row(zoo_row(load_ms=40.0, load_energy_j=1.0), warmup=3)
    assert (own.load_ms, own.load_energy_j) == (40.0, 1.0)
    # no recorded load: none counted
    bare = catalog(spend_rows())[0]
    assert cold_row(bare, warmup=3) == bare


def test_the_service_imports_its_models_libraries_at_start(tmp_path: Path) -> None:
    service = make_service(tmp_path)
    service.catalog = [zoo_row()]
    assert service.import_libraries() == ["sklearn.feature_extraction.text"]
