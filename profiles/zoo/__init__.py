"""The built-in model zoo: real models that run offline on a CPU, their evaluation sets, and
the shipped catalog of their measured profiles (``profiles/data/zoo_catalog.json``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from profiles.zoo.base import TaskEval, ZooError, ZooModel, cache_dir
from profiles.zoo.registry import (
    EVALS,
    MODEL_CLASSES,
    ZOO_VERSION,
    availability,
    code_hash,
    get_model,
    task_eval,
    zoo_names,
)

SHIPPED_CATALOG = "zoo_catalog.json"


def shipped_catalog_data() -> dict[str, Any]:
    """The shipped catalog as parsed JSON (``{"models": [...], "zoo": {...}}``)."""
    text = (resources.files("profiles") / "data" / SHIPPED_CATALOG).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def shipped_catalog(available_only: bool = True) -> Any:
    """The shipped catalog as a validated `profiles.Catalog`: by default only the models this
    machine can run (a model that needs a program or package that is not installed is no
    candidate; `planner models --all` lists it with its install command)."""
    from profiles.catalog import load_catalog_data

    data = shipped_catalog_data()
    if available_only:
        data = {
            **data,
            "models": [
                m
                for m in data.get("models", [])
                if m.get("id") not in MODEL_CLASSES or MODEL_CLASSES[m["id"]].available()
            ],
        }
    return load_catalog_data(data, where=f"profiles/data/{SHIPPED_CATALOG}")


def stale_warning(data: dict[str, Any] | None = None) -> str | None:
    """A warning when the shipped profiles were measured on another zoo version or code
    (``data`` defaults to the shipped catalog); None when they match."""
    try:
        data = shipped_catalog_data() if data is None else data
    except (OSError, ValueError) as exc:
        return f"the shipped zoo catalog cannot be read ({exc}); regenerate it"
    info = data.get("zoo") or {}
    problems = []
    if info.get("version") != ZOO_VERSION:
        problems.append(f"zoo version {info.get('version')!r} != installed {ZOO_VERSION!r}")
    current = code_hash()
    if info.get("code_hash") != current:
        problems.append(f"code hash {info.get('code_hash')!r} != installed {current!r}")
    names = {m.get("id") for m in data.get("models", [])}
    missing = sorted(set(MODEL_CLASSES) - names)
    if missing:
        problems.append(f"no profile for {', '.join(missing)}")
    if not problems:
        return None
    return (
        "the shipped zoo profiles are stale (" + "; ".join(problems) + "): re-measure with "
        "`planner profile --all -o profiles/data/zoo_catalog.json`"
    )


__all__ = [
    "EVALS",
    "MODEL_CLASSES",
    "SHIPPED_CATALOG",
    "ZOO_VERSION",
    "TaskEval",
    "ZooError",
    "ZooModel",
    "availability",
    "cache_dir",
    "code_hash",
    "get_model",
    "shipped_catalog",
    "shipped_catalog_data",
    "stale_warning",
    "task_eval",
    "zoo_names",
]
