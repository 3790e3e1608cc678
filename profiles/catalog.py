"""Loading catalog files (JSON or YAML, ``{"models": [...]}`` or a bare list of rows)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from profiles.safeio import DEFAULT_MAX_INPUT_MB, InputError, load_structured_file
from profiles.schema import Catalog, ModelProfile, Provenance

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


#: Watts per busy core assumed for a derived load energy when the row does not say.
DEFAULT_WATTS_PER_CORE = 10.0


def with_load_costs(model: ModelProfile) -> ModelProfile:
    """``model`` with its cold-start cost filled where the profiler recorded it only in the
    provenance: ``load_ms`` from ``provenance.load_ms`` (the profiler's timed ``load()``,
    after the libraries it needs were imported), and, when no load energy is given, one
    derived the way the profiler estimates energy (CPU time x watts per busy core) for a
    load that keeps one core busy: ``load_ms / 1000 x watts_per_core``. The derived value
    is labelled in ``provenance.load_energy_note``; a row that gives its own values keeps
    them, and a row with no recorded load stays unmeasured (None)."""
    prov = model.provenance.model_dump() if model.provenance is not None else {}
    update: dict[str, Any] = {}
    load_ms = model.load_ms
    recorded = prov.get("load_ms")
    if load_ms is None and isinstance(recorded, int | float) and recorded >= 0:
        load_ms = float(recorded)
        update["load_ms"] = load_ms
    if model.load_energy_j is None and load_ms is not None and model.provenance is not None:
        watts = prov.get("watts_per_core")
        if not isinstance(watts, int | float) or watts <= 0:
            watts = DEFAULT_WATTS_PER_CORE
        update["load_energy_j"] = round(load_ms / 1000.0 * float(watts), 6)
        prov["load_energy_note"] = (
            f"derived, not measured: load_ms {load_ms:g} x {float(watts):g} W (one busy core, "
            "the profiler's CPU-time estimate; imports of shared libraries not included)"
        )
        update["provenance"] = Provenance.model_validate(prov)
    return model.model_copy(update=update) if update else model
