"""JSON conventions of the zoo's text, speech and OCR tasks: how a node's JSON inputs become
a model's native input, and its native output becomes JSON (with a ``text`` summary, and
files written to the node's ``output_dir``)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from profiles.zoo.base import ZooError


def first(inputs: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in inputs:
            return inputs[k]
    raise ZooError(
        f"missing input: expected one of {', '.join(repr(k) for k in keys)}, got {sorted(inputs)}"
    )


def load_image(value: Any, key: str) -> np.ndarray:
    if isinstance(value, str):
        path = Path(value)
        if not path.is_file():
            raise ZooError(f"input {key!r}: no such image file {value!r}")
        from PIL import Image

        with Image.open(path) as img:
            return np.asarray(img.convert("L"), dtype=np.uint8)
    if isinstance(value, (list, np.ndarray)):
        arr = np.asarray(value, dtype=np.float32)
        if arr.ndim not in (2, 3):
            raise ZooError(
                f"input {key!r}: expected a 2-D list of grey values, got {arr.ndim} dimensions"
            )
        return arr
    raise ZooError(f"input {key!r}: expected an image file path or a 2-D list of grey values")


def _text(inputs: dict[str, Any], *keys: str) -> str:
    value = first(inputs, *keys)
    if not isinstance(value, str):
        raise ZooError(f"input {keys[0]!r}: expected text, got {type(value).__name__}")
    return value


def _audio(inputs: dict[str, Any]) -> Any:
    from profiles.zoo.media import as_audio

    return as_audio(first(inputs, "audio"), "audio")


def _save_audio(out: Any, inputs: dict[str, Any], prefix: str) -> dict[str, Any]:
    from profiles.zoo.media import output_file, write_wav

    path = output_file(inputs, prefix, ".wav")
    write_wav(path, out)
    seconds = len(out[0]) / float(out[1])
    return {"audio": str(path), "seconds": round(seconds, 3), "text": str(path)}


def _wav_input(native: Any) -> dict[str, Any]:
    from profiles.zoo.media import write_wav

    fd, name = tempfile.mkstemp(prefix="planner-eval-", suffix=".wav")
    import os

    os.close(fd)
    write_wav(name, native)
    return {"audio": name}


def _read_audio(output: dict[str, Any]) -> Any:
    from profiles.zoo.media import read_wav

    return read_wav(output["audio"])


def _qa_inputs(inputs: dict[str, Any]) -> tuple[str, str]:
    question = inputs.get("question", inputs.get("text"))
    context = inputs.get("context", inputs.get("text2"))
    if not isinstance(question, str) or not isinstance(context, str):
        raise ZooError(
            "Question Answering: give the question as 'text' (or 'question') and the passage "
            "to answer from as 'text2' (or 'context')"
        )
    return question, context


def _entities_text(entities: list[dict[str, Any]]) -> str:
    if not entities:
        return "no entities found"
    return ", ".join(f"{e['text']} ({e['label']})" for e in entities)


@dataclass(frozen=True)
class TaskIO:
    """``decode(json_inputs) -> native``, ``encode(native_out, json_inputs) -> json``,
    ``to_json(native_in) -> json_inputs`` and ``from_json(json_out) -> native_out``."""

    decode: Callable[[dict[str, Any]], Any]
    encode: Callable[[Any, dict[str, Any]], dict[str, Any]]
    to_json: Callable[[Any], dict[str, Any]]
    from_json: Callable[[dict[str, Any]], Any]


TASK_IO: dict[str, TaskIO] = {
    "Image-to-Text": TaskIO(
        lambda i: load_image(first(i, "image"), "image"),
        lambda out, i: {"text": str(out)},
        lambda native: {"image": np.asarray(native).tolist()},
        lambda o: str(o["text"]),
    ),
    "Text-to-Speech": TaskIO(
        lambda i: _text(i, "text"),
        lambda out, i: _save_audio(out, i, "speech-"),
        lambda native: {"text": native},
        _read_audio,
    ),
    "Automatic Speech Recognition": TaskIO(
        _audio,
        lambda out, i: {"text": str(out)},
        _wav_input,
        lambda o: str(o["text"]),
    ),
    "Audio Classification": TaskIO(
        _audio,
        lambda out, i: {"label": out[0], "score": float(out[1]), "text": out[0]},
        _wav_input,
        lambda o: (str(o["label"]), float(o.get("score", 1.0))),
    ),
    "Audio-to-Audio": TaskIO(
        _audio,
        lambda out, i: _save_audio(out, i, "enhanced-"),
        _wav_input,
        _read_audio,
    ),
    "Summarization": TaskIO(
        lambda i: _text(i, "text"),
        lambda out, i: {"text": str(out)},
        lambda native: {"text": native},
        lambda o: str(o["text"]),
    ),
    "Question Answering": TaskIO(
        _qa_inputs,
        lambda out, i: {"text": str(out)},
        lambda native: {"text": native[0], "text2": native[1]},
        lambda o: str(o["text"]),
    ),
    "Token Classification": TaskIO(
        lambda i: _text(i, "text"),
        lambda out, i: {"entities": list(out), "text": _entities_text(list(out))},
        lambda native: {"text": native},
        lambda o: list(o["entities"]),
    ),
    "Translation": TaskIO(
        lambda i: (_text(i, "text"), i.get("source")),
        lambda out, i: {"text": str(out)},
        lambda native: {"text": native[0], "source": native[1]},
        lambda o: str(o["text"]),
    ),
}
