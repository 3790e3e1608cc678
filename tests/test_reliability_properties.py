"""Issue 18: property-based (hypothesis) tests of the parser limits that the corpus checks
case by case: the input size limit, node ids (a whitelist, ``fullmatch``, at most 128
characters), the metric range of catalog rows, the budget range, and the serve endpoints'
body limit and nesting (never a 500)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from planner import ProblemError, problem_from_data
from planner.problem import MAX_BUDGET
from profiles import ModelProfile, safeio
from profiles.schema import MAX_METRIC
from tasks import TaskGraph
from tasks.graph import MAX_ID_CHARS
from tests.reliability_corpus import base_problem

FAST = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(size=st.integers(0, 5000), limit=st.integers(1, 5000))
def test_a_file_is_read_iff_it_fits_the_limit(
    tmp_path_factory: pytest.TempPathFactory, size: int, limit: int
) -> None:
    path = tmp_path_factory.mktemp("size") / "f.json"
    path.write_bytes(b"x" * size)
    if size <= limit:
        assert safeio.read_input_bytes(path, limit=limit) == b"x" * size
    else:
        with pytest.raises(safeio.InputError, match="PLANNER_MAX_INPUT_MB"):
            safeio.read_input_bytes(path, limit=limit)


ID = re.compile(r"[A-Za-z0-9_.:\-]+")
id_text = st.text(
    alphabet=st.sampled_from([*"abcXYZ019_.:-", " ", "\n", "\t", "\x1b", "[", "]", "/", "é", "$"]),
    min_size=0,
    max_size=140,
) | st.text(alphabet="ab", min_size=120, max_size=140)


@FAST
@given(node_id=id_text)
def test_a_node_id_is_accepted_iff_it_fullmatches_the_whitelist_within_128_chars(
    node_id: str,
) -> None:
    data = {"nodes": [{"id": node_id, "task": "Summarization"}], "edges": []}
    valid = bool(ID.fullmatch(node_id)) and len(node_id) <= MAX_ID_CHARS
    if valid:
        assert TaskGraph.model_validate(data).nodes[0].id == node_id
    else:
        with pytest.raises(ValidationError):
            TaskGraph.model_validate(data)


metric = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, MAX_METRIC, math.nextafter(MAX_METRIC, math.inf), 1e308, -0.0, 5e-324]
)


@FAST
@given(key=st.sampled_from(["latency_ms", "energy_j", "memory_mb", "cost_usd"]), value=metric)
def test_a_metric_is_accepted_iff_finite_non_negative_and_in_range(key: str, value: float) -> None:
    row = {"id": "m", "task": "T", "accuracy": 0.5, "latency_ms": 1, "energy_j": 1, "memory_mb": 1}
    row[key] = value
    valid = math.isfinite(value) and 0 <= value <= MAX_METRIC
    if valid:
        assert getattr(ModelProfile.model_validate(row), key) == value
    else:
        with pytest.raises(ValidationError):
            ModelProfile.model_validate(row)


@FAST
@given(
    key=st.sampled_from(["energy_j", "latency_ms", "memory_mb"]),
    value=st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([MAX_BUDGET, MAX_BUDGET * 2, 1e308]),
)
def test_a_budget_is_accepted_iff_finite_positive_and_in_range(key: str, value: float) -> None:
    data = base_problem()
    data["budgets"] = {key: value}
    if math.isfinite(value) and 0 < value <= MAX_BUDGET:
        assert problem_from_data(data).budgets.given()[key] == value
    else:
        with pytest.raises(ProblemError):
            problem_from_data(data)


@FAST
@given(totals=st.lists(st.floats(0, MAX_METRIC), min_size=1, max_size=30))
def test_in_range_rows_never_make_a_non_finite_total(totals: list[float]) -> None:
    data = base_problem()
    for m, v in zip(data["models"], totals * 4, strict=False):
        m["energy_j"] = v
        m["latency_ms"] = v
    data["budgets"] = {}
    plan_problem = problem_from_data(data)
    from planner import solve

    plan = solve(plan_problem)
    assert plan.objective is None or math.isfinite(plan.objective)
    json.loads(plan.to_json())  # strict JSON: no NaN / Infinity


# ------------------------------------------------------------------ serve request bodies

fastapi = pytest.importorskip("fastapi", reason="planner serve needs the 'serve' extra")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.test_serve import client, make_service

    tmp: Path = tmp_path_factory.mktemp("serve-properties")
    with client(make_service(tmp, slot_s=3600.0, max_body_bytes=4096)) as c:
        yield c


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(size=st.integers(1, 9000))
def test_a_body_is_refused_iff_over_the_limit(api: Any, size: int) -> None:
    text = json.dumps({"request": "Summarize this text: " + "a" * 10})
    body = text.encode() + b" " * max(0, size - len(text))
    response = api.post("/v1/plan", content=body, headers={"content-type": "application/json"})
    if len(body) > 4096:
        assert response.status_code == 413 and "4096" in response.json()["error"]
    else:
        assert response.status_code != 413 and response.status_code < 500


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    depth=st.integers(1, 400),
    field=st.sampled_from(["problem", "graph", "inputs", "budgets"]),
    opener=st.sampled_from(["[", '{"k":']),
)
def test_deeply_nested_bodies_are_answered_never_500(
    api: Any, depth: int, field: str, opener: str
) -> None:
    closer = "]" if opener == "[" else "}"
    inner = opener * depth + ("" if opener == "[" else "1") + closer * depth
    body = '{"' + field + '": ' + inner + "}"
    if field == "inputs":
        body = (
            '{"graph": {"nodes": [{"id": "a", "task": "Summarization"}]}, "inputs": {"x": '
            + inner
            + "}}"
        )
    for path in ("/v1/plan", "/v1/run"):
        response = api.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.json()["error"].strip()
