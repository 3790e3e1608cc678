"""The zoo's shared cache is filled safely when several worker processes prepare the same
model at once (a fresh machine's first `planner run` starts its workers together)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from profiles.zoo.speech import _join_atomically


def _join(args: tuple[list[str], str]) -> int:
    parts, dest = args
    _join_atomically([Path(p) for p in parts], Path(dest))
    return Path(dest).stat().st_size


def test_processes_joining_one_file_at_once_all_succeed_and_leave_it_whole(
    tmp_path: Path,
) -> None:
    parts = []
    for i in range(2):
        part = tmp_path / f"part{i}"
        part.write_bytes(bytes([i + 1]) * (3 * 2**20))
        parts.append(str(part))
    dest = tmp_path / "cache" / "model.bin"
    dest.parent.mkdir()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        sizes = pool.map(_join, [(parts, str(dest))] * 8)
    assert sizes == [6 * 2**20] * 8
    data = dest.read_bytes()
    assert data == b"\x01" * (3 * 2**20) + b"\x02" * (3 * 2**20)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]  # no temp left


def test_a_failed_join_leaves_no_temporary_file(tmp_path: Path) -> None:
    dest = tmp_path / "model.bin"
    try:
        _join_atomically([tmp_path / "missing"], dest)
    except FileNotFoundError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a missing part must raise")
    assert list(tmp_path.iterdir()) == []
