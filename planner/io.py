"""Writing artifacts safely: atomically (temp file + rename), only over regular files, as
strict JSON (no NaN/Infinity), so a crash never leaves half a file and no device is replaced."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from planner.errors import OutputError


def _check_target(path: Path) -> bool:
    """False if ``path`` is the null device (nothing to write); raise `OutputError` if it is
    anything else but a regular file or absent (a device, FIFO, socket or directory)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if stat.S_ISREG(info.st_mode):
        return True
    if stat.S_ISCHR(info.st_mode) and os.path.realpath(path) == os.devnull:
        return False
    kind = (
        "a directory"
        if stat.S_ISDIR(info.st_mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(info.st_mode)
        else "a socket"
        if stat.S_ISSOCK(info.st_mode)
        else "a device file"
        if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
        else "not a regular file"
    )
    raise OutputError(
        f"{path} is {kind}; output is written to a new or regular file only (a "
        "temporary file renamed over it), so give a file path"
    )


def check_output_target(path: str | Path | None) -> None:
    """Refuse an output path that `write_atomic` would refuse, before any work is done."""
    if path is not None:
        _check_target(Path(path))


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    ``path`` must be absent or a regular file (``/dev/null`` is accepted and written
    nothing); a device, FIFO, socket or directory is refused with `OutputError`, never
    replaced.
    """
    path = Path(path)
    if not _check_target(path):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        _check_target(path)  # swapped for a device while we wrote?
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _first_non_finite(value: Any, where: str = "") -> str | None:
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return at or "(top level)"
        if isinstance(item, dict):
            stack.extend((v, f"{at}.{k}" if at else str(k)) for k, v in item.items())
        elif isinstance(item, list | tuple):
            stack.extend((v, f"{at}[{i}]") for i, v in enumerate(item))
    return None


def dumps_strict(data: Any, what: str = "artifact", **kwargs: Any) -> str:
    """``json.dumps`` that refuses NaN and Infinity with an `OutputError` naming the field
    (JSON has no such numbers and a plan or report holding one would mislead)."""
    try:
        return json.dumps(data, allow_nan=False, **kwargs)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        at = _first_non_finite(data)
        raise OutputError(
            f"the {what} holds a non-finite number (NaN or Infinity) at {at}; it was not "
            "written. This is a bug in the planner or a model's output: rerun with --debug "
            "and report it"
        ) from exc


# Control characters (C0 but tab/newline, DEL, C1) and bidirectional overrides: shown
# escaped (``\x1b``), so a file cannot move the cursor, recolour or hide terminal text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_ALL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: object, newlines: bool = True) -> str:
    """``text`` with control characters written as escapes (``\\x1b``, ``\\n`` unless
    ``newlines``): safe to print to a terminal."""
    pattern = _CONTROL if newlines else _CONTROL_ALL
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def shown(text: object, newlines: bool = False) -> str:
    """Text from a file (an id, a task name, a message) for rich: control characters
    escaped (`plain`) and rich markup escaped, so ``[/x]`` is shown, never interpreted."""
    from rich.markup import escape

    return escape(plain(text, newlines))
