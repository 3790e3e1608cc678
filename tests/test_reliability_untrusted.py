"""Untrusted plans and graphs: arguments are data, code runs only from the user's catalog."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from planner import problem_from_data, solve
from planner.cli import main
from planner.execute import resolve_args
from planner.trust import untrusted_models
from tests.conftest import REPO
from tests.test_execute import diamond, model


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))


# ------------------------------------------------------------------ no code from data

PACKAGES = ("planner", "profiles", "solvers", "tasks")
#: Calls that turn data into code or run a shell. Keys: dotted call name; the vetted places
#: that may use them (file relative to the repository, why).
FORBIDDEN_CALLS = {
    "eval": {},
    "exec": {},
    "compile": {},
    "__import__": {},
    "pickle.load": {},
    "pickle.loads": {},
    "marshal.loads": {},
    "yaml.load": {},
    "yaml.unsafe_load": {},
    "yaml.full_load": {},
    "os.system": {},
    "os.popen": {},
    "torch.load": {"profiles/zoo/torchutil.py": "weights_only=True, checked below"},
    "importlib.import_module": {
        "planner/runners.py": "python adapters: only after planner.trust (plan files)",
        "profiles/adapters.py": "python adapters of the user's own catalog",
        "profiles/profiler.py": "fixed library names from the zoo registry",
        "planner/serve/service.py": "fixed library names from the zoo registry (requires)",
        "planner/cli/__init__.py": "fixed typer/click module names",
        "planner/cli/run.py": "the fixed module tasks.decompose",
        "planner/measure.py": "the fixed module profiles.energy",
        "planner/run/calibration.py": (
            "the shared base's modules, which a fresh interpreter imported loading the shipped"
            " catalog (benchmarks/cold_loads.py); no catalog names its adapter, so a plan that"
            " does is refused by planner.trust"
        ),
    },
}
FORBIDDEN_IMPORTS = {"pickle", "marshal", "shelve", "dill", "cloudpickle"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def test_no_code_from_data_anywhere() -> None:
    found = []
    for path in _sources():
        rel = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), rel)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names]
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    if name.split(".")[0] in FORBIDDEN_IMPORTS:
                        found.append(f"{rel}:{node.lineno}: import {name}")
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            if name in FORBIDDEN_CALLS and rel not in FORBIDDEN_CALLS[name]:
                found.append(f"{rel}:{node.lineno}: {name}()")
            if name == "torch.load":
                safe = any(
                    k.arg == "weights_only"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is True
                    for k in node.keywords
                )
                if not safe:
                    found.append(f"{rel}:{node.lineno}: torch.load without weights_only=True")
            for k in node.keywords:
                if k.arg == "shell" and not (
                    isinstance(k.value, ast.Constant) and k.value.value is False
                ):
                    found.append(f"{rel}:{node.lineno}: {name}(shell=...)")
    assert not found, "code from data:\n" + "\n".join(found)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The scan above is not vacuous: it parses these sources and knows their calls."""
    calls = {
        _dotted(n.func)
        for p in _sources()
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(n, ast.Call)
    }
    assert {"importlib.import_module", "json.loads", "torch.load"} <= calls
    assert len(_sources()) > 50


def test_yaml_is_only_loaded_by_safe_loaders() -> None:
    """YAML is parsed in one place per leaf package (``safeio.py``), by a subclass of
    PyYAML's SafeLoader (with a depth limit): no other loader class appears anywhere."""
    bases = {}
    for p in _sources():
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(n, ast.ClassDef):
                for base in n.bases:
                    name = _dotted(base)
                    if name.startswith("yaml."):
                        bases[f"{p.relative_to(REPO).as_posix()}:{n.name}"] = name
            if isinstance(n, ast.Attribute) and _dotted(n) in (
                "yaml.Loader",
                "yaml.UnsafeLoader",
                "yaml.FullLoader",
                "yaml.CLoader",
                "yaml.unsafe_load",
                "yaml.full_load",
            ):
                bases[f"{p.relative_to(REPO).as_posix()}:{n.lineno}"] = _dotted(n)
    assert bases == {
        "profiles/safeio.py:_Loader": "yaml.SafeLoader",
        "tasks/safeio.py:_Loader": "yaml.SafeLoader",
    }


def test_arguments_are_passed_as_data_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"$(touch {marker})",
        f"`touch {marker}`",
        "{{7*7}}",
        "${x}",
    ]
    args = {f"a{i}": p for i, p in enumerate(payloads)}
    resolved = resolve_args(args, {}, {})
    assert resolved == args  # verbatim strings
    data = diamond([model("ma", "A", "echo", 10), model("mb", "B", "echo", 10)])
    data["models"].append(model("mc", "C", "echo", 10))
    data["graph"]["nodes"][0]["args"] = {"text": payloads[0], "other": payloads[1]}
    plan = solve(problem_from_data(data))
    from planner.execute import LocalExecutor

    report = LocalExecutor().execute(plan, {}, run_dir=tmp_path / "run")
    assert report.status == "succeeded"
    out_a = json.loads((tmp_path / "run" / "outputs" / "a.json").read_text())
    assert payloads[0] in out_a["text"] and payloads[1] in out_a["text"]  # verbatim
    assert not marker.exists()


# ------------------------------------------------------------------ adapters from the catalog


@pytest.fixture
def _check_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """This file tests the trust rule: undo conftest's PLANNER_TRUST_FILES."""
    monkeypatch.delenv("PLANNER_TRUST_FILES", raising=False)


def write_plan(tmp_path: Path, models: list[dict[str, Any]]) -> Path:
    data = diamond(models)
    data["metadata"] = {"inputs": {"x": "hi"}}
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(data))
    plan = tmp_path / "plan.json"
    assert main(["solve", str(problem), "-o", str(plan)]) == 0
    return plan


def own_models() -> list[dict[str, Any]]:
    return [
        model("ma", "A", "echo", 10, tag="ma"),
        model("mb", "B", "echo", 10, tag="mb"),
        model("mc", "C", "echo", 10, tag="mc"),
    ]


@pytest.mark.usefixtures("_check_trust")
def test_plan_with_foreign_python_adapter_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, own_models())
    capsys.readouterr()
    code = main(["run", str(plan), "-q", "--out", str(tmp_path / "r")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "not in your catalog" in err and "tests.run_models:echo" in err
    assert "--trust-plan" in err and "--catalog" in err
    assert not (tmp_path / "r").exists()  # nothing ran


@pytest.mark.usefixtures("_check_trust")
def test_plan_naming_the_cold_base_loader_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The calibration's module importer is vetted only because no catalog names it."""
    rows = own_models()
    rows[0]["adapter"] = {
        "kind": "python",
        "target": "planner.run.calibration:base_noop",
        "load": "planner.run.calibration:import_modules",
        "options": {"modules": ["antigravity"]},
    }
    plan = write_plan(tmp_path, rows)
    capsys.readouterr()
    code = main(["run", str(plan), "-q", "--out", str(tmp_path / "r")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "not in your catalog" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.usefixtures("_check_trust")
def test_plan_runs_when_the_users_catalog_declares_its_adapters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, own_models())
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": own_models()}))
    capsys.readouterr()
    code = main(["run", str(plan), "--catalog", str(catalog), "-q", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["status"] == "succeeded"


@pytest.mark.usefixtures("_check_trust")
def test_tampered_plan_is_refused_even_with_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same model ids as the catalog, but the plan swapped one target: refused."""
    plan_path = write_plan(tmp_path, own_models())
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": own_models()}))
    data = json.loads(plan_path.read_text())
    for row in data["problem"]["models"]:
        if row["id"] == "mb":
            row["adapter"]["target"] = "tests.run_models:fail"
            row["adapter"]["path"] = str(tmp_path)
    plan_path.write_text(json.dumps(data))
    capsys.readouterr()
    code = main(["run", str(plan_path), "--catalog", str(catalog), "-q"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "'mb'" in err and "tests.run_models:fail" in err
    assert "'ma'" not in err  # the declared ones are fine


@pytest.mark.usefixtures("_check_trust")
def test_trust_plan_flag_vouches_for_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, own_models())
    capsys.readouterr()
    code = main(["run", str(plan), "--trust-plan", "-q", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["status"] == "succeeded"


def test_http_adapter_in_a_plan_is_untrusted_but_zoo_is_fine() -> None:
    data = diamond(own_models())
    data["models"][1]["adapter"] = {
        "kind": "http",
        "base_url": "https://attacker.example/v1",
        "model": "x",
        "api_key_env": "OPENAI_API_KEY",
    }
    data["models"][2]["adapter"] = {"kind": "zoo", "name": "whatever"}
    plan = solve(problem_from_data(data))
    bad = untrusted_models(plan, [])
    assert bad == [
        "'ma' (python adapter tests.run_models:echo)",
        "'mb' (http adapter https://attacker.example/v1)",
    ]


@pytest.mark.usefixtures("_check_trust")
def test_problem_files_are_checked_like_plans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A problem file carries adapters just as a plan does (a plan's own ``problem`` saved
    as a file is one): its python adapters run only if the user's catalog declares them or
    with --trust-plan (issue 18)."""
    data = diamond(own_models())
    data["metadata"] = {"inputs": {"x": "hi"}}
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(data))
    code = main(["run", str(problem), "-q", "--out", str(tmp_path / "r")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and "not in your catalog" in err and "tests.run_models:echo" in err
    assert not (tmp_path / "r").exists()
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": own_models()}))
    code = main(["run", str(problem), "-q", "--json", "--catalog", str(catalog)])
    assert code == 0 and json.loads(capsys.readouterr().out)["status"] == "succeeded"
    code = main(["run", str(problem), "-q", "--json", "--trust-plan"])
    assert code == 0 and json.loads(capsys.readouterr().out)["status"] == "succeeded"


@pytest.mark.usefixtures("_check_trust")
def test_a_plans_own_problem_saved_as_a_problem_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write_plan(tmp_path, own_models())
    own = tmp_path / "own-problem.json"
    own.write_text(json.dumps(json.loads(plan.read_text())["problem"]))
    capsys.readouterr()
    assert main(["run", str(own), "-q", "--out", str(tmp_path / "r")]) == 2
    assert "tests.run_models:echo" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("kind", [{"x": 1}, ["zoo"], None, 7])
def test_adapter_kind_that_is_not_a_string_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: Any
) -> None:
    """Used to crash with TypeError (unhashable dict/list in the safe-kinds check)."""
    plan_path = write_plan(tmp_path, own_models())
    data = json.loads(plan_path.read_text())
    data["problem"]["models"][0]["adapter"]["kind"] = kind
    plan_path.write_text(json.dumps(data))
    capsys.readouterr()
    code = main(["run", str(plan_path), "-q", "--trust-plan", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err and "kind" in err


# ------------------------------------------------------------------ file arguments


def problem_with_arg(tmp_path: Path, value: str, inputs: dict[str, Any] | None = None) -> Path:
    data = diamond(own_models())
    data["graph"]["nodes"][0]["args"] = {"text": "$x", "image": value}
    data["metadata"] = {"inputs": inputs or {"x": "hi"}}
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("../secret.jpg", "contains '..'"),
        ("/etc/passwd.txt", "absolute path"),
        ("~/.ssh/id_rsa.txt", "starts with '~'"),
        ("inputs/../../etc/shadow", "contains '..'"),
    ],
)
def test_file_arguments_outside_the_input_dir_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, expected: str
) -> None:
    problem = problem_with_arg(tmp_path, value)
    code = main(
        ["run", str(problem), "-q", "--input-dir", str(tmp_path), "--out", str(tmp_path / "r")]
    )
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2 and expected in err and "node 'a' argument 'image'" in err
    assert not (tmp_path / "r").exists()


def test_symlink_out_of_the_input_dir_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = tmp_path / "in"
    inside.mkdir()
    (inside / "escape.jpg").symlink_to(tmp_path / "problem.json")
    problem = problem_with_arg(tmp_path, "escape.jpg")
    code = main(["run", str(problem), "-q", "--input-dir", str(inside)])
    assert code == 2 and "outside the input" in " ".join(capsys.readouterr().err.split())


def test_file_given_inputs_are_checked_but_the_users_own_are_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the models open relative file arguments from here
    (tmp_path / "photo.jpg").write_bytes(b"x")  # a missing input file is refused (exit 2)
    problem = problem_with_arg(tmp_path, "photo.jpg", inputs={"x": "../../etc/hosts.txt"})
    code = main(["run", str(problem), "-q", "--input-dir", str(tmp_path)])
    assert code == 2 and "input 'x' of the file" in " ".join(capsys.readouterr().err.split())
    capsys.readouterr()
    problem = problem_with_arg(tmp_path, "photo.jpg")
    args = ["run", str(problem), "-q", "--json", "--input-dir", str(tmp_path)]
    code = main([*args, "--input", "x=../notes.txt"])  # typed by the user: theirs to give
    assert code == 0 and json.loads(capsys.readouterr().out)["status"] == "succeeded"


def test_allowed_paths_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the models open relative file arguments from here
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"x")  # a missing one is refused (exit 2)
    problem = problem_with_arg(tmp_path, "photos/cat.jpg")
    code = main(["run", str(problem), "-q", "--json", "--input-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    problem = problem_with_arg(tmp_path, str(tmp_path / "photos" / "cat.jpg"))
    code = main(["run", str(problem), "-q", "--json", "--allow-absolute"])
    assert code == 0 and json.loads(capsys.readouterr().out)["status"] == "succeeded"
