"""Loading catalog files (JSON or YAML, ``{"models": [...]}`` or a bare list of rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from profiles.schema import Catalog

MAX_FILE_BYTES = 50 * 1024 * 1024


class CatalogError(ValueError):
    """A catalog file cannot be read or is malformed."""


def read_structured(path: Path) -> Any:
    """Read a JSON or YAML file (YAML loaded safely); size-limited."""
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    if path.is_dir():
        raise CatalogError(f"{path} is a directory; give a .json or .yaml file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > MAX_FILE_BYTES:
        raise CatalogError(
            f"{path} is {size / 1e6:.1f} MB; files over {MAX_FILE_BYTES // 1024 // 1024} MiB "
            "are refused"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() in {".yaml", ".yml"}:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path} is not valid YAML: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc


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
