"""Which models a command plans over: the user's ``--catalog`` file, else the built-in zoo's
shipped catalog. Shared by the command line and `planner serve` (the application layer under
both; it prints nothing itself)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from planner.errors import ProblemError


def base_catalog(catalog: Path | None, warn: Callable[[str], None] | None = None) -> Any:
    """``catalog``, or the built-in zoo's shipped catalog; ``warn`` gets the warning when the
    shipped profiles are stale."""
    from profiles import load_catalog

    if catalog is not None:
        return load_catalog(catalog)
    try:
        from profiles.zoo import shipped_catalog, stale_warning
    except ImportError as exc:
        raise ProblemError(
            f"the built-in model zoo is not installed ({exc}); give a problem "
            "or plan file, or --catalog"
        ) from exc
    try:
        shipped = shipped_catalog()
    except (OSError, ValueError) as exc:
        raise ProblemError(
            f"the built-in zoo catalog cannot be read ({exc}); give "
            "--catalog, or measure one with `planner profile --all -o FILE`"
        ) from exc
    warning = stale_warning()
    if warning and warn is not None:
        warn(warning)
    return shipped


def load_models(catalog: Path | None, warn: Callable[[str], None] | None = None) -> list[Any]:
    """Rows of ``catalog``, or of the built-in zoo's shipped catalog."""
    return list(base_catalog(catalog, warn).models)


def trusted_models(catalog: Path | None) -> list[Any]:
    """The user's own catalog: ``--catalog FILE``, else the shipped zoo catalog (none when it
    cannot be read)."""
    if catalog is not None:
        return load_models(catalog)
    from profiles.zoo import shipped_catalog

    try:
        return list(shipped_catalog().models)
    except (OSError, ValueError):
        return []
