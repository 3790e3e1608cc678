"""Fault-injecting models for the reliability tests (run through the ``python`` adapter)."""

from __future__ import annotations

import os
from typing import Any


def die(inputs: dict[str, Any], code: int = 139) -> dict[str, Any]:
    """Kills the whole process at once, as a segfault in native model code would."""
    os._exit(code)
