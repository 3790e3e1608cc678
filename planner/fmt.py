"""Numbers for people: three significant digits, a unit that fits, never exponent notation."""

from __future__ import annotations

import math


def sig(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, as plain decimals (no ``e+03``)."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    rounded = round(value, decimals)
    if decimals == 0:
        return f"{int(rounded):d}"
    text = f"{rounded:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scaled(value: float, units: list[tuple[float, str]]) -> str:
    """Pick the largest unit whose factor is at most ``|value|`` (the first when none is)."""
    factor, unit = units[0]
    for f, u in units:
        if abs(value) >= f:
            factor, unit = f, u
    return f"{sig(value / factor)} {unit}"


def duration_ms(value: float) -> str:
    """A duration given in ms: "0.42 ms", "183 ms", "3.46 s", "2.1 min"."""
    if value == 0:
        return "0 ms"
    if abs(value) >= 120_000:
        return f"{sig(value / 60_000)} min"
    if abs(value) >= 1000:
        return f"{sig(value / 1000)} s"
    if abs(value) >= 0.01:
        return f"{sig(value)} ms"
    return f"{sig(value * 1000)} µs"


def energy_j(value: float) -> str:
    """Energy given in J: "12.3 mJ", "0.344 J", "281 J", "1.2 kJ"."""
    if value == 0:
        return "0 J"
    return _scaled(value, [(1e-6, "µJ"), (1e-3, "mJ"), (1.0, "J"), (1e3, "kJ"), (1e6, "MJ")])


def memory_mb(value: float) -> str:
    """Memory given in MB: "34.5 MB", "24.1 GB"."""
    if value == 0:
        return "0 MB"
    return _scaled(value, [(1e-3, "kB"), (1.0, "MB"), (1e3, "GB"), (1e6, "TB")])


def accuracy(value: float) -> str:
    """An accuracy in (0, 1] to three decimals ("0.515")."""
    return f"{value:.3f}"
