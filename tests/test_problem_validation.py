"""Malformed problems are refused with messages that say what and where."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from planner import ProblemError, load_problem, problem_from_data


def broken(data: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


CASES = [
    ("cycle", ["graph", "edges"], [["detect", "speak"], ["speak", "detect"]], "cycle"),
    ("self-loop", ["graph", "edges"], [["detect", "detect"]], "self-loop"),
    ("unknown edge node", ["graph", "edges"], [["detect", "nowhere"]], "unknown node 'nowhere'"),
    ("duplicate id", ["graph", "nodes", 1, "id"], "detect", "duplicate node id"),
    ("unknown task", ["graph", "nodes", 1, "task"], "Text-to-Speach", "Did you mean"),
    ("negative latency", ["models", 0, "latency_ms"], -1.0, "latency_ms must be >= 0"),
    ("accuracy > 1", ["models", 0, "accuracy"], 42.0, "accuracy must be in (0, 1]"),
    ("zero accuracy", ["models", 0, "accuracy"], 0.0, "accuracy must be in (0, 1]"),
    ("nan energy", ["models", 0, "energy_j"], float("nan"), "finite"),
    ("negative budget", ["budgets", "energy_j"], -5, "positive"),
    ("zero budget", ["budgets", "latency_ms"], 0, "positive"),
    ("min_accuracy > 1", ["budgets", "min_accuracy"], 1.5, "min_accuracy must be in (0, 1]"),
    ("unknown budget key", ["budgets", "power_w"], 3, "unknown field"),
    ("unknown weight key", ["weights", "speed"], 1, "unknown field"),
    ("negative weight", ["weights", "energy"], -1, "must be a finite number >= 0"),
    ("all-zero weights", ["weights"], {"energy": 0, "latency": 0}, "must not all be zero"),
    ("unknown execution", ["execution"], "distributed", "execution"),
    ("missing graph", ["graph"], KeyError, "graph: required field is missing"),
    ("missing models", ["models"], KeyError, "models: required field is missing"),
    ("empty nodes", ["graph", "nodes"], [], "nodes"),
    ("dangling reference", ["graph", "nodes", 1, "args"], {"text": "<ghost>"}, "'<ghost>'"),
    ("bad node id", ["graph", "nodes", 0, "id"], "has space", "node id"),
    (
        "duplicate model row",
        ["models", 0],
        {
            "id": "yolo-n",
            "task": "Object Detection",
            "accuracy": 0.3,
            "latency_ms": 1,
            "energy_j": 1,
        },
        "listed twice",
    ),
    ("unknown top-level key", ["budget"], {"energy_j": 3}, "unknown field"),
]


@pytest.mark.parametrize(("name", "path", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_malformed_problem_is_refused(two_node_data, name, path, value, expected):  # type: ignore[no-untyped-def]
    with pytest.raises(ProblemError) as info:
        problem_from_data(broken(two_node_data, path, value))
    assert expected in str(info.value), str(info.value)


def test_cycle_message_names_the_cycle(two_node_data):  # type: ignore[no-untyped-def]
    data = broken(two_node_data, ["graph", "edges"], [["detect", "speak"], ["speak", "detect"]])
    with pytest.raises(ProblemError, match="detect -> speak -> detect"):
        problem_from_data(data)


def test_not_an_object():  # type: ignore[no-untyped-def]
    with pytest.raises(ProblemError, match="expected a JSON/YAML object"):
        problem_from_data([1, 2, 3])


def test_files_json_yaml_and_errors(tmp_path, two_node_data):  # type: ignore[no-untyped-def]
    import yaml

    (tmp_path / "p.json").write_text(json.dumps(two_node_data))
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(two_node_data))
    assert load_problem(tmp_path / "p.json") == load_problem(tmp_path / "p.yaml")
    (tmp_path / "bad.json").write_text('{"graph": ')
    with pytest.raises(ProblemError, match=r"not valid JSON.*line 1"):
        load_problem(tmp_path / "bad.json")
    (tmp_path / "evil.yaml").write_text("!!python/object/apply:os.system ['echo hi']")
    with pytest.raises(ProblemError, match="not valid YAML"):
        load_problem(tmp_path / "evil.yaml")
    with pytest.raises(ProblemError, match="no such file"):
        load_problem(tmp_path / "missing.json")


def test_models_from_catalog_file(tmp_path, two_node_data):  # type: ignore[no-untyped-def]
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "catalog.json").write_text(json.dumps({"models": two_node_data["models"]}))
    data = dict(two_node_data, models="cat/catalog.json")
    (tmp_path / "p.json").write_text(json.dumps(data))
    problem = load_problem(tmp_path / "p.json")
    assert len(problem.candidates) == 4
    data["models"] = "cat/none.json"
    (tmp_path / "q.json").write_text(json.dumps(data))
    with pytest.raises(ProblemError, match="no such file"):
        load_problem(tmp_path / "q.json")


def test_overrides_revalidate(two_node_data):  # type: ignore[no-untyped-def]
    problem = problem_from_data(two_node_data)
    tighter = problem.with_overrides(budgets={"energy_j": 9.0}, execution="sequential")
    assert tighter.budgets.energy_j == 9.0 and tighter.execution == "sequential"
    assert problem.budgets.energy_j == 50  # the original is untouched
    with pytest.raises(ProblemError, match="positive"):
        problem.with_overrides(budgets={"energy_j": -1.0})


FILE_CASES = {
    "empty.json": b"",
    "not-json.json": b"graph = nodes",
    "binary.json": b"\xff\xfe\x00\x01garbage",
    "list.json": b"[1, 2, 3]",
    "bad.yaml": b"graph: [unclosed",
    "python-tag.yaml": b"!!python/object/apply:os.system ['true']",
}


@pytest.mark.parametrize(("name", "path", "value", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cli_refuses_malformed_file_with_exit_2(
    tmp_path,
    capsys,
    two_node_data,
    name,
    path,  # type: ignore[no-untyped-def]
    value,
    expected,
):
    from planner.cli import main

    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(broken(two_node_data, path, value)))
    assert main(["solve", str(problem)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


@pytest.mark.parametrize("name", sorted(FILE_CASES))
def test_cli_refuses_unreadable_files(tmp_path, capsys, name):  # type: ignore[no-untyped-def]
    from planner.cli import main

    path = tmp_path / name
    path.write_bytes(FILE_CASES[name])
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_oversized_file_is_refused(tmp_path, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    import profiles.catalog
    from planner.cli import main

    monkeypatch.setattr(profiles.catalog, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"pad": "x" * 200}))
    assert main(["solve", str(path)]) == 2
    assert "are refused" in capsys.readouterr().err
