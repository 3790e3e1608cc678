"""Property-based tests (hypothesis): malformed input never gives a traceback; valid random
problems give the same status and objective on every backend and the brute-force oracle."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import ProblemError, problem_from_data, solve
from planner.cli import main
from solvers import available_backends
from tests.conftest import random_problem_data
from tests.oracle import brute_force

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_problems(draw: st.DrawFn) -> dict[str, Any]:
    data = random_problem_data(draw(st.integers(0, 50)), n_nodes=3, n_cands=2)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        target = data
        for key in path[:-1]:
            target = target[key]
        action = draw(st.sampled_from(["replace", "delete", "junk-key"]))
        if action == "delete" and isinstance(target, dict):
            del target[path[-1]]
        elif action == "junk-key" and isinstance(target, dict):
            target[draw(st.text(min_size=1, max_size=6))] = draw(JUNK)
        else:
            target[path[-1]] = draw(JUNK)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_problems())
def test_malformed_problems_never_crash(data: dict[str, Any]) -> None:
    try:
        problem = problem_from_data(copy.deepcopy(data))
    except ProblemError as exc:
        assert str(exc)
        return
    plan = solve(problem, backend="brute" if len(problem.graph.nodes) <= 6 else "cbc")
    assert plan.status in ("optimal", "infeasible")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(mutated_problems())
def test_cli_never_prints_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]
) -> None:
    import contextlib
    import io

    path = tmp_path_factory.mktemp("p") / "problem.json"
    path.write_text(json.dumps(data, allow_nan=True))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["solve", str(path), "--json", "--backend", "highs"])
    assert code in (0, 2, 3), err.getvalue()
    assert "Traceback" not in err.getvalue()
    if code == 2:
        assert err.getvalue().startswith("error: ")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_nodes=st.integers(1, 5),
    n_cands=st.integers(1, 3),
    tightness=st.floats(0.0, 1.0),
    execution=st.sampled_from(["parallel", "sequential"]),
    w_energy=st.sampled_from([0.0, 0.25, 1.0]),
)
def test_backends_agree_with_oracle(
    seed: int, n_nodes: int, n_cands: int, tightness: float, execution: str, w_energy: float
) -> None:
    data = random_problem_data(
        seed,
        n_nodes=n_nodes,
        n_cands=n_cands,
        tightness=tightness,
        weights={"energy": w_energy, "latency": 1 - w_energy},
        execution=execution,
    )
    problem = problem_from_data(data)
    oracle = brute_force(problem)
    for backend in available_backends():
        plan = solve(problem, backend=backend)
        assert plan.status == ("optimal" if oracle.feasible else "infeasible"), backend
        if oracle.feasible:
            assert plan.objective is not None and oracle.objective is not None
            assert math.isclose(plan.objective, oracle.objective, rel_tol=1e-6, abs_tol=1e-9)
