"""`ProcessLauncher`: attempts run in long-lived worker processes (`planner.run.procpool`).

Models load in the workers (once per worker), not here. Worker clocks (``time.time``) are
mapped to this process's ``perf_counter``."""

from __future__ import annotations

import time
from typing import Any

from planner.run.launch import AttemptResult, Job, Post
from planner.run.options import RunError
from planner.run.procpool import PoolError, ProcessPool
from planner.runners import RunnerError
from profiles import ModelProfile


class ProcessLauncher:
    kind = "process"
    startup_allowance_s = 0.0

    def __init__(self, options_json: str, energy_source: str, energy_note: str) -> None:
        self.options_json = options_json
        self.energy_source = energy_source
        self.energy_note = energy_note
        self.procs: ProcessPool | None = None
        self.post: Post = lambda result: None
        self.offset = time.time() - time.perf_counter()

    def start(self, profiles: list[ModelProfile], slots: int, post: Post) -> None:
        self.post = post
        self.offset = time.time() - time.perf_counter()
        try:
            self.procs = ProcessPool(slots, self.options_json, self._done)
            self.procs.wait_ready()
            if profiles:
                self.procs.load([p.model_dump_json() for p in profiles])
        except PoolError as exc:
            self.close()
            raise RunError(f"the worker processes could not load the models: {exc}") from exc

    def load(self, profiles: list[ModelProfile]) -> dict[str, float]:
        assert self.procs is not None
        try:
            return self.procs.load([p.model_dump_json() for p in profiles])
        except PoolError as exc:
            raise RunnerError(f"the worker processes could not load the models: {exc}") from exc

    def _done(
        self,
        key: str,
        ok: bool,
        output: dict[str, Any] | None,
        error: str | None,
        marks: dict[str, float],
    ) -> None:
        node, _, token = key.rpartition("#")
        self.post(AttemptResult.of(node, int(token), output, error, marks, self.offset))

    def launch(self, job: Job) -> None:
        assert self.procs is not None
        try:
            self.procs.submit(job.key, job.profile.model_dump_json(), job.args)
        except PoolError as exc:
            self.post(AttemptResult.of(job.node, job.token, None, str(exc), {}))

    def abandon(self, job: Job) -> str | None:
        if self.procs is None:
            return None
        try:
            self.procs.abandon(job.key)
        except PoolError as exc:
            return f"a timed-out worker could not be replaced: {exc}"
        return None

    def close(self) -> None:
        if self.procs is not None:
            self.procs.close()
            self.procs = None
