"""A run whose nodes execute in worker processes (`planner.procpool`), for parallel plans.

The scheduling loop, retries, re-planning, budget guard and report are `_Run`'s; only where
an attempt runs differs. Models are loaded in the workers (once per worker), not here."""

from __future__ import annotations

import time
from typing import Any

from planner.execute import RunError, _Done, _NodeState, _Run
from planner.procpool import PoolError, ProcessPool
from planner.runners import RunnerError
from profiles import ModelProfile


class ProcessRun(_Run):
    loads_here = False
    pool_kind = "process"

    def _start_workers(self) -> None:
        # time.time() stamps from the workers -> this process's perf_counter clock
        self.offset = time.time() - time.perf_counter()
        size = self.opt.max_workers if self.parallel else 1
        try:
            self.procs = ProcessPool(size, self.opt.model_dump_json(), self._done)
            self.procs.load([p.model_dump_json() for p in self._chosen(self.runners)])
        except PoolError as exc:
            if hasattr(self, "procs"):
                self.procs.close()
            raise RunError(f"the worker processes could not load the models: {exc}") from exc

    def _chosen(self, model_ids: Any) -> list[ModelProfile]:
        out: dict[str, ModelProfile] = {}
        for st in self.nodes.values():
            if st.model is not None and st.model in model_ids and st.profile is not None:
                out.setdefault(st.model, st.profile)
        return list(out.values())

    def _warm_workers(self, runners: list[tuple[str, Any]]) -> None:
        """Models chosen by a re-plan were loaded in the workers by `_load`."""

    def _load(self, profile: ModelProfile) -> Any:
        try:
            self.procs.load([profile.model_dump_json()])
        except PoolError as exc:
            raise RunnerError(str(exc)) from exc
        return self.ex.factory.runner_for(profile)

    def _done(
        self,
        key: str,
        ok: bool,
        output: dict[str, Any] | None,
        error: str | None,
        marks: dict[str, float],
    ) -> None:
        node, _, token = key.rpartition("#")
        self.events.put(_Done.of(node, int(token), output, error, marks, self.offset))

    def _launch(self, st: _NodeState) -> None:
        assert st.profile is not None
        try:
            self.procs.submit(f"{st.id}#{st.token}", st.profile.model_dump_json(), self._args(st))
        except PoolError as exc:
            self.events.put(_Done.of(st.id, st.token, None, str(exc), {}))

    def _abandon(self, st: _NodeState) -> None:
        try:
            self.procs.abandon(f"{st.id}#{st.token}")
        except PoolError as exc:
            self.stop_reason = f"a timed-out worker could not be replaced: {exc}"

    def _stop_workers(self) -> None:
        if hasattr(self, "procs"):
            self.procs.close()
