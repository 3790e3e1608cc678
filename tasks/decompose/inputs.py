"""File arguments of a decomposed graph resolve only inside an allowed input directory.

A decomposer's output is data: its string arguments are never executed. Those that name files
(``photo.jpg``, ``audio/a.wav``, ``/etc/passwd``) are checked by `InputPolicy`: no ``..``
component, no absolute path (unless allowed), no ``~``, and the resolved path (symlinks
followed) must stay inside the input directory. URLs and ``<node-id>`` references are not
files and are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from tasks.graph import TaskGraph

_FILE_LIKE = re.compile(
    r"\.(?:jpe?g|png|gif|bmp|tiff?|svg|webp|ico|wav|mp3|flac|ogg|aac|m4a|wma|aiff|"
    r"mp4|avi|mov|mkv|webm|flv|wmv|m4v|mpe?g|txt|pdf|docx?|csv|json|md|xlsx?)\Z",
    re.IGNORECASE,
)


#: Longest file argument (Linux's PATH_MAX is 4096 bytes).
MAX_PATH_CHARS = 4096


class InputPathError(ValueError):
    """A file argument points outside the allowed input directory."""


def looks_like_path(value: str) -> bool:
    """A string argument that may name a file: it ends with a file extension, has a path
    separator, or starts with ``~``. Spaces and length do not matter ('/srv/my secret.jpg'
    and a 5,000-character path are paths too); ``<node-id>`` references and URLs other than
    ``file:`` are not."""
    text = value.strip()
    if not text or re.fullmatch(r"<[^<>\s]+>", text):
        return False
    if "://" in text and not text.lower().startswith("file:"):
        return False
    return bool(
        _FILE_LIKE.search(text) or "/" in text or "\\" in text or text.startswith(("~", "file:"))
    )


@dataclass(frozen=True)
class InputPolicy:
    """Where file arguments may point: inside ``root`` (absolute paths only if allowed)."""

    root: Path
    allow_absolute: bool = False

    def resolve(self, value: str, where: str = "argument") -> Path:
        """The file ``value`` names, as an absolute path inside ``root``; else an error."""
        text = value.strip()
        root = self.root.resolve()
        if len(text) > MAX_PATH_CHARS or "\x00" in text:
            raise InputPathError(
                f"{where}: {text[:60]!r}... is {len(text)} characters long (or holds a NUL); "
                f"file arguments are at most {MAX_PATH_CHARS} characters"
            )
        if text.lower().startswith("file:"):
            raise InputPathError(
                f"{where}: {text[:200]!r} is a file: URL; give a path relative to the input "
                f"directory {root}"
            )
        pure = PureWindowsPath(text) if "\\" in text else PurePosixPath(text)
        if text.startswith("~"):
            raise InputPathError(
                f"{where}: {value!r} starts with '~'; give a path relative "
                f"to the input directory {root}"
            )
        if ".." in pure.parts:
            raise InputPathError(
                f"{where}: {value!r} contains '..'; file arguments must stay "
                f"inside the input directory {root}"
            )
        if pure.is_absolute() or (isinstance(pure, PureWindowsPath) and pure.drive):
            if not self.allow_absolute:
                raise InputPathError(
                    f"{where}: {value!r} is an absolute path; use a path "
                    f"relative to the input directory {root} (or allow "
                    "absolute paths explicitly)"
                )
            return Path(text).resolve()
        path = (root / Path(*pure.parts)).resolve()
        if path != root and root not in path.parents:
            raise InputPathError(
                f"{where}: {value!r} resolves to {path}, outside the input "
                f"directory {root} (a symlink?)"
            )
        return path

    def check_graph(self, graph: TaskGraph) -> TaskGraph:
        """Raise `InputPathError` naming the node and argument of the first bad file path."""
        for node in graph.nodes:
            for key, value in node.args.items():
                for text in _strings(value):
                    if looks_like_path(text):
                        self.resolve(text, where=f"node {node.id!r} argument {key!r}")
        return graph


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []
