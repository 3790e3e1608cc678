"""The run's answer in plain language (HuggingGPT's response stage, as a template).

`compose_answer` is a pure function of the request, the plan's nodes and their outputs:
the final nodes (those no other node reads) first, then the intermediate ones; text shown
inline, files as paths with their type and size, numbers with their meaning."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: output keys that hold a file path, in the order they are looked for
FILE_KEYS = ("audio", "image", "video", "file", "path")
MAX_TEXT_CHARS = 600

_KIND = {
    ".wav": "WAV audio",
    ".mp3": "MP3 audio",
    ".flac": "FLAC audio",
    ".png": "PNG image",
    ".jpg": "JPEG image",
    ".jpeg": "JPEG image",
    ".mp4": "MP4 video",
    ".json": "JSON file",
    ".txt": "text file",
}


def describe_file(path: str) -> str:
    """``path (WAV audio, 3.2 s, 101 KB)``; says so when the file is missing."""
    p = Path(path)
    kind = _KIND.get(p.suffix.lower()) or mimetypes.guess_type(p.name)[0] or "file"
    if not p.is_file():
        return f"{path} ({kind}, missing)"
    size = p.stat().st_size
    parts = [kind]
    if p.suffix.lower() == ".wav":
        seconds = _wav_seconds(p)
        if seconds is not None:
            parts.append(f"{seconds:.1f} s")
    parts.append(_size(size))
    return f"{path} ({', '.join(parts)})"


def _wav_seconds(path: Path) -> float | None:
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / float(w.getframerate())
    except (OSError, EOFError, wave.Error, ZeroDivisionError):
        return None


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024**2:.1f} MB"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT_CHARS else text[: MAX_TEXT_CHARS - 1] + "…"


def describe_output(task: str, output: Mapping[str, Any]) -> str:
    """One node's output in a sentence fragment."""
    for key in FILE_KEYS:
        value = output.get(key)
        if isinstance(value, str) and value:
            return describe_file(value)
    if "entities" in output and isinstance(output["entities"], list):
        ents = [e for e in output["entities"] if isinstance(e, Mapping) and "text" in e]
        if not ents:
            return "no entities found"
        return "; ".join(
            f"{e['text']} ({e['label']})" if e.get("label") else str(e["text"]) for e in ents
        )
    if "similarity" in output and isinstance(output["similarity"], (int, float)):
        return f"similarity {float(output['similarity']):.2f} (1 = same meaning, 0 = unrelated)"
    if "objects" in output and isinstance(output["objects"], list):
        n = len(output["objects"])
        text = output.get("text")
        return f"{n} object{'s' if n != 1 else ''}" + (f": {text}" if text else "")
    if "label" in output:
        score = output.get("score")
        tail = f" (score {float(score):.2f})" if isinstance(score, (int, float)) else ""
        return f"{output['label']}{tail}"
    text = output.get("text")
    if isinstance(text, str):
        return f'"{_clip(text)}"' if text.strip() else "(empty text)"
    from planner.run.args import json_safe

    return _clip(json.dumps(json_safe(output)))


def compose_answer(
    request: str | None,
    nodes: Sequence[Mapping[str, Any]],
    outputs: Mapping[str, Mapping[str, Any]],
    failed: Mapping[str, str] | None = None,
) -> str:
    """The answer to ``request`` from the run's ``outputs`` ({node id: output JSON}).

    ``nodes`` are the plan's nodes in run order, each ``{"id", "task", "model",
    "depends_on": [ids]}``; ``failed`` maps nodes that did not produce an output to why."""
    failed = dict(failed or {})
    read = {d for n in nodes for d in n.get("depends_on", ())}
    finals = [n for n in nodes if n["id"] not in read]
    middle = [n for n in nodes if n["id"] in read]
    lines = []
    if request:
        lines.append(f"You asked: {_clip(request)}")
    done = sum(1 for n in nodes if n["id"] in outputs)
    lines.append(
        f"Answer ({done} of {len(nodes)} step{'s' if len(nodes) != 1 else ''} done):"
        if nodes
        else "Answer: the plan has no steps."
    )
    for group, header in ((finals, None), (middle, "Along the way:")):
        if not group:
            continue
        if header and any(n["id"] in outputs for n in group):
            lines.append(header)
        for n in group:
            name = f"{n['task']} ({n['id']}" + (f", {n['model']})" if n.get("model") else ")")
            if n["id"] in outputs:
                lines.append(f"- {name}: {describe_output(n['task'], outputs[n['id']])}")
            elif header is None or n["id"] in failed:
                why = failed.get(n["id"], "not run")
                lines.append(f"- {name}: no result ({_clip(why)})")
    return "\n".join(lines)


def answer_from_report(report: Any, graph: Any = None) -> str:
    """`compose_answer` over a `planner.report.Report` (outputs read from its files);
    ``graph`` (the problem's `TaskGraph`) gives the dependencies."""
    deps: dict[str, list[str]] = {}
    if graph is not None:
        for u, v in graph.dependency_edges():
            deps.setdefault(v, []).append(u)
    nodes, outputs, failed = [], {}, {}
    for node in report.nodes:
        nodes.append(
            {
                "id": node.id,
                "task": node.task,
                "model": node.model,
                "depends_on": deps.get(node.id, []),
            }
        )
        path = report.outputs.get(node.id) or node.output_path
        if path:
            try:
                data = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                failed[node.id] = f"its output file cannot be read: {exc}"
                continue
            if isinstance(data, dict):
                outputs[node.id] = data
        elif node.error:
            failed[node.id] = node.error
    return compose_answer(report.request or report.problem, nodes, outputs, failed)
