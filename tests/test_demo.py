"""The built-in demo (`planner run` with no argument) over real zoo models."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from planner.cli import main
from planner.cli_run import demo_problem
from planner.execute import default_workers
from planner.report import Report

pytest.importorskip("sklearn")

#: Cheap real zoo models for the demo's three tasks, with synthetic numbers (the test checks
#: the pipeline runs and its outputs are right, not the catalog's numbers).
ROWS = [
    ("digitdet-logreg", "Object Detection"),
    ("sim-jaccard", "Sentence Similarity"),
    ("denoise-gaussian", "Image-to-Image"),
]


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(
        json.dumps(
            {
                "models": [
                    {
                        "id": name,
                        "task": task,
                        "accuracy": 0.99,  # meets every node floor of the demo
                        "latency_ms": 1.0,
                        "energy_j": 0.01,
                        "memory_mb": 5,
                        "provenance": {"source": "synthetic"},
                        "adapter": {"kind": "zoo", "name": name},
                    }
                    for name, task in ROWS
                ]
            }
        )
    )
    return path


def test_demo_problem_is_valid_package_data(catalog: Path) -> None:
    problem = demo_problem(catalog)
    assert len(problem.graph.nodes) >= 3
    assert problem.graph.dependency_edges() == [("read_box", "agree"), ("read_line", "agree")]
    inputs = problem.metadata["inputs"]
    # the shapes of the zoo's evaluation sets, which the shipped profiles were measured on
    assert len(inputs["box"]) == len(inputs["line"]) == 128
    assert len(inputs["front"]) == len(inputs["back"]) == 256
    assert {len(row) for row in inputs["box"] + inputs["line"]} == {128}
    assert {len(row) for row in inputs["front"] + inputs["back"]} == {256}


def test_demo_runs_end_to_end_on_zoo_models(
    tmp_path: Path,
    catalog: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "h.sqlite"))
    out = tmp_path / "run"
    code = main(["run", "--catalog", str(catalog), "--json", "--out", str(out), "-q"])
    report = Report.model_validate_json(capsys.readouterr().out)
    assert code == 0, report.message
    assert all(n.measured is not None and n.measured.latency_ms > 0 for n in report.nodes)
    outputs = {n: json.loads(Path(p).read_text()) for n, p in report.outputs.items()}
    # the answer differs from the reference in its last digit
    assert outputs["read_box"]["text"] == "three, one, four, one, five, nine, two, seven"
    assert outputs["read_line"]["text"] == "three, one, four, one, five, nine, two, six"
    # the plan is parallel: with more than one core its nodes run in worker processes
    assert report.pool == ("process" if default_workers() > 1 else "thread")
    # Jaccard over the word sets: six shared of eight words in all
    assert outputs["agree"]["similarity"] == pytest.approx(6 / 8)
    for node in ("clean_front", "clean_back"):
        photo = Path(outputs[node]["image"])
        assert photo.is_file() and photo.parent == out / "outputs"


@pytest.mark.skipif(
    not resources.files("profiles").joinpath("data/zoo_catalog.json").is_file(),
    reason="the zoo's shipped catalog is not in this checkout yet",
)
def test_demo_uses_the_shipped_zoo_catalog(tmp_path: Path) -> None:
    problem = demo_problem()
    assert {m.task for m in problem.candidates} == {t for _, t in ROWS}
    assert all(m.provenance is not None for m in problem.candidates)
