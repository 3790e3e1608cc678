"""The CLI's front door: `planner plan`, the run summary and its confirmation, decomposer
flags, graph files as targets, `--cost-budget`, readable tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planner.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _with_costs(data: dict[str, Any]) -> dict[str, Any]:
    """two_node_data with money costs: the energy-best models are the expensive ones."""
    costs = {"detr-resnet-50": 0.001, "yolo-n": 0.02, "tts-large": 0.001, "tts-small": 0.01}
    for row in data["models"]:
        row["cost_usd"] = costs[row["id"]]
    return data


@pytest.fixture
def cost_problem(tmp_path: Path, two_node_data: dict[str, Any]) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(_with_costs(two_node_data)))
    return path


def test_cost_budget_flag_constrains_the_money_cost(
    capsys: pytest.CaptureFixture[str], cost_problem: Path
) -> None:
    code, out, _ = run(capsys, "solve", str(cost_problem), "--json")
    assert code == 0
    assert json.loads(out)["assignment"] == {"detect": "yolo-n", "speak": "tts-small"}
    code, out, _ = run(capsys, "solve", str(cost_problem), "--json", "--cost-budget", "0.015")
    plan = json.loads(out)
    assert code == 0
    assert plan["assignment"] == {"detect": "detr-resnet-50", "speak": "tts-small"}
    assert plan["problem"]["budgets"]["cost_usd"] == 0.015
    assert plan["totals"]["cost_usd"] == pytest.approx(0.011)
    # the cheapest plan costs 0.002: below that nothing fits (exit 3, infeasible)
    code, out, _ = run(capsys, "solve", str(cost_problem), "--json", "--cost-budget", "0.001")
    assert code == 3 and json.loads(out)["status"] == "infeasible"
    code, _, err = run(capsys, "solve", str(cost_problem), "--cost-budget", "-1")
    assert code == 2 and "cost_usd" in err and "Traceback" not in err


def test_cost_budget_on_the_insight_commands(
    capsys: pytest.CaptureFixture[str], cost_problem: Path
) -> None:
    code, out, _ = run(
        capsys, "alternatives", str(cost_problem), "--cost-budget", "0.015", "--json"
    )
    assert code == 0
    alternatives = json.loads(out)
    assert alternatives, "the problem has feasible runner-ups"
    for alt in alternatives:
        assert alt["totals"]["cost_usd"] <= 0.015 + 1e-12
