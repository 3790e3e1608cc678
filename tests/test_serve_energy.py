"""Concurrent `planner serve` runs share one meter: the energy their nodes report adds up to
the meter's reading instead of counting the overlap once per request."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="planner serve needs the 'serve' extra")

from fastapi.testclient import TestClient

from planner.serve.app import build
from tests import run_models
from tests.test_serve import make_service, one_node, run_body, spend_rows


def test_concurrent_runs_split_the_shared_meter_instead_of_double_counting(
    tmp_path: Path,
) -> None:
    # each node adds 3 J to the meter, then keeps running 0.5 s: the two requests overlap
    service = make_service(tmp_path, rows=spend_rows(sleep_s=0.5), workers=2, preload=True)
    answers: list[dict[str, Any]] = []
    with TestClient(build(service)) as c:
        before = run_models.JOULES[0]
        barrier = threading.Barrier(2)

        def call(task: str) -> None:
            barrier.wait()
            answers.append(c.post("/v1/run", json=run_body(one_node(task))).json())

        threads = [
            threading.Thread(target=call, args=(t,)) for t in ("Summarization", "Translation")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        spent = run_models.JOULES[0] - before
    assert spent == pytest.approx(6.0)
    assert all(a["report"]["status"] == "succeeded" for a in answers), answers
    node_j = [n["measured"]["energy_j"] for a in answers for n in a["report"]["nodes"]]
    # the nodes overlapped, so each got a share of the other's 3 J, but together the meter's 6 J
    assert len(node_j) == 2 and all(0 < j < 6.0 for j in node_j)
    assert sum(node_j) == pytest.approx(spent, rel=1e-6)
    # the tracker's per-request energy adds up to the meter too
    assert sum(a["energy"]["measured_j"] for a in answers) == pytest.approx(spent, rel=1e-6)
    # the report keeps its two totals (issue 17: other fields may change, these stay)
    for a in answers:
        for totals in ("totals_predicted", "totals_measured"):
            assert {"energy_j", "latency_ms"} <= set(a["report"][totals])
