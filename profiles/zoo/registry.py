"""The zoo's registry: models by name, evaluation sets by task, JSON conventions per task,
and the zoo's version + code hash that shipped profiles are checked against."""

from __future__ import annotations

import hashlib
import io
import tempfile
import tokenize
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from profiles.zoo import denoise, digits, ocr, similarity, sound, speech, tabular, text
from profiles.zoo.base import TaskEval, ZooError, ZooModel
from profiles.zoo.taskio import TASK_IO
from profiles.zoo.taskio import first as _first
from profiles.zoo.taskio import load_image as _load_image

#: Bump when models or evaluation sets change meaning (the code hash catches the rest).
ZOO_VERSION = "3"

MODEL_CLASSES: dict[str, type[ZooModel]] = {
    cls.name: cls
    for cls in (
        *digits.CLASSIFIERS,
        *digits.DETECTORS,
        *tabular.MODELS,
        *denoise.MODELS,
        *similarity.MODELS,
        *ocr.MODELS,
        *speech.TTS_MODELS,
        *speech.ASR_MODELS,
        *sound.CLASSIFIERS,
        *sound.ENHANCERS,
        *text.SUMMARIZERS,
        *text.QA_MODELS,
        *text.NER_MODELS,
        *text.TRANSLATORS,
    )
}

EVALS: dict[str, Callable[[int | None], TaskEval]] = {
    "Image Classification": digits.classification_eval,
    "Object Detection": digits.detection_eval,
    "Tabular Classification": tabular.tabular_eval,
    "Image-to-Image": denoise.denoise_eval,
    "Sentence Similarity": similarity.similarity_eval,
    "Image-to-Text": ocr.ocr_eval,
    "Text-to-Speech": speech.tts_eval,
    "Automatic Speech Recognition": speech.asr_eval,
    "Audio Classification": sound.classification_eval,
    "Audio-to-Audio": sound.enhancement_eval,
    "Summarization": text.summarization_eval,
    "Question Answering": text.qa_eval,
    "Token Classification": text.ner_eval,
    "Translation": text.translation_eval,
}

_instances: dict[str, ZooModel] = {}


def zoo_names(task: str | None = None, available_only: bool = False) -> list[str]:
    return [
        n
        for n, c in MODEL_CLASSES.items()
        if (task is None or c.task == task) and (not available_only or c.available())
    ]


def availability(name: str) -> tuple[bool, str]:
    """(available here, what is missing and the install command) of zoo model ``name``."""
    cls = MODEL_CLASSES[name]
    lack = cls.missing()
    if not lack:
        return True, ""
    how = f"; install: {cls.install}" if cls.install else ""
    return False, f"needs {', '.join(lack)}{how}"


def get_model(name: str) -> ZooModel:
    """The zoo model ``name`` (one shared instance per process, so ``load()`` happens once)."""
    if name not in MODEL_CLASSES:
        import difflib

        close = difflib.get_close_matches(name, list(MODEL_CLASSES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ZooError(f"no zoo model named {name!r}{hint} (planner models lists them)")
    if name not in _instances:
        _instances[name] = MODEL_CLASSES[name]()
    return _instances[name]


def task_eval(task: str, limit: int | None = None) -> TaskEval | None:
    """The evaluation set of ``task`` (``limit`` items at most), or None if the zoo has none."""
    make = EVALS.get(task)
    return make(limit) if make else None


def code_hash() -> str:
    """SHA-256 (16 hex) of the zoo's code and data: Python tokens without comments or
    layout, so reformatting does not make the shipped profiles stale, but any change of
    code, hyper-parameter or evaluation set does."""
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    for path in sorted(pkg.glob("*.py")):
        h.update(path.name.encode())
        toks = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        for tok in toks:
            if tok.type in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENCODING,
            ):
                continue
            h.update(tok.string.encode())
            h.update(b"\x00")
    data = resources.files("profiles") / "data" / "taskbench_tool_retrieval.json"
    h.update(data.read_bytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- JSON I/O


def decode_inputs(task: str, inputs: dict[str, Any]) -> Any:
    """JSON inputs of one node -> the native input of the task's models."""
    if not isinstance(inputs, dict):
        raise ZooError(f"{task}: inputs must be a JSON object, got {type(inputs).__name__}")
    if task in TASK_IO:
        return TASK_IO[task].decode(inputs)
    if task in ("Image Classification", "Object Detection", "Image-to-Image"):
        return _load_image(_first(inputs, "image"), "image")
    if task == "Tabular Classification":
        row = _first(inputs, "features", "row")
        if not isinstance(row, list) or not all(isinstance(v, (int, float)) for v in row):
            raise ZooError("input 'features': expected a list of 30 numbers")
        return np.asarray(row, dtype=np.float64)
    if task == "Sentence Similarity":
        if "texts" in inputs:
            pair = inputs["texts"]
        else:
            pair = [_first(inputs, "text1", "text"), _first(inputs, "text2", "other")]
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)
        ):
            raise ZooError("Sentence Similarity: give 'text1' and 'text2' (or 'texts': [a, b])")
        return (pair[0], pair[1])
    raise ZooError(f"the zoo has no models for task {task!r}")


def encode_output(task: str, out: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Native output -> JSON-serialisable dict; every output has a ``text`` summary so the
    next node of a plan can take it as text."""
    if task in TASK_IO:
        return TASK_IO[task].encode(out, inputs)
    if task == "Image Classification":
        label, score = out
        return {"label": str(label), "score": score, "text": digits.WORDS[int(label)]}
    if task == "Tabular Classification":
        label, score = out
        name = tabular.CLASSES[int(label)]
        return {"label": name, "score": score, "text": name}
    if task == "Object Detection":
        objects = [{**d, "label": str(d["label"])} for d in out]
        text = ", ".join(digits.WORDS[int(d["label"])] for d in digits.reading_order(out))
        return {"objects": objects, "text": text}
    if task == "Image-to-Image":
        from PIL import Image

        folder = Path(inputs.get("output_dir") or tempfile.mkdtemp(prefix="planner-zoo-"))
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".png", dir=folder)
        import os

        os.close(fd)
        Image.fromarray(np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)).save(name)
        return {"image": name, "text": name}
    if task == "Sentence Similarity":
        return {"similarity": float(out), "text": f"{float(out):.4f}"}
    raise ZooError(f"the zoo has no models for task {task!r}")


def to_json_inputs(task: str, native: Any) -> dict[str, Any]:
    """A native evaluation input in the JSON form that user adapters receive."""
    if task in TASK_IO:
        return TASK_IO[task].to_json(native)
    if task in ("Image Classification", "Object Detection", "Image-to-Image"):
        return {"image": np.asarray(native).tolist()}
    if task == "Tabular Classification":
        return {"features": [float(v) for v in native]}
    if task == "Sentence Similarity":
        return {"text1": native[0], "text2": native[1]}
    raise ZooError(f"the zoo has no evaluation inputs for task {task!r}")


def from_json_output(task: str, output: dict[str, Any]) -> Any:
    """A user adapter's JSON output -> the native prediction the task's scorer takes."""
    if not isinstance(output, dict):
        raise ZooError(
            f"{task}: the model returned {type(output).__name__}, expected a JSON object"
        )
    try:
        if task in TASK_IO:
            return TASK_IO[task].from_json(output)
        if task == "Image Classification":
            return int(output["label"]), float(output.get("score", 1.0))
        if task == "Tabular Classification":
            label = output["label"]
            idx = tabular.CLASSES.index(label) if label in tabular.CLASSES else int(label)
            return idx, float(output.get("score", 1.0))
        if task == "Object Detection":
            return [
                {
                    "label": int(o["label"]),
                    "score": float(o.get("score", 1.0)),
                    "box": [int(v) for v in o["box"]],
                }
                for o in output["objects"]
            ]
        if task == "Image-to-Image":
            img = _load_image(output["image"], "image")
            return img / 255.0 if img.dtype == np.uint8 else img
        if task == "Sentence Similarity":
            return float(output["similarity"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ZooError(
            f"{task}: cannot read the model's output {str(output)[:200]!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    raise ZooError(f"the zoo has no evaluation set for task {task!r}")
