"""Layering (DESIGN.md): leaves never import each other or planner; heavy imports are lazy."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

LEAVES = ["tasks", "profiles", "solvers"]
OURS = {"tasks", "profiles", "solvers", "planner"}


@pytest.mark.parametrize("package", LEAVES)
def test_leaf_packages_import_nothing_of_ours(package):  # type: ignore[no-untyped-def]
    for path in (REPO / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module.split(".")[0]]
            for name in names:
                assert name not in OURS - {package}, f"{path} imports {name}"


def test_solve_path_does_not_import_heavy_modules():  # type: ignore[no-untyped-def]
    code = (
        "import sys, planner.cli, planner.solve, planner.problem\n"
        "heavy = [m for m in ('torch', 'ray', 'sklearn', 'sentence_transformers', "
        "'matplotlib', 'highspy', 'transformers') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == ""


def _imports_of(path: object, module: str) -> set[str]:
    """Modules of ours that ``module`` imports anywhere (function bodies included), except
    under ``if TYPE_CHECKING:`` (no import at run time)."""
    tree = ast.parse(path.read_text(), filename=str(path))  # type: ignore[attr-defined]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]  # type: ignore[attr-defined]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in OURS}


def planner_import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in (REPO / "planner").rglob("*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return {
        name: {m for m in _imports_of(path, name) if m in modules and m != name}
        for name, path in modules.items()
    }


#: Circles tolerated by the check: none (the CLI's shared options live in planner.cli.options,
#: so `planner solve` and `planner pareto` no longer import each other). Nothing may be added.
KNOWN_CIRCLES: list[list[str]] = []


def test_no_import_circles_inside_planner() -> None:
    import networkx as nx

    graph = nx.DiGraph()
    for name, deps in planner_import_graph().items():
        graph.add_node(name)
        graph.add_edges_from((name, d) for d in deps)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    assert [c for c in cycles if c not in KNOWN_CIRCLES] == [], f"import circles: {cycles}"


def test_the_import_graph_sees_imports_inside_functions() -> None:
    """The circle check is not vacuous: lazy imports count, package-relative names resolve."""
    graph = planner_import_graph()
    assert "planner.run.procpool" in graph["planner.speed"]  # imported inside a function
    assert "planner.run.scheduler" in graph["planner.run.executor"]
    assert "planner.run.scheduler" not in graph["planner.run.hooks"]  # TYPE_CHECKING only


def test_running_a_python_plan_does_not_import_torch(tmp_path: object) -> None:
    """Thread limits are set without importing torch for plans that have no torch model."""
    code = (
        "import sys\n"
        "from planner import problem_from_data, solve\n"
        "from planner.run.calibration import chain_problem\n"
        "from planner.run.executor import LocalExecutor\n"
        "from planner.run.options import RunOptions\n"
        "plan = solve(problem_from_data(chain_problem(3)))\n"
        "r = LocalExecutor(options=RunOptions(pool='thread')).execute(plan, {'x': 'a'})\n"
        "assert r.status == 'succeeded', r.message\n"
        "print(','.join(m for m in ('torch', 'ray', 'sklearn') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == ""


def test_cli_start_up_imports_no_numpy_and_no_search():  # type: ignore[no-untyped-def]
    """`planner --help` builds the CLI only: the searches import numpy (and PuLP, HiGHS)
    inside the functions that use them, so none is imported until a command solves."""
    code = (
        "import sys, planner.cli\n"
        "loaded = [m for m in ('numpy', 'pulp', 'highspy', 'scipy') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == ""
