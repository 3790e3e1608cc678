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
