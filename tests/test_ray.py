"""The same plan on Ray gives the same outputs as the local executor (skipped without ray)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from planner import problem_from_data, solve
from planner.execute import LocalExecutor
from tests.conftest import REPO
from tests.test_execute import basic_models, diamond, model

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
    )
    yield
    ray.shutdown()


def texts(report: Any) -> dict[str, str]:
    return {n: json.loads(Path(p).read_text())["text"] for n, p in report.outputs.items()}


def test_same_plan_same_outputs_on_ray(local_ray: None, tmp_path: Path) -> None:
    from planner.ray_executor import RayExecutor

    plan = solve(problem_from_data(diamond(basic_models(sleep_s=0.2))))
    local = LocalExecutor().execute(plan, {"x": "hi"}, tmp_path / "local")
    remote = RayExecutor().execute(plan, {"x": "hi"}, tmp_path / "ray")
    assert remote.status == local.status == "succeeded"
    assert remote.executor == "ray"
    assert texts(remote) == texts(local)
    pids = {json.loads(Path(p).read_text())["pid"] for p in remote.outputs.values()}
    assert os.getpid() not in pids  # the nodes ran in Ray workers
    for node in remote.nodes:
        assert node.measured is not None and node.measured.latency_ms >= 0


def test_failure_is_replanned_on_ray(local_ray: None, tmp_path: Path) -> None:
    from planner.ray_executor import RayExecutor

    models = [m for m in basic_models() if m["id"] != "mb"]
    models += [
        model("bad", "B", "fail", 10, energy_j=0.1),
        model("mb2", "B", "echo", 10, energy_j=5.0, tag="mb2"),
    ]
    plan = solve(problem_from_data(diamond(models)))
    report = RayExecutor().execute(plan, {"x": "hi"}, tmp_path / "r")
    assert report.status == "succeeded", report.message
    assert report.replans[0].excluded_models == ["bad"]
    assert "hi|ma|mb2" in texts(report)["d"]
