"""Issue 18: bounded, non-blocking input and safe parsing; the hostile-input corpus.

The corpus (tests/reliability_corpus.py) is replayed through ``planner.cli.main``: every
case exits with its expected code and message, never ``internal error:``, never a raw ESC.
The parser limits of ``tasks/safeio.py`` / ``profiles/safeio.py`` get unit and
property-based (hypothesis) tests.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles import safeio
from tests.reliability_corpus import cases, laughs, replay

REPO = Path(__file__).resolve().parent.parent
_NAMES = [c.name for c in cases(Path(tempfile.mkdtemp(prefix="corpus-names-")))]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return {c.name: c for c in cases(tmp_path_factory.mktemp("corpus"))}


def test_the_corpus_has_at_least_40_new_cases_of_every_kind_twice() -> None:
    assert len(_NAMES) >= 120 and len(set(_NAMES)) == len(_NAMES)  # 79 + 52 (second pass)
    kinds = {c.kind for c in cases(Path(tempfile.mkdtemp(prefix="corpus-kinds-")))}
    assert kinds >= {"solve", "run", "plans", "decompose", "report", "flags", "serve"}


@pytest.mark.parametrize("name", _NAMES)
def test_hostile_input(
    name: str, corpus: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_HISTORY", str(tmp_path / "history.sqlite"))
    outcome = replay(corpus[name])
    assert outcome.ok, outcome.why


# ------------------------------------------------------------------ reading files


def test_the_two_leaf_copies_are_identical() -> None:
    a = (REPO / "tasks" / "safeio.py").read_text()
    b = (REPO / "profiles" / "safeio.py").read_text()
    assert a == b, "tasks/safeio.py and profiles/safeio.py must stay the same file"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "p.json"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(safeio.InputError, match="FIFO"):
        safeio.read_input_bytes(fifo)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_device_files_are_refused(path: str) -> None:
    if not os.path.exists(path):
        pytest.skip(f"{path} absent")
    with pytest.raises(safeio.InputError, match="device file"):
        safeio.read_input_bytes(path)


def test_directory_and_socket_are_refused(tmp_path: Path) -> None:
    with pytest.raises(safeio.InputError, match="directory"):
        safeio.read_input_bytes(tmp_path)
    sock_path = tmp_path / "s"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        with pytest.raises(safeio.InputError, match="socket"):
            safeio.read_input_bytes(sock_path)
    finally:
        sock.close()


def test_size_limit_names_itself_and_how_to_raise_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "big.json"
    f.write_bytes(b" " * 3000)
    with pytest.raises(safeio.InputError, match=r"over 2000 bytes.*PLANNER_MAX_INPUT_MB"):
        safeio.read_input_bytes(f, limit=2000)
    assert safeio.read_input_bytes(f, limit=3000) == b" " * 3000
    monkeypatch.setenv("PLANNER_MAX_INPUT_MB", "0.001")
    with pytest.raises(safeio.InputError, match="PLANNER_MAX_INPUT_MB"):
        safeio.read_input_bytes(f)
    monkeypatch.setenv("PLANNER_MAX_INPUT_MB", "nan")
    with pytest.raises(safeio.InputError, match="positive number"):
        safeio.read_input_bytes(f)


def test_proc_files_of_size_zero_are_read_up_to_the_limit() -> None:
    data = safeio.read_input_bytes("/proc/self/status", limit=1 << 20)
    assert b"Name:" in data
    with pytest.raises(safeio.InputError, match="larger than the limit"):
        safeio.read_input_bytes("/proc/self/status", limit=10)


# ------------------------------------------------------------------ parsing


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_depth_limit_is_exact() -> None:
    assert safeio.parse_json(nested(safeio.MAX_DEPTH)) is not None
    with pytest.raises(safeio.InputError, match="levels deep"):
        safeio.parse_json(nested(safeio.MAX_DEPTH + 1))
    with pytest.raises(safeio.InputError, match="levels deep"):
        safeio.parse_json(nested(200_000))  # past Python's recursion limit


def test_yaml_depth_limit_is_exact() -> None:
    assert safeio.parse_yaml(nested(safeio.MAX_DEPTH)) is not None
    with pytest.raises(safeio.InputError, match="levels deep"):
        safeio.parse_yaml(nested(safeio.MAX_DEPTH + 1))
    with pytest.raises(safeio.InputError, match="levels deep"):
        safeio.parse_yaml(nested(20_000))


def test_billion_laughs_is_refused_in_under_a_second() -> None:
    start = time.perf_counter()
    with pytest.raises(safeio.InputError, match="aliases"):
        safeio.parse_yaml(laughs(9))  # 9**9 = 387 million strings once expanded
    assert time.perf_counter() - start < 1.0
    # a few aliases are fine (anchors for shared settings are normal YAML)
    assert safeio.parse_yaml("a: &x {k: 1}\nb: *x\nc: *x\n") == {
        "a": {"k": 1},
        "b": {"k": 1},
        "c": {"k": 1},
    }


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(safeio.InputError, match="recursive YAML alias"):
        safeio.parse_yaml("a: &a [*a]\n")


@pytest.mark.parametrize(
    "text", ["NaN", "[Infinity]", '{"x": -Infinity}', "1e400", "[-1e309]", str(10**400)]
)
def test_non_finite_json_numbers_are_refused(text: str) -> None:
    with pytest.raises(safeio.InputError):
        safeio.parse_json(text)


@pytest.mark.parametrize("text", ["x: .inf", "x: -.Inf", "x: .nan", "x: 1.0e+400"])
def test_non_finite_yaml_numbers_are_refused(text: str) -> None:
    with pytest.raises(safeio.InputError, match="finite"):
        safeio.parse_yaml(text)


def test_yaml_python_tags_are_refused() -> None:
    with pytest.raises(safeio.InputError, match="not valid YAML"):
        safeio.parse_yaml("!!python/object/apply:os.system ['true']")


# ------------------------------------------------------------------ properties

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=40,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 1


def finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite(v) for v in value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    return True


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(json_value)
def test_parse_json_accepts_exactly_the_finite_values(value: Any) -> None:
    text = json.dumps(value)  # NaN/Infinity written as the non-standard literals
    if finite(value):
        assert safeio.parse_json(text) == value
    else:
        with pytest.raises(safeio.InputError):
            safeio.parse_json(text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(min_value=1, max_value=400), st.sampled_from(["[", '{"k":']))
def test_depth_limit_property(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    text = opener * depth + ("" if opener == "[" else "1") + closer * depth
    value_depth = depth + (0 if opener == "[" else 1)
    for parse in (safeio.parse_json, safeio.parse_yaml):
        if depth <= safeio.MAX_DEPTH:  # the limit counts containers, not the scalar leaf
            assert depth_of(parse(text)) == value_depth
        else:
            with pytest.raises(safeio.InputError, match="levels deep"):
                parse(text)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet=st.sampled_from(list("[]{}:,&*ab -\n\"'!0.e")), max_size=60))
def test_parsers_never_raise_anything_but_input_error(text: str) -> None:
    for parse in (safeio.parse_json, safeio.parse_yaml):
        with contextlib.suppress(safeio.InputError):
            parse(text)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(min_value=2, max_value=12), st.integers(min_value=2, max_value=9))
def test_alias_expansion_is_bounded(levels: int, width: int) -> None:
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    for k in range(1, levels):
        lines.append(f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * width) + "]")
    text = "\n".join(lines)
    start = time.perf_counter()
    try:
        data = safeio.parse_yaml(text)
    except safeio.InputError as exc:
        assert "aliases" in str(exc) or "values" in str(exc)
    else:
        assert width**levels < 10 * safeio.MAX_VALUES  # an alias bomb is never accepted
        assert len(data[f"l{levels - 1}"]) == width
    assert time.perf_counter() - start < 2.0
