"""Node arguments: upstream outputs and user inputs substituted into a node's ``args`` (pure).

A string ``"<node-id>"`` is that node's output: the value under the same key when the output
has it (``"image": "<denoise>"`` takes the output's ``image``), else its ``text`` summary,
else the whole output; ``"... <node-id> ..."`` inside longer text is replaced by the output's
``text`` (or its JSON); ``"$name"`` is the user input ``name`` (``"$$x"`` is the literal
``"$x"``). The input ``$run_dir`` is built in: the run's ``outputs`` folder.
"""

from __future__ import annotations

import json
import re
from typing import Any

_INPUT = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
_REF = re.compile(r"<([^<>\s]+)>")


def _text_of(output: Any) -> str:
    if isinstance(output, dict):
        for key in ("text", "label", "output"):
            if isinstance(output.get(key), str):
                return str(output[key])
    if isinstance(output, str):
        return output
    return json.dumps(output, sort_keys=True, default=str)


def input_names(args: Any) -> set[str]:
    """User inputs (``"$name"``) used anywhere in ``args``."""
    names: set[str] = set()
    if isinstance(args, str):
        match = _INPUT.match(args)
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
            match = _INPUT.match(item)
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


def json_default(value: Any) -> Any:
    """``json.dumps`` fallback for outputs: arrays as lists, anything else as text."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)
