"""Loading catalog files (JSON or YAML, ``{"models": [...]}`` or a bare list of rows)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from profiles.safeio import DEFAULT_MAX_INPUT_MB, InputError, load_structured_file
from profiles.schema import Catalog

MAX_FILE_BYTES = DEFAULT_MAX_INPUT_MB * 1024 * 1024


class CatalogError(ValueError):
    """A catalog file cannot be read or is malformed."""


def read_structured(path: Path) -> Any:
    """Read a JSON or YAML file (YAML loaded safely), bounded and checked by `profiles.safeio`:
    regular files only (never blocks on a FIFO or device), at most `MAX_FILE_BYTES`
    (``PLANNER_MAX_INPUT_MB`` raises it), nesting, alias expansion and numbers limited."""
    limit = MAX_FILE_BYTES if "PLANNER_MAX_INPUT_MB" not in os.environ else None
    try:
        return load_structured_file(Path(path), limit=limit, what=".json or .yaml file")
    except InputError as exc:
        raise CatalogError(str(exc)) from exc


def load_catalog_data(data: Any, where: str = "catalog") -> Catalog:
    """Validate already-parsed catalog data."""
    if isinstance(data, list):
        data = {"models": data}
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: expected an object with a 'models' list")
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"{where} is invalid:\n{exc}") from exc


def load_catalog(path: str | Path) -> Catalog:
    """Load and validate a catalog file."""
    path = Path(path)
    return load_catalog_data(read_structured(path), where=str(path))
