"""Bounded, non-blocking reading of input files and safe JSON/YAML parsing (one copy per leaf).

Every file this package reads goes through `read_input_bytes`: only regular files are read
(directories, FIFOs, sockets and device files such as ``/dev/zero`` are refused from
``stat`` alone, and the file is opened with ``O_NONBLOCK`` so a FIFO swapped in after the
check cannot block), and at most ``limit`` bytes are read (default `DEFAULT_MAX_INPUT_MB`
MiB, raised with the environment variable ``PLANNER_MAX_INPUT_MB``).

Parsed data goes through `check_tree`: nesting at most `MAX_DEPTH` levels (a recursive YAML
alias is infinitely deep), at most `MAX_VALUES` values once YAML aliases are expanded, at
most `MAX_SHARED` re-uses of an aliased container ("billion laughs" is refused after a few
thousand steps, in milliseconds), and every number finite (JSON ``NaN``/``Infinity``,
``1e400``, YAML ``.inf``/``.nan`` are refused). The traversal is iterative, so no input can
cause a ``RecursionError``.

``tasks/safeio.py`` and ``profiles/safeio.py`` are the same file (the leaf packages may not
import each other); a test keeps them identical.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

DEFAULT_MAX_INPUT_MB = 50
LIMIT_ENV = "PLANNER_MAX_INPUT_MB"
MAX_DEPTH = 64
MAX_VALUES = 5_000_000
MAX_SHARED = 10_000
_MAX_INT = 2**1023  # larger integers cannot become a finite float


class InputError(ValueError):
    """An input file cannot be read safely or its content breaks a parser limit."""


def max_input_bytes() -> int:
    """The size limit on input files, in bytes (``PLANNER_MAX_INPUT_MB`` or the default)."""
    raw = os.environ.get(LIMIT_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_INPUT_MB * 1024 * 1024
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{LIMIT_ENV}={raw!r} must be a positive number of MiB, e.g. 200")
    return int(value * 1024 * 1024)


def _limit_text(limit: int) -> str:
    mib = limit / 1024 / 1024
    return f"{mib:g} MiB" if mib >= 1 else f"{limit} bytes"


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def read_input_bytes(path: str | Path, limit: int | None = None, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; else `InputError`."""
    path = Path(path)
    limit = max_input_bytes() if limit is None else limit
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    kind = _kind(info.st_mode)
    if kind is not None:
        raise InputError(f"{path} is {kind}; give a regular {what}")
    too_big = (
        f"files over {_limit_text(limit)} are refused; set {LIMIT_ENV} (MiB) to raise the limit"
    )
    if info.st_size > limit:
        raise InputError(f"{path} is {info.st_size / 1e6:.1f} MB; {too_big}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        kind = _kind(os.fstat(fd).st_mode)  # swapped between stat and open?
        if kind is not None:
            raise InputError(f"{path} is {kind}; give a regular {what}")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while read (or /proc-like size 0)
                raise InputError(f"{path} is larger than the limit; {too_big}")
    except BlockingIOError as exc:
        raise InputError(f"cannot read {path} without blocking; give a regular {what}") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_input_text(path: str | Path, limit: int | None = None, what: str = "file") -> str:
    """`read_input_bytes` decoded as UTF-8 (a clear error otherwise)."""
    data = read_input_bytes(path, limit, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
            f"give a JSON or YAML {what}"
        ) from exc


def check_tree(data: Any, where: str = "input") -> Any:
    """Raise `InputError` if ``data`` is too deep, too large once aliases are expanded, or
    holds a non-finite number; return it unchanged otherwise."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    seen: set[int] = set()
    values = shared = 0
    while stack:
        value, depth = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise InputError(f"{where} holds more than {MAX_VALUES} values; split it up")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InputError(
                    f"{where} holds the number {value}; numbers must be finite "
                    "(no NaN, Infinity or values beyond 1.8e308)"
                )
            continue
        if isinstance(value, int):
            if abs(value) >= _MAX_INT:
                raise InputError(f"{where} holds an integer too large for a float")
            continue
        if isinstance(value, dict | list | tuple):
            if depth > MAX_DEPTH:
                raise InputError(
                    f"{where} is nested more than {MAX_DEPTH} levels deep (or holds a "
                    "recursive YAML alias); flatten it"
                )
            key = id(value)
            if key in seen:
                shared += 1
                if shared > MAX_SHARED:
                    raise InputError(
                        f"{where} re-uses YAML aliases more than {MAX_SHARED} times "
                        "(an alias bomb?); write the values out"
                    )
            else:
                seen.add(key)
            if isinstance(value, dict):
                for k, v in value.items():
                    stack.append((k, depth + 1))
                    stack.append((v, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in value)
    return data


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not a number JSON allows; numbers must be finite")


def parse_json(text: str | bytes, where: str = "input") -> Any:
    """``json.loads`` with finite numbers only and the limits of `check_tree`."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except RecursionError:
        raise InputError(
            f"{where} is nested more than {MAX_DEPTH} levels deep; flatten it"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # e.g. integers with too many digits
        raise InputError(f"{where} is not valid JSON: {exc}") from exc
    return check_tree(data, where)


def parse_yaml(text: str, where: str = "input") -> Any:
    """``yaml.safe_load`` with a depth limit while composing and the limits of `check_tree`."""
    import yaml

    class _Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent) or self.check_event(yaml.ScalarEvent):
                return super().compose_node(parent, index)  # only collections nest
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise InputError(f"{where} is nested more than {MAX_DEPTH} levels deep")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except InputError:
        raise
    except yaml.YAMLError as exc:
        raise InputError(f"{where} is not valid YAML: {exc}") from exc
    except RecursionError:
        raise InputError(f"{where} is nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    return check_tree(data, where)


def load_structured_file(path: str | Path, limit: int | None = None, what: str = "file") -> Any:
    """Read and parse a JSON file (YAML for ``.yaml``/``.yml``), bounded and checked."""
    path = Path(path)
    text = read_input_text(path, limit, what)
    if path.suffix.lower() in {".yaml", ".yml"}:
        return parse_yaml(text, str(path))
    return parse_json(text, str(path))
