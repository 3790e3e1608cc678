"""Lifecycle hooks of a run (modelled on Hamilton's lifecycle adapters).

The `Scheduler` calls every hook at four points and knows nothing of what they do:

- ``before_run(run)``: models are loaded and workers started; the clock starts next;
- ``node_state(node, state, detail)``: a node changes state (loading: workers start and
  models load, detail the node's model; waiting, running, retrying, succeeded, failed,
  replanned, not_run): progress displays;
- ``after_node(run, node)``: a node succeeded (its `NodeState` carries output and
  measurements): writing outputs;
- ``after_run(run, report)``: the report is built (also after an interruption): writing it,
  recording history, restoring what ``before_run`` changed.

Subclass `RunHook` and override what you need. A ``node_state`` that raises is ignored (a
display must never break a run); the other points propagate their errors.
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import OutputError
from planner.io import write_atomic
from planner.run.args import json_safe

if TYPE_CHECKING:
    from planner.report import Report
    from planner.run.scheduler import NodeState, Scheduler

#: GIL switch interval during a run (see `QuietRuntime`).
SWITCH_INTERVAL_S = 0.0002

ProgressFn = Callable[[str, str, str], None]


class RunHook:
    """No-op base: override the points you need."""

    #: What the hook has kept, once it has (``"the report in …"``): named when a run stops
    #: because something could not be written (`planner.run.scheduler.RunAborted`).
    done: str | None = None

    def before_run(self, run: Scheduler) -> None:
        pass

    def node_state(self, node: str, state: str, detail: str) -> None:
        pass

    def after_node(self, run: Scheduler, node: NodeState) -> None:
        pass

    def after_run(self, run: Scheduler, report: Report) -> None:
        pass


class Progress(RunHook):
    """Forwards node states to a ``(node, state, detail)`` function (the CLI's display)."""

    def __init__(self, fn: ProgressFn) -> None:
        self.fn = fn

    def node_state(self, node: str, state: str, detail: str) -> None:
        self.fn(node, state, detail)


#: Output keys (digits stripped) whose string values are files a node made.
FILE_OUTPUT_KEYS = frozenset({"image", "audio", "video", "file", "path"})
#: Prefixes of the temporary folders models write files to when no ``output_dir`` is given
#: (the zoo's ``planner-zoo-``): files there are the node's, and move into the run.
TEMP_OUTPUT_PREFIXES = ("planner-zoo-", "planner-run-")


class OutputWriter(RunHook):
    """Writes each finished node's output to ``<run_dir>/outputs/<node>.json``, and names the
    files the node made after it (`name_output_files`: ``outputs/speak.wav``)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def after_node(self, run: Scheduler, node: NodeState) -> None:
        if isinstance(node.output, dict):
            # a launcher that passes outputs itself (Ray) hands the old path downstream
            keep = getattr(run.launcher, "kind", "thread") == "ray"
            node.output = name_output_files(node.output, node.id, self.run_dir / "outputs", keep)
        path = self.run_dir / "outputs" / f"{node.id}.json"
        text = json.dumps(json_safe(node.output), indent=2, allow_nan=False) + "\n"
        try:
            write_atomic(path, text)
        except OSError as exc:  # a full disk, a folder turned read-only: the run stops
            raise OutputError(
                f"the output of node {node.id!r} could not be written to {path}: "
                f"{exc.strerror or exc}"
            ) from exc
        node.output_path = str(path)


def _ours(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a file the run may rename: in the run's ``folder``, or in a
    temporary folder a model made for its output (never a user's file elsewhere)."""
    import tempfile

    try:
        resolved = path.resolve()
        if folder.resolve() in resolved.parents:
            return True
        parent = resolved.parent
        return parent.parent == Path(tempfile.gettempdir()).resolve() and parent.name.startswith(
            TEMP_OUTPUT_PREFIXES
        )
    except OSError:
        return False


def name_output_files(
    output: dict[str, Any], node: str, folder: Path, keep: bool = False
) -> dict[str, Any]:
    """``output`` with the files the node made (values of its ``image``/``audio``/... keys
    that name a file in the run's ``folder`` or a model's temporary folder) moved to
    ``folder/<node><suffix>`` (``<node>-<key><suffix>`` for a second file), every mention of
    the old path replaced. ``keep``: copy instead of moving. Files elsewhere (an
    ``output_dir`` the graph chose) stay where they are."""
    import shutil

    renamed: dict[str, str] = {}
    for key, value in output.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue  # a model's odd keys (tuples, numbers) name no file
        if key.rstrip("0123456789_").lower() not in FILE_OUTPUT_KEYS:
            continue
        old = Path(value)
        if value in renamed or not old.is_file() or not _ours(old, folder):
            continue
        stem = node if not renamed else f"{node}-{key}"
        new = folder / f"{stem}{old.suffix}"
        if new.resolve() == old.resolve():
            renamed[value] = value
            continue
        if new.exists():
            new = folder / f"{stem}-{len(renamed) + 1}{old.suffix}"
        folder.mkdir(parents=True, exist_ok=True)
        if keep:
            shutil.copy2(old, new)
        else:
            shutil.move(old, new)
            with contextlib.suppress(OSError):  # a model's own temporary folder, now empty
                if old.parent.resolve() != folder.resolve():
                    old.parent.rmdir()
        renamed[value] = str(new)
    if not renamed:
        return output

    def swap(item: Any) -> Any:
        if isinstance(item, str):
            return renamed.get(item, item)
        if isinstance(item, dict):
            return {k: swap(v) for k, v in item.items()}
        if isinstance(item, list):
            return [swap(v) for v in item]
        return item

    swapped: dict[str, Any] = swap(output)
    return swapped


class ReportWriter(RunHook):
    """``plan.json`` before the run, ``report.json`` after it, in ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def before_run(self, run: Scheduler) -> None:
        write_atomic(self.run_dir / "plan.json", run.plan.to_json())

    def after_run(self, run: Scheduler, report: Report) -> None:
        path = self.run_dir / "report.json"
        try:
            write_atomic(path, report.to_json())
        except OSError as exc:
            raise OutputError(f"report.json to {path}: {exc.strerror or exc}") from exc
        self.done = f"the report in {path}"


class HistoryRecorder(RunHook):
    """Records the report in a `planner.history.History` (``on_error(message)`` is told when
    that fails: the run itself is kept)."""

    def __init__(self, history: Any, on_error: Callable[[str], None] | None = None) -> None:
        self.history = history
        self.on_error = on_error

    def after_run(self, run: Scheduler, report: Report) -> None:
        from planner.history import HistoryError

        try:
            # a factory opens the history only now, so a bad one never stops the run itself
            history = self.history() if callable(self.history) else self.history
            history.record(report)
        except HistoryError as exc:
            if self.on_error is None:
                raise
            self.on_error(f"the run was not recorded: {exc}")
        else:
            self.done = f"a history row (run {report.run_id})"


class QuietRuntime(RunHook):
    """Measurement conditions while nodes run, as the profiler had them: Torch/BLAS threads
    limited (only libraries already imported, or read from the environment when imported
    later: nothing heavy is imported for it), the cyclic garbage collector paused, and a
    short GIL switch interval (threads waiting for the GIL otherwise wait up to 5 ms, far
    longer than a sub-millisecond inference)."""

    def __init__(self, threads: int | None, pause_gc: bool) -> None:
        self.threads = threads
        self.pause_gc = pause_gc
        self._stack = contextlib.ExitStack()
        self._gc = False
        self._switch = sys.getswitchinterval()

    def before_run(self, run: Scheduler) -> None:
        from planner.runners import limited_threads

        self._stack.enter_context(limited_threads(self.threads))
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, SWITCH_INTERVAL_S))
        self._gc = gc.isenabled()
        if self.pause_gc:
            gc.collect()
            gc.disable()

    def after_run(self, run: Scheduler, report: Report) -> None:
        if self._gc:
            gc.enable()
        sys.setswitchinterval(self._switch)
        self._stack.close()
