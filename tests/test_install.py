"""The light default install: solving needs PuLP's bundled CBC only; cbcbox is an extra."""

from __future__ import annotations

import sys
import tomllib

import pytest

from tests.conftest import REPO


def test_default_dependencies_do_not_pull_cbcbox() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert "pulp>=3.3,<4" in deps
    assert not any("cbc" in d.split(">")[0] for d in deps), deps  # no pulp[cbc], no cbcbox
    assert project["optional-dependencies"]["cbcbox"] == ["pulp[cbc]>=3.3,<4"]


@pytest.fixture
def bundled_cbc(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a `pip install .` without the cbcbox extra: `import cbcbox` fails."""
    monkeypatch.setitem(sys.modules, "cbcbox", None)


def test_cbc_backend_uses_the_bundled_binary_without_cbcbox(bundled_cbc: None) -> None:
    import pulp

    from solvers.cbc import OPTIONS, cbc_command

    command = cbc_command(pulp, 10.0, None, "/dev/null", None)
    assert isinstance(command, pulp.PULP_CBC_CMD) and command.available()
    assert command.options == [*OPTIONS, "preprocess off"]


def test_bundled_cbc_finds_the_whole_pareto_front_of_seed_38(bundled_cbc: None) -> None:
    """CBC 2.10.3 (bundled with PuLP 3) returned a worse point as optimal here with its
    preprocessing on, and the front lost (36.1 J, 273.8 ms)."""
    from planner.insight import pareto_front
    from tests.test_insight_oracle import random_problem

    front = pareto_front(random_problem(38), x="energy_j", y="latency_ms", backend="cbc")
    points = [(round(p.energy_j, 1), round(p.latency_ms, 1)) for p in front.points]
    assert points == [(25.0, 285.6), (36.1, 273.8), (47.2, 262.0), (69.7, 258.2)]
