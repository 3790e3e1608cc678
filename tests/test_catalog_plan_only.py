"""Imported leaderboard catalogs say plainly that their rows are plan-only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main

YOLO = Path(__file__).parent / "data" / "profiles-public" / "ultralytics" / "yolo11_performance.csv"


def test_imported_catalog_says_its_rows_are_plan_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "yolo.json"
    assert main(["catalog", "import", "yolo", str(YOLO), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "plan-only" in printed and "add an adapter" in printed
    data = json.loads(out.read_text())
    assert "plan-only" in data["note"]
    assert all("adapter" not in row for row in data["models"])
    assert main(["catalog", "import", "yolo", str(YOLO)]) == 0
    captured = capsys.readouterr()
    assert "plan-only" in json.loads(captured.out)["note"] and "plan-only" in captured.err
