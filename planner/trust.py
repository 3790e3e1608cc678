"""Which model adapters a plan file may run: only those of the user's own catalog.

A plan file (``format: plan/v1``) can come from anywhere (a colleague, a bug report, a web
page) and carries its models' ``adapter`` objects. Running it must not import code, put a
folder on ``sys.path`` or send inputs and API keys to a server that the plan alone names. So
`planner run PLAN` checks every candidate model of the plan (re-planning may switch to any of
them) before anything runs:

- ``{"kind": "zoo", "name": ...}`` is allowed: it names a built-in zoo model (the project's
  own code; its weights load with ``weights_only=True``);
- any other adapter (``python``, ``http``, unknown kinds) must appear, with the same model id
  and an identical adapter object, in a catalog the user controls: ``--catalog FILE``, else
  the shipped zoo catalog;
- ``--trust-plan`` lifts the rule for one run (the user vouches for the file).

A model without an adapter cannot run anyway (the executor refuses it). Problem files are
the user's own model declarations (like a catalog) and are not checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from planner.errors import ProblemError
from planner.plan import Plan
from profiles import ModelProfile

SAFE_KINDS = frozenset({"zoo"})


def _canonical(adapter: dict[str, Any] | None) -> str:
    return json.dumps(adapter, sort_keys=True, default=str)


def untrusted_models(plan: Plan, trusted: Iterable[ModelProfile]) -> list[str]:
    """One line per candidate of ``plan`` whose adapter is neither safe nor in ``trusted``."""
    known = {(m.id, _canonical(m.adapter)) for m in trusted if m.adapter is not None}
    problem_models = plan.problem.models
    assert not isinstance(problem_models, str)  # resolved when the plan was validated
    found = []
    for m in problem_models:
        adapter = m.adapter
        if adapter is None or adapter.get("kind") in SAFE_KINDS:
            continue
        if (m.id, _canonical(adapter)) in known:
            continue
        kind = adapter.get("kind", "?")
        what = adapter.get("target") or adapter.get("base_url") or adapter.get("name") or ""
        found.append(f"{m.id!r} ({kind} adapter {what})".replace(" )", ")"))
    return found


def check_plan_adapters(plan: Plan, trusted: Iterable[ModelProfile], where: str) -> None:
    """Raise `ProblemError` (exit 2) naming every model whose adapter is not trusted."""
    bad = untrusted_models(plan, trusted)
    if bad:
        raise ProblemError(
            f"{where}: the plan file names model adapters that are not in your catalog: "
            f"{', '.join(bad)}. A plan file is data and may come from anyone; its code and "
            "servers run only if your own catalog declares them. Give the catalog that "
            "declares these models with --catalog FILE, or pass --trust-plan if you trust "
            "this file"
        )
