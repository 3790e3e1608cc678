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

A model without an adapter cannot run anyway (the executor refuses it). Problem files carry
adapters too (a plan's ``problem``, saved on its own, is one), so `planner run PROBLEM`
applies the same rule to the problem's models; only a request text (models from
``--catalog`` or the zoo) and the built-in demo are not checked. An adapter whose ``kind``
is not a string never counts as safe.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from planner.errors import ProblemError
from planner.plan import Plan
from planner.problem import Problem
from profiles import ModelProfile

SAFE_KINDS = frozenset({"zoo"})


def _canonical(adapter: Any) -> str:
    return json.dumps(adapter, sort_keys=True, default=str)


def _label(value: Any) -> str:
    """An adapter field for a message: text only, short, control characters escaped."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:120].encode("unicode_escape").decode("ascii")


def untrusted_adapters(
    models: Iterable[ModelProfile], trusted: Iterable[ModelProfile]
) -> list[str]:
    """One line per model of ``models`` whose adapter is neither safe nor in ``trusted``."""
    known = {(m.id, _canonical(m.adapter)) for m in trusted if m.adapter is not None}
    found = []
    for m in models:
        adapter = m.adapter
        if adapter is None:
            continue
        kind = adapter.get("kind")
        if isinstance(kind, str) and kind in SAFE_KINDS:
            continue
        if (m.id, _canonical(adapter)) in known:
            continue
        what = adapter.get("target") or adapter.get("base_url") or adapter.get("name") or ""
        found.append(
            f"{_label(m.id)!r} ({_label(kind or '?')} adapter {_label(what)})".replace(" )", ")")
        )
    return found


def untrusted_models(plan: Plan, trusted: Iterable[ModelProfile]) -> list[str]:
    """One line per candidate of ``plan`` whose adapter is neither safe nor in ``trusted``."""
    problem_models = plan.problem.models
    assert not isinstance(problem_models, str)  # resolved when the plan was validated
    return untrusted_adapters(problem_models, trusted)


def check_plan_adapters(plan: Plan, trusted: Iterable[ModelProfile], where: str) -> None:
    """Raise `ProblemError` (exit 2) naming every model whose adapter is not trusted."""
    _refuse(untrusted_models(plan, trusted), where, "plan")


def check_problem_adapters(problem: Problem, trusted: Iterable[ModelProfile], where: str) -> None:
    """The same rule for a problem file: it carries adapters just as a plan does (a plan's
    own ``problem`` saved on its own is a problem file), so it is data too."""
    _refuse(untrusted_adapters(problem.candidates, trusted), where, "problem")


def _refuse(bad: list[str], where: str, kind: str) -> None:
    if bad:
        raise ProblemError(
            f"{where}: the {kind} file names model adapters that are not in your catalog: "
            f"{', '.join(bad)}. A {kind} file is data and may come from anyone; its code and "
            "servers run only if your own catalog declares them. Give the catalog that "
            "declares these models with --catalog FILE, or pass --trust-plan if you trust "
            "this file"
        )
