"""Adapters for models already on the user's disk: ONNX Runtime sessions and Hugging Face
``transformers`` pipelines. Neither downloads anything: a ``transformers`` model is a local
folder or a name already in the local Hugging Face cache (loaded with
``local_files_only=True`` and ``HF_HUB_OFFLINE=1``).

* ``{"kind": "onnx", "path": "model.onnx", "input": "features", "output": 0,
  "labels": ["cat", "dog"]}``: the node's JSON input ``input`` (default ``features``; a
  number list or nested lists) becomes a float32 tensor (a batch axis is added when the model
  has one more axis than the value), fed to the model's first input; output ``output`` (index
  or name, default the first) is returned as ``{"output": [...]}``, with ``label``/``score``
  (arg-max of the last axis) when ``labels`` are given.
* ``{"kind": "transformers", "pipeline": "text-classification", "model": "path-or-cached-id",
  "options": {...}}``: ``transformers.pipeline(pipeline, model=..., **options)``, called with
  the node's ``text``; classification answers become ``{"label", "score", "text"}``,
  generation ``{"text"}``, anything else ``{"output", "text"}``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any


class LocalModelError(RuntimeError):
    """A local model cannot be loaded or run; the message names it and says how to fix it."""


class OnnxRunner:
    def __init__(
        self,
        path: str,
        input: str = "features",
        output: int | str = 0,
        labels: list[str] | None = None,
        providers: list[str] | None = None,
        name: str | None = None,
        task: str | None = None,
    ) -> None:
        self.path, self.input_key, self.output = str(path), input, output
        self.labels = list(labels) if labels is not None else None
        self.providers = list(providers) if providers else ["CPUExecutionProvider"]
        self.name = name or Path(path).stem
        self.task = task
        self.requires: tuple[str, ...] = ("onnxruntime",)
        self._session: Any = None
        self._lock = threading.Lock()

    def prepare(self) -> None:
        pass

    def load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            if not Path(self.path).is_file():
                raise LocalModelError(f"model {self.name!r}: no ONNX file {self.path!r}")
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise LocalModelError(
                    f"model {self.name!r}: the onnx adapter needs onnxruntime "
                    "(pip install onnxruntime)"
                ) from exc
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            try:
                self._session = ort.InferenceSession(
                    self.path, sess_options=opts, providers=self.providers
                )
            except Exception as exc:  # onnxruntime raises its own exception types
                raise LocalModelError(
                    f"model {self.name!r}: ONNX Runtime cannot load {self.path!r}: {exc}"
                ) from exc

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        self.load()
        if self.input_key not in inputs:
            raise LocalModelError(
                f"model {self.name!r}: expected the input {self.input_key!r}, got {sorted(inputs)}"
            )
        try:
            x = np.asarray(inputs[self.input_key], dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise LocalModelError(
                f"model {self.name!r}: input {self.input_key!r} is not a number array"
            ) from exc
        first = self._session.get_inputs()[0]
        if len(first.shape) == x.ndim + 1:
            x = x[None]
        try:
            outs = self._session.run(None, {first.name: x})
        except Exception as exc:
            raise LocalModelError(f"model {self.name!r}: ONNX Runtime failed: {exc}") from exc
        names = [o.name for o in self._session.get_outputs()]
        if isinstance(self.output, str):
            if self.output not in names:
                raise LocalModelError(
                    f"model {self.name!r}: no output {self.output!r}; outputs: {names}"
                )
            y = outs[names.index(self.output)]
        else:
            y = outs[int(self.output)]
        y = np.asarray(y)
        result: dict[str, Any] = {"output": y.tolist()}
        if self.labels is not None:
            scores = y.reshape(-1, y.shape[-1])[0]
            k = int(np.argmax(scores))
            if k >= len(self.labels):
                raise LocalModelError(
                    f"model {self.name!r}: output has {scores.size} classes, "
                    f"{len(self.labels)} labels given"
                )
            result.update(label=self.labels[k], score=float(scores[k]), text=self.labels[k])
        else:
            result["text"] = " ".join(f"{v:.4g}" for v in y.reshape(-1)[:32])
        return result


class TransformersRunner:
    def __init__(
        self,
        pipeline: str,
        model: str,
        options: dict[str, Any] | None = None,
        name: str | None = None,
        task: str | None = None,
    ) -> None:
        if not isinstance(pipeline, str) or not pipeline:
            raise LocalModelError("transformers adapter: 'pipeline' must name a pipeline task")
        self.pipeline_task, self.model = pipeline, str(model)
        self.options = dict(options or {})
        self.name = name or self.model
        self.task = task
        self.requires: tuple[str, ...] = ("transformers",)
        self._pipe: Any = None
        self._lock = threading.Lock()

    def prepare(self) -> None:
        pass

    def load(self) -> None:
        with self._lock:
            if self._pipe is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import transformers
            except ImportError as exc:
                raise LocalModelError(
                    f"model {self.name!r}: the transformers adapter needs transformers "
                    "(pip install transformers)"
                ) from exc
            kwargs = {"device": "cpu", **self.options, "local_files_only": True}
            try:
                self._pipe = transformers.pipeline(  # type: ignore[call-overload]
                    self.pipeline_task, model=self.model, **kwargs
                )
            except Exception as exc:
                raise LocalModelError(
                    f"model {self.name!r}: cannot load {self.model!r} from disk or the local "
                    f"Hugging Face cache (nothing is downloaded): {type(exc).__name__}: {exc}"
                ) from exc

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        self.load()
        text = inputs.get("text", inputs.get("prompt"))
        if not isinstance(text, str):
            raise LocalModelError(f"model {self.name!r}: expected a 'text' input")
        try:
            out = self._pipe(text)
        except Exception as exc:
            raise LocalModelError(
                f"model {self.name!r}: the pipeline failed: {type(exc).__name__}: {exc}"
            ) from exc
        first = out[0] if isinstance(out, list) and out else out
        if isinstance(first, list) and first:  # top_k answers: the best one
            first = first[0]
        if isinstance(first, dict) and "label" in first:
            label = str(first["label"])
            return {"label": label, "score": float(first.get("score", 1.0)), "text": label}
        if isinstance(first, dict) and "generated_text" in first:
            return {"text": str(first["generated_text"])}
        if isinstance(first, dict) and "summary_text" in first:
            return {"text": str(first["summary_text"])}
        if isinstance(first, dict) and "translation_text" in first:
            return {"text": str(first["translation_text"])}
        return {"output": out, "text": str(out)[:2000]}
