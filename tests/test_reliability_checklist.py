"""The checklist of issue 18's cases (benchmarks/reliability_checklist.py) names only tests
and corpus cases that exist, so the table in benchmarks/results/reliability.md cannot go
stale."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from benchmarks.reliability_checklist import CHECKLIST, render_checklist
from tests.reliability_corpus import cases

REPO = Path(__file__).resolve().parent.parent


def test_every_named_test_exists() -> None:
    names = {c.name for c in cases(Path(tempfile.mkdtemp(prefix="checklist-")))}
    functions: dict[str, set[str]] = {}
    missing = []
    for _, case, _, tests in CHECKLIST:
        assert tests, f"{case!r} has no regression test"
        for ref in tests:
            if ref.startswith("corpus:"):
                if ref.removeprefix("corpus:") not in names:
                    missing.append(ref)
                continue
            path, _, func = ref.partition("::")
            if path not in functions:
                tree = ast.parse((REPO / path).read_text())
                functions[path] = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            if func not in functions[path]:
                missing.append(ref)
    assert not missing, missing


def test_the_checklist_covers_every_kind_of_the_issue() -> None:
    groups = {group for group, *_ in CHECKLIST}
    assert groups >= {"security", "data loss", "leaks", "hangs", "crash", "wrong"}
    assert len(CHECKLIST) >= 45
    table = render_checklist()
    assert sum(1 for line in table if line.startswith("| ") and line[2].isdigit()) == len(CHECKLIST)
