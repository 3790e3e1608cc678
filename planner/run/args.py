"""Node arguments: upstream outputs and user inputs substituted into a node's ``args`` (pure).

A string ``"<node-id>"`` is that node's output: the value under the same key when the output
has it (``"image": "<denoise>"`` takes the output's ``image``), else its ``text`` summary,
else the whole output; ``"... <node-id> ..."`` inside longer text is replaced by the output's
``text`` (or its JSON); ``"$name"`` is the user input ``name`` (``"$$x"`` is the literal
``"$x"``). The input ``$run_dir`` is built in: the run's ``outputs`` folder.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_INPUT = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")  # fullmatch: "$" would accept a final "\n"
_REF = re.compile(r"<([^<>\s]+)>")


def _text_of(output: Any) -> str:
    if isinstance(output, dict):
        for key in ("text", "label", "output"):
            if isinstance(output.get(key), str):
                return str(output[key])
    if isinstance(output, str):
        return output
    return json.dumps(json_safe(output), sort_keys=True)


def input_names(args: Any) -> set[str]:
    """User inputs (``"$name"``) used anywhere in ``args``."""
    names: set[str] = set()
    if isinstance(args, str):
        match = _INPUT.fullmatch(args)
        if match:
            names.add(match.group(1))
    elif isinstance(args, dict):
        for value in args.values():
            names |= input_names(value)
    elif isinstance(args, list | tuple):
        for value in args:
            names |= input_names(value)
    return names


def resolve_args(
    args: dict[str, Any], outputs: dict[str, Any], inputs: dict[str, Any]
) -> dict[str, Any]:
    """Substitute upstream outputs and user inputs into a node's ``args`` (pure)."""

    def value(key: str | None, item: Any) -> Any:
        if isinstance(item, str):
            match = _INPUT.fullmatch(item)
            if match:
                return inputs[match.group(1)]
            if item.startswith("$$"):
                return item[1:]
            whole = _REF.fullmatch(item)
            if whole and whole.group(1) in outputs:
                out = outputs[whole.group(1)]
                if isinstance(out, dict):
                    if key is not None and key in out:
                        return out[key]
                    if "text" in out:
                        return out["text"]
                return out
            return _REF.sub(
                lambda m: _text_of(outputs[m.group(1)]) if m.group(1) in outputs else m.group(0),
                item,
            )
        if isinstance(item, dict):
            return {k: value(k, v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [value(key, v) for v in item]
        return item

    return {k: value(k, v) for k, v in args.items()}


#: Nesting below which `json_safe` writes a value as text (outputs are data, not a stack).
MAX_OUTPUT_DEPTH = 200


def json_safe(value: Any) -> Any:
    """A model's output as strict JSON data (pure): arrays (``tolist``) as lists, tuples and
    sets as lists, non-string keys as text (``str``), NaN and infinities as the strings
    ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, a reference back to an enclosing value as
    ``"<circular reference>"``, anything deeper than `MAX_OUTPUT_DEPTH` or of another type
    as its ``str``. An output that ``json.dumps`` cannot write never aborts a run."""
    ancestors: set[int] = set()

    def conv(item: Any, depth: int) -> Any:
        if item is None or isinstance(item, bool | int | str):
            return item
        if isinstance(item, float):
            if math.isfinite(item):
                return item
            return "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
        if depth >= MAX_OUTPUT_DEPTH:
            return _text(item)
        tolist = getattr(item, "tolist", None)
        if callable(tolist) and not isinstance(item, dict | list | tuple):
            try:
                item = tolist()
            except Exception:
                return _text(item)
            return conv(item, depth + 1)
        if not isinstance(item, dict | list | tuple | set | frozenset):
            return _text(item)
        if id(item) in ancestors:
            return "<circular reference>"
        ancestors.add(id(item))
        try:
            if isinstance(item, dict):
                return {_key(k): conv(v, depth + 1) for k, v in item.items()}
            return [conv(v, depth + 1) for v in item]
        finally:
            ancestors.discard(id(item))

    return conv(value, 0)


def _key(key: Any) -> str:
    """A dict key as ``json.dumps`` writes it (``1``, ``true``), else its ``str``."""
    if isinstance(key, str):
        return key
    if (
        key is None
        or isinstance(key, bool | int)
        or (isinstance(key, float) and math.isfinite(key))
    ):
        return json.dumps(key)
    return _text(key)


def _text(item: Any) -> str:
    try:
        return item if isinstance(item, str) else str(item)
    except Exception:  # a __str__ that raises: still data
        return f"<{type(item).__name__} object>"


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback for outputs: arrays as lists, anything else as text."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)
