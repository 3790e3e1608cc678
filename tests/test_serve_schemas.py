"""Property tests of the request schemas of `planner serve`: exactly one of request, graph or
problem; any body at all is answered with a plan or one clear error, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="planner serve needs the 'serve' extra")

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from planner.serve.schemas import PlanRequest, RunRequest
from tests.test_serve import TASKS, client, make_service

OK_STATUSES = {200, 400, 403, 413, 422, 429}

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
numbers = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 10**6)
tasks = st.sampled_from([*TASKS, "No Such Task", ""])
node_ids = st.sampled_from(["a", "b", "c", "bad id", ""])


@st.composite
def graphs(draw: Any) -> dict[str, Any]:
    ids = draw(st.lists(node_ids, min_size=0, max_size=4))
    nodes = []
    for node_id in ids:
        args = draw(
            st.dictionaries(
                st.sampled_from(["text", "image"]),
                st.sampled_from(["$x", "<a>", "<b>", "hello", "../up.txt", "/etc/passwd"]),
                max_size=2,
            )
        )
        nodes.append({"id": node_id, "task": draw(tasks), "args": args})
    edges = draw(st.lists(st.tuples(node_ids, node_ids).map(list), max_size=3))
    return {"nodes": nodes, "edges": edges}


@st.composite
def bodies(draw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key in draw(st.sets(st.sampled_from(["request", "graph", "problem"]), max_size=3)):
        if key == "request":
            body["request"] = draw(
                st.sampled_from(["Summarize this text", "Translate 'hi' into French", "", "?"])
            )
        elif key == "graph":
            body["graph"] = draw(graphs())
        else:
            body["problem"] = {"graph": draw(graphs())}
    if draw(st.booleans()):
        body["budgets"] = draw(
            st.dictionaries(
                st.sampled_from(["energy_j", "latency_ms", "min_accuracy", "memory_mb", "bogus"]),
                numbers,
                max_size=3,
            )
        )
    if draw(st.booleans()):
        body["weights"] = draw(
            st.dictionaries(st.sampled_from(["energy", "latency", "cost"]), numbers, max_size=3)
        )
    if draw(st.booleans()):
        body["execution"] = draw(st.sampled_from(["parallel", "sequential", "sideways"]))
    if draw(st.booleans()):
        body["goal"] = draw(st.sampled_from(["accuracy", "objective", "fun"]))
    if draw(st.booleans()):
        body["inputs"] = draw(st.dictionaries(st.sampled_from(["x", "y"]), json_values, max_size=2))
    return body


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp: Path = tmp_path_factory.mktemp("serve-schemas")
    with client(make_service(tmp, slot_s=3600.0)) as c:
        yield c


def check_answer(response: Any) -> dict[str, Any]:
    assert response.status_code in OK_STATUSES, response.text
    data: dict[str, Any] = response.json()
    if response.status_code >= 400:
        assert isinstance(data["error"], str) and data["error"].strip()
        assert "Traceback" not in data["error"]
    return data


@given(st.sets(st.sampled_from(["request", "graph", "problem"])))
def test_exactly_one_of_request_graph_problem(keys: set[str]) -> None:
    values = {
        "request": "Summarize this text",
        "graph": {"nodes": [{"id": "a", "task": "Summarization"}]},
        "problem": {"graph": {"nodes": [{"id": "a", "task": "Summarization"}]}},
    }
    body = {k: values[k] for k in keys}
    for schema in (PlanRequest, RunRequest):
        if len(keys) == 1:
            assert schema.model_validate(body)
        else:
            with pytest.raises(ValidationError, match="exactly one of"):
                schema.model_validate(body)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bodies())
def test_any_plan_body_gets_a_plan_or_one_clear_error(
    api: TestClient, body: dict[str, Any]
) -> None:
    body.pop("inputs", None)
    response = api.post(
        "/v1/plan",
        content=json.dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
    )
    data = check_answer(response)
    if response.status_code == 200:
        assert data["status"] in ("optimal", "feasible", "infeasible", "time_limit", "error")
        if data["status"] in ("optimal", "feasible"):
            assert set(data["assignment"]) == {n["id"] for n in data["nodes"]}
        assert data["serve"]["policy"] == "reject"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bodies())
def test_any_run_body_gets_a_result_or_one_clear_error(
    api: TestClient, body: dict[str, Any]
) -> None:
    response = api.post(
        "/v1/run",
        content=json.dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
    )
    data = check_answer(response)
    if response.status_code == 200:
        assert data["report"]["status"] in ("succeeded", "partial", "failed")
        assert data["energy"]["measured_j"] >= 0
        assert set(data["outputs"]) <= {n["id"] for n in data["plan"]["nodes"]}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(json_values)
def test_any_json_value_is_answered(api: TestClient, value: Any) -> None:
    for path in ("/v1/plan", "/v1/run"):
        response = api.post(
            path,
            content=json.dumps(value, allow_nan=True),
            headers={"content-type": "application/json"},
        )
        check_answer(response)
    raw = api.post("/v1/plan", content=b"{not json", headers={"content-type": "application/json"})
    assert raw.status_code == 422 and raw.json()["error"]
