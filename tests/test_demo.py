"""The built-in demo (`planner run` with no argument): a memo read aloud and checked, over
real zoo models, with an answer a person (and this test) can check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main
from planner.cli.run import demo_problem
from planner.report import Report
from profiles.zoo import availability
from profiles.zoo.media import wer

pytest.importorskip("sklearn")

#: pip-only real zoo models for the demo's five tasks, with synthetic numbers (the test
#: checks the pipeline runs and its outputs are right, not the catalog's numbers).
ROWS = [
    ("sum-lead", "Summarization"),
    ("tts-piper-joe", "Text-to-Speech"),
    ("asr-whisper-base", "Automatic Speech Recognition"),
    ("sim-tfidf", "Sentence Similarity"),
    ("ner-spacy-sm", "Token Classification"),
]


def _need_models() -> None:
    for name, _ in ROWS:
        ok, why = availability(name)
        if not ok:
            pytest.skip(f"{name} is not available: {why}")


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


def test_demo_problem_has_a_parallel_branch_and_a_join(catalog: Path) -> None:
    problem = demo_problem(catalog)
    assert len(problem.graph.nodes) >= 4
    edges = set(problem.graph.dependency_edges())
    assert edges == {
        ("summary", "speak"),
        ("speak", "hear"),
        ("summary", "check"),
        ("hear", "check"),  # the join
    }
    # 'names' depends on nothing: it runs beside the speech branch
    assert not any("names" in e for e in edges)
    assert "Maria Lopez" in problem.metadata["inputs"]["memo"]


def _check_answer(report: Report, out: Path) -> None:
    outputs = {n: json.loads(Path(p).read_text()) for n, p in report.outputs.items()}
    summary = outputs["summary"]["text"]
    wav = Path(outputs["speak"]["audio"])
    assert wav.is_file() and wav.suffix == ".wav" and wav.parent == out / "outputs"
    # the recording says the summary: whisper-base hears it back
    assert wer(outputs["hear"]["text"], summary) < 0.2, (outputs["hear"]["text"], summary)
    names = {e["text"] for e in outputs["names"]["entities"]}
    assert {"Maria Lopez", "London", "Friday"} <= names
    assert outputs["check"]["similarity"] > 0.6
    assert report.answer is not None
    assert "Maria Lopez" in report.answer and str(wav) in report.answer
    assert "WAV audio" in report.answer


def test_demo_runs_end_to_end_with_a_checkable_answer(
    tmp_path: Path,
    catalog: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _need_models()
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "h.sqlite"))
    out = tmp_path / "run"
    code = main(["run", "--catalog", str(catalog), "--json", "--out", str(out), "-q"])
    report = Report.model_validate_json(capsys.readouterr().out)
    assert code == 0, report.message
    assert all(n.measured is not None and n.measured.latency_ms > 0 for n in report.nodes)
    outputs = {n: json.loads(Path(p).read_text()) for n, p in report.outputs.items()}
    assert outputs["summary"]["text"] == (
        "The team meeting moves to Friday at noon in the main hall in London."
    )
    _check_answer(report, out)
    # the run folder's report carries the answer too
    saved = Report.model_validate_json((out / "report.json").read_text())
    assert saved.answer == report.answer


def test_the_readme_command_prints_the_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`planner run` with the shipped catalog and whatever models this machine has."""
    _need_models()
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "h.sqlite"))
    out = tmp_path / "run"
    code = main(["run", "--out", str(out), "-q"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = Report.model_validate_json((out / "report.json").read_text())
    _check_answer(report, out)
    assert report.answer is not None and report.answer in printed
    assert printed.rstrip().endswith(report.answer.splitlines()[-1])


def test_demo_uses_the_shipped_zoo_catalog() -> None:
    problem = demo_problem()
    assert {m.task for m in problem.candidates} == {t for _, t in ROWS}
    assert all(m.provenance is not None for m in problem.candidates)


def test_demo_plans_on_a_machine_with_only_pip_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the Debian programs (flite, espeak-ng, ...) the demo is still feasible: every
    node has a pip-only model that meets its floor."""
    import shutil

    from planner.solve import solve
    from profiles.zoo import MODEL_CLASSES

    debian = {p for c in MODEL_CLASSES.values() for p in c.programs}
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda p, *a, **k: None if p in debian else real(p))
    problem = demo_problem()
    assert not {m.id for m in problem.candidates} & {
        n for n, c in MODEL_CLASSES.items() if c.programs
    }
    plan = solve(problem)
    assert plan.status == "optimal", plan.message
    assert plan.assignment["speak"] == "tts-piper-joe"
    assert plan.assignment["hear"] == "asr-whisper-base"
    assert plan.assignment["names"] == "ner-spacy-sm"
