"""The zoo's building blocks: `ZooModel` (prepare/load/predict/run) and `TaskEval`."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

APP_NAME = "cost-aware-planner"


def cache_dir() -> Path:
    """Where trained zoo weights are cached: ``$PLANNER_CACHE_DIR`` if set, else the user's
    cache folder (``platformdirs.user_cache_dir('cost-aware-planner')``, on Linux
    ``~/.cache/cost-aware-planner``), subfolder ``zoo``."""
    env = os.environ.get("PLANNER_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        try:
            import platformdirs

            base = Path(platformdirs.user_cache_dir(APP_NAME))
        except ImportError:  # pragma: no cover - platformdirs is in the zoo extra
            base = Path.home() / ".cache" / APP_NAME
    path = base / "zoo"
    path.mkdir(parents=True, exist_ok=True)
    return path


class ZooError(RuntimeError):
    """A zoo model cannot be prepared, loaded or run (missing extra, bad input)."""


@dataclass(frozen=True)
class TaskEval:
    """The evaluation set of one task type: inputs, expected outputs and the metric.

    ``score(predictions, expected)`` returns quality in (0, 1] (higher is better)."""

    task: str
    metric: str
    dataset: str
    inputs: Sequence[Any]
    expected: Sequence[Any]
    scorer: Any

    def __len__(self) -> int:
        return len(self.inputs)

    def score(self, predictions: Sequence[Any]) -> float:
        value = float(self.scorer(list(predictions), list(self.expected)))
        return min(1.0, max(value, 1e-6))

    def json_inputs(self, index: int) -> dict[str, Any]:
        """The ``index``-th input in the JSON form `Runner.run` takes (for user adapters)."""
        from profiles.zoo.registry import to_json_inputs

        return to_json_inputs(self.task, self.inputs[index])

    def from_json_output(self, output: dict[str, Any]) -> Any:
        from profiles.zoo.registry import from_json_output

        return from_json_output(self.task, output)


class ZooModel(ABC):
    """A built-in model. ``prepare()`` trains and caches (once), ``load()`` is idempotent,
    ``predict(native)`` is the measured inference, ``run(json_inputs)`` wraps it with JSON
    decoding/encoding so outputs can feed the next node of a plan."""

    name: ClassVar[str]
    task: ClassVar[str]
    summary: ClassVar[str]
    #: modules imported before memory is measured (shared libraries are not the model's).
    requires: ClassVar[tuple[str, ...]] = ()
    #: programs (on ``PATH``) and Python modules the model needs: without them it is no
    #: candidate (`available`), and ``install`` says how to add them.
    programs: ClassVar[tuple[str, ...]] = ()
    modules: ClassVar[tuple[str, ...]] = ()
    install: ClassVar[str | None] = None
    #: the licence of the model (weights and the code that runs them), for its provenance.
    licence: ClassVar[str] = "MIT (this project)"

    @classmethod
    def missing(cls) -> list[str]:
        """What this machine lacks to run the model (empty when it is available)."""
        import importlib.util
        import shutil

        lack = [f"program {p!r}" for p in cls.programs if shutil.which(p) is None]
        for mod in cls.modules:
            try:
                found = importlib.util.find_spec(mod) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                lack.append(f"Python module {mod!r}")
        return lack

    @classmethod
    def available(cls) -> bool:
        return not cls.missing()

    def __init__(self) -> None:
        self._loaded = False
        self._lock = threading.Lock()
        #: CPU seconds of the programs this model ran as child processes (they are not in
        #: this process's CPU time; the profiler adds them to the energy estimate)
        self.child_cpu_s = 0.0

    def prepare(self) -> None:
        """Train and cache what ``load()`` needs (no-op when cached or nothing to train)."""
        return None

    @abstractmethod
    def _load(self) -> None: ...

    def load(self) -> None:
        with self._lock:
            if not self._loaded:
                lack = self.missing()
                if lack:
                    how = f"; install: {self.install}" if self.install else ""
                    raise ZooError(f"{self.name} needs {', '.join(lack)}{how}")
                self.prepare()
                self._load()
                self._loaded = True

    @property
    def loaded(self) -> bool:
        return self._loaded

    @abstractmethod
    def predict(self, x: Any) -> Any:
        """One inference (batch 1) on a native input (numpy array, text, ...)."""

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """One inference on JSON inputs; returns JSON-serialisable outputs."""
        from profiles.zoo.registry import decode_inputs, encode_output

        self.load()
        native = decode_inputs(self.task, inputs)
        return encode_output(self.task, self.predict(native), inputs)
