"""planner.fmt: readable numbers with units, never exponent notation."""

from __future__ import annotations

import pytest

from planner import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0"),
        (3459.4, "3459"),
        (183.24, "183"),
        (12.3, "12.3"),
        (3.486, "3.49"),
        (0.0123456, "0.0123"),
        (-2.5, "-2.5"),
        (100.0, "100"),
        (1e9, "1000000000"),
    ],
)
def test_sig(value: float, text: str) -> None:
    assert fmt.sig(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0 ms"),
        (0.42, "0.42 ms"),
        (183.2, "183 ms"),
        (3459.0, "3.46 s"),
        (0.0005, "0.5 µs"),
        (180_000.0, "3 min"),
    ],
)
def test_duration(value: float, text: str) -> None:
    assert fmt.duration_ms(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0 J"), (0.01965, "19.7 mJ"), (0.3436, "344 mJ"), (280.7, "281 J"), (1234.0, "1.23 kJ")],
)
def test_energy(value: float, text: str) -> None:
    assert fmt.energy_j(value) == text


def test_memory_and_accuracy() -> None:
    assert fmt.memory_mb(24080.0) == "24.1 GB"
    assert fmt.memory_mb(34.48) == "34.5 MB"
    assert fmt.accuracy(0.515) == "0.515"


def test_no_exponent_ever() -> None:
    for v in [1e-12, 3.3e-5, 7.7e7, 1e15, 123456789.0]:
        for f in (fmt.sig, fmt.duration_ms, fmt.energy_j, fmt.memory_mb):
            assert "e" not in f(v).replace("µ", "").split(" ")[0]
