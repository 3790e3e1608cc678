"""Input files of a plan, checked before anything runs.

A node argument that names a file (``"image": "photo.png"``, or ``"image": "$photo"`` with
the user input ``photo`` a path) must exist before the run starts: a missing file is the
user's mistake, not a model's failure, and retrying, re-planning and then blaming the
catalog only hides it. `missing_input_file` finds the first such argument.

Only arguments whose key names a file-carrying data type (``image``, ``audio``, ``video``,
``file``, ``document``, ``path``, also with a number: ``image2``) are checked, and only
strings that look like paths (`tasks.decompose.inputs.looks_like_path`): text arguments
that happen to contain a ``/`` are text. URLs, ``<node>`` references and ``data:`` URIs are
not files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tasks import TaskGraph

#: Argument keys (digits stripped) whose string values are files.
FILE_KEYS = frozenset({"image", "audio", "video", "file", "document", "path"})
_INPUT = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")


def _file_key(key: str) -> bool:
    return key.rstrip("0123456789_").lower() in FILE_KEYS


def _values(value: Any, inputs: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(string, input name it came from) for the strings of one argument."""
    if isinstance(value, str):
        match = _INPUT.match(value)
        if match:
            name = match.group(1)
            if name == "run_dir" or name not in inputs:
                return []
            return [(s, name) for s, _ in _values(inputs[name], {})]
        return [(value, None)]
    if isinstance(value, list | tuple):
        return [pair for item in value for pair in _values(item, inputs)]
    return []


def missing_input_file(
    graph: TaskGraph, inputs: dict[str, Any], base: Path | None = None
) -> str | None:
    """Why the run cannot start: the first file argument (after user ``inputs`` are
    substituted) that names no file, relative to ``base`` (default: the working directory,
    where the models open it); None when every file is there."""
    from tasks.decompose.inputs import looks_like_path

    for node in graph.nodes:
        for key, value in node.args.items():
            if not _file_key(key):
                continue
            for text, source in _values(value, inputs):
                if text.lower().startswith("data:") or not looks_like_path(text):
                    continue
                path = Path(text).expanduser()
                if not path.is_absolute() and base is not None:
                    path = base / path
                if path.exists():
                    continue
                via = f" (input {source!r})" if source else ""
                return f"node {node.id!r} argument {key!r}{via}: no such file {text!r}"
    return None
